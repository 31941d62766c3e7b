"""Scenarios for `manage.py simulate`: the course's file format, a made-up scenario of the
same shape, and one name space per concurrent client. Plain data, no HTTP."""

import csv
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from timeline.parsing import parse_int

COMMANDS = ("register", "tweet", "follow", "unfollow")


class ScenarioError(ValueError):
    """The scenario file is not in the course's format."""


@dataclass(frozen=True)
class Action:
    """One scenario row: `argument` is the email, the text, or the other user."""

    id: int
    command: str
    user: str
    argument: str
    password: str = ""


def parse_scenario(lines: Iterable[str], *, limit: int | None = None) -> list[Action]:
    """Actions from the course's format: tab-separated, no header, no quoting,
    `id, delay, timestamp, command, user, argument[, password]`.

    The delay and timestamp columns are ignored: a replay goes as fast as the server answers.
    """
    actions: list[Action] = []
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        if limit is not None and len(actions) >= limit:
            break
        if not row or row == [""]:
            continue
        where = f"line {reader.line_num}"
        if len(row) < 6:
            raise ScenarioError(f"{where}: expected 6 or 7 tab-separated columns, got {len(row)}")
        action_id = parse_int(row[0])
        if action_id is None:
            raise ScenarioError(f"{where}: the id {row[0]!r} is not an integer")
        command = row[3]
        if command not in COMMANDS:
            raise ScenarioError(f"{where}: unknown command {command!r}")
        if command == "register" and len(row) < 7:
            raise ScenarioError(f"{where}: a register row needs a password column")
        password = row[6] if command == "register" else ""
        actions.append(Action(action_id, command, row[4], row[5], password))
    return actions


def read_scenario(path: str | Path, *, limit: int | None = None) -> list[Action]:
    with open(path, encoding="utf-8", newline="") as lines:
        return parse_scenario(lines, limit=limit)


# The course scenario's mix after its registrations: 11,306 tweets, 9,751 follows and
# 4,665 unfollows.
SYNTHETIC_MIX = (("tweet", 0.44), ("follow", 0.38), ("unfollow", 0.18))
# Words for made-up tweets: English's most common ones.
_COMMON_WORDS = (
    "the a of to and in is it you that was for on are with as I his they be at one have "
    "this from or had by hot word but what some we can out other were all there when up "
    "use your how said an each she which do their time if will way about many then them"
)
SYNTHETIC_WORDS = _COMMON_WORDS.split()


def synthetic_scenario(actions: int, *, users: int = 200, seed: int = 0) -> list[Action]:
    """A made-up scenario of the course's shape, for replays without the course's file.

    `users` registrations come first (names "user 1" ... with an email and a password), then
    `actions` - `users` tweets, follows and unfollows among them in the course scenario's
    proportions (SYNTHETIC_MIX). A follow is always of someone not yet followed and an
    unfollow of someone followed, so --verify can check the result. Same seed, same list.
    Raises ValueError when `actions` < `users` or `users` < 2.
    """
    if users < 2 or actions < users:
        raise ValueError("a synthetic scenario needs 2+ users and at least one action per user")
    rng = random.Random(seed)
    names = [f"user {n}" for n in range(1, users + 1)]
    result = [
        Action(n, "register", name, f"{name.replace(' ', '.')}@example.com", f"pw{n}")
        for n, name in enumerate(names)
    ]
    following: set[tuple[str, str]] = set()
    commands = [command for command, _ in SYNTHETIC_MIX]
    weights = [weight for _, weight in SYNTHETIC_MIX]
    while len(result) < actions:
        command = rng.choices(commands, weights)[0]
        user = rng.choice(names)
        if command == "unfollow":
            followed = sorted(whom for who, whom in following if who == user)
            if not followed:
                continue
            whom = rng.choice(followed)
            following.discard((user, whom))
            argument = whom
        elif command == "follow":
            whom = rng.choice(names)
            if whom == user or (user, whom) in following:
                continue
            following.add((user, whom))
            argument = whom
        else:
            argument = " ".join(rng.choices(SYNTHETIC_WORDS, k=rng.randint(3, 20)))
        result.append(Action(len(result), command, user, argument))
    return result


def namespaced(actions: list[Action], client: int) -> list[Action]:
    """Client 1 replays the names as they are; client n > 1 appends " #n" to every
    username (actor and followed user), so concurrent clients never collide."""
    if client == 1:
        return actions
    suffix = f" #{client}"
    renamed = []
    for action in actions:
        argument = action.argument
        if action.command in ("follow", "unfollow"):
            argument += suffix
        renamed.append(
            Action(action.id, action.command, action.user + suffix, argument, action.password)
        )
    return renamed
