"""`manage.py simulate` against a live server, end to end."""

import socket
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from simapi.simulator.client import Connection, basic_authorization
from simapi.simulator.scenario import read_scenario, synthetic_scenario
from simapi.simulator.verification import expected_state, verify
from timeline.models import Follow, Message, SimulatorState, User

from .conftest import SCENARIO, SHARED_SCENARIO


@pytest.fixture
def scenario(tmp_path) -> Path:
    path = tmp_path / "scenario.csv"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def simulate(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("simulate", *map(str, args), stdout=out, stderr=err)
    except CommandError as exc:
        raise AssertionError(f"{exc}\n{out.getvalue()}\n{err.getvalue()}") from exc
    return out.getvalue(), err.getvalue()


def simulate_failing(*args, match: str) -> str:
    """Run a replay that must fail with `match`; return what it printed."""
    out = StringIO()
    with pytest.raises(CommandError, match=match):
        call_command("simulate", *map(str, args), stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_replay_sends_everything_and_verify_reads_it_back(live_server, scenario):
    out, err = simulate(scenario, "--base-url", live_server.url, "--timeout", "5", "--verify")
    assert "requests: 12 in " in out
    assert "errors: 0" in out
    assert "verified: 3 users, 3 messages, 2 follows" in out
    assert "replaying 12 actions x 1 client(s)" in err
    assert User.objects.count() == 3
    assert Message.objects.count() == 3
    assert Follow.objects.count() == 2
    assert SimulatorState.objects.get().latest == 11
    assert User.objects.get(username="Wendell Ballan").check_password("6cl_[\\")


@pytest.mark.django_db(transaction=True)
def test_several_clients_replay_side_by_side_under_their_own_names(live_server, scenario):
    out, _ = simulate(
        scenario,
        "--base-url",
        live_server.url,
        "--timeout",
        "5",
        "--clients",
        "3",
        "--no-keepalive",
        "--verify",
        "--quiet",
    )
    assert "requests: 36 in " in out
    assert "verified: 9 users, 9 messages, 6 follows" in out
    assert User.objects.filter(username="Roger Histand #3").exists()
    assert Message.objects.count() == 9


@pytest.mark.django_db(transaction=True)
def test_a_limit_replays_only_the_first_actions(live_server, scenario):
    out, _ = simulate(
        scenario, "--base-url", live_server.url, "--limit", "4", "--verify", "--timeout", "5"
    )
    assert "requests: 4 in " in out
    assert "verified: 3 users, 1 messages, 0 follows" in out


@pytest.mark.django_db(transaction=True)
def test_errors_are_counted_by_kind_and_fail_the_command(live_server, scenario):
    simulate(scenario, "--base-url", live_server.url, "--timeout", "5", "--quiet")
    out = simulate_failing(
        scenario,
        "--base-url",
        live_server.url,
        "--timeout",
        "5",
        "--limit",
        "3",
        "--quiet",
        match="3 request error",
    )
    assert "register: HTTP 400: 3" in out
    assert "The username is already taken" in out


@pytest.mark.django_db(transaction=True)
def test_verify_notices_a_site_that_does_not_hold_what_the_scenario_implies(live_server, scenario):
    simulate(scenario, "--base-url", live_server.url, "--timeout", "5", "--quiet")
    Message.objects.filter(text="Second").delete()
    Follow.objects.filter(followed__username="Nathan Sirmon").delete()
    Follow.objects.create(
        follower=User.objects.get(username="Wendell Ballan"),
        followed=User.objects.get(username="Nathan Sirmon"),
    )
    expected = expected_state(read_scenario(scenario))
    connection = Connection(
        live_server.url,
        timeout=5,
        keepalive=True,
        authorization=basic_authorization("simulator", "super_safe!"),
    )
    report = verify(expected, connection, latest_counter=99)
    assert report.problems == [
        "'Roger Histand' has 1 messages, expected 2",
        "'Roger Histand' follows 1 users, expected 2 (missing ['Nathan Sirmon'], extra [])",
        "'Wendell Ballan' follows 1 users, expected 0 (missing [], extra ['Nathan Sirmon'])",
        "GET /latest: HTTP 200 {'latest': 11}, expected 99",
    ]
    assert (report.users, report.messages, report.follows) == (3, 2, 2)


@pytest.mark.django_db(transaction=True)
def test_wrong_credentials_are_403_errors(live_server, scenario):
    out = simulate_failing(
        scenario,
        "--base-url",
        live_server.url,
        "--password",
        "nope",
        "--timeout",
        "5",
        match="request error",
    )
    assert "register: HTTP 403: 3" in out
    assert not User.objects.exists()


def test_a_server_that_does_not_answer_in_time_gives_timeouts(scenario):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # accepts connections (the kernel does) but never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        out = simulate_failing(
            scenario,
            "--base-url",
            url,
            "--limit",
            "2",
            "--timeout",
            "0.2",
            "--quiet",
            match="2 request error",
        )
    assert "register: timeout: 2" in out
    assert "slower than 0.3 s: 0" in out


def test_no_server_at_all_gives_connection_errors(scenario):
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    out = simulate_failing(
        scenario,
        "--base-url",
        f"http://127.0.0.1:{port}",
        "--limit",
        "1",
        "--quiet",
        match="1 request error",
    )
    assert "register: connection error: 1" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "localhost:8000"], "not an http"),
        (["--base-url", "http://127.0.0.1:9", "--clients", "0"], "--clients: must be a whole"),
        (["--base-url", "http://127.0.0.1:9", "--clients", "²"], "--clients: must be a whole"),
        (["--base-url", "http://127.0.0.1:9", "--timeout", "-1"], "--timeout: must be a number"),
    ],
)
def test_bad_options_are_refused(scenario, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("simulate", str(scenario), *args, stdout=StringIO(), stderr=StringIO())


def test_a_missing_or_malformed_scenario_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("simulate", str(tmp_path / "none.csv"), "--base-url", "http://x")
    bad = tmp_path / "bad.csv"
    bad.write_text("0\t0\t0\tpost\tbob\thi\n")
    with pytest.raises(CommandError, match="line 1: unknown command 'post'"):
        call_command("simulate", str(bad), "--base-url", "http://x")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not SHARED_SCENARIO.exists(), reason=f"{SHARED_SCENARIO} is absent")
def test_the_first_500_actions_of_the_course_scenario_replay_and_verify(live_server):
    expected = expected_state(read_scenario(SHARED_SCENARIO, limit=500))
    out, _ = simulate(
        SHARED_SCENARIO,
        "--base-url",
        live_server.url,
        "--limit",
        "500",
        "--timeout",
        "5",
        "--verify",
        "--quiet",
    )
    assert "errors: 0" in out
    assert (
        f"verified: {len(expected.users)} users, {expected.message_count} messages, "
        f"{expected.follow_count} follows" in out
    )
    assert User.objects.count() == len(expected.users) > 0
    assert Message.objects.count() == expected.message_count > 0


@pytest.mark.django_db(transaction=True)
def test_a_synthetic_scenario_replays_and_verifies_without_the_course_file(live_server):
    out, err = simulate(
        "--synthetic",
        300,
        "--synthetic-users",
        20,
        "--base-url",
        live_server.url,
        "--timeout",
        "5",
        "--verify",
        "--quiet",
    )
    assert "requests: 300 in " in out and "errors: 0" in out
    assert "verified: 20 users" in out
    assert User.objects.count() == 20


def test_a_synthetic_scenario_has_the_course_scenarios_shape():
    actions = synthetic_scenario(2000, users=50, seed=1)
    assert [a.command for a in actions[:50]] == ["register"] * 50
    later = Counter(a.command for a in actions[50:])
    assert set(later) == {"tweet", "follow", "unfollow"}
    assert later["tweet"] > later["follow"] > later["unfollow"]
    assert actions == synthetic_scenario(2000, users=50, seed=1)
    expected = expected_state(actions)
    assert expected  # --verify has something to compare


def test_a_scenario_file_or_synthetic_but_not_both_nor_neither(scenario):
    with pytest.raises(CommandError, match="either a scenario file or --synthetic"):
        call_command("simulate", "--base-url", "http://x", stdout=StringIO())
    with pytest.raises(CommandError, match="either a scenario file or --synthetic"):
        call_command("simulate", str(scenario), "--synthetic", "5", "--base-url", "http://x")
