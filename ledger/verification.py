"""Verifying the ledger: recompute the chain, then cross-check the rows it records, both ways.

Someone with database access can rewrite a row without a service; they cannot write a matching
entry without the ledger key. ``verify`` recomputes every MAC and link, checks the head row, an
expected head and the anchors kept outside the database, then runs the cross-checks: the ledger's
own (each launch is in the state its newest entry recorded, under the slug its entries name, and
every history row an entry sealed is unchanged) and those each app registered from its
``AppConfig.ready()`` over its own rows (``readiness.recording.register_ledger_check``).

One registry, kept in the port ``readiness.recording`` rather than here: ``readiness`` registers
checks too (its sealed facts, agreements, the version in service) and may not import this app,
while every app above can reach the port. A check gets the ledger read once (``Entries``) and
returns the first disagreement as a sentence, or ""."""

from __future__ import annotations

import datetime
import hmac
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps

from readiness.models import Launch
from readiness.recording import ledger_checks

from .chain import GENESIS_HASH, entry_body, entry_mac, history_digest, launch_state
from .events import LedgerEvent
from .models import LedgerEntry, LedgerHead


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_hash: str
    problem: str = ""
    broken_sequence: int | None = None


def verify(*, expected_head: str | None = None, anchors: Iterable[tuple[int, str]] = ()) -> Verification:
    """Recompute every entry's MAC and link, check the head row, the expected head and the anchors,
    then cross-check the rows the gate reads against their entries (``rows_disagree_with_entries``)."""
    previous = GENESIS_HASH
    checked = 0
    hashes: dict[int, str] = {}
    for entry in LedgerEntry.objects.order_by("sequence").iterator(chunk_size=2000):
        checked += 1
        if entry.sequence != checked:
            return Verification(
                False, checked, previous, f"entry #{checked} is missing (found #{entry.sequence})", checked
            )
        if entry.previous_hash != previous:
            return Verification(
                False, checked, previous, f"entry #{entry.sequence} does not link to the entry before it", checked
            )
        if not hmac.compare_digest(entry_mac(entry.previous_hash, entry_body(entry)), entry.entry_hash):
            return Verification(
                False,
                checked,
                previous,
                f"entry #{entry.sequence} was altered (its MAC does not match its contents)",
                entry.sequence,
            )
        previous = hashes[entry.sequence] = entry.entry_hash
    head = LedgerHead.objects.filter(pk=1).first()
    recorded = (head.sequence, head.entry_hash) if head else (0, GENESIS_HASH)
    if recorded != (checked, previous):
        where = f"entry #{recorded[0]}" if head else "no head row"
        return Verification(
            False, checked, previous, f"the chain ends at entry #{checked}, but the head records {where}"
        )
    if expected_head is not None and expected_head != previous:
        return Verification(
            False, checked, previous, f"the chain ends at {previous}, not at the expected head {expected_head}"
        )
    for sequence, entry_hash in anchors:
        if hashes.get(sequence) != entry_hash:
            return Verification(
                False,
                checked,
                previous,
                f"anchored entry #{sequence} ({entry_hash[:12]}…) is not in the chain: it was cut off or rewritten",
                sequence,
            )
    problem = rows_disagree_with_entries()
    if problem:
        return Verification(False, checked, previous, problem)
    return Verification(True, checked, previous)


def recorded_time(value: str | None) -> datetime.datetime | None:
    """A time as an entry's payload records it (ISO 8601), for comparing with a row's."""
    return None if value is None else datetime.datetime.fromisoformat(value)


class Entries:
    """The ledger read once for the cross-checks, indexed the ways every app's checks need.

    ``by_event``: every entry that names a launch, by event, oldest first. ``facts``: (model label,
    id) -> the newest FACT_RECORDED entry recording that sealed fact, and what it recorded.
    ``seals``: (entry, seal) for every history row an entry sealed. ``problem``: the first entry
    found wrong while reading (one naming no launch, one finding its launch in a state no recorded
    event put it in)."""

    def __init__(self) -> None:
        self.by_event: dict[str, list[LedgerEntry]] = defaultdict(list)
        self.facts: dict[tuple[str, int], tuple[LedgerEntry, dict]] = {}
        self.seals: list[tuple[LedgerEntry, dict]] = []
        self.last_by_launch: dict[int, LedgerEntry] = {}
        self.slugs: dict[int, set[str]] = defaultdict(set)
        self.problem = ""
        for entry in LedgerEntry.objects.order_by("sequence").iterator(chunk_size=2000):
            if entry.event == LedgerEvent.FACT_RECORDED:
                # Facts entries record no launch state (the events that change it do), and those of
                # teams and memberships name no launch; readiness checks them against their rows.
                if entry.launch_id is not None:
                    self.slugs[entry.launch_id].add(entry.launch_slug)
                for fact in entry.payload.get("facts", []):
                    self.facts[(fact.get("model"), fact.get("id"))] = (entry, fact)
                continue
            if entry.launch_id is None:
                self.problem = self.problem or f"entry #{entry.sequence} names no launch"
                continue
            self.problem = self.problem or _unexplained_change(self.last_by_launch.get(entry.launch_id), entry)
            self.last_by_launch[entry.launch_id] = entry
            self.slugs[entry.launch_id].add(entry.launch_slug)
            self.by_event[entry.event].append(entry)
            self.seals.extend((entry, seal) for seal in entry.seals)

    def one_each(self, event: str, key: str) -> tuple[dict, str]:
        """The entries of ``event``, an event that happens once to each row (a request made, a
        decision given), by the id their payload names under ``key``; and the first entry that
        records the same row again, as a sentence ("" if none)."""
        found: dict = {}
        twice = ""
        for entry in self.by_event[event]:
            pk = entry.payload.get(key)
            if pk in found:
                twice = twice or f"entry #{entry.sequence} records {key} #{pk} twice"
            found[pk] = entry
        return found, twice


# The only events that may change what the gate reads of the launch row itself.
_MOVES_THE_STAGE = frozenset({LedgerEvent.STAGE_ADVANCED, LedgerEvent.STAGE_ROLLED_BACK})
_CHANGES_THE_TIER = frozenset({LedgerEvent.RISK_TIER_CHANGED})


def _unexplained_change(previous: LedgerEntry | None, entry: LedgerEntry) -> str:
    """Each entry records the launch's state after it; between two entries of a launch that state
    may change only through the event that changes it. Otherwise a row rewritten in SQL would be
    taken into the next entry and look recorded. A launch starts in planning."""
    before = previous.launch_state if previous else {"current stage": None, "risk tier": None}
    after = entry.launch_state
    if before.get("current stage") != after.get("current stage") and entry.event not in _MOVES_THE_STAGE:
        return (
            f"entry #{entry.sequence} finds launch '{entry.launch_slug}' in a stage no recorded stage change put it in"
        )
    if previous and before.get("risk tier") != after.get("risk tier") and entry.event not in _CHANGES_THE_TIER:
        return f"entry #{entry.sequence} finds launch '{entry.launch_slug}' at a risk tier no recorded change set"
    return ""


def rows_disagree_with_entries() -> str:
    """The first disagreement between the rows the ledger records and its entries: the ledger's own
    checks, then every check the apps registered, in the order they registered them."""
    entries = Entries()
    for check in (_entries_read, _launches, *ledger_checks(), _seals):
        problem = check(entries)
        if problem:
            return problem
    return ""


def _entries_read(entries: Entries) -> str:
    return entries.problem


def _launches(entries: Entries) -> str:
    """Every launch the ledger names still exists under the one slug its entries name, and each
    launch is in the state (risk tier, current stage, its kind and exposure) its newest entry
    recorded; a launch no entry names has never entered a stage."""
    launches = {launch.pk: launch for launch in Launch.objects.all()}
    for launch_id, slugs in entries.slugs.items():
        launch = launches.get(launch_id)
        if launch is None:
            return f"launch #{launch_id} recorded in the ledger no longer exists"
        if slugs != {launch.slug}:
            return f"launch #{launch_id} is now called '{launch.slug}', but the ledger records {sorted(slugs)}"
    for launch_id, launch in launches.items():
        last = entries.last_by_launch.get(launch_id)
        if last is None:
            if launch.current_stage_id is not None:
                return f"launch '{launch.slug}' is in a stage it never entered through the gate"
            continue
        if launch_state(launch_id) != last.launch_state:
            return (
                f"launch '{launch.slug}' (risk tier, current stage, its kind or exposure) differs from "
                f"what entry #{last.sequence} recorded"
            )
    return ""


def _seals(entries: Entries) -> str:
    """Every history row an entry sealed still exists and holds what it held when sealed."""
    wanted: dict[str, dict[int, tuple[LedgerEntry, str]]] = defaultdict(dict)
    for entry, seal in entries.seals:
        wanted[seal["model"]][seal["id"]] = (entry, seal["digest"])
    for label, sealed in wanted.items():
        model = apps.get_model(label)
        ids = sorted(sealed)  # by the hundred: a bulk SLI upload seals thousands of rows of one model
        found = {row.pk: row for i in range(0, len(ids), 500) for row in model.objects.filter(pk__in=ids[i : i + 500])}
        for pk, (entry, digest) in sorted(sealed.items()):
            row = found.get(pk)
            if row is None:
                return f"history row {label} #{pk} sealed by entry #{entry.sequence} was deleted"
            if history_digest(row) != digest:
                return f"history row {label} #{pk} sealed by entry #{entry.sequence} was altered"
    return ""
