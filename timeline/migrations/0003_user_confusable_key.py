# Adds User.confusable_key (timeline/usernames.py) and fills it for the users already there.

from django.db import migrations, models

from timeline.usernames import confusable_key

BATCH = 2000


def fill_keys(apps, schema_editor):
    """Oldest account first: of existing accounts that look alike, the oldest keeps the key
    (and with it guards the look); the younger ones keep NULL."""
    User = apps.get_model("timeline", "User")
    seen: set[str] = set()
    last_pk = 0
    while True:
        users = list(User.objects.filter(pk__gt=last_pk).order_by("pk")[:BATCH])
        if not users:
            return
        changed = []
        for user in users:
            key = confusable_key(user.username)
            if key not in seen:
                seen.add(key)
                user.confusable_key = key
                changed.append(user)
        User.objects.bulk_update(changed, ["confusable_key"])
        last_pk = users[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("timeline", "0002_message_flagged_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="confusable_key",
            field=models.CharField(
                blank=True, editable=False, max_length=64, null=True, unique=True
            ),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=True),
    ]
