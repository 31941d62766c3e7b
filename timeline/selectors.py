"""Reads that matter, named for what they return. The web pages and the simulator API
both call these, so the two interfaces always show the same thing."""

from dataclasses import dataclass

from django.db.models import Q

from .models import Follow, Message, SimulatorState, User


@dataclass(frozen=True)
class MessagePage:
    """One page of a timeline; `has_older` is known without counting the whole table."""

    messages: list[Message]
    page: int
    has_older: bool

    @property
    def has_newer(self) -> bool:
        return self.page > 1


def _page(queryset, *, page: int, per_page: int) -> MessagePage:
    # Fetch one row more than the page holds instead of COUNT(*): a count over millions of
    # messages would cost more than the page itself.
    offset = (page - 1) * per_page
    rows = list(queryset.newest_first().select_related("author")[offset : offset + per_page + 1])
    return MessagePage(messages=rows[:per_page], page=page, has_older=len(rows) > per_page)


def user_get(*, username: str) -> User | None:
    """The user with exactly this name (case-sensitive, as in the original MiniTwit)."""
    if "\x00" in username:
        # PostgreSQL rejects NUL in a query string (a 500), and no valid name contains one.
        return None
    return User.objects.filter(username=username).first()


def users_by_name(*, usernames: list[str]) -> dict[str, User]:
    """The users with these exact names, by name, in one query (unknown names are absent)."""
    names = [name for name in usernames if "\x00" not in name]
    return {user.username: user for user in User.objects.filter(username__in=names)}


def public_timeline(*, page: int = 1, per_page: int) -> MessagePage:
    return _page(Message.objects.visible(), page=page, per_page=per_page)


def user_timeline(*, user: User, page: int = 1, per_page: int) -> MessagePage:
    return _page(Message.objects.visible().filter(author=user), page=page, per_page=per_page)


def personal_timeline(*, user: User, page: int = 1, per_page: int) -> MessagePage:
    """The user's own messages and those of everyone they follow."""
    followed = Follow.objects.filter(follower=user).values("followed_id")
    messages = Message.objects.visible().filter(Q(author=user) | Q(author_id__in=followed))
    return _page(messages, page=page, per_page=per_page)


def latest_messages(*, limit: int, author: User | None = None) -> list[Message]:
    """Newest visible messages, optionally of one author (the simulator's /msgs)."""
    messages = Message.objects.visible()
    if author is not None:
        messages = messages.filter(author=author)
    return list(messages.newest_first().select_related("author")[:limit])


def is_following(*, follower: User, followed: User) -> bool:
    return Follow.objects.filter(follower=follower, followed=followed).exists()


def followed_usernames(*, user: User, limit: int) -> list[str]:
    """Names of the users `user` follows, in the order they were followed."""
    return list(
        Follow.objects.filter(follower=user)
        .order_by("id")
        .values_list("followed__username", flat=True)[:limit]
    )


def latest_value() -> int:
    """The last `latest` the simulator sent, or -1 before any."""
    value = SimulatorState.objects.filter(pk=1).values_list("latest", flat=True).first()
    return -1 if value is None else value
