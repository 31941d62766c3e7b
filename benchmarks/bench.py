"""`make bench`: how fast MiniTwit is, as ratios against baselines measured in the same run.

1. The course simulator's pattern: the scenario replayed with a new connection per request,
   HTTP Basic credentials, `latest` and the course's 0.3 s timeout, once sequentially and
   once by 8 concurrent clients, against three servers started fresh one after the other:
   the course's reference API (Flask, SQLite, gunicorn with 2 sync workers; only with
   --reference), this project (gunicorn.conf.py, a fresh PostgreSQL database) and a server
   that answers 204 at once (the client's ceiling).
2. At scale: this project on a database filled by `manage.py generate_data` (1,000,000
   messages), each endpoint loaded by 8 concurrent connections for --duration seconds, each
   as a share of the /health floor; the same on 10,000 messages for the growth check.
3. The tables, every target of issue 12 as PASS/FAIL, and docs/performance.md (the part
   between its generated markers).

Exits 1 when a server does not start or dies, or when this project (or the 204 server)
answers any request with an unexpected status or a connection error, or times out on more
than 1% of a run's requests: an endpoint that falls over. Targets missed do not change the
exit status; the machine is shared and throughput is noisy. docs/performance.md explains the
method; `--help` lists the options.
"""

import argparse
import datetime as dt
import html.parser
import http.client
import json
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit

import httpload
import report
import servers
from servers import BenchError

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# The simulator client is standard library only: no Django here.
from simapi.simulator.client import basic_authorization, request_for  # noqa: E402
from simapi.simulator.report import percentile  # noqa: E402
from simapi.simulator.scenario import COMMANDS, Action, namespaced, read_scenario  # noqa: E402

SIMULATOR_CREDENTIALS = ("simulator", "super_safe!")  # the course simulator's
TIMEOUT_TOLERANCE = 0.01  # share of a run's requests that may time out before it "fell over"
# A client that sees this many failures in a row stops: the server has fallen over, and
# waiting out its time-outs one by one would only make the run long.
GIVE_UP_AFTER = 50
COURSE_TIMEOUT = 0.3  # seconds: slower answers are time-outs to the course simulator
OK = frozenset({200})
NO_CONTENT = frozenset({204})
COMMAND_LABELS = COMMANDS
READER = "bench reader"
READER_PASSWORD = "bench-reader-password"
GENERATED_PASSWORD = "bench-generated-password"


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- options ---------------------------------------------------------------------------------

FULL = {
    "sequential_actions": None,  # the whole scenario
    "actions_per_client": 3000,
    "duration": 10.0,
    "warmup": 2.0,
    "messages": 1_000_000,
    "users": 100_000,
    "small_messages": 10_000,
    "small_users": 1_000,
    "follows": 1000,
    "deep_page": 1000,
    "timeout": 0.3,
    "scale_timeout": 2.0,
}
QUICK = {
    "sequential_actions": 1500,
    "actions_per_client": 200,
    "duration": 2.0,
    "warmup": 0.5,
    "messages": 20_000,
    "users": 2_000,
    "small_messages": 0,  # no growth check
    "small_users": 0,
    "follows": 200,
    "deep_page": 20,
    # A shared machine stalls now and then (registrations took over 1 s at a load average
    # of 15): 5 s tells a stall from a fall-over.
    "timeout": 5.0,
    "scale_timeout": 5.0,
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/bench.py",
        description=__doc__.split("\n\n")[0],
        epilog="Method and results: docs/performance.md. Environment: BENCH_REFERENCE "
        "(default for --reference), BENCH_PG (default for --pg); the server's own variables "
        "(WEB_CONCURRENCY, GUNICORN_THREADS, DB_CONN_MAX_AGE, ...) pass through to it.",
    )
    add = parser.add_argument
    add(
        "--quick",
        action="store_true",
        help="CI's smoke version (2-3 minutes): a short scenario, 2 s per endpoint, "
        f"{QUICK['messages']:,} messages, no growth check, a {QUICK['timeout']:g} s "
        "timeout; prints the tables, writes no docs",
    )
    add(
        "--checkout",
        type=Path,
        default=REPO,
        help="the MiniTwit checkout to measure (default: this one); its .venv must exist "
        "(make install)",
    )
    add(
        "--reference",
        type=Path,
        default=os.environ.get("BENCH_REFERENCE") or None,
        help="directory holding the course's minitwit_sim_api.py, minitwit.py and schema.sql "
        "(itu-devops/lecture_notes, sessions/session_03/API_Spec/); without it the "
        "comparison is skipped",
    )
    add(
        "--scenario",
        type=Path,
        default=REPO.parent / "shared" / "minitwit_scenario.csv",
        help="the course scenario; without it the simulator pattern is skipped",
    )
    add(
        "--pg",
        default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server for the scratch databases, created and dropped (default "
        "%(default)s)",
    )
    add(
        "--cache",
        default=os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/14"),
        help="Redis for this project's read cache, as production runs it (CACHE_URL; emptied "
        "before each server starts; default %(default)s); 'none' measures without it",
    )
    add("--only", choices=("simulator", "scale"), help="run one part only")
    add(
        "--clients",
        type=int,
        default=8,
        help="concurrent clients / connections (default %(default)s)",
    )
    add(
        "--sequential-actions",
        type=int,
        help="scenario actions replayed sequentially (default: all; quick: "
        f"{QUICK['sequential_actions']})",
    )
    add(
        "--actions-per-client",
        type=int,
        help=f"scenario actions per concurrent client (default {FULL['actions_per_client']}; "
        f"quick {QUICK['actions_per_client']})",
    )
    add(
        "--timeout",
        type=float,
        help=f"simulator-pattern timeout, seconds (default {FULL['timeout']:g}, the course "
        f"simulator's; quick {QUICK['timeout']:g})",
    )
    add(
        "--duration",
        type=float,
        help=f"seconds each endpoint is loaded at scale (default {FULL['duration']:g}; "
        f"quick {QUICK['duration']:g})",
    )
    add(
        "--warmup",
        type=float,
        help=f"seconds of unmeasured load before each run (default {FULL['warmup']:g}; "
        f"quick {QUICK['warmup']:g})",
    )
    add(
        "--scale-timeout",
        type=float,
        help=f"timeout at scale (default {FULL['scale_timeout']:g} s; quick "
        f"{QUICK['scale_timeout']:g})",
    )
    add(
        "--max-run-seconds",
        type=float,
        default=600.0,
        help="a simulator-pattern run stops after this long and is marked cut short "
        "(default %(default)g s)",
    )
    add(
        "--messages",
        type=int,
        help=f"messages in the large database (default {FULL['messages']:,})",
    )
    add("--users", type=int, help=f"users in the large database (default {FULL['users']:,})")
    add(
        "--small-messages",
        type=int,
        help=f"messages in the growth check's database; 0 skips it (default "
        f"{FULL['small_messages']:,})",
    )
    add(
        "--small-users",
        type=int,
        help=f"users in the growth check's database (default {FULL['small_users']:,})",
    )
    add(
        "--follows",
        type=int,
        help=f"users the signed-in reader follows (default {FULL['follows']:,})",
    )
    add(
        "--deep-page",
        type=int,
        help=f"the deep page: page 1 and its 'older' link followed N-1 times (default "
        f"{FULL['deep_page']:,})",
    )
    add("--seed", type=int, default=12, help="generate_data's seed (default %(default)s)")
    add(
        "--output",
        type=Path,
        help="write the report into this Markdown file's generated part (default: "
        "docs/performance.md; --quick: none)",
    )
    add("--no-write", action="store_true", help="print only; write no docs")
    add(
        "--json",
        type=Path,
        help="also write every figure as JSON (default: "
        "benchmarks/results/bench-<time>.json, ignored by git)",
    )
    add(
        "--from-json",
        type=Path,
        help="measure nothing: print the report of an earlier run from its JSON, and write "
        "it like a run would (--output, --no-write)",
    )
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.output is None and not args.quick:
        args.output = REPO / "docs" / "performance.md"
    if args.no_write:
        args.output = None
    for name in ("clients", "follows", "deep_page"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.duration <= 0 or args.timeout <= 0 or args.scale_timeout <= 0:
        parser.error("--duration and the timeouts must be above 0")
    args.checkout = args.checkout.resolve()
    # What reproduces the run: the variables that changed it, then the command.
    settings = [f"{k}={os.environ[k]}" for k in ("BENCH_REFERENCE", "BENCH_PG", *servers.OUR_KNOBS)
                if k in os.environ]  # fmt: skip
    args.command = shlex.join([*settings, ".venv/bin/python", "benchmarks/bench.py", *argv])
    if "MAKELEVEL" in os.environ:
        args.command += " (run by make bench)"
    return args


# --- summaries -------------------------------------------------------------------------------


def summarise(result: httpload.RunResult, *, server_cpu: float | None = None) -> dict:
    """A run's figures: throughput, latency percentiles in ms, errors, CPU per request."""
    ordered = sorted(result.latencies)
    by_label: dict[str, list[float]] = {}
    for label, latency in zip(result.labels, result.latencies, strict=True):
        by_label.setdefault(result.label_names[label], []).append(latency)
    ms = 1000
    summary = {
        "requests": result.requests,
        "succeeded": result.succeeded,
        "gave_up": result.gave_up,
        "cut_short": result.cut_short,
        "seconds": result.seconds,
        "rps": result.throughput,
        "p50": percentile(ordered, 0.50) * ms,
        "p95": percentile(ordered, 0.95) * ms,
        "p99": percentile(ordered, 0.99) * ms,
        "max": (ordered[-1] if ordered else 0.0) * ms,
        "errors": result.errors,
        "timeouts": result.timeouts,
        "over_course_timeout": sum(1 for latency in ordered if latency > COURSE_TIMEOUT),
        "unexpected": dict(result.unexpected),
        "examples": result.examples,
        "client_cpu_us": result.client_cpu / result.requests * 1e6 if result.requests else None,
        "server_cpu_ms": server_cpu / result.requests * ms
        if server_cpu is not None and result.requests
        else None,
        "by_label": {},
    }
    for name, values in by_label.items():
        values.sort()
        summary["by_label"][name] = {
            "requests": len(values),
            "p50": percentile(values, 0.50) * ms,
            "p99": percentile(values, 0.99) * ms,
        }
    return summary


class Run:
    """Everything one benchmark run found, and what fell over."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.results: dict = {"simulator": {}, "scale": {}, "rss": [], "skipped": []}
        self.fell_over: list[str] = []

    def skip(self, message: str) -> None:
        log(f"SKIPPED: {message}")
        self.results["skipped"].append(message)

    def judge(self, what: str, summary: dict) -> None:
        """Record a fall-over of a server that must not fall over (ours, the 204 server)."""
        problems = []
        if summary["errors"]:
            kinds = ", ".join(
                f"{count} x {kind}"
                for kind, count in summary["unexpected"].items()
                if kind != "timeout"
            )
            problems.append(f"{summary['errors']} error(s): {kinds}")
        allowed = TIMEOUT_TOLERANCE * summary["requests"]
        if summary["timeouts"] > allowed:
            problems.append(
                f"{summary['timeouts']} time-out(s) of {summary['requests']} requests "
                f"(more than {TIMEOUT_TOLERANCE:.0%})"
            )
        if summary["gave_up"]:
            problems.append(
                f"{summary['gave_up']} client(s) gave up after {GIVE_UP_AFTER} failures in a row"
            )
        if problems:
            message = f"{what}: " + "; ".join(problems)
            if summary["examples"]:
                message += "\n    " + "\n    ".join(summary["examples"])
            self.fell_over.append(message)
            log(f"FELL OVER: {message}")


def measure(
    server: servers.Server,
    clients: int,
    next_request: Callable,
    *,
    timeout: float,
    duration: float | None = None,
    max_seconds: float | None = None,
    label_names=("request",),
) -> dict:
    server.check_alive()
    cpu_before = server.cpu_seconds()
    result = httpload.run(
        server.address,
        clients,
        next_request,
        label_names=label_names,
        timeout=timeout,
        duration=duration,
        max_seconds=max_seconds,
        give_up_after=GIVE_UP_AFTER,
    )
    server_cpu = server.cpu_seconds() - cpu_before
    server.check_alive()
    return summarise(result, server_cpu=server_cpu)


def warm_up(server: servers.Server, request: bytes, *, clients: int, seconds: float) -> None:
    """Unmeasured load so every worker has its imports, connections and caches ready."""
    if seconds > 0:
        httpload.run(
            server.address,
            clients,
            lambda _i, _n: (request, 0, frozenset()),
            timeout=5.0,
            duration=seconds,
        )


def record_rss(run: Run, server: servers.Server, phase: str) -> None:
    rss = [value / 2**20 for value in server.worker_rss()]
    run.results["rss"].append(
        {
            "phase": phase,
            "workers_mb": sorted(rss, reverse=True),
            "workers_seen": len(server.worker_pids_seen),
        }
    )


def git_commit(checkout: Path) -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    subject = git("log", "-1", "--format=%s")
    return f"{commit} {subject}".strip()


# --- 1. the simulator pattern ---------------------------------------------------------------


def scenario_requests(
    actions: list[Action], host: str, authorization: str
) -> list[tuple[bytes, int, frozenset[int]]]:
    """The course simulator's request for each action, as ready-made bytes."""
    built = []
    for action in actions:
        request = request_for(action)
        built.append(
            (
                httpload.build_request(
                    request.method,
                    request.path,
                    host=host,
                    body=json.dumps(request.body).encode(),
                    content_type="application/json",
                    headers=[("Authorization", authorization)],
                ),
                COMMAND_LABELS.index(action.command),
                NO_CONTENT,
            )
        )
    return built


def simulator_pattern(run: Run, databases: servers.Databases | None) -> None:
    args = run.args
    if not args.scenario.is_file():
        run.skip(f"the simulator pattern: the scenario {args.scenario} is absent")
        return
    actions = read_scenario(args.scenario)
    authorization = basic_authorization(*SIMULATOR_CREDENTIALS)
    reference_venv = None
    if args.reference is None:
        run.skip(
            "the course reference: no --reference directory (or BENCH_REFERENCE) given, so "
            "there is no comparison with it; see docs/performance.md for where its files "
            "are published"
        )
    else:
        missing = servers.check_reference_dir(args.reference)
        if missing:
            raise BenchError(f"--reference {args.reference}: missing {', '.join(missing)}")
        reference_venv = servers.reference_venv(
            Path(__file__).with_name("reference-requirements.txt"), log=log
        )

    def start(kind: str, purpose: str) -> servers.Server:
        if kind == "reference":
            # Each of the reference's workers deletes and recreates its SQLite file when it
            # imports the module; now and then the two collide (SQLite says "disk I/O error"
            # or "attempt to write a readonly database") and gunicorn halts. That is the
            # reference's own start-up race, not a measurement: start it again, a few times.
            for attempt in range(1, 4):
                try:
                    return servers.start_reference(
                        args.reference, reference_venv, workers=2, authorization=authorization
                    )
                except BenchError as exc:
                    if attempt == 3 or "sqlite3.OperationalError" not in str(exc):
                        raise
                    log(f"the course reference failed to boot ({attempt}/3), starting again")
        if kind == "ours":
            return servers.start_ours(args.checkout, databases.fresh(purpose))
        return servers.start_empty(args.checkout / ".venv/bin/gunicorn", workers=2)

    sequential = actions[: args.sequential_actions] if args.sequential_actions else actions
    per_client = actions[: args.actions_per_client]
    runs = [
        ("sequential", [sequential], "whole scenario" if len(sequential) == len(actions) else ""),
        (
            "concurrent",
            [namespaced(per_client, n) for n in range(1, args.clients + 1)],
            "",
        ),
    ]
    kinds = [k for k in ("reference", "ours", "ceiling") if k != "reference" or reference_venv]
    for run_name, client_actions, _ in runs:
        entry = {
            "clients": len(client_actions),
            "actions_per_client": len(client_actions[0]),
            "whole_scenario": len(client_actions[0]) == len(actions),
            "timeout": args.timeout,
            "servers": {},
        }
        run.results["simulator"][run_name] = entry
        for kind in kinds:
            log(
                f"simulator pattern, {run_name}: {report.SERVER_NAMES[kind]}, "
                f"{len(client_actions)} x {len(client_actions[0])} requests "
                f"(load average {load_average()})"
            )
            server = start(kind, f"sim_{run_name}")
            try:
                warm = httpload.build_request(
                    "GET",
                    "/" if kind == "ceiling" else "/msgs?no=1",
                    host=server.host,
                    headers=[("Authorization", authorization)],
                )
                warm_up(server, warm, clients=args.clients, seconds=args.warmup)
                lists = [scenario_requests(a, server.host, authorization) for a in client_actions]

                def next_request(i, n, lists=lists):
                    return lists[i][n] if n < len(lists[i]) else None

                load_before = load_average()
                summary = measure(
                    server,
                    len(lists),
                    next_request,
                    timeout=args.timeout,
                    max_seconds=args.max_run_seconds,
                    label_names=COMMAND_LABELS,
                )
                summary["load_before"] = load_before
                summary["workers"] = len(server.workers())
                entry["servers"][kind] = summary
                log(
                    f"  {summary['rps']:.1f} req/s, p50 {summary['p50']:.1f} ms, p99 "
                    f"{summary['p99']:.1f} ms, {summary['errors']} errors, "
                    f"{summary['timeouts']} time-outs"
                    + (f", {summary['gave_up']} client(s) gave up" if summary["gave_up"] else "")
                    + (f", {summary['cut_short']} cut short" if summary["cut_short"] else "")
                )
                if kind != "reference":
                    what = f"simulator pattern, {run_name}, {report.SERVER_NAMES[kind]}"
                    run.judge(what, summary)
                if kind == "ours":
                    record_rss(run, server, f"simulator pattern, {run_name}")
            finally:
                server.stop()
                if kind == "ours":
                    databases.drop_all_but_template()


# --- 2. at scale -----------------------------------------------------------------------------


def http_request(
    server: servers.Server, method: str, path: str, *, body: bytes | None = None,
    headers: dict[str, str] | None = None, timeout: float = 30.0,
) -> tuple[int, http.client.HTTPResponse, bytes]:  # fmt: skip
    """A setup request (not measured) through http.client: it handles chunked bodies."""
    connection = http.client.HTTPConnection(server.host, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response, response.read()
    finally:
        connection.close()


class _Anchors(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.anchors: list[tuple[dict, str]] = []
        self._open: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open, self._text = dict(attrs), []

    def handle_data(self, data):
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            self.anchors.append((self._open, "".join(self._text)))
            self._open = None


def older_link(page_html: str) -> str | None:
    """The page's link to older messages: class "older", rel "next", or its text."""
    parser = _Anchors()
    parser.feed(page_html)
    for attrs, text in parser.anchors:
        classes = (attrs.get("class") or "").split()
        rels = (attrs.get("rel") or "").split()
        if attrs.get("href") and ("older" in classes or "next" in rels or "older" in text.lower()):
            return attrs["href"]
    return None


def _page_number(url: str) -> int | None:
    query = dict(parse_qsl(urlsplit(url).query))
    return int(query["page"]) if query.get("page", "").isdigit() and len(query) == 1 else None


def deep_page(server: servers.Server, start: str, depth: int) -> tuple[str, int, str]:
    """Follow the "older messages" link from `start` until page `depth` (or the last page).

    Returns (URL, page reached, how). A link that is a plain page number (`?page=k+1`) is
    jumped along instead of followed one by one: the result is the same URL.
    """
    url, page = start, 1
    while page < depth:
        status, _, body = http_request(server, "GET", url)
        if status != 200:
            raise BenchError(f"GET {url} (page {page}) answered {status} while paging")
        link = older_link(body.decode("utf-8", "replace"))
        if link is None:
            return url, page, "the last page"
        nxt = urljoin(url, link)
        if _page_number(nxt) == page + 1:
            return _jump_pages(server, nxt, page + 1, depth)
        url, page = nxt, page + 1
    return url, page, "followed the older link"


def _jump_pages(server: servers.Server, link: str, first: int, depth: int) -> tuple[str, int, str]:
    def at(number: int) -> str:
        parts = urlsplit(link)
        return parts._replace(query=urlencode({"page": number})).geturl()

    if http_request(server, "GET", at(depth))[0] == 200:
        return at(depth), depth, "page-number link"
    low, high = first, depth  # low answers 200 (it was linked), high does not
    while high - low > 1:
        middle = (low + high) // 2
        if http_request(server, "GET", at(middle))[0] == 200:
            low = middle
        else:
            high = middle
    return at(low), low, "page-number link, the last page"


def sign_in(server: servers.Server, username: str, password: str) -> str:
    """A session cookie, through the sign-in form like a browser: with its CSRF token and
    cookie when the form has them; without, when the site checks Fetch Metadata instead
    (a same-origin form post, as a browser sends it)."""
    status, response, body = http_request(server, "GET", "/login")
    if status != 200:
        raise BenchError(f"GET /login: HTTP {status}")
    cookies = _cookies(response)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    fields = {"username": username, "password": password}
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": f"http://{server.host}",
        "Referer": f"http://{server.host}/login",
        "Sec-Fetch-Site": "same-origin",
    }
    if token and "csrftoken" in cookies:
        fields["csrfmiddlewaretoken"] = token[1].decode()
        headers["Cookie"] = f"csrftoken={cookies['csrftoken']}"
    status, response, body = http_request(
        server, "POST", "/login", body=urlencode(fields).encode(), headers=headers
    )
    session = _cookies(response).get("sessionid")
    if status not in (301, 302, 303) or not session:
        raise BenchError(f"signing in as {username!r}: HTTP {status}, no session: {body[:300]!r}")
    return "; ".join(
        [f"sessionid={session}"]
        + ([f"csrftoken={cookies['csrftoken']}"] if "csrftoken" in cookies else [])
    )


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    found = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def api_post(server, path: str, payload: dict, authorization: str) -> int:
    return http_request(
        server,
        "POST",
        path,
        body=json.dumps(payload).encode(),
        headers={"Authorization": authorization, "Content-Type": "application/json"},
    )[0]


def prepare_dataset(run: Run, server: servers.Server, databases, db_name: str) -> dict:
    """Who is who in a generated database: the heaviest poster, users to post and follow
    as, and a reader who follows --follows others and is signed in."""
    args = run.args
    authorization = basic_authorization(*SIMULATOR_CREDENTIALS)
    heaviest = databases.psql(
        "SELECT u.username, count(*) FROM minitwit_message m "
        "JOIN minitwit_user u ON u.id = m.author_id WHERE NOT m.flagged "
        "GROUP BY u.username ORDER BY count(*) DESC LIMIT 1",
        database=db_name,
    )[0]
    sample = [
        row[0]
        for row in databases.psql(
            "SELECT username FROM minitwit_user WHERE is_active "
            f"ORDER BY md5(id::text) LIMIT {max(args.follows, 300)}",
            database=db_name,
        )
    ]
    if len(sample) < args.follows:
        raise BenchError(f"{db_name}: only {len(sample)} users; --follows {args.follows}")
    status = api_post(
        server,
        "/register",
        {"username": READER, "email": "reader@example.org", "pwd": READER_PASSWORD},
        authorization,
    )
    if status != 204:
        raise BenchError(f"POST /register of the reader: HTTP {status}")
    reader_path = quote(READER, safe="")
    follows = [
        (
            httpload.build_request(
                "POST",
                f"/fllws/{reader_path}",
                host=server.host,
                body=json.dumps({"follow": name}).encode(),
                content_type="application/json",
                headers=[("Authorization", authorization)],
            ),
            0,
            NO_CONTENT,
        )
        for name in sample[: args.follows]
    ]
    clients = args.clients
    result = httpload.run(
        server.address,
        clients,
        lambda i, n: follows[n * clients + i] if n * clients + i < len(follows) else None,
        timeout=30.0,
    )
    if result.errors or result.timeouts:
        raise BenchError(f"following {args.follows} users as the reader: {result.examples}")
    followed = int(
        databases.psql(
            "SELECT count(*) FROM minitwit_follow f JOIN minitwit_user u ON u.id = f.follower_id "
            f"WHERE u.username = '{READER}'",
            database=db_name,
        )[0][0]
    )
    if followed != args.follows:
        raise BenchError(f"the reader follows {followed} users, expected {args.follows}")
    password_hash = databases.psql(
        f"SELECT password FROM minitwit_user WHERE username = '{READER}'", database=db_name
    )[0][0]
    deep_url, depth, how = deep_page(server, "/public", args.deep_page)
    return {
        "heaviest": heaviest[0],
        "heaviest_messages": int(heaviest[1]),
        "sample": sample,
        "cookie": sign_in(server, READER, READER_PASSWORD),
        "deep_url": deep_url,
        "deep_depth": depth,
        "deep_how": how,
        "reader_hash": password_hash,
    }


def endpoints(host: str, who: dict, tag: str, clients: int) -> list[dict]:
    """The at-scale endpoints: name, group (for the targets) and a request per (client, n)."""
    authorization = basic_authorization(*SIMULATOR_CREDENTIALS)
    auth = [("Authorization", authorization)]
    heaviest = quote(who["heaviest"], safe="")
    reader = quote(READER, safe="")
    posters = [quote(name, safe="") for name in who["sample"][:100]]
    followers = [quote(name, safe="") for name in who["sample"][:clients]]
    targets = who["sample"][100:300]

    def get(path, headers=()):
        request = httpload.build_request("GET", path, host=host, headers=list(headers))
        return lambda i, n: (request, 0, OK)

    def post_json(path, payload):
        return httpload.build_request(
            "POST", path, host=host, body=json.dumps(payload).encode(),
            content_type="application/json", headers=auth,
        )  # fmt: skip

    def post_message(i, n):
        user = posters[(i * 7919 + n) % len(posters)]
        latest = i * 10**9 + n
        text = f"Benchmark message {n} from client {i}."
        return post_json(f"/msgs/{user}?latest={latest}", {"content": text}), 0, NO_CONTENT

    def follow_unfollow(i, n):
        verb = "follow" if n % 2 == 0 else "unfollow"
        target = targets[(i * 31 + n // 2) % len(targets)]
        path = f"/fllws/{followers[i % len(followers)]}?latest={i * 10**9 + n}"
        return post_json(path, {verb: target}), 0, NO_CONTENT

    def register(i, n):
        name = f"bench {tag} {i}-{n}"
        payload = {"username": name, "email": f"bench-{tag}-{i}-{n}@example.org", "pwd": "pw"}
        return post_json(f"/register?latest={i * 10**9 + n}", payload), 0, NO_CONTENT

    cookie = [("Cookie", who["cookie"])]
    return [
        {"name": "/health", "group": "floor", "next": get("/health")},
        {"name": "/public", "group": "hot read", "next": get("/public")},
        # The same page rendered on every request: a session cookie keeps a visitor out of
        # the read cache (timeline/views.py). Shown, not judged.
        {
            "name": "/public, rendered (visitor with a session cookie)",
            "group": "uncached",
            "next": get("/public", [("Cookie", "sessionid=bench-no-such-session")]),
        },
        {"name": "/public, deep page", "group": "read", "next": get(who["deep_url"])},
        {"name": "profile of the heaviest poster", "group": "read", "next": get(f"/{heaviest}")},
        {"name": "/ signed in, following many", "group": "read", "next": get("/", cookie)},
        {"name": "GET /msgs?no=100", "group": "hot read", "next": get("/msgs?no=100", auth)},
        {"name": "GET /msgs/<user>", "group": "read", "next": get(f"/msgs/{heaviest}", auth)},
        {"name": "GET /fllws/<user>", "group": "read", "next": get(f"/fllws/{reader}", auth)},
        {"name": "POST /msgs/<user>", "group": "write", "next": post_message},
        {"name": "POST /fllws/<user>", "group": "write", "next": follow_unfollow},
        {"name": "POST /register", "group": "register", "next": register},
    ]


def load_dataset(run: Run, databases, label: str, *, messages: int, users: int) -> dict:
    args = run.args
    url = databases.fresh(f"scale_{label}")
    db_name = url.rsplit("/", 1)[1]
    log(f"at scale ({label}): generate_data --messages {messages:,} --users {users:,}")
    started = time.monotonic()
    env = servers.our_env(url, port=0, data_dir=Path(tempfile.gettempdir()))
    servers.manage(
        args.checkout, env, "generate_data", "--messages", str(messages), "--users", str(users),
        "--seed", str(args.seed), "--password", GENERATED_PASSWORD, "--verbosity", "0",
    )  # fmt: skip
    generated = time.monotonic() - started
    counts = databases.psql(
        "SELECT (SELECT count(*) FROM minitwit_user), (SELECT count(*) FROM minitwit_message),"
        " (SELECT count(*) FROM minitwit_follow)",
        database=db_name,
    )[0]
    databases.psql("VACUUM ANALYZE", database=db_name)
    entry = {
        "messages": int(counts[1]),
        "users": int(counts[0]),
        "follows": int(counts[2]),
        "generate_seconds": generated,
        "endpoints": {},
    }
    run.results["scale"][label] = entry
    log(
        f"  {entry['users']:,} users, {entry['messages']:,} messages, {entry['follows']:,} "
        f"follows in {generated:.0f} s; starting the server"
    )
    server = servers.start_ours(args.checkout, url)
    try:
        who = prepare_dataset(run, server, databases, db_name)
        entry.update(
            heaviest_messages=who["heaviest_messages"],
            deep_depth=who["deep_depth"],
            deep_how=who["deep_how"],
            deep_url=who["deep_url"],
            reader_hash_scheme=who["reader_hash"].rsplit("$", 2)[0],
        )
        tag = uuid.uuid4().hex[:6]
        for endpoint in endpoints(server.host, who, tag, args.clients):
            first, _, _ = endpoint["next"](0, 0)
            if endpoint["group"] != "register":
                warm_up(server, first, clients=args.clients, seconds=args.warmup)
            load_before = load_average()
            summary = measure(
                server,
                args.clients,
                endpoint["next"],
                timeout=args.scale_timeout,
                duration=args.duration,
            )
            summary.update(group=endpoint["group"], load_before=load_before)
            entry["endpoints"][endpoint["name"]] = summary
            log(
                f"  {endpoint['name']}: {summary['rps']:.1f} req/s, p50 {summary['p50']:.1f} "
                f"ms, p95 {summary['p95']:.1f} ms, {summary['errors']} errors, "
                f"{summary['timeouts']} time-outs"
            )
            run.judge(f"at scale ({label}), {endpoint['name']}", summary)
        # A different `no` each time: every request is computed, none is a read-cache hit.
        entry["msgs_10000"] = single_requests(
            server, [f"/msgs?no={no}" for no in range(9995, 10001)]
        )
        entry["old_page_link"] = http_request(server, "GET", f"/public?page={args.deep_page}")[0]
        record_rss(run, server, f"at scale, {label}")
        entry["workers"] = len(server.workers())
        entry["threads"] = _threads(server)
    finally:
        server.stop()
        databases.drop_all_but_template()
    return entry


def single_requests(server: servers.Server, paths: list[str]) -> dict:
    """Latency of one request at a time, connection per request: the first path unmeasured,
    then each of the others once. Give different paths (another `no`) for a read the read
    cache would otherwise answer after the first request."""
    authorization = basic_authorization(*SIMULATOR_CREDENTIALS)

    def request(path: str) -> bytes:
        return httpload.build_request(
            "GET", path, host=server.host, headers=[("Authorization", authorization)]
        )

    httpload.fetch(server.address, request(paths[0]), 30.0)
    samples, statuses = [], []
    for path in paths[1:]:
        status, elapsed, _ = httpload.fetch(server.address, request(path), 30.0)
        samples.append(elapsed * 1000)
        statuses.append(status)
    samples.sort()
    path = paths[1]
    return {"path": path, "median": samples[len(samples) // 2], "max": samples[-1],
            "statuses": statuses}  # fmt: skip


def _threads(server: servers.Server) -> int | None:
    counts = []
    for pid in server.workers():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^Threads:\s+(\d+)", status, re.MULTILINE)
        if match:
            counts.append(int(match[1]))
    return max(counts) if counts else None


def at_scale(run: Run, databases: servers.Databases) -> None:
    args = run.args
    log(f"at scale: the 204 server, {args.clients} connections (the client's ceiling)")
    empty = servers.start_empty(args.checkout / ".venv/bin/gunicorn", workers=2)
    try:
        request = httpload.build_request("GET", "/", host=empty.host)
        warm_up(empty, request, clients=args.clients, seconds=args.warmup)
        summary = measure(
            empty, args.clients, lambda i, n: (request, 0, NO_CONTENT),
            timeout=args.scale_timeout, duration=args.duration,
        )  # fmt: skip
        run.results["scale"]["ceiling"] = summary
        run.judge("at scale, 204 server", summary)
    finally:
        empty.stop()
    load_dataset(run, databases, "large", messages=args.messages, users=args.users)
    if args.small_messages:
        load_dataset(run, databases, "small", messages=args.small_messages, users=args.small_users)
    else:
        run.skip("the growth check (--small-messages 0)")


# --- main ------------------------------------------------------------------------------------


def machine_facts() -> dict:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _terminated(signum, frame):
    raise KeyboardInterrupt  # stop the servers and drop the databases on the way out


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
        results["targets"] = report.targets(results)
        text = report.markdown(results)
        print(text)
        if args.output:
            report.write_doc(args.output, text)
            log(f"wrote {args.output} from {args.from_json}")
        return 0
    checkout = args.checkout
    for needed in (".venv/bin/python", ".venv/bin/gunicorn", "manage.py", "gunicorn.conf.py"):
        if not (checkout / needed).exists():
            raise SystemExit(
                f"bench: {checkout / needed} is missing; run `make install` in {checkout}"
            )
    if args.cache == "none":
        os.environ.pop("CACHE_URL", None)
    elif servers.redis_reachable(args.cache):
        os.environ["CACHE_URL"] = args.cache
    else:
        log(f"no Redis at {args.cache}: this project runs without its read cache")
        os.environ.pop("CACHE_URL", None)
    run = Run(args)
    started = dt.datetime.now(dt.UTC)
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": args.command,
        "mode": "quick" if args.quick else "full",
        "checkout": str(checkout),
        "commit": git_commit(checkout),
        "load_before": load_average(),
        "machine": machine_facts(),
        "environment": {k: os.environ[k] for k in servers.OUR_KNOBS if k in os.environ},
        "reference": str(args.reference) if args.reference else None,
        "options": {
            key: getattr(args, key) for key in (*FULL, "clients", "max_run_seconds", "seed")
        },
    }
    run.results["meta"] = meta
    log(f"benchmark of {checkout} at {meta['commit']}; load average {meta['load_before']}")
    databases = servers.Databases(args.pg, checkout)
    status = 0
    try:
        databases.check_server()
        meta["postgresql"] = databases.psql("SHOW server_version")[0][0]
        if args.only in (None, "simulator"):
            simulator_pattern(run, databases)
        if args.only in (None, "scale"):
            at_scale(run, databases)
    except BenchError as exc:
        log(f"FAILED: {exc}")
        run.fell_over.append(f"the benchmark could not go on: {exc}")
        status = 1
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    finally:
        databases.drop_all()
    meta["load_after"] = load_average()
    meta["minutes"] = (dt.datetime.now(dt.UTC) - started).total_seconds() / 60
    run.results["fell_over"] = run.fell_over
    run.results["targets"] = report.targets(run.results)
    text = report.markdown(run.results)
    print(text)
    if args.output and status != 130:
        report.write_doc(args.output, text)
        log(f"wrote {args.output}")
    json_path = args.json or REPO / "benchmarks" / "results" / (
        f"bench-{started.strftime('%Y%m%d-%H%M%S')}.json"
    )
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(run.results, indent=1, default=str))
    log(f"figures in {json_path}")
    if run.fell_over:
        log("an endpoint or server fell over:\n  " + "\n  ".join(run.fell_over))
        status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
