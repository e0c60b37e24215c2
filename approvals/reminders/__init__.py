"""The scheduled chasing: what beat (``approvals.tasks``) and ``manage.py send_reminders`` send.

Each sweep takes ``now``, finds what is due, tells the people it concerns through ``notify`` and
returns what it sent (one ``Sent`` per person newly told). The ``notify`` key names the occurrence
(a decision and the fingerprint that made it stale, a request and an escalation level, a fact and
its expiry date, a person and a local date), so a sweep run twice, or by beat and by hand, tells
nobody anything twice; each notice is written in its own savepoint, so a race with another run is
an "already told", never a failure of the others.

Which approvals count is the gate's definition: a current, unsuperseded approval on a request
still open (pending or approved) for a stage the launch has not entered yet. Once the gate let the
launch in, the approval was used; stale or expiring afterwards is no longer news. Waivers matter
while their stage is not passed (the current stage included: it keeps a failing item accepted).
"""

from __future__ import annotations

import datetime

from .common import Sent
from .digest import digest_counts, sweep_digests
from .sweeps import sweep_expiring, sweep_overdue, sweep_stale_approvals

__all__ = [
    "DAILY_SWEEPS",
    "Sent",
    "digest_counts",
    "send_daily_reminders",
    "send_stale_notices",
    "sweep_digests",
    "sweep_expiring",
    "sweep_overdue",
    "sweep_stale_approvals",
]

DAILY_SWEEPS = (sweep_stale_approvals, sweep_overdue, sweep_expiring, sweep_digests)


def send_stale_notices(*, now: datetime.datetime) -> list[Sent]:
    """What beat runs every 15 minutes."""
    return sweep_stale_approvals(now=now)


def send_daily_reminders(*, now: datetime.datetime) -> list[Sent]:
    """What beat runs once a day and ``manage.py send_reminders`` runs by hand: every sweep, the
    digest last so it can count what the others just sent."""
    return [sent for sweep in DAILY_SWEEPS for sent in sweep(now=now)]
