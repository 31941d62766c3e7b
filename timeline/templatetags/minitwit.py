import hashlib

from django import template

register = template.Library()


@register.filter
def gravatar(email: str, size: int = 48) -> str:
    """The Gravatar image URL for an email address, as the original MiniTwit shows."""
    digest = hashlib.md5((email or "").strip().lower().encode(), usedforsecurity=False)
    return f"https://www.gravatar.com/avatar/{digest.hexdigest()}?d=identicon&s={size}"
