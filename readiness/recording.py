"""The ledger, as the apps below ``approvals`` see it.

Some facts the gate reads are changed by ``readiness`` and ``raci`` services (a quality bar's
agreement and definition, agreed SLO targets, a standard area left out on purpose). Those services
must append to the sign-off ledger in their own transaction, but ``readiness`` knows nothing of
``approvals`` (see DESIGN.md). ``approvals`` installs its ledger here when it starts; recording
without one installed is a configuration error, never a silent skip."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.exceptions import ImproperlyConfigured
from django.db import models

Recorder = Callable[..., object]
_recorder: Recorder | None = None
# Cross-checks of an app's own rows against the entries its services wrote, run by the ledger's
# verification: ``check(entries_by_event)`` gets {event: [entries, oldest first]} and returns the
# first disagreement as a sentence, or "".
LedgerCheck = Callable[[dict], str]
_ledger_checks: list[LedgerCheck] = []


def install_recorder(recorder: Recorder) -> None:
    global _recorder
    _recorder = recorder


def record(*, event: str, launch, actor, payload: dict, seal: Iterable[models.Model] = ()) -> object:
    """Append ``event`` for ``launch`` to the ledger, sealing the history rows of ``seal``."""
    if _recorder is None:
        raise ImproperlyConfigured("No ledger is installed: add 'approvals' to INSTALLED_APPS.")
    return _recorder(event=event, launch=launch, actor=actor, payload=payload, seal=seal)


def register_ledger_check(check: LedgerCheck) -> None:
    """Let ``verify_ledger`` cross-check rows the gate reads that an app above ``readiness`` owns
    (``operations``' incidents) without the ledger's app importing it."""
    if check not in _ledger_checks:
        _ledger_checks.append(check)


def ledger_checks() -> list[LedgerCheck]:
    return list(_ledger_checks)
