"""Operations' cross-checks of its own rows against the ledger entries its services wrote, run by
``verify_ledger`` (registered through ``readiness.recording`` when ``OperationsConfig.ready()``
imports this module). The gate reads incidents: a row rewritten or deleted in SQL (an open P0 quietly removed, a
resolution time moved) no longer matches its newest entry, and every recorded one must still exist.
Rollback executions are checked against the gate's ``stage_rolled_back`` entries, written in the
same transaction with the same facts; failure reviews and daily SLI values against theirs."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ledger.events import LedgerEvent
from ledger.verification import recorded_time
from readiness.recording import register_ledger_check

from .models import FailureReview, Incident, PostMortem, RollbackExecution, SliActual

INCIDENT_EVENTS = (LedgerEvent.INCIDENT_RECORDED, LedgerEvent.INCIDENT_CHANGED, LedgerEvent.INCIDENT_SEVERITY_CHANGED)
SEVERITIES = ("P0", "P1", "P2", "P3")


def _newest(entries, events, key: str) -> dict:
    newest = {}
    for event in events:
        for entry in entries.by_event[event]:
            current = newest.get(entry.payload.get(key))
            if current is None or current.sequence < entry.sequence:
                newest[entry.payload.get(key)] = entry
    return newest


def _incident_matches(incident: Incident, entry, notified: list[int]) -> bool:
    payload = entry.payload
    return (
        entry.launch_id == incident.launch_id
        and payload.get("title") == incident.title
        and payload.get("severity") == incident.severity
        and recorded_time(payload.get("detected")) == incident.detected_at
        and recorded_time(payload.get("acknowledged")) == incident.acknowledged_at
        and recorded_time(payload.get("mitigated")) == incident.mitigated_at
        and recorded_time(payload.get("resolved")) == incident.resolved_at
        and payload.get("notified") == notified
    )


def _severity_changes_disagree(entries) -> str:
    """Each ``incident_severity`` entry starts from the severity the incident's previous entry
    recorded, and one that lowers it says on whose authority (the area's Accountable or an
    executive: ``operations.access.severity_lowered_by``)."""
    recorded = sorted((e for event in INCIDENT_EVENTS for e in entries.by_event[event]), key=lambda e: e.sequence)
    last: dict[int, str] = {}
    for entry in recorded:
        pk, severity = entry.payload.get("incident"), entry.payload.get("severity")
        if entry.event == LedgerEvent.INCIDENT_SEVERITY_CHANGED:
            before = entry.payload.get("severity from")
            if pk in last and before != last[pk]:
                return f"incident #{pk}'s severity change in entry #{entry.sequence} does not start from {last[pk]}"
            lowered = (
                before in SEVERITIES
                and severity in SEVERITIES
                and SEVERITIES.index(severity) > SEVERITIES.index(before)
            )
            if lowered and entry.payload.get("lowered by") not in ("accountable", "executive"):
                return f"incident #{pk}'s severity was lowered in entry #{entry.sequence} without an Accountable or an executive"
        last[pk] = severity
    return ""


@register_ledger_check
def incidents_disagree_with_entries(entries) -> str:
    problem = _severity_changes_disagree(entries)
    if problem:
        return problem
    newest = _newest(entries, INCIDENT_EVENTS, "incident")
    notified: dict[int, list[int]] = {}
    for incident_id, stakeholder_id in Incident.notified.through.objects.values_list("incident_id", "stakeholder_id"):
        notified.setdefault(incident_id, []).append(stakeholder_id)
    rows = {incident.pk: incident for incident in Incident.objects.all()}
    for pk, incident in rows.items():
        entry = newest.get(pk)
        if entry is None:
            return f"incident #{pk} has no ledger entry"
        if not _incident_matches(incident, entry, sorted(notified.get(pk, []))):
            return f"incident #{pk} does not match its ledger entry #{entry.sequence}"
    for pk, entry in newest.items():
        if pk not in rows:
            return f"incident #{pk} recorded in entry #{entry.sequence} no longer exists"
    postmortems = {pm.pk: pm for pm in PostMortem.objects.select_related("incident")}
    recorded = _newest(entries, (LedgerEvent.POSTMORTEM_RECORDED,), "postmortem")
    for pk, postmortem in postmortems.items():
        entry = recorded.get(pk)
        if entry is None or entry.payload.get("incident") != postmortem.incident_id:
            return f"post-mortem #{pk} has no matching ledger entry"
    for pk, entry in recorded.items():
        if pk not in postmortems:
            return f"post-mortem #{pk} recorded in entry #{entry.sequence} no longer exists"
    return ""


def _rollback_facts(execution: RollbackExecution) -> tuple:
    duration = None if execution.duration is None else int(execution.duration.total_seconds())
    return (execution.from_stage_name, execution.to_stage_name, execution.reason, duration, execution.incident_id)


def _entry_facts(entry) -> tuple:
    payload = entry.payload
    return (
        payload.get("from"),
        payload.get("to"),
        payload.get("reason"),
        payload.get("duration seconds"),
        payload.get("incident"),
    )


@register_ledger_check
def rollbacks_disagree_with_entries(entries) -> str:
    """Every rollback execution is the record of one ``stage_rolled_back`` entry of its launch (same
    stages, reason, duration and incident), oldest first; and once rollbacks are recorded as executions
    (the first matched entry), no later rollback entry lacks one. Rollbacks ledgered before
    executions were recorded have none, and are left alone."""
    rollbacks: dict[int, list] = {}
    for entry in entries.by_event[LedgerEvent.STAGE_ROLLED_BACK]:
        rollbacks.setdefault(entry.launch_id, []).append(entry)
    matched: dict[int, list[int]] = {}
    for execution in RollbackExecution.objects.order_by("pk"):
        candidates = rollbacks.get(execution.launch_id, [])
        used = matched.setdefault(execution.launch_id, [])
        after = used[-1] if used else -1
        facts = _rollback_facts(execution)
        found = next(
            (i for i, entry in enumerate(candidates) if i > after and _entry_facts(entry) == facts),
            None,
        )
        if found is None:
            return f"rollback execution #{execution.pk} matches no stage rollback in the ledger"
        used.append(found)
    # Executions are recorded since some entry: every rollback ledgered after it must have one.
    since = min((rollbacks[launch_id][used[0]].sequence for launch_id, used in matched.items() if used), default=None)
    if since is None:
        return ""
    for launch_id, candidates in rollbacks.items():
        used = set(matched.get(launch_id, ()))
        for i, entry in enumerate(candidates):
            if entry.sequence > since and i not in used:
                return f"the stage rollback of entry #{entry.sequence} has no rollback execution any more"
    return ""


@register_ledger_check
def failure_reviews_disagree_with_entries(entries) -> str:
    """Item 11 reads when each channel was last reviewed: every failure review is on the channel and
    date its entry recorded, and every recorded review still exists."""
    recorded = _newest(entries, (LedgerEvent.FAILURE_REVIEW_RECORDED,), "review")
    rows = FailureReview.objects.values_list("pk", "channel_id", "held_on").order_by("pk")
    for pk, channel_id, held_on in rows.iterator(chunk_size=2000):
        entry = recorded.pop(pk, None)
        if entry is None:
            return f"failure review #{pk} has no ledger entry"
        if entry.payload.get("channel") != channel_id or entry.payload.get("held on") != held_on.isoformat():
            return f"failure review #{pk} does not match its ledger entry #{entry.sequence}"
    for pk, entry in recorded.items():
        return f"failure review #{pk} recorded in entry #{entry.sequence} no longer exists"
    return ""


@register_ledger_check
def sli_actuals_disagree_with_entries(entries) -> str:
    """Every daily SLI value (item 15 reads them) is the one its newest ledger entry recorded, from
    the same source; every recorded value still exists."""
    recorded: dict[tuple[int, str, str], tuple] = {}  # (launch id, indicator, day) -> (newest entry, its value)
    for entry in entries.by_event[LedgerEvent.SLI_RECORDED]:
        for value in entry.payload.get("values", []):
            recorded[(entry.launch_id, value.get("indicator"), value.get("day"))] = (entry, value)
    seen = set()
    rows = SliActual.objects.values_list("pk", "launch_id", "indicator", "day", "value", "source").order_by("pk")
    for pk, launch_id, indicator, day, value, source in rows.iterator(chunk_size=2000):
        key = (launch_id, indicator, day.isoformat())
        seen.add(key)
        if key not in recorded:
            return f"SLI actual #{pk} ({indicator} on {key[2]}) has no ledger entry"
        entry, payload = recorded[key]
        try:
            same = Decimal(str(payload.get("value"))) == value and entry.payload.get("source") == source
        except InvalidOperation:
            same = False
        if not same:
            return f"SLI actual #{pk} ({indicator} on {key[2]}) does not match its ledger entry #{entry.sequence}"
    for key, (entry, _value) in recorded.items():
        if key not in seen:
            return f"SLI actual {key[1]} on {key[2]} recorded in entry #{entry.sequence} no longer exists"
    return ""
