"""manage.py import_legacy: move an original MiniTwit database into ours."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction

from timeline import bulk
from timeline.legacy import ImportReport, LegacyImporter, LegacySource, LegacySourceError
from timeline.models import Follow, Message, User
from timeline.progress import Progress

EXIT_SKIPPED_ROWS = 3


class Command(BaseCommand):
    help = (
        "Import a database of the course's original MiniTwit (tables user, follower, message) "
        "from an SQLite file or a postgres:// URL: users keep their ids and Werkzeug "
        "password hashes (upgraded at their next sign-in), messages their timestamps and "
        "flags. Rows already imported are left alone, so running it again adds nothing. "
        "All or nothing: on an error nothing is written. Exit status: 0 when every row is "
        "in our database, 3 when the import finished but some rows could not be imported "
        "(they are listed), 1 on an error."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "source", help="path of the SQLite file, or postgres://user:pass@host:port/db"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check every row and report what would be imported, writing nothing",
        )
        parser.add_argument(
            "--batch-size", type=int, default=2000, help="rows read and written at a time (2000)"
        )

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        dry_run = options["dry_run"]
        enabled = options["verbosity"] > 0
        started = time.monotonic()
        try:
            source = LegacySource(options["source"])
        except LegacySourceError as exc:
            raise CommandError(str(exc)) from exc
        try:
            importer = LegacyImporter(
                source,
                batch_size=options["batch_size"],
                dry_run=dry_run,
                progress=lambda label, total: Progress(
                    label, total=total, stream=self.stderr, enabled=enabled
                ),
            )
            with transaction.atomic():
                report = importer.run()
                if not dry_run:
                    # The ids came from the legacy database, not from our sequences.
                    bulk.reset_sequences([User, Message, Follow])
        except (LegacySourceError, DatabaseError) as exc:
            raise CommandError(f"Import failed; nothing was written. {exc}") from exc
        finally:
            source.close()
        self._summarise(report, source.description, dry_run, time.monotonic() - started)
        if report.skipped:
            raise CommandError(
                f"{report.skipped:,} rows could not be imported (reasons above).",
                returncode=EXIT_SKIPPED_ROWS,
            )

    def _summarise(self, report: ImportReport, source: str, dry_run: bool, seconds: float):
        write = self.stdout.write
        if dry_run:
            write(f"Dry run of the import from {source}: nothing was written.")
        else:
            write(f"Imported from {source} in {seconds:.1f} s.")
        imported = "would import" if dry_run else "imported"
        write(f"{'':10}{'read':>10}{imported:>14}{'already here':>14}{'skipped':>10}")
        for name, phase in report.phases.items():
            write(
                f"{name:10}{phase.read:>10,}{phase.imported:>14,}{phase.present:>14,}"
                f"{phase.skipped_total:>10,}"
            )
        if not report.imported:
            total = sum(phase.present for phase in report.phases.values())
            write(f"Nothing new to import: {total:,} rows were already here.")
        if report.unusable_passwords:
            write(
                f"{report.unusable_passwords:,} users had no Werkzeug PBKDF2 hash and cannot "
                "sign in until a password is set for them in the admin."
            )
        if report.confusable_names:
            write(
                f"{report.confusable_names:,} users look like an account imported or created "
                "before them (Unicode confusables); they were imported as they are, and no new "
                "sign-up may look like any of them."
            )
        for name, phase in report.phases.items():
            for reason, count in phase.skipped.most_common():
                examples = "; ".join(phase.examples[reason])
                self.stderr.write(f"Skipped {count:,} {name}: {reason} (e.g. {examples})")
