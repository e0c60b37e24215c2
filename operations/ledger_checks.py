"""Cross-checks of incidents and post-mortems against the ledger entries their services wrote, run
by ``verify_ledger`` (registered through ``readiness.recording``; approvals does not import this
app). The gate reads incidents: a row rewritten or deleted in SQL (an open P0 quietly removed, a
resolution time moved) no longer matches its newest entry, and every recorded one must still exist."""

from __future__ import annotations

import datetime

from .models import Incident, PostMortem

INCIDENT_EVENTS = ("incident_recorded", "incident_changed")


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


def incidents_disagree_with_entries(by_event: dict) -> str:
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
