"""The HTTP side of `manage.py simulate`: each action as the request the course simulator
sends, a cheap kept-alive connection, and concurrent replays that record latency and
errors."""

import base64
import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from .scenario import Action

# What the course simulator expects from every action; anything else is an error.
EXPECTED_STATUS = 204
MAX_ERROR_EXAMPLES = 5


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict | None = None


def user_path(prefix: str, username: str) -> str:
    """/prefix/<username>, the name percent-encoded as one path segment."""
    return f"/{prefix}/{quote(username, safe='')}"


def request_for(action: Action) -> Request:
    """The HTTP request the course simulator sends for an action; the action's id travels
    as the `latest` query parameter, which the site keeps as its latest counter."""
    latest_query = f"?latest={action.id}"
    if action.command == "register":
        body = {"username": action.user, "email": action.argument, "pwd": action.password}
        return Request("POST", f"/register{latest_query}", body)
    if action.command == "tweet":
        return Request(
            "POST", user_path("msgs", action.user) + latest_query, {"content": action.argument}
        )
    return Request(
        "POST", user_path("fllws", action.user) + latest_query, {action.command: action.argument}
    )


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
