"""Moderation in the Django admin: messages (flag/unflag), users (deactivate), follows.

Every list here must stay fast with a million messages and 100,000 users: authors are raw
ids (no <select> of every user), lists join their foreign keys up front, and no page
counts a whole table (see LargeTablePaginator).
"""

from functools import cached_property
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import (
    BaseUserCreationForm,
    SetUnusablePasswordMixin,
    UserChangeForm,
)
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from . import selectors, services
from .models import Follow, Message, User
from .usernames import confusable_key

admin.site.site_header = "MiniTwit administration"
admin.site.site_title = "MiniTwit admin"


class LargeTablePaginator(Paginator):
    """A paginator that never counts a whole large table.

    Unfiltered lists on PostgreSQL use the planner's row estimate (pg_class.reltuples, kept
    current by autovacuum): a COUNT(*) over a million messages costs more than the page
    itself. Filtered or searched lists (and SQLite) count at most `count_cap` rows, which
    still gives 100 pages of 100 rows; deeper results are reached by narrowing the search.
    `count_kind` tells the template whether the number is exact, an estimate or a floor.
    """

    count_cap = 10_000
    # Below this the exact count is cheap, and an estimate of a small table is often stale.
    estimate_above = 50_000

    count_kind = "exact"
    # The admin's lists are querysets (Paginator accepts any sliceable sequence).
    object_list: QuerySet[Any]

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where:
            estimate = _row_estimate(queryset)
            if estimate is not None and estimate > self.estimate_above:
                self.count_kind = "estimate"
                return estimate
        # The list's own (index-backed) ordering is kept in the capped subquery: for a
        # recent-dates filter, walking the id index backwards finds 10,001 rows in 9 ms,
        # where an unordered scan starts at the oldest rows and takes 90 ms.
        counted = queryset.values("pk")[: self.count_cap + 1].count()
        if counted > self.count_cap:
            self.count_kind = "at_least"
            return self.count_cap
        return counted


def _row_estimate(queryset) -> int | None:
    """PostgreSQL's estimate of the table's rows, or None (other databases, never analysed)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(queryset.model._meta.db_table)],
        )
        row = cursor.fetchone()
    # -1 means "never vacuumed or analysed" (PostgreSQL 14+).
    return row[0] if row and row[0] >= 0 else None


class LargeTableAdmin(admin.ModelAdmin):
    paginator = LargeTablePaginator
    # The "N total" next to search results is a COUNT(*) of the unfiltered table.
    show_full_result_count = False
    list_per_page = 100


def _user_link(user: User) -> str:
    url = reverse("admin:timeline_user_change", args=[user.pk])
    return format_html('<a href="{}">{}</a>', url, user.username)


@admin.register(Message)
class MessageAdmin(LargeTableAdmin):
    list_display = ("excerpt", "author_link", "pub_date", "flag_mark")
    list_filter = ("flagged", "pub_date")
    list_select_related = ("author",)
    raw_id_fields = ("author",)
    search_fields = ("text",)  # shows the search box; get_search_results does the search
    search_help_text = "Text containing this, or messages by the user with exactly this name."
    # Newest first by id, which follows posting order and walks the primary key index;
    # sorting a million rows by date for every page load would not.
    ordering = ("-id",)
    actions = ("flag_selected", "unflag_selected")

    @admin.display(description="text")
    def excerpt(self, message: Message) -> str:
        return Truncator(message.text).chars(80)

    @admin.display(description="author")
    def author_link(self, message: Message) -> str:
        return _user_link(message.author)

    @admin.display(description="flagged", ordering="flagged", empty_value="")
    def flag_mark(self, message: Message) -> str:
        # Only the exception is marked: the boolean column's red ✗ on every ordinary
        # message read as an alarm.
        return "⚑ flagged" if message.flagged else ""

    def get_search_results(self, request, queryset, search_term):
        # The name is resolved to an id first (one unique-index lookup), so the list query
        # stays on the message table instead of joining users into the text scan.
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(text__icontains=term)
        author = selectors.user_get(username=term, active_only=False)
        if author is not None:
            condition |= Q(author_id=author.pk)
        return queryset.filter(condition), False

    @admin.action(description="Flag selected messages (hide them)", permissions=["change"])
    def flag_selected(self, request, queryset):
        self._set_flag(request, queryset, flagged=True)

    @admin.action(description="Unflag selected messages (show them again)", permissions=["change"])
    def unflag_selected(self, request, queryset):
        self._set_flag(request, queryset, flagged=False)

    def _set_flag(self, request, queryset, *, flagged: bool) -> None:
        result = services.messages_flag(ids=queryset.values_list("pk", flat=True), flagged=flagged)
        verb = "Flagged" if flagged else "Unflagged"
        state = "flagged" if flagged else "unflagged"
        text = f"{verb} {_plural(result.changed, 'message')}"
        if result.unchanged:
            text += f"; {result.unchanged} already {state}"
        self.message_user(request, text + ".", messages.SUCCESS)


class LookalikeNameMixin:
    """Staff get the sign-up's rule too: no new or changed name may look like another
    account's (usernames.confusable_key); the account keeps the key of its new name."""

    # Provided by the ModelForm it is mixed into.
    cleaned_data: dict[str, Any]
    instance: User

    def clean_username(self):
        username = self.cleaned_data["username"]
        if self.instance.pk and username == self.instance.username:
            return username
        key = confusable_key(username)
        if selectors.confusable_user_exists(key=key, other_than=self.instance):
            raise ValidationError("The username looks too much like one that is already taken")
        self.instance.confusable_key = key
        return username


class UserAddForm(LookalikeNameMixin, SetUnusablePasswordMixin, BaseUserCreationForm):
    """The admin's "add user" form for our User model.

    Built on BaseUserCreationForm rather than Django's UserCreationForm, whose extra check
    refuses names that differ only in case; MiniTwit usernames are case-sensitive.
    """

    usable_password = SetUnusablePasswordMixin.create_usable_password_field()

    class Meta(BaseUserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].required = False
        self.fields["password2"].required = False


class UserEditForm(LookalikeNameMixin, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


@admin.register(User)
class UserAdmin(DjangoUserAdmin, LargeTableAdmin):
    form = UserEditForm
    add_form = UserAddForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Contact", {"fields": ("email",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Activity", {"fields": ("activity", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("activity",)
    list_display = ("username", "email", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("username", "email")
    ordering = ("username",)
    actions = ("deactivate_selected", "reactivate_selected")

    @admin.display(description="Messages and follows")
    def activity(self, user: User) -> str:
        if user.pk is None:
            return "-"
        counts = selectors.user_activity_counts(user=user)
        return format_html(
            '<a href="{}?author__id__exact={}">{} messages</a> · '
            '<a href="{}?follower__id__exact={}">follows {}</a> · '
            '<a href="{}?followed__id__exact={}">followed by {}</a>',
            reverse("admin:timeline_message_changelist"),
            user.pk,
            counts.messages,
            reverse("admin:timeline_follow_changelist"),
            user.pk,
            counts.following,
            reverse("admin:timeline_follow_changelist"),
            user.pk,
            counts.followers,
        )

    @admin.action(
        description="Deactivate selected users (no sign-in, messages hidden)",
        permissions=["change"],
    )
    def deactivate_selected(self, request, queryset):
        if queryset.filter(pk=request.user.pk).exists():
            self.message_user(request, "You cannot deactivate yourself.", messages.ERROR)
            return
        result = services.users_set_active(ids=queryset.values_list("pk", flat=True), active=False)
        self.message_user(request, f"Deactivated {_plural(result.changed, 'user')}.")

    @admin.action(description="Reactivate selected users", permissions=["change"])
    def reactivate_selected(self, request, queryset):
        result = services.users_set_active(ids=queryset.values_list("pk", flat=True), active=True)
        self.message_user(request, f"Reactivated {_plural(result.changed, 'user')}.")


@admin.register(Follow)
class FollowAdmin(LargeTableAdmin):
    list_display = ("id", "follower_link", "followed_link", "created")
    list_select_related = ("follower", "followed")
    raw_id_fields = ("follower", "followed")
    search_fields = ("follower__username",)  # shows the box; see get_search_results
    search_help_text = "Follows from or to the user with exactly this name."
    ordering = ("-id",)

    @admin.display(description="follower")
    def follower_link(self, follow: Follow) -> str:
        return _user_link(follow.follower)

    @admin.display(description="follows")
    def followed_link(self, follow: Follow) -> str:
        return _user_link(follow.followed)

    def get_search_results(self, request, queryset, search_term):
        # Resolved to an id first: two index lookups instead of a join over every follow.
        term = search_term.strip()
        if not term:
            return queryset, False
        user = selectors.user_get(username=term, active_only=False)
        if user is None:
            return queryset.none(), False
        return queryset.filter(Q(follower_id=user.pk) | Q(followed_id=user.pk)), False


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
