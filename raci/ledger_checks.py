"""RACI's cross-checks of its own acts against the ledger, run by ``verify_ledger`` (registered
through ``readiness.recording`` when ``RaciConfig.ready()`` imports this module): the reasons
standard areas were left out, and the acceptance of evaluation runs as evidence."""

from __future__ import annotations

from django.db.models import F, Q

from ledger.events import LedgerEvent
from ledger.verification import recorded_time
from readiness.models import EvalRun
from readiness.recording import register_ledger_check

from .models import AreaOmission
from .services import eval_run_acceptance


@register_ledger_check
def acceptances_disagree_with_entries(entries) -> str:
    """An accepted run was accepted by whom, and as the very run, its entry records; a run the
    launch owner recorded still needs acceptance; every accepted run recorded still exists, or
    its history says it was removed."""
    recorded = {entry.payload.get("evaluation run"): entry for entry in entries.by_event[LedgerEvent.EVAL_RUN_ACCEPTED]}
    rows = {
        run.pk: run
        for run in EvalRun.objects.select_related("accepted_by", "recorded_by", "quality_bar__launch").filter(
            Q(accepted_by__isnull=False)
            | Q(pk__in=list(recorded))
            | Q(recorded_by_id=F("quality_bar__launch__owner_id"))
        )
    }
    for pk, run in rows.items():
        launch = run.quality_bar.launch
        if run.recorded_by_id == launch.owner_id and not run.needs_acceptance:
            return f"evaluation run #{pk} was recorded by the launch owner but counts without acceptance"
        entry = recorded.get(pk)
        if run.accepted_by_id is None:
            if entry is not None:
                return f"evaluation run #{pk} is not accepted, but entry #{entry.sequence} records its acceptance"
            continue
        if entry is None:
            return (
                f"evaluation run #{pk} is accepted by {run.accepted_by.get_username()}, which no ledger entry records"
            )
        if (
            entry.launch_id != launch.pk
            or entry.actor != run.accepted_by.get_username()
            or entry.payload != eval_run_acceptance(run)
        ):
            return f"evaluation run #{pk} does not match its acceptance recorded in entry #{entry.sequence}"
    for pk, entry in recorded.items():
        if pk not in rows and not EvalRun.history.filter(id=pk, history_type="-").exists():
            return f"evaluation run #{pk} accepted in entry #{entry.sequence} no longer exists, and no history records its removal"
    return ""


@register_ledger_check
def omissions_disagree_with_entries(entries) -> str:
    """Every reason for leaving out a standard area was recorded as it stands and not withdrawn;
    every recorded, unwithdrawn one still exists."""
    recorded, twice = entries.one_each(LedgerEvent.AREA_OMITTED, "omission")
    withdrawn, twice_withdrawn = entries.one_each(LedgerEvent.OMISSION_WITHDRAWN, "omission")
    if twice or twice_withdrawn:
        return twice or twice_withdrawn
    rows = {o.pk: o for o in AreaOmission.objects.select_related("recorded_by")}
    for pk, omission in rows.items():
        entry = recorded.get(pk)
        if entry is None:
            return f"area omission #{pk} has no ledger entry"
        if pk in withdrawn:
            return f"area omission #{pk} was withdrawn in entry #{withdrawn[pk].sequence} but still exists"
        if (
            entry.launch_id != omission.launch_id
            or entry.actor != omission.recorded_by.get_username()
            or entry.payload.get("area kind") != omission.kind
            or entry.payload.get("reason") != omission.reason
            or recorded_time(entry.payload.get("recorded at")) != omission.recorded_at
        ):
            return f"area omission #{pk} does not match its ledger entry #{entry.sequence}"
    for pk, entry in recorded.items():
        if pk not in rows and pk not in withdrawn:
            return f"area omission #{pk} recorded in entry #{entry.sequence} no longer exists"
    return ""
