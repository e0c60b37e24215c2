"""Reading the ledger in tests: the command as an operator runs it, and the entries in order."""

from io import StringIO

from django.core.management import call_command

from ledger.models import LedgerEntry


def verify_ledger(*args: str) -> tuple[int, str, str]:
    """Run the command as an operator would: (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_ledger", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def entries() -> list[LedgerEntry]:
    return list(LedgerEntry.objects.order_by("sequence"))
