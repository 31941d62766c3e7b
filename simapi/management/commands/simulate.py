"""manage.py simulate: replay a course simulator scenario against a site, over HTTP."""

import argparse
import sys
from http.client import HTTPException

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from simapi.simulator.client import Connection, basic_authorization, replay
from simapi.simulator.report import summarise
from simapi.simulator.scenario import ScenarioError, namespaced, read_scenario, synthetic_scenario
from simapi.simulator.verification import VERIFY_TIMEOUT, expected_state, verify
from timeline.parsing import parse_int


def _positive_int(text: str) -> int:
    number = parse_int(text, minimum=1)
    if number is None:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return number


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text!r}")
    return value


class Command(BaseCommand):
    help = (
        "Replay a course simulator scenario (tab-separated: id, delay, timestamp, command, "
        "user, argument, password) against a MiniTwit site, like the course simulator: "
        "register, tweet, follow and unfollow with `latest` ids and Basic auth. Shows "
        "progress, then requests, errors by kind, throughput and latency percentiles. "
        "Exits non-zero on any error (any answer but 204, a timeout, a connection error). "
        "With --clients N each client replays the whole scenario (or its first --limit "
        'rows) under its own usernames: client n > 1 appends " #n" to every name.'
    )
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument(
            "scenario_file",
            nargs="?",
            help="the scenario file (course format); leave out with --synthetic",
        )
        parser.add_argument(
            "--synthetic",
            type=_positive_int,
            metavar="N",
            help="replay N made-up actions of the course scenario's shape instead of a file: "
            "registrations first, then tweets, follows and unfollows among those users",
        )
        parser.add_argument(
            "--synthetic-users",
            type=_positive_int,
            default=200,
            help="users a synthetic scenario registers (default 200, as the course's)",
        )
        parser.add_argument(
            "--seed", type=int, default=0, help="random seed of a synthetic scenario"
        )
        parser.add_argument(
            "--base-url", required=True, help="the site's root, e.g. http://127.0.0.1:8000"
        )
        parser.add_argument("--limit", type=_positive_int, help="replay only the first N actions")
        parser.add_argument(
            "--timeout",
            type=_positive_float,
            default=0.3,
            help="seconds to wait for each answer before counting a timeout (default 0.3, "
            "the course simulator's)",
        )
        parser.add_argument(
            "--clients", type=_positive_int, default=1, help="concurrent clients (default 1)"
        )
        parser.add_argument(
            "--no-keepalive",
            action="store_true",
            help="a new connection for every request (the course simulator's way)",
        )
        parser.add_argument(
            "--verify",
            action="store_true",
            help="afterwards, read every user's messages and follows back through the API "
            f"(timeout {VERIFY_TIMEOUT:g} s a request) and compare them with "
            "what the scenario implies",
        )
        parser.add_argument(
            "--username", help="simulator user (default: settings.SIMULATOR_USERNAME)"
        )
        parser.add_argument(
            "--password", help="simulator password (default: settings.SIMULATOR_PASSWORD)"
        )
        parser.add_argument(
            "--slow-threshold",
            type=_positive_float,
            default=0.3,
            help="count answers slower than this many seconds (default 0.3)",
        )
        parser.add_argument("--quiet", action="store_true", help="no progress lines")

    def handle(self, *args, **options):
        if (options["synthetic"] is None) == (options["scenario_file"] is None):
            raise CommandError("give either a scenario file or --synthetic N")
        if options["synthetic"] is not None:
            try:
                actions = synthetic_scenario(
                    options["synthetic"], users=options["synthetic_users"], seed=options["seed"]
                )
            except ValueError as exc:
                raise CommandError(f"--synthetic: {exc}") from exc
            options["scenario_file"] = f"synthetic scenario ({len(actions)} actions)"
            actions = actions[: options["limit"]] if options["limit"] else actions
        else:
            actions = self._read(options)
        if not actions:
            raise CommandError(f"{options['scenario_file']} holds no actions")
        self._replay(actions, options)

    def _read(self, options) -> list:
        try:
            return read_scenario(options["scenario_file"], limit=options["limit"])
        except OSError as exc:
            raise CommandError(f"cannot read {options['scenario_file']}: {exc}") from exc
        except ScenarioError as exc:
            raise CommandError(f"{options['scenario_file']}: {exc}") from exc

    def _replay(self, actions: list, options) -> None:
        clients = [namespaced(actions, n) for n in range(1, options["clients"] + 1)]
        authorization = basic_authorization(
            options["username"] or settings.SIMULATOR_USERNAME,
            options["password"] if options["password"] is not None else settings.SIMULATOR_PASSWORD,
        )

        def connection(timeout: float) -> Connection:
            return Connection(
                options["base_url"],
                timeout=timeout,
                keepalive=not options["no_keepalive"],
                authorization=authorization,
            )

        try:
            connection(options["timeout"])  # checks --base-url before anything is sent
        except ValueError as exc:
            raise CommandError(f"--base-url: {exc}") from exc

        quiet = options["quiet"]
        if not quiet:
            self.stderr.write(
                f"replaying {len(actions)} actions x {len(clients)} client(s) against "
                f"{options['base_url']} ({'no ' if options['no_keepalive'] else ''}keep-alive, "
                f"timeout {options['timeout']:g} s)"
            )
        try:
            results, seconds = replay(
                clients,
                lambda: connection(options["timeout"]),
                progress=None if quiet else self._progress,
            )
        except KeyboardInterrupt:
            raise CommandError("interrupted") from None
        summary = summarise(results, seconds, slow_threshold=options["slow_threshold"])
        self.stdout.write(
            f"clients: {len(clients)}, {'no ' if options['no_keepalive'] else ''}keep-alive"
        )
        for line in summary.lines():
            self.stdout.write(line)

        problems = 0
        if options["verify"]:
            problems = self._verify(clients, connection(VERIFY_TIMEOUT), actions)
        if summary.error_count or problems:
            raise CommandError(
                f"{summary.error_count} request error(s), {problems} verification problem(s)"
            )

    def _progress(self, done: int, total: int, errors: int, elapsed: float) -> None:
        self.stderr.write(
            f"  {done}/{total} requests ({100 * done / total:.0f}%), "
            f"{done / elapsed:.0f} req/s, {errors} error(s)"
        )
        sys.stderr.flush()

    def _verify(self, clients, connection, actions) -> int:
        users = messages = follows = 0
        problems: list[str] = []
        # With one client the last action's id must be what /latest holds; with several,
        # any client may have been last.
        final_latest_counter = actions[-1].id if len(clients) == 1 else None
        for client_actions in clients:
            expected = expected_state(client_actions)
            try:
                report = verify(expected, connection, latest_counter=final_latest_counter)
            except (OSError, ValueError, HTTPException) as exc:
                raise CommandError(f"verify: {type(exc).__name__}: {exc}") from exc
            users += report.users
            messages += report.messages
            follows += report.follows
            problems += report.problems
        self.stdout.write(f"verified: {users} users, {messages} messages, {follows} follows")
        if problems:
            self.stdout.write(f"verify found {len(problems)} problem(s):")
            for problem in problems[:20]:
                self.stdout.write(f"  {problem}")
        else:
            self.stdout.write("verify: the site holds exactly what the scenario implies")
        return len(problems)
