import hashlib

import markupsafe
from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def gravatar(email: str, size: int = 48) -> str:
    """The Gravatar image URL for an email address, as the original MiniTwit shows."""
    digest = hashlib.md5((email or "").strip().lower().encode(), usedforsecurity=False)
    return f"https://www.gravatar.com/avatar/{digest.hexdigest()}?d=identicon&s={size}"


@register.filter(is_safe=True)
def classic_escape(value) -> str:
    """Escape text as the original MiniTwit's Jinja2 templates do (MarkupSafe): a double quote
    becomes &#34; and a single one &#39;, where Django writes &quot; and &#x27;. Flash texts
    come out byte for byte as in the classic pages, which the course's tests compare."""
    return mark_safe(str(markupsafe.escape(value)))


@register.filter
def profile_url(username: str) -> str | None:
    """The profile page's path for a username, or None when no URL can name it.

    Today's rules keep "/" and empty names out, but a row written straight into the
    database (an import, a manual fix) may break them; that author is then shown without a
    link rather than failing the whole page for every visitor.
    """
    try:
        return reverse("timeline:user", args=[username])
    except NoReverseMatch:
        return None
