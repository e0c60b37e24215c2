"""The tamper-evident ledger's chain: append under a lock, MAC, head and anchors.

Each entry is chained to the one before it with a keyed MAC (HMAC-SHA256 with ``LEDGER_KEY``
from the environment) over the previous entry's MAC and a canonical body: the event, the launch
(id and slug), who acted, the payload, the fingerprint of the facts approved, the time, the state
of the launch the gate reads (risk tier, current stage, its kind and exposure) and seals of the
history rows the service wrote. Without the key nobody can recompute the chain, so a rewritten
record does not verify; a copy of the head kept outside the database (``LEDGER_ANCHOR_FILE``, the
log, a report) catches entries cut off the end. ``ledger.verification`` recomputes it."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from django.conf import settings
from django.db import models, transaction
from django.dispatch import receiver
from django.utils import timezone
from simple_history.signals import post_create_historical_record, pre_create_historical_record

from readiness.evaluations import evaluate_after_commit
from readiness.models import Launch

from .events import LedgerEvent
from .models import LedgerEntry, LedgerHead

GENESIS_HASH = "0" * 64
# What the refresh after a commit itself records (the stage lapsed or holds again): no change of facts.
_STANDING_EVENTS = frozenset({LedgerEvent.STAGE_LAPSED, LedgerEvent.STAGE_RESTORED})
# Every append logs the new head here (README: anchoring the head outside the database).
logger = logging.getLogger("ledger")


def canonical_json(data) -> str:
    """The one serialisation that is MACed and fingerprinted: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


# --- MACs, states and seals -----------------------------------------------------------------------


def entry_mac(previous_hash: str, body: dict) -> str:
    message = f"{previous_hash}\n{canonical_json(body)}".encode()
    return hmac.new(settings.LEDGER_KEY.encode(), message, hashlib.sha256).hexdigest()


def entry_body(entry: LedgerEntry) -> dict:
    return {
        "sequence": entry.sequence,
        "event": entry.event,
        "launch": {"id": entry.launch_id, "slug": entry.launch_slug},
        "actor": entry.actor,
        "payload": entry.payload,
        "snapshot_hash": entry.snapshot_hash,
        "created_at": entry.created_at.isoformat(),
        "launch_state": entry.launch_state,
        "seals": entry.seals,
        # Only entries told after the event carry it, so every earlier entry's MAC stays as it was.
        **({"occurred_at": entry.occurred_at.isoformat()} if entry.occurred_at else {}),
    }


def launch_state(launch_id: int) -> dict:
    """What the gate reads of the launch row itself: its risk tier and the stage it is in."""
    row = (
        Launch.objects.filter(pk=launch_id)
        .values(
            "risk_tier",
            "current_stage_id",
            "current_stage__kind",
            "current_stage__order",
            "current_stage__exposure_percent",
        )
        .get()
    )
    stage = None
    if row["current_stage_id"] is not None:
        stage = {
            "id": row["current_stage_id"],
            "kind": row["current_stage__kind"],
            "order": row["current_stage__order"],
            "exposure percent": format(row["current_stage__exposure_percent"].normalize(), "f"),
        }
    return {"risk tier": row["risk_tier"], "current stage": stage}


# When the events being recorded happened, when they are told after the fact (``occurred``).
_occurred_at: ContextVar[datetime.datetime | None] = ContextVar("ledger_occurred_at", default=None)


@contextmanager
def occurred(moment: datetime.datetime):
    """Record what happens inside as having happened at ``moment``, for a story told after it
    happened (``seed_demo``'s launch in service for three months). Ledger entries keep
    ``created_at``, the time of the append, which only moves forward, and carry ``occurred_at``
    (MACed); the history rows written are dated ``moment`` (simple-history has one date: when the
    change is said to have been made). Never used for what people do through the services."""
    token = _occurred_at.set(moment)
    try:
        yield
    finally:
        _occurred_at.reset(token)


@receiver(pre_create_historical_record, dispatch_uid="ledger_dates_told_history_rows")
def _date_told_history_row(sender, history_instance, **kwargs) -> None:
    moment = _occurred_at.get()
    if moment is not None:
        history_instance.history_date = moment


@receiver(post_create_historical_record, dispatch_uid="ledger_remembers_history_rows")
def _remember_history_row(sender, instance, history_instance, **kwargs) -> None:
    """Services seal the history rows they wrote; keep the newest one on the instance."""
    instance._latest_history_row = history_instance


def history_digest(history_row: models.Model) -> str:
    """A digest of every field of a history row, as the database returns it."""
    values = {field.attname: field.value_from_object(history_row) for field in history_row._meta.concrete_fields}
    return hashlib.sha256(canonical_json(values).encode()).hexdigest()


def _seals(instances: Iterable[models.Model]) -> list[dict]:
    rows = []
    for instance in instances:
        row = getattr(instance, "_latest_history_row", None)
        if row is None:
            raise RuntimeError(f"{instance!r} was not saved with history before being sealed.")
        rows.append(row)
    stored = _as_stored(rows)  # digest what the database holds, not the Python values
    return [
        {"model": row._meta.label, "id": row.pk, "digest": history_digest(stored[type(row), row.pk])} for row in rows
    ]


def _as_stored(rows: list[models.Model]) -> dict[tuple[type, int], models.Model]:
    """The history rows re-read from the database in a few queries however many there are (a bulk
    SLI upload seals thousands): the rows a service just wrote have neighbouring ids, so one range
    of ids usually holds them all; ids far apart are asked for by the hundred."""
    wanted: dict[type, set[int]] = defaultdict(set)
    for row in rows:
        wanted[type(row)].add(row.pk)
    stored = {}
    for model, pks in wanted.items():
        low, high = min(pks), max(pks)
        if high - low < 2 * len(pks) + 1000:
            queries = [model.objects.filter(pk__range=(low, high))]
        else:
            ordered = sorted(pks)
            queries = [model.objects.filter(pk__in=ordered[i : i + 500]) for i in range(0, len(ordered), 500)]
        for query in queries:
            for found in query.iterator(chunk_size=2000):
                if found.pk in pks:
                    stored[model, found.pk] = found
    return stored


# --- appending ------------------------------------------------------------------------------------


def append(
    *,
    event: LedgerEvent,
    launch: Launch | None,
    actor,
    payload: dict,
    snapshot_hash: str = "",
    seal: Iterable[models.Model] = (),
) -> LedgerEntry:
    """Append one entry. Appends are serialised on the single head row, so two transactions can
    never chain onto the same previous entry. ``seal`` names the governance rows the service just
    saved: the digests of their new history rows go into the entry. Only FACT_RECORDED entries
    may name no launch (teams and memberships); they record no launch state, which the entries of
    the events that change it record. ``event`` must be a ``LedgerEvent``: a bare string (a typo,
    an event nobody declared) is refused, so every event recorded is one the enum names."""
    if not isinstance(event, LedgerEvent):
        raise TypeError(f"Ledger events are LedgerEvent members (ledger.events), not {event!r}.")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Ledger appends must run inside the service's transaction.")
    head, _ = LedgerHead.objects.select_for_update().get_or_create(pk=1)
    entry = LedgerEntry(
        sequence=head.sequence + 1,
        event=event,
        launch_id=launch.pk if launch is not None else None,
        launch_slug=launch.slug if launch is not None else "",
        actor=actor.get_username() if actor is not None else "",
        # Round-trip through canonical JSON so what is MACed is exactly what is stored.
        payload=json.loads(canonical_json(payload)),
        snapshot_hash=snapshot_hash,
        previous_hash=head.entry_hash,
        created_at=timezone.now(),
        occurred_at=_occurred_at.get(),
        launch_state=(
            {} if event == LedgerEvent.FACT_RECORDED else json.loads(canonical_json(launch_state(launch.pk)))
        ),
        seals=_seals(seal),
    )
    entry.entry_hash = entry_mac(entry.previous_hash, entry_body(entry))
    entry.save()
    head.sequence, head.entry_hash = entry.sequence, entry.entry_hash
    head.save(update_fields=["sequence", "entry_hash"])
    transaction.on_commit(lambda: anchor(entry.sequence, entry.entry_hash), robust=True)
    if launch is not None and event not in _STANDING_EVENTS:
        # Not every ledgered change writes history with signals (SLI actuals are bulk-written):
        # what the launch's pages store of its facts is refreshed after this commit too.
        evaluate_after_commit(launch.pk)
    return entry


def anchor(sequence: int, entry_hash: str) -> None:
    """Record the head outside the database: in the log always, and appended to
    ``LEDGER_ANCHOR_FILE`` when set. ``verify_ledger --anchors FILE`` checks the chain still holds
    every anchored entry, which catches a tail cut off together with a rolled-back head."""
    logger.info("ledger head #%s %s", sequence, entry_hash)
    path = getattr(settings, "LEDGER_ANCHOR_FILE", "")
    if path:
        with Path(path).open("a", encoding="utf-8") as file:
            file.write(f"{sequence} {entry_hash}\n")


def read_anchors(path: str) -> list[tuple[int, str]]:
    anchors = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            sequence, entry_hash = line.split()
            anchors.append((int(sequence), entry_hash))
        except ValueError:
            raise ValueError(f"{path}, line {number}: expected 'SEQUENCE HASH', got {line!r}") from None
    return anchors


def head_hash() -> str:
    head = LedgerHead.objects.filter(pk=1).first()
    return head.entry_hash if head else GENESIS_HASH
