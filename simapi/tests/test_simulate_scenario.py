"""The simulator client's plain parts: reading scenarios, namespacing clients, the requests
it sends, the state a scenario implies, and the latency summary."""

import base64
import json

import pytest

from simapi.simulator.client import ClientResult, Connection, basic_authorization, request_for
from simapi.simulator.report import percentile, summarise
from simapi.simulator.scenario import Action, ScenarioError, namespaced, parse_scenario
from simapi.simulator.verification import expected_state

from .conftest import SCENARIO


@pytest.fixture
def actions():
    return parse_scenario(SCENARIO.splitlines(keepends=True))


def test_rows_become_actions_with_every_column_kept_exactly(actions):
    assert len(actions) == 12
    assert actions[1] == Action(
        1, "register", "Wendell Ballan", "Wendell-Ballan@gmail.com", "6cl_[\\"
    )
    assert actions[2].password == 'Qm"oZ=.D0'
    assert actions[3] == Action(3, "tweet", "Roger Histand", "“Then I was fairly within,” he said.")
    assert actions[7] == Action(7, "unfollow", "Nathan Sirmon", "Roger Histand")


def test_a_limit_keeps_the_first_rows(actions):
    limited = parse_scenario(SCENARIO.splitlines(keepends=True), limit=4)
    assert limited == actions[:4]


def test_windows_line_ends_and_blank_lines_are_fine(actions):
    assert parse_scenario(SCENARIO.replace("\n", "\r\n\r\n").splitlines(True)) == actions


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0\t0\t1\tregister\tbob\n", "expected 6 or 7"),
        ("x\t0\t1\ttweet\tbob\thi\n", "not an integer"),
        ("²\t0\t1\ttweet\tbob\thi\n", "not an integer"),
        ("0\t0\t1\tretweet\tbob\thi\n", "unknown command 'retweet'"),
        ("0\t0\t1\tregister\tbob\tbob@x\n", "needs a password"),
    ],
)
def test_malformed_rows_are_reported_with_their_line(line, message):
    with pytest.raises(ScenarioError, match=message) as error:
        parse_scenario(["0\t0\t1\ttweet\ta\tb\n", line])
    assert "line 2" in str(error.value)


def test_the_first_client_uses_the_scenarios_names(actions):
    assert namespaced(actions, 1) == actions


def test_other_clients_get_their_own_usernames_everywhere(actions):
    second = namespaced(actions, 2)
    assert second[0].user == "Roger Histand #2"
    assert second[0].argument == "Roger+Histand@hotmail.com"  # an email, not a name
    assert second[3].argument == actions[3].argument  # a text, not a name
    assert second[4] == Action(4, "follow", "Roger Histand #2", "Wendell Ballan #2")
    names = {a.user for a in actions}
    assert not names & {a.user for a in second}


def test_each_command_becomes_the_course_simulators_request(actions):
    register = request_for(actions[0])
    assert (register.method, register.path) == ("POST", "/register?latest=0")
    assert register.body == {
        "username": "Roger Histand",
        "email": "Roger+Histand@hotmail.com",
        "pwd": "]=)[X{Km{z",
    }
    tweet = request_for(actions[3])
    assert tweet.path == "/msgs/Roger%20Histand?latest=3"
    assert tweet.body == {"content": actions[3].argument}
    assert request_for(actions[4]).body == {"follow": "Wendell Ballan"}
    unfollow = request_for(actions[7])
    assert (unfollow.path, unfollow.body) == (
        "/fllws/Nathan%20Sirmon?latest=7",
        {"unfollow": "Roger Histand"},
    )


def test_names_are_quoted_as_one_path_segment():
    action = Action(1, "tweet", "a/b #2?x", "hi")
    assert request_for(action).path == "/msgs/a%2Fb%20%232%3Fx?latest=1"


def test_the_expected_state_follows_the_sites_rules(actions):
    state = expected_state(actions)
    assert state.users == ["Roger Histand", "Wendell Ballan", "Nathan Sirmon"]
    assert state.messages["Roger Histand"] == [actions[3].argument, "Second"]
    assert state.messages["Nathan Sirmon"] == []
    # Re-following after an unfollow puts the name at the end, as a new follow row would.
    assert list(state.follows["Roger Histand"]) == ["Nathan Sirmon", "Wendell Ballan"]
    assert list(state.follows["Nathan Sirmon"]) == []
    assert (len(state.users), state.message_count, state.follow_count) == (3, 3, 2)


def test_actions_the_site_refuses_change_nothing_in_the_expected_state():
    state = expected_state(
        [
            Action(0, "register", "amy", "amy@x", "p"),
            Action(1, "register", "amy", "amy2@x", "p"),
            Action(2, "tweet", "ghost", "boo"),
            Action(3, "follow", "amy", "ghost"),
            Action(4, "follow", "amy", "amy"),
            Action(5, "follow", "ghost", "amy"),
        ]
    )
    assert state.users == ["amy"]
    assert (state.message_count, state.follow_count) == (0, 0)


def test_percentiles_use_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile([7.0], 0.99) == 7
    assert percentile([], 0.5) == 0


def test_the_summary_counts_errors_by_kind_and_slow_requests():
    first, second = ClientResult(), ClientResult()
    first.latencies = [0.001] * 98 + [0.5]
    first.commands = ["tweet"] * 98 + ["register"]
    second.latencies = [0.002]
    second.commands = ["follow"]
    first.error("tweet: HTTP 404", "#3 tweet 'x': not found")
    second.error("tweet: HTTP 404", "#3 tweet 'x #2': not found")
    second.error("register: timeout", "#0 register")
    summary = summarise([first, second], 2.0, slow_threshold=0.3)
    assert (summary.requests, summary.throughput) == (100, 50.0)
    assert summary.error_count == 3
    assert summary.errors == {"tweet: HTTP 404": 2, "register: timeout": 1}
    assert (summary.p50, summary.max, summary.slow) == (0.001, 0.5, 1)
    text = "\n".join(summary.lines())
    assert "requests: 100 in 2.0 s, 50.0 req/s" in text
    assert "p99 2.0 ms, max 500.0 ms" in text
    assert "slower than 0.3 s: 1" in text
    assert "  tweet: HTTP 404: 2" in text
    assert "  register: 1 requests, p50 500.0 ms, p99 500.0 ms" in text
    assert "  tweet: 98 requests, p50 1.0 ms, p99 1.0 ms" in text


def test_the_authorization_header_is_basic_auth():
    header = basic_authorization("simulator", "super_safe!")
    assert header == "Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh"
    assert base64.b64decode(header.split()[1]) == b"simulator:super_safe!"


def test_a_base_url_must_be_http():
    with pytest.raises(ValueError, match="not an http"):
        Connection("ftp://x", timeout=1, keepalive=True, authorization="")


def test_json_bodies_round_trip_unicode_exactly(actions):
    body = request_for(actions[3]).body
    assert json.loads(json.dumps(body)) == {"content": "“Then I was fairly within,” he said."}
