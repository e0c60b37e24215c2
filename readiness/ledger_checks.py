"""Readiness' cross-checks of its own rows against the ledger, run by ``verify_ledger`` (registered
through the port, ``readiness.recording``, when ``ReadinessConfig.ready()`` imports this module;
this app imports nothing of the ledger but its events): the version each launch serves, the
agreements of quality bars and SLOs, and every sealed fact (``readiness.recording``: the rows of
every app that the gate reads)."""

from __future__ import annotations

from ledger.events import LedgerEvent

from .models import SLO, Launch, QualityBar
from .recording import fact_value, register_ledger_check, sealed_facts
from .services.facts import bar_definition, slo_definition

# Events about one agreed fact, and the payload key naming it.
_AGREEMENT_EVENTS = {
    LedgerEvent.BAR_AGREED: "quality bar",
    LedgerEvent.BAR_REDEFINED: "quality bar",
    LedgerEvent.SLO_AGREED: "slo",
    LedgerEvent.SLO_REDEFINED: "slo",
}


@register_ledger_check
def serving_versions_disagree_with_entries(entries) -> str:
    """The version in service decides what evidence counts: a launch whose version changed through
    ``launch_change`` must still serve the version its last ``VERSION_CHANGED`` entry recorded.
    (A version set before versions were ledgered has no entry, and nothing to compare with.)"""
    last: dict = {}  # launch id -> its newest VERSION_CHANGED entry
    for entry in entries.by_event[LedgerEvent.VERSION_CHANGED]:
        last[entry.launch_id] = entry
    serving = dict(Launch.objects.filter(pk__in=list(last)).values_list("pk", "serving_version"))
    for launch_id, entry in last.items():
        if launch_id in serving and serving[launch_id] != entry.payload.get("to"):
            return (
                f"launch '{entry.launch_slug}' serves version {serving[launch_id]!r}, but entry #{entry.sequence} "
                f"recorded {entry.payload.get('to')!r}"
            )
    return ""


@register_ledger_check
def agreements_disagree_with_entries(entries) -> str:
    """An agreed quality bar or SLO is agreed by whom, and on the very definition, that its newest
    entry records; a fact its newest entry records as agreed is still agreed and still exists."""
    kinds = (
        (QualityBar, "quality bar", LedgerEvent.BAR_AGREED, bar_definition),
        (SLO, "slo", LedgerEvent.SLO_AGREED, slo_definition),
    )
    last_agreement = {}  # (payload key, fact id) -> the newest entry about that agreed fact
    for entry in sorted((e for event in _AGREEMENT_EVENTS for e in entries.by_event[event]), key=lambda e: e.sequence):
        kind = _AGREEMENT_EVENTS[entry.event]
        last_agreement[(kind, entry.payload.get(kind))] = entry
    for model, key, agreed, definition in kinds:
        rows = {row.pk: row for row in model.objects.select_related("agreed_by")}
        for pk, row in rows.items():
            entry = last_agreement.get((key, pk))
            recorded = entry is not None and entry.event == agreed
            if row.agreed_by_id is None:
                if recorded:
                    return (
                        f"{key} #{pk} is not agreed, but entry #{entry.sequence} records an agreement nothing cleared"
                    )
                continue
            if not recorded:
                return f"{key} #{pk} is agreed by {row.agreed_by.get_username()}, which no ledger entry records"
            expected = {**definition(row), "area": entry.payload.get("area")}
            if (
                entry.launch_id != row.launch_id
                or entry.actor != row.agreed_by.get_username()
                or entry.payload != expected
            ):
                return f"{key} #{pk} does not match the agreement recorded in entry #{entry.sequence}"
        for (kind, pk), entry in last_agreement.items():
            if kind != key:
                continue
            removed = "removed" in entry.payload
            if pk not in rows and not removed:
                return f"{key} #{pk} recorded in entry #{entry.sequence} no longer exists, and no entry records its removal"
            if pk in rows and removed:
                return f"{key} #{pk} was removed in entry #{entry.sequence} but exists again"
    return ""


@register_ledger_check(catch_all=True)
def sealed_facts_disagree_with_entries(entries) -> str:
    """Every row of a sealed model (``readiness.recording``: stages, bars, runs, data assets, the
    RACI, teams and memberships, ...) holds the values its newest FACT_RECORDED entry recorded, on
    every field that entry recorded; every fact recorded and not removed still exists. One query
    per model, read in chunks."""
    seen: set[tuple[str, int]] = set()
    for spec in sealed_facts().values():
        fields = spec.fields
        rows = spec.model._default_manager.order_by("pk").values_list("pk", *fields)
        for pk, *values in rows.iterator(chunk_size=2000):
            key = (spec.label, pk)
            seen.add(key)
            recorded = entries.facts.get(key)
            if recorded is None:
                return f"{spec.label} #{pk} has no ledger entry (written without a service)"
            entry, fact = recorded
            if fact.get("removed"):
                return f"{spec.label} #{pk} was removed in entry #{entry.sequence} but exists again"
            was = fact.get("values", {})
            changed = [
                name
                for name, value in zip(fields, values, strict=True)
                if name in was and was[name] != fact_value(value)
            ]
            if changed:
                return f"{spec.label} #{pk} differs from what entry #{entry.sequence} recorded ({', '.join(changed)})"
    for key, (entry, fact) in entries.facts.items():
        if key not in seen and not fact.get("removed"):
            return f"{key[0]} #{key[1]} recorded in entry #{entry.sequence} no longer exists, and no entry records its removal"
    return ""
