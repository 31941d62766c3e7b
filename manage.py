#!/usr/bin/env python
"""Django's command-line utility for MiniTwit."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minitwit_project.settings")
    if sys.argv[1:2] != ["runserver"]:
        # The statement and lock limits fit a web request's budget, not an operator task
        # (a migration on a big table, an import): commands run without them unless set.
        os.environ.setdefault("DB_STATEMENT_TIMEOUT", "0")
        os.environ.setdefault("DB_LOCK_TIMEOUT", "0")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
