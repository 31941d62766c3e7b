"""MiniTwit's domain: users, messages, who follows whom, and the simulator's `latest`.

Both apps (the HTML pages in `timeline` and the simulator API in `simapi`) use these
models; reads live in `timeline/selectors.py`, writes in `timeline/services.py`.
"""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone

# Username rules live in usernames.py; validate_username stays importable from here, where
# migration 0001 refers to it.
from .usernames import USERNAME_MAX_LENGTH, confusable_key, validate_username

MESSAGE_MAX_LENGTH = 1000


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, username, email, password, **extra):
        validate_username(username)
        user = self.model(
            username=username,
            email=self.normalize_email(email or ""),
            confusable_key=confusable_key(username),
            **extra,
        )
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, username, email="", password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(username, email, password, **extra)

    def create_superuser(self, username, email="", password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(username, email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A MiniTwit account. The username is case-sensitive, as in the original MiniTwit."""

    username = models.CharField(
        max_length=USERNAME_MAX_LENGTH, unique=True, validators=[validate_username]
    )
    # What the name looks like (usernames.confusable_key), unique so that no new name can
    # look like an existing one, even when two sign-ups race. NULL only for accounts that
    # were already confusable with an older one when they arrived (an original MiniTwit
    # database may hold such pairs): the older account's key still guards the look.
    confusable_key = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    email = models.EmailField(max_length=254, blank=True)
    is_active = models.BooleanField(
        default=True,
        help_text="Inactive users cannot sign in, and their messages are hidden everywhere.",
    )
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the admin site.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        db_table = "minitwit_user"

    def __str__(self):
        return self.username


class MessageQuerySet(models.QuerySet):
    def visible(self):
        """Messages anyone may see: not flagged by a moderator, author not deactivated."""
        return self.filter(flagged=False, author__is_active=True)

    def newest_first(self):
        # id breaks ties so two messages posted within one timestamp keep posting order.
        return self.order_by("-pub_date", "-id")


class Message(models.Model):
    author = models.ForeignKey(User, on_delete=models.CASCADE, related_name="messages")
    text = models.TextField(max_length=MESSAGE_MAX_LENGTH)
    pub_date = models.DateTimeField(default=timezone.now)
    flagged = models.BooleanField(default=False)

    objects = MessageQuerySet.as_manager()

    class Meta:
        db_table = "minitwit_message"
        indexes = [
            # Public timeline and GET /msgs: newest unflagged messages across all users.
            models.Index(
                fields=["-pub_date", "-id"],
                condition=Q(flagged=False),
                name="msg_public_timeline_idx",
            ),
            # Profile page and GET /msgs/<user>; the personal timeline uses it too when
            # the followed authors have few messages.
            models.Index(
                fields=["author", "-pub_date", "-id"],
                condition=Q(flagged=False),
                name="msg_author_timeline_idx",
            ),
            # The moderators' "flagged" list and `flag_messages --list --only-flagged`: flagged
            # messages are few, so this stays tiny and costs nothing when posting.
            models.Index(fields=["-id"], condition=Q(flagged=True), name="msg_flagged_idx"),
        ]

    def __str__(self):
        return f"{self.author_id}: {self.text[:40]}"


class Follow(models.Model):
    """`follower` follows `followed`. The unique pair serves "does A follow B" and
    "whom does A follow" (GET /fllws/<user>, personal timeline); the second index
    serves "who follows B" (admin, follower counts)."""

    # No single-column FK indexes: the two composite indexes below start with each column.
    follower = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="following", db_index=False
    )
    followed = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="followers", db_index=False
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "minitwit_follow"
        constraints = [
            models.UniqueConstraint(fields=["follower", "followed"], name="follow_unique_pair"),
        ]
        indexes = [models.Index(fields=["followed", "follower"], name="follow_followed_idx")]

    def __str__(self):
        return f"{self.follower_id} -> {self.followed_id}"


class SimulatorState(models.Model):
    """Single-row table holding the simulator's last `latest` value.

    Kept in the database, not in process memory, because several gunicorn workers and
    Swarm replicas serve one site and GET /latest must see what any of them received.
    The model sits here with every other model (one set of models and migrations for both
    apps); only simapi reads and writes it (simapi/latest_counter.py).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    latest = models.BigIntegerField(default=-1)

    class Meta:
        db_table = "minitwit_simulator_state"

    def __str__(self):
        return f"latest={self.latest}"
