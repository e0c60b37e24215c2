"""Cross-checks of incidents and post-mortems against the ledger entries their services wrote, run
by ``verify_ledger`` (registered through ``readiness.recording``; approvals does not import this
app). The gate reads incidents: a row rewritten or deleted in SQL (an open P0 quietly removed, a
resolution time moved) no longer matches its newest entry, and every recorded one must still exist.
Rollback executions are checked against the gate's ``stage_rolled_back`` entries, written in the
same transaction with the same facts."""

from __future__ import annotations

import datetime

from .models import FailureReview, Incident, PostMortem, RollbackExecution

INCIDENT_EVENTS = ("incident_recorded", "incident_changed", "incident_severity")
SEVERITIES = ("P0", "P1", "P2", "P3")


def _time(value) -> datetime.datetime | None:
    return None if value is None else datetime.datetime.fromisoformat(value)


def _newest(by_event: dict, events, key: str) -> dict:
    newest = {}
    for event in events:
        for entry in by_event.get(event, ()):
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
        and _time(payload.get("detected")) == incident.detected_at
        and _time(payload.get("acknowledged")) == incident.acknowledged_at
        and _time(payload.get("mitigated")) == incident.mitigated_at
        and _time(payload.get("resolved")) == incident.resolved_at
        and payload.get("notified") == notified
    )


def _severity_changes_disagree(by_event: dict) -> str:
    """Each ``incident_severity`` entry starts from the severity the incident's previous entry
    recorded, and one that lowers it says on whose authority (the area's Accountable or an
    executive: ``operations.access.severity_lowered_by``)."""
    entries = sorted((e for event in INCIDENT_EVENTS for e in by_event.get(event, ())), key=lambda e: e.sequence)
    last: dict[int, str] = {}
    for entry in entries:
        pk, severity = entry.payload.get("incident"), entry.payload.get("severity")
        if entry.event == "incident_severity":
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


def incidents_disagree_with_entries(by_event: dict) -> str:
    problem = _severity_changes_disagree(by_event)
    if problem:
        return problem
    newest = _newest(by_event, INCIDENT_EVENTS, "incident")
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
    recorded = _newest(by_event, ("postmortem_recorded",), "postmortem")
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


def rollbacks_disagree_with_entries(by_event: dict) -> str:
    """Every rollback execution is the record of one ``stage_rolled_back`` entry of its launch (same
    stages, reason, duration and incident), oldest first; and once rollbacks are recorded as executions
    (the first matched entry), no later rollback entry lacks one. Rollbacks ledgered before
    executions were recorded have none, and are left alone."""
    entries: dict[int, list] = {}
    for entry in by_event.get("stage_rolled_back", ()):
        entries.setdefault(entry.launch_id, []).append(entry)
    matched: dict[int, list[int]] = {}
    for execution in RollbackExecution.objects.order_by("pk"):
        candidates = entries.get(execution.launch_id, [])
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
    since = min((entries[launch_id][used[0]].sequence for launch_id, used in matched.items() if used), default=None)
    if since is None:
        return ""
    for launch_id, candidates in entries.items():
        used = set(matched.get(launch_id, ()))
        for i, entry in enumerate(candidates):
            if entry.sequence > since and i not in used:
                return f"the stage rollback of entry #{entry.sequence} has no rollback execution any more"
    return ""


def failure_reviews_disagree_with_entries(by_event: dict) -> str:
    """Item 11 reads when each channel was last reviewed: every failure review is on the channel and
    date its entry recorded, and every recorded review still exists."""
    recorded = _newest(by_event, ("failure_review",), "review")
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
