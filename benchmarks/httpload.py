"""The benchmark's HTTP client: one new TCP connection per request, like the course simulator.

Standard library only, so it runs under any Python 3.11+ and the same client can measure
every server. It is built to cost as little CPU as possible, because client and servers share
the machine's cores: every request is a ready-made byte string (built before the clock
starts), sent on a raw socket with `Connection: close`; the answer is read until its
Content-Length is complete, which is when its latency is taken, and then until the server
closes, so the TIME_WAIT state stays on the server's side instead of filling the client's
ephemeral ports. Concurrent clients are processes (no shared interpreter lock), started
together behind a barrier.

Outcomes: an HTTP status, TIMEOUT (no connection or no next bytes within the timeout, the
way `requests`' timeout works in the course simulator) or CONNECTION_ERROR (refused, reset,
closed before a whole status line).
"""

import multiprocessing
import os
import socket
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

TIMEOUT = -1
CONNECTION_ERROR = -2
MAX_EXAMPLES_PER_KIND = 2  # the first failures of each kind (timeout, HTTP 404, …) are kept
_BUFFER = 65536


def build_request(
    method: str,
    path: str,
    *,
    host: str,
    body: bytes | None = None,
    content_type: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
) -> bytes:
    """One HTTP/1.1 request as bytes, with `Connection: close` and the headers the
    course simulator's `requests` sends (`Accept`, `Accept-Encoding`)."""
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        "User-Agent: minitwit-bench",
        "Accept: */*",
        "Accept-Encoding: gzip, deflate",
        "Connection: close",
    ]
    lines += [f"{name}: {value}" for name, value in headers]
    if body is not None:
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return head + (body or b"")


def _complete(buffer: bytes, header_end: int) -> bool:
    """Whether `buffer` holds a whole response whose headers end at `header_end`."""
    status = buffer[9:12]
    if status in (b"204", b"304") or status.startswith(b"1"):
        return True
    head = buffer[:header_end].lower()
    at = head.find(b"\r\ncontent-length:")
    if at < 0:
        return False  # chunked or close-delimited: complete when the server closes
    end = head.find(b"\r\n", at + 2)
    try:
        length = int(head[at + 17 : end if end >= 0 else None])
    except ValueError:
        return False
    return len(buffer) - (header_end + 4) >= length


def fetch(
    address: tuple[str, int], request: bytes, timeout: float, *, keep_body: bool = False
) -> tuple[int, float, bytes]:
    """Send one request on a new connection. Returns (status or TIMEOUT/CONNECTION_ERROR,
    seconds until the whole answer had arrived, the body: whole with `keep_body`, else its
    first 200 bytes; what arrived, for an answer that is not HTTP)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    started = time.perf_counter()
    buffer = b""
    try:
        sock.connect(address)
        sock.sendall(request)
        header_end = -1
        while True:
            chunk = sock.recv(_BUFFER)
            if not chunk:
                break
            buffer += chunk
            if header_end < 0:
                header_end = buffer.find(b"\r\n\r\n")
            if header_end >= 0 and _complete(buffer, header_end):
                break
        elapsed = time.perf_counter() - started
        if not buffer.startswith(b"HTTP/") or len(buffer) < 12 or not buffer[9:12].isdigit():
            return CONNECTION_ERROR, elapsed, buffer[:200]
        status = int(buffer[9:12])
        # Let the server close first (see the module docstring); a server that keeps the
        # connection open despite `Connection: close` costs one timeout here, not an error.
        try:
            while chunk := sock.recv(_BUFFER):
                if keep_body:
                    buffer += chunk
        except OSError:
            pass
        body = buffer[header_end + 4 :] if header_end >= 0 else b""
        return status, elapsed, body if keep_body else body[:200]
    except TimeoutError:
        return TIMEOUT, time.perf_counter() - started, buffer[:200]
    except OSError:
        return CONNECTION_ERROR, time.perf_counter() - started, buffer[:200]
    finally:
        sock.close()


@dataclass
class RunResult:
    """What a run saw: one latency (seconds), outcome and label index per request."""

    seconds: float
    latencies: array
    outcomes: array
    labels: array
    label_names: Sequence[str]
    unexpected: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # "kind: request line …"
    client_cpu: float = 0.0
    # Clients that stopped after `give_up_after` failures in a row, or at `max_seconds`
    # with requests left: the run did not finish.
    gave_up: int = 0
    cut_short: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def timeouts(self) -> int:
        return self.outcomes.count(TIMEOUT)

    @property
    def errors(self) -> int:
        """Answers other than the expected status, and connection errors (not timeouts)."""
        return sum(count for kind, count in self.unexpected.items() if kind != "timeout")

    @property
    def succeeded(self) -> int:
        return self.requests - sum(self.unexpected.values())

    @property
    def throughput(self) -> float:
        """Requests answered as expected and in time, per second: a server that fails fast
        or times out gets no credit for it."""
        return self.succeeded / self.seconds if self.seconds > 0 else 0.0


def _client_main(
    index: int,
    address: tuple[str, int],
    next_request: Callable[[int, int], tuple[bytes, int, frozenset[int]] | None],
    timeout: float,
    duration: float | None,
    max_seconds: float | None,
    give_up_after: int | None,
    barrier,
    pipe,
) -> None:
    latencies, outcomes, labels = array("d"), array("i"), array("i")
    unexpected: Counter = Counter()
    examples: list[str] = []
    gave_up = cut_short = False
    failures_in_a_row = 0
    barrier.wait()
    started = time.perf_counter()
    limits = [limit for limit in (duration, max_seconds) if limit is not None]
    deadline = started + min(limits) if limits else None
    number = 0
    while True:
        item = next_request(index, number)
        if item is None:
            break
        if deadline is not None and time.perf_counter() >= deadline:
            cut_short = duration is None or (max_seconds is not None and max_seconds < duration)
            break
        request, label, wanted = item
        status, elapsed, body = fetch(address, request, timeout)
        latencies.append(elapsed)
        outcomes.append(status)
        labels.append(label)
        number += 1
        if status in wanted:
            failures_in_a_row = 0
            continue
        kind = {TIMEOUT: "timeout", CONNECTION_ERROR: "connection error"}.get(
            status, f"HTTP {status}"
        )
        unexpected[kind] += 1
        if unexpected[kind] <= MAX_EXAMPLES_PER_KIND:
            first_line = request.split(b"\r\n", 1)[0].decode(errors="replace")
            answer = body[:160].decode(errors="replace")
            examples.append(f"{kind}: {first_line} {answer!r}")
        failures_in_a_row += 1
        if give_up_after and failures_in_a_row >= give_up_after:
            gave_up = True
            break
    cpu = os.times()
    pipe.send(
        (
            time.perf_counter() - started,
            latencies.tobytes(),
            outcomes.tobytes(),
            labels.tobytes(),
            unexpected,
            examples,
            cpu.user + cpu.system,
            gave_up,
            cut_short,
        )
    )
    pipe.close()


def run(
    address: tuple[str, int],
    clients: int,
    next_request: Callable[[int, int], tuple[bytes, int, frozenset[int]] | None],
    *,
    label_names: Sequence[str] = ("request",),
    timeout: float,
    duration: float | None = None,
    max_seconds: float | None = None,
    give_up_after: int | None = None,
) -> RunResult:
    """Run `clients` processes at once against `address`.

    Client `i` sends `next_request(i, n)` for n = 0, 1, …: a tuple (request bytes, label
    index, the statuses that count as success), or None when it has no more.
    With `duration`, each client stops starting requests after that many seconds; with
    `max_seconds` too, but the run counts as cut short; after `give_up_after` failed
    requests in a row a client gives up (a server that has fallen over is not waited for,
    time-out after time-out).
    The function is inherited by the forked processes, so it may close over large lists.
    """
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients + 1)
    pipes, processes = [], []
    for index in range(clients):
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_client_main,
            args=(
                index, address, next_request, timeout, duration, max_seconds, give_up_after,
                barrier, sender,
            ),
            daemon=True,
        )  # fmt: skip
        process.start()
        sender.close()
        pipes.append(receiver)
        processes.append(process)
    latencies, outcomes, labels = array("d"), array("i"), array("i")
    unexpected: Counter = Counter()
    examples: list[str] = []
    cpu = 0.0
    gave_up = cut_short = 0
    try:
        barrier.wait()
        started = time.perf_counter()
        for receiver in pipes:
            _, lat, out, lab, wrong, seen, used, stopped, capped = receiver.recv()
            latencies.frombytes(lat)
            outcomes.frombytes(out)
            labels.frombytes(lab)
            unexpected.update(wrong)
            for example in seen:
                kind = example.split(":", 1)[0]
                if sum(e.startswith(kind + ":") for e in examples) < MAX_EXAMPLES_PER_KIND:
                    examples.append(example)
            cpu += used
            gave_up += stopped
            cut_short += capped
        seconds = time.perf_counter() - started
    except BaseException:
        for process in processes:
            process.kill()
        raise
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
    return RunResult(
        seconds=seconds,
        latencies=latencies,
        outcomes=outcomes,
        labels=labels,
        label_names=label_names,
        unexpected=unexpected,
        examples=examples,
        client_cpu=cpu,
        gave_up=gave_up,
        cut_short=cut_short,
    )
