"""Our own course simulator, the client side of `manage.py simulate`.

It only talks HTTP to a running site. Plain functions so each step can be tested alone:
reading a scenario, giving each concurrent client its own usernames, turning actions into
requests, computing the state a scenario must leave behind, replaying, reading the state
back, and summarising latencies.
"""

import base64
import csv
import http.client
import json
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from timeline.parsing import parse_int

COMMANDS = ("register", "tweet", "follow", "unfollow")
# What the course simulator expects from every action; anything else is an error.
EXPECTED_STATUS = 204
VERIFY_TIMEOUT = 30.0
MAX_ERROR_EXAMPLES = 5


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


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict | None = None


def _user_path(prefix: str, username: str) -> str:
    return f"/{prefix}/{quote(username, safe='')}"


def request_for(action: Action) -> Request:
    """The HTTP request the course simulator sends for an action."""
    latest = f"?latest={action.id}"
    if action.command == "register":
        body = {"username": action.user, "email": action.argument, "pwd": action.password}
        return Request("POST", f"/register{latest}", body)
    if action.command == "tweet":
        return Request(
            "POST", _user_path("msgs", action.user) + latest, {"content": action.argument}
        )
    return Request(
        "POST", _user_path("fllws", action.user) + latest, {action.command: action.argument}
    )


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


def basic_authorization(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class Connection:
    """One client's HTTP connection (http.client: cheap per request, which matters when
    client and server share two cores), kept alive between requests unless told not to."""

    def __init__(self, base_url: str, *, timeout: float, keepalive: bool, authorization: str):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http(s) URL")
        self._https = parts.scheme == "https"
        self._netloc = parts.netloc
        self._prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._keepalive = keepalive
        self._headers = {"Authorization": authorization, "Accept": "application/json"}
        if not keepalive:
            self._headers["Connection"] = "close"
        self._connection: http.client.HTTPConnection | None = None

    def _open(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return kind(self._netloc, timeout=self.timeout)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        """Send one request; return (status, body). Raises OSError subclasses (TimeoutError,
        ConnectionError) and http.client.HTTPException."""
        payload = None if body is None else json.dumps(body).encode()
        headers = dict(self._headers)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            reused = self._connection is not None
            if self._connection is None:
                self._connection = self._open()
            try:
                self._connection.request(method, self._prefix + path, payload, headers)
                response = self._connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                # The server closed an idle kept-alive connection (keep-alive timeout, a
                # recycled worker) before reading this request: send it again, once.
                if reused and attempt == 1:
                    continue
                raise
            except BaseException:
                self.close()
                raise
            if not self._keepalive or response.will_close:
                self.close()
            return response.status, data
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@dataclass
class ClientResult:
    """What one client saw: a latency per request (seconds) and its errors by kind."""

    latencies: list[float] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def error(self, kind: str, example: str) -> None:
        self.errors[kind] += 1
        if len(self.examples) < MAX_ERROR_EXAMPLES:
            self.examples.append(example)


def replay_actions(
    actions: list[Action], connection: Connection, result: ClientResult, stop: threading.Event
) -> None:
    """Send every action in order, recording latency and errors; never raises for HTTP."""
    for action in actions:
        if stop.is_set():
            break
        request = request_for(action)
        started = time.perf_counter()
        problem = None
        try:
            status, data = connection.request(request.method, request.path, request.body)
            if status != EXPECTED_STATUS:
                problem = (f"HTTP {status}", data[:200].decode(errors="replace"))
        except TimeoutError:
            problem = ("timeout", f"no answer within {connection.timeout} s")
        except (OSError, http.client.HTTPException) as exc:
            problem = ("connection error", f"{type(exc).__name__}: {exc}")
        result.latencies.append(time.perf_counter() - started)
        result.commands.append(action.command)
        if problem:
            kind, detail = problem
            result.error(
                f"{action.command}: {kind}",
                f"#{action.id} {action.command} {action.user!r}: {detail}",
            )
    connection.close()


def replay(
    clients: list[list[Action]],
    make_connection: Callable[[], Connection],
    *,
    progress: Callable[[int, int, int, float], None] | None = None,
    progress_every: float = 5.0,
) -> tuple[list[ClientResult], float]:
    """Run one thread per client, each replaying its own action list, all at once.

    `progress(done, total, errors, elapsed)` is called every `progress_every` seconds.
    Returns each client's result and the wall-clock seconds the whole replay took.
    """
    results = [ClientResult() for _ in clients]
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=replay_actions,
            args=(actions, make_connection(), result, stop),
            name=f"simulate-client-{n}",
            daemon=True,
        )
        for n, (actions, result) in enumerate(zip(clients, results, strict=True), start=1)
    ]
    total = sum(len(actions) for actions in clients)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    try:
        next_report = started + progress_every
        while alive := [thread for thread in threads if thread.is_alive()]:
            alive[0].join(timeout=0.2)
            now = time.perf_counter()
            if progress and now >= next_report:
                next_report = now + progress_every
                done = sum(len(r.latencies) for r in results)
                errors = sum(sum(r.errors.values()) for r in results)
                progress(done, total, errors, now - started)
    except KeyboardInterrupt:
        stop.set()
        for thread in threads:
            thread.join()
        raise
    return results, time.perf_counter() - started


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Summary:
    requests: int
    seconds: float
    errors: Counter
    examples: list[str]
    p50: float
    p95: float
    p99: float
    max: float
    slow: int
    slow_threshold: float
    by_command: dict[str, tuple[int, float, float]] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        ms = 1000
        lines = [
            f"requests: {self.requests} in {self.seconds:.1f} s, {self.throughput:.1f} req/s",
            f"latency: p50 {self.p50 * ms:.1f} ms, p95 {self.p95 * ms:.1f} ms, "
            f"p99 {self.p99 * ms:.1f} ms, max {self.max * ms:.1f} ms",
            f"slower than {self.slow_threshold:g} s: {self.slow}",
        ]
        lines += [
            f"  {command}: {count} requests, p50 {p50 * ms:.1f} ms, p99 {p99 * ms:.1f} ms"
            for command, (count, p50, p99) in self.by_command.items()
        ]
        lines += [
            f"errors: {self.error_count}",
        ]
        lines += [f"  {kind}: {count}" for kind, count in sorted(self.errors.items())]
        if self.examples:
            lines.append("first errors:")
            lines += [f"  {example}" for example in self.examples]
        return lines


def summarise(results: list[ClientResult], seconds: float, *, slow_threshold: float) -> Summary:
    latencies = sorted(latency for result in results for latency in result.latencies)
    errors: Counter = Counter()
    examples: list[str] = []
    per_command: dict[str, list[float]] = {command: [] for command in COMMANDS}
    for result in results:
        errors.update(result.errors)
        examples += result.examples
        for command, latency in zip(result.commands, result.latencies, strict=True):
            per_command[command].append(latency)
    by_command = {}
    for command, values in per_command.items():
        if values:
            values.sort()
            by_command[command] = (len(values), percentile(values, 0.5), percentile(values, 0.99))
    return Summary(
        requests=len(latencies),
        seconds=seconds,
        errors=errors,
        examples=examples[:MAX_ERROR_EXAMPLES],
        p50=percentile(latencies, 0.50),
        p95=percentile(latencies, 0.95),
        p99=percentile(latencies, 0.99),
        max=latencies[-1] if latencies else 0.0,
        slow=sum(1 for latency in latencies if latency > slow_threshold),
        slow_threshold=slow_threshold,
        by_command=by_command,
    )


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
    expected: ExpectedState, connection: Connection, *, latest: int | None = None
) -> VerifyReport:
    """Read every expected user's messages and follows back through the API and compare
    them, in order, with the expected state; optionally check GET /latest too."""
    report = VerifyReport()
    for user in expected.users:
        wanted_messages = list(reversed(expected.messages[user]))
        status, messages = _read(
            connection, _user_path("msgs", user) + f"?no={len(wanted_messages) + 1}"
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
            connection, _user_path("fllws", user) + f"?no={len(wanted_follows) + 1}"
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
    if latest is not None:
        status, body = _read(connection, "/latest")
        if status != 200 or body.get("latest") != latest:
            report.problems.append(f"GET /latest: HTTP {status} {body}, expected {latest}")
    connection.close()
    return report
