"""The tamper-evident sign-off ledger: append under a lock, verify by recomputing the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .choices import LedgerEvent
from .models import LedgerEntry, LedgerHead, SignoffDecision
from .snapshot import canonical_json, fingerprint

GENESIS_HASH = "0" * 64


def entry_hash(
    *,
    previous_hash: str,
    sequence: int,
    event: str,
    launch_slug: str,
    actor: str,
    payload: dict,
    snapshot_hash: str,
    created_at: str,
) -> str:
    body = canonical_json(
        {
            "sequence": sequence,
            "event": event,
            "launch": launch_slug,
            "actor": actor,
            "payload": payload,
            "snapshot_hash": snapshot_hash,
            "created_at": created_at,
        }
    )
    return hashlib.sha256(f"{previous_hash}\n{body}".encode()).hexdigest()


def _hash_of(entry: LedgerEntry) -> str:
    return entry_hash(
        previous_hash=entry.previous_hash,
        sequence=entry.sequence,
        event=entry.event,
        launch_slug=entry.launch_slug,
        actor=entry.actor,
        payload=entry.payload,
        snapshot_hash=entry.snapshot_hash,
        created_at=entry.created_at.isoformat(),
    )


def append(*, event: str, launch, actor, payload: dict, snapshot_hash: str = "") -> LedgerEntry:
    """Append one entry. Appends are serialised on the single head row, so two transactions can
    never chain onto the same previous entry."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Ledger appends must run inside the service's transaction.")
    head, _ = LedgerHead.objects.select_for_update().get_or_create(pk=1)
    # Round-trip the payload through canonical JSON so what is hashed is exactly what is stored.
    payload = json.loads(canonical_json(payload))
    created_at = timezone.now()
    sequence = head.sequence + 1
    digest = entry_hash(
        previous_hash=head.entry_hash,
        sequence=sequence,
        event=event,
        launch_slug=launch.slug,
        actor=actor.get_username(),
        payload=payload,
        snapshot_hash=snapshot_hash,
        created_at=created_at.isoformat(),
    )
    entry = LedgerEntry.objects.create(
        sequence=sequence,
        event=event,
        launch_slug=launch.slug,
        actor=actor.get_username(),
        payload=payload,
        snapshot_hash=snapshot_hash,
        previous_hash=head.entry_hash,
        entry_hash=digest,
        created_at=created_at,
    )
    head.sequence, head.entry_hash = sequence, digest
    head.save(update_fields=["sequence", "entry_hash"])
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_hash: str
    problem: str = ""
    broken_sequence: int | None = None


def verify(*, expected_head: str | None = None) -> Verification:
    """Recompute every entry's hash and link. ``expected_head`` (e.g. printed on a report) also
    catches entries cut off the end of the chain."""
    previous = GENESIS_HASH
    checked = 0
    for entry in LedgerEntry.objects.order_by("sequence").iterator(chunk_size=2000):
        checked += 1
        if entry.sequence != checked:
            return Verification(
                False, checked, previous, f"entry #{checked} is missing (found #{entry.sequence})", checked
            )
        if entry.previous_hash != previous:
            return Verification(
                False,
                checked,
                previous,
                f"entry #{entry.sequence} does not link to the entry before it",
                entry.sequence,
            )
        if _hash_of(entry) != entry.entry_hash:
            return Verification(
                False,
                checked,
                previous,
                f"entry #{entry.sequence} was altered (its hash does not match its contents)",
                entry.sequence,
            )
        previous = entry.entry_hash
    head = LedgerHead.objects.filter(pk=1).first()
    if head is not None and (head.sequence, head.entry_hash) != (checked, previous):
        return Verification(
            False, checked, previous, f"the chain ends at entry #{checked}, but the head records entry #{head.sequence}"
        )
    if expected_head and expected_head != previous:
        return Verification(
            False, checked, previous, f"the chain ends at {previous}, not at the expected head {expected_head}"
        )
    problem = _decisions_disagree_with_ledger()
    if problem:
        return Verification(False, checked, previous, problem)
    return Verification(True, checked, previous)


def _decisions_disagree_with_ledger() -> str:
    """The gate reads decision rows, so each must match the ledger entry written with it."""
    recorded = {
        entry.payload.get("decision"): entry
        for entry in LedgerEntry.objects.filter(event=LedgerEvent.DECIDED).iterator(chunk_size=2000)
    }
    for decision in SignoffDecision.objects.select_related("on_behalf_of").iterator(chunk_size=2000):
        entry = recorded.get(decision.pk)
        if entry is None:
            return f"decision #{decision.pk} has no ledger entry"
        facts = {
            "outcome": decision.outcome,
            "comment": decision.comment,
            "on behalf of": decision.on_behalf_of.get_username(),
        }
        if (
            any(entry.payload.get(key) != value for key, value in facts.items())
            or entry.snapshot_hash != decision.fingerprint
            or fingerprint(decision.snapshot) != decision.fingerprint
        ):
            return f"decision #{decision.pk} does not match its ledger entry #{entry.sequence}"
    return ""


def head_hash() -> str:
    head = LedgerHead.objects.filter(pk=1).first()
    return head.entry_hash if head else GENESIS_HASH
