"""Steps that run after a change commits: each catches and records its own failure.

Once a transaction has committed, the action it made is done; what follows (handing a refresh, a
delivery or a render to a worker, writing the ledger's anchor) is a consequence that a periodic
sweep repeats anyway. So a step that fails must neither turn the saved action into an error page
nor keep the steps after it from running: every step is registered with ``robust=True`` (Django
logs and swallows its exception) and catches what it expects itself, naming the sweep that will
do its work.

Handing a task to a broker that is down costs a connection attempt (and Celery's publish retries)
per call: ``enqueue`` remembers a refused connection for ``BROKER_PAUSE_SECONDS`` and does not try
again in that time, so a burst of saves during an outage (or ``seed_demo``, with its hundred
tasks) answers at once instead of waiting on the broker each time."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

BROKER_PAUSE_SECONDS = 5.0
_broker_refused_at: float | None = None

logger = logging.getLogger(__name__)


def after_commit(step: Callable[[], None]) -> None:
    """Run ``step`` once the current transaction commits (now, outside one); a failure of it is
    logged and never reaches the request, nor keeps the transaction's other steps from running."""
    transaction.on_commit(step, robust=True)


def enqueue(task, *args, log: logging.Logger, failure: str) -> bool:
    """``task.delay(*args)``; True when it was handed over (or, in eager mode, ran). Never raises:
    a broker that refuses, or a task that fails in eager mode, is logged on ``log`` with ``failure``
    (a %-format of ``args``, which names what the sweep will do instead) and False is returned."""
    global _broker_refused_at
    if _broker_refused_at is not None and time.monotonic() - _broker_refused_at < BROKER_PAUSE_SECONDS:
        log.error(failure + " (the broker refused a moment ago; not tried)", *args)
        return False
    try:
        task.delay(*args)
    except BrokerUnavailable:
        if not task.app.conf.task_always_eager:  # in eager mode there is no broker to pause for
            _broker_refused_at = time.monotonic()
        log.exception(failure, *args)
        return False
    except Exception:
        log.exception(failure, *args)
        return False
    _broker_refused_at = None
    return True


def broker_pause_reset() -> None:
    """Forget a refused connection (tests, and a process that knows the broker is back)."""
    global _broker_refused_at
    _broker_refused_at = None
