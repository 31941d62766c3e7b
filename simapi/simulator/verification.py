"""`manage.py simulate --verify`: the state a scenario must leave behind, read back through
the API and compared in order."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from .client import Connection, user_path
from .scenario import Action

VERIFY_TIMEOUT = 30.0


@dataclass
class ExpectedState:
    """What the site must hold after a replay: users in registration order, each user's
    messages in posting order, and whom each follows in the order they were followed."""

    users: list[str] = field(default_factory=list)
    messages: dict[str, list[str]] = field(default_factory=dict)
    follows: dict[str, dict[str, None]] = field(default_factory=dict)

    @property
    def message_count(self) -> int:
        return sum(len(texts) for texts in self.messages.values())

    @property
    def follow_count(self) -> int:
        return sum(len(names) for names in self.follows.values())


def expected_state(actions: Iterable[Action]) -> ExpectedState:
    """Apply the actions the way the site does: a second registration of a name, or an
    action naming an unregistered user, changes nothing; following is idempotent, and
    unfollowing someone not followed is a no-op; nobody follows themselves."""
    state = ExpectedState()
    for action in actions:
        user, other = action.user, action.argument
        if action.command == "register":
            if user not in state.messages:
                state.users.append(user)
                state.messages[user] = []
                state.follows[user] = {}
        elif user not in state.messages:
            continue
        elif action.command == "tweet":
            state.messages[user].append(other)
        elif other in state.messages and other != user:
            if action.command == "follow":
                state.follows[user].setdefault(other, None)
            else:
                state.follows[user].pop(other, None)
    return state


@dataclass
class VerifyReport:
    """What was read back, and every way it differs from the expected state."""

    users: int = 0
    messages: int = 0
    follows: int = 0
    problems: list[str] = field(default_factory=list)


def _read(connection: Connection, path: str):
    status, data = connection.request("GET", path)
    return status, (json.loads(data) if status == 200 else None)


def verify(
    expected: ExpectedState, connection: Connection, *, latest_counter: int | None = None
) -> VerifyReport:
    """Read every expected user's messages and follows back through the API and compare
    them, in order, with the expected state; when `latest_counter` is given, check that
    GET /latest reports it."""
    report = VerifyReport()
    for user in expected.users:
        wanted_messages = list(reversed(expected.messages[user]))
        status, messages = _read(
            connection, user_path("msgs", user) + f"?no={len(wanted_messages) + 1}"
        )
        if status == 404:
            report.problems.append(f"{user!r} is not registered")
            continue
        if status != 200:
            report.problems.append(f"GET /msgs/{user}: HTTP {status}")
            continue
        report.users += 1
        texts = [message["content"] for message in messages]
        report.messages += len(texts)
        if texts != wanted_messages:
            report.problems.append(
                f"{user!r} has {len(texts)} messages, expected {len(wanted_messages)}"
                + (
                    " (same number, different texts or order)"
                    if len(texts) == len(wanted_messages)
                    else ""
                )
            )
        wanted_follows = list(expected.follows[user])
        status, follows = _read(
            connection, user_path("fllws", user) + f"?no={len(wanted_follows) + 1}"
        )
        if status != 200:
            report.problems.append(f"GET /fllws/{user}: HTTP {status}")
            continue
        report.follows += len(follows["follows"])
        if follows["follows"] != wanted_follows:
            missing = set(wanted_follows) - set(follows["follows"])
            extra = set(follows["follows"]) - set(wanted_follows)
            report.problems.append(
                f"{user!r} follows {len(follows['follows'])} users, expected "
                f"{len(wanted_follows)} (missing {sorted(missing)[:3]}, extra {sorted(extra)[:3]})"
            )
    if latest_counter is not None:
        status, body = _read(connection, "/latest")
        if status != 200 or body.get("latest") != latest_counter:
            report.problems.append(f"GET /latest: HTTP {status} {body}, expected {latest_counter}")
    connection.close()
    return report
