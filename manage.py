#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # A command's own output (``readiness --json``, ``verify_ledger``) stays on stdout, readable by
    # scripts; its log lines go to stderr. Servers (runserver here, gunicorn, Celery) log to stdout.
    if sys.argv[1:2] != ["runserver"]:
        os.environ.setdefault("LOG_STREAM", "stderr")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
