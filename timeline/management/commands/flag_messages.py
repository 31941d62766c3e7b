"""manage.py flag_messages: the course's flag_tool, as a Django command."""

import argparse
import csv
import os
import sys

from django.core.management.base import BaseCommand, CommandError

from timeline import selectors, services
from timeline.parsing import parse_int


def message_id(value: str) -> int:
    number = parse_int(value, minimum=1)
    if number is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a message id (a positive number)")
    return number


class Command(BaseCommand):
    help = (
        "Flag messages by id (hiding them from every timeline and from /msgs), unflag them "
        "with --unflag, or dump messages as CSV (id,author,text,flagged) with --list. "
        "Exit status: 0 when every id was found, 1 when some were unknown (the others are "
        "still changed) or on any other error."
    )

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=message_id, help="ids of messages to flag")
        parser.add_argument(
            "--unflag", action="store_true", help="unflag the messages instead (show them again)"
        )
        parser.add_argument(
            "--list",
            action="store_true",
            help="write every message as CSV to stdout, streaming (works on millions of rows)",
        )
        parser.add_argument(
            "--only-flagged", action="store_true", help="with --list: only flagged messages"
        )

    def handle(self, *args, **options):
        ids = options["ids"]
        if options["list"]:
            if ids or options["unflag"]:
                raise CommandError("--list takes no message ids and no --unflag.")
            self._list(only_flagged=options["only_flagged"])
            return
        if options["only_flagged"]:
            raise CommandError("--only-flagged goes with --list.")
        if not ids:
            raise CommandError("Give one or more message ids, or --list (see --help).")
        flagged = not options["unflag"]
        result = services.messages_flag(ids=ids, flagged=flagged)
        verb, state = ("Flagged", "flagged") if flagged else ("Unflagged", "unflagged")
        summary = f"{verb} {result.changed} message{'' if result.changed == 1 else 's'}"
        if result.unchanged:
            summary += f", {result.unchanged} already {state}"
        self.stdout.write(summary + ".")
        if result.missing:
            for pk in result.missing:
                self.stderr.write(f"No message with id {pk}.")
            raise CommandError(
                f"{len(result.missing)} of {len(set(ids))} ids match no message.", returncode=1
            )

    def _list(self, *, only_flagged: bool) -> None:
        # csv.writer writes straight to our stdout as rows stream from the database cursor:
        # memory stays flat however many messages there are.
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(["id", "author", "text", "flagged"])
        try:
            for pk, author, text, flagged in selectors.messages_export(only_flagged=only_flagged):
                writer.writerow([pk, author, text, int(flagged)])
            self.stdout.flush()
        except BrokenPipeError:
            # `flag_messages --list | head` closed the pipe: stop quietly, like Unix tools,
            # and point stdout at /dev/null so the interpreter's final flush stays quiet too.
            if self.stdout._out is sys.stdout:
                # The `is` above narrows sys.stdout to the stubs' type of OutputWrapper._out
                # (its __getattr__'s Callable); it is the interpreter's real stdout.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # type: ignore[attr-defined]
