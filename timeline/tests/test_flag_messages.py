"""manage.py flag_messages: the flag_tool's job, with an exit status scripts can trust."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from timeline import selectors
from timeline.models import Message

from .conftest import run_command
from .factories import MessageFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    return run_command("flag_messages", *args)


def test_flagging_hides_the_messages_from_every_timeline(client):
    author = UserFactory(username="dora")
    spam = MessageFactory.create_batch(2, author=author, text="spam spam")
    MessageFactory(author=author, text="ham")
    out, _ = run(*(m.pk for m in spam))
    assert out == "Flagged 2 messages.\n"
    assert set(Message.objects.filter(flagged=True)) == set(spam)
    for page in ("/public", "/dora"):
        assert "spam spam" not in client.get(page).text
    assert [m.text for m in selectors.newest_messages(limit=10)] == ["ham"]  # GET /msgs


def test_unflag_shows_the_messages_again(client):
    message = MessageFactory(text="was hidden", flagged=True)
    out, _ = run("--unflag", message.pk)
    assert out == "Unflagged 1 message.\n"
    assert "was hidden" in client.get("/public").text


def test_messages_already_in_the_wanted_state_are_counted_not_changed():
    flagged, fresh = MessageFactory(flagged=True), MessageFactory()
    out, _ = run(flagged.pk, fresh.pk, fresh.pk)
    assert out == "Flagged 1 message, 1 already flagged.\n"


def test_unknown_ids_are_reported_and_fail_the_command_but_known_ones_are_flagged():
    message = MessageFactory()
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="2 of 3 ids match no message") as failure:
        call_command("flag_messages", str(message.pk), "999998", "999999", stdout=out, stderr=err)
    assert failure.value.returncode == 1
    assert "No message with id 999998." in err.getvalue()
    assert "No message with id 999999." in err.getvalue()
    assert out.getvalue() == "Flagged 1 message.\n"
    message.refresh_from_db()
    assert message.flagged


# "²" is a digit to str.isdigit() but not a number to int(): it once made a traceback.
@pytest.mark.parametrize("bad", ["abc", "0", "-3", "1.5", "²", "٣", " 7", "+7", "1_0"])
def test_an_id_that_is_not_a_positive_number_is_refused(bad):
    message = MessageFactory()
    with pytest.raises(CommandError, match="is not a message id"):
        call_command("flag_messages", str(message.pk), bad)
    message.refresh_from_db()
    assert not message.flagged


def test_without_ids_or_list_the_command_explains_itself():
    with pytest.raises(CommandError, match="Give one or more message ids, or --list"):
        run()


def test_list_does_not_mix_with_ids():
    with pytest.raises(CommandError, match="--list takes no message ids"):
        run("--list", "1")


def test_list_writes_every_message_as_csv_oldest_first():
    author = UserFactory(username="Roger Histand")
    tricky = 'He said "hi", then\nleft; ½ ünïcode'
    first = MessageFactory(author=author, text=tricky)
    second = MessageFactory(author=author, text="flagged one", flagged=True)
    out, _ = run("--list")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [
        ["id", "author", "text", "flagged"],
        [str(first.pk), "Roger Histand", tricky, "0"],
        [str(second.pk), "Roger Histand", "flagged one", "1"],
    ]


def test_list_can_be_limited_to_flagged_messages():
    MessageFactory(text="fine")
    bad = MessageFactory(text="bad", flagged=True)
    out, _ = run("--list", "--only-flagged")
    rows = list(csv.reader(io.StringIO(out)))[1:]
    assert rows == [[str(bad.pk), bad.author.username, "bad", "1"]]


def test_the_export_streams_in_chunks_and_still_returns_every_row():
    messages = MessageFactory.create_batch(7)
    exported = selectors.messages_export(chunk_size=2)
    assert not isinstance(exported, list | tuple)
    assert [row[0] for row in exported] == [m.pk for m in messages]


@pytest.mark.slow
def test_from_a_shell_unknown_ids_give_exit_status_1_and_known_ones_0(manage_py):
    manage_py("generate_data", "--users", 1, "--messages", 1, "-v0")
    ok = manage_py("flag_messages", 1)
    assert (ok.returncode, ok.stdout) == (0, "Flagged 1 message.\n")
    unknown = manage_py("flag_messages", "--unflag", 1, 424242)
    assert unknown.returncode == 1
    assert "No message with id 424242." in unknown.stderr
    assert unknown.stdout == "Unflagged 1 message.\n"
    assert manage_py("flag_messages", "x").returncode == 2  # usage error, from argparse
