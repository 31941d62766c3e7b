import datetime as dt

import factory
from django.utils import timezone

from timeline.models import Follow, Message, User
from timeline.usernames import confusable_key


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user {n}")
    confusable_key = factory.LazyAttribute(lambda u: confusable_key(u.username))
    email = factory.LazyAttribute(lambda u: f"{u.username.replace(' ', '.')}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "secret")

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MessageFactory(factory.django.DjangoModelFactory[Message]):
    class Meta:
        model = Message

    author = factory.SubFactory(UserFactory)
    text = factory.Sequence(lambda n: f"message number {n}")
    # Spread messages over time so "newest first" has something to order.
    pub_date = factory.Sequence(
        lambda n: timezone.now() - dt.timedelta(days=1) + dt.timedelta(seconds=n)
    )


class FollowFactory(factory.django.DjangoModelFactory[Follow]):
    class Meta:
        model = Follow

    follower = factory.SubFactory(UserFactory)
    followed = factory.SubFactory(UserFactory)
