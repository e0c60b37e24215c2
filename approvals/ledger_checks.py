"""Approvals' cross-checks of its own rows against the ledger, both ways and on every field, run
by ``verify_ledger`` (registered through ``readiness.recording`` when ``ApprovalsConfig.ready()``
imports this module).

Someone with database access can rewrite a row without a service; they cannot write a matching
entry without the ledger key. So every request, decision, delegation, acknowledgement, waiver,
policy and policy change must agree with the entries written with it, and every entry must still
have its row. The first disagreement is returned as a sentence."""

from __future__ import annotations

from django.db.models import Prefetch

from ledger.events import LedgerEvent
from ledger.verification import recorded_time
from readiness.recording import register_ledger_check

from .choices import RequestStatus, WaiverStatus, request_status
from .models import (
    Acknowledgement,
    PolicyChange,
    SignoffDecision,
    SignoffDelegation,
    SignoffRequest,
    StagePolicy,
    Waiver,
)
from .policies import policy_state
from .snapshot import fingerprint

# Events that happen once to each row, and the payload key naming the row.
_ONE_EACH = {
    LedgerEvent.REQUESTED: "request",
    LedgerEvent.DECIDED: "decision",
    LedgerEvent.WITHDRAWN: "request",
    LedgerEvent.DELEGATED: "delegation",
    LedgerEvent.ACKNOWLEDGED: "acknowledgement",
    LedgerEvent.WAIVER_REQUESTED: "waiver",
    LedgerEvent.WAIVER_DECIDED: "waiver",
    LedgerEvent.POLICY_CHANGE_REQUESTED: "change",
    LedgerEvent.POLICY_CHANGE_DECIDED: "change",
}


class _Signoffs:
    """Approvals' entries, indexed once for its checks: ``by_event`` {event: {row id: entry}} for the
    events that happen once to each row, the newest policy entry of each stage, the requests
    replaced by a newer one and the decisions a later one superseded."""

    def __init__(self, entries) -> None:
        self.problem = ""
        self.by_event: dict[str, dict] = {}
        for event, key in _ONE_EACH.items():
            self.by_event[event], twice = entries.one_each(event, key)
            self.problem = self.problem or twice
        self.last_policy = {
            entry.payload["policy"]["stage"]: entry for entry in entries.by_event[LedgerEvent.POLICY_CHANGED]
        }
        self.replaced = {
            entry.payload["replaces"]
            for entry in entries.by_event[LedgerEvent.REQUESTED]
            if entry.payload.get("replaces") is not None
        }
        self.superseding = {
            superseded: entry
            for entry in entries.by_event[LedgerEvent.DECIDED]
            for superseded in entry.payload.get("supersedes", [])
        }


@register_ledger_check
def signoffs_disagree_with_entries(entries) -> str:
    """The first of approvals' rows that disagrees with its entries, or an entry without its row."""
    signoffs = _Signoffs(entries)
    if signoffs.problem:
        return signoffs.problem
    for check in (_decisions, _requests, _delegations, _acknowledgements, _waivers, _policies, _policy_changes):
        problem = check(signoffs)
        if problem:
            return problem
    return ""


def _orphans(rows: dict, recorded: dict, what: str) -> str:
    for key, entry in recorded.items():
        if key not in rows:
            return f"{what} #{key} recorded in entry #{entry.sequence} no longer exists"
    return ""


def _requests(signoffs: _Signoffs) -> str:
    requested = signoffs.by_event[LedgerEvent.REQUESTED]
    withdrawn = signoffs.by_event[LedgerEvent.WITHDRAWN]
    rows = {
        r.pk: r
        for r in SignoffRequest.objects.select_related("requested_by").prefetch_related(
            "addressees", Prefetch("decisions", queryset=SignoffDecision.objects.filter(superseded_at__isnull=True))
        )
    }
    for pk, request in rows.items():
        entry = requested.get(pk)
        if entry is None:
            return f"sign-off request #{pk} has no ledger entry"
        recorded = entry.payload
        facts = {
            "stage id": request.stage_id,
            "function": request.function,
            "approvals required": request.approvals_required,
            "addressees": sorted(u.get_username() for u in request.addressees.all()),
            "replaces": request.replaces_id,
        }
        if (
            entry.launch_id != request.launch_id
            or entry.actor != request.requested_by.get_username()
            or any(recorded.get(key) != value for key, value in facts.items())
        ):
            return f"sign-off request #{pk} does not match its ledger entry #{entry.sequence}"
        if request.status == RequestStatus.WITHDRAWN:
            expected_closed = pk in withdrawn
        elif request.status == RequestStatus.SUPERSEDED:
            expected_closed = pk in signoffs.replaced
        else:
            expected_closed = pk not in withdrawn and pk not in signoffs.replaced
            outcomes = [decision.outcome for decision in request.decisions.all()]
            if expected_closed and request.status != request_status(outcomes, request.approvals_required):
                return f"sign-off request #{pk} is {request.status}, which its decisions do not say"
        if not expected_closed:
            return f"sign-off request #{pk} is {request.status}, which the ledger does not record"
    return _orphans(rows, requested, "sign-off request") or _orphans(rows, withdrawn, "sign-off request")


def _decisions(signoffs: _Signoffs) -> str:
    decided = signoffs.by_event[LedgerEvent.DECIDED]
    rows = {d.pk: d for d in SignoffDecision.objects.select_related("decided_by", "on_behalf_of")}
    for pk, decision in rows.items():
        entry = decided.get(pk)
        if entry is None:
            return f"decision #{pk} has no ledger entry"
        recorded = entry.payload
        facts = {
            "request": decision.request_id,
            "outcome": decision.outcome,
            "comment": decision.comment,
            "on behalf of": decision.on_behalf_of.get_username(),
        }
        if (
            any(recorded.get(key) != value for key, value in facts.items())
            or entry.actor != decision.decided_by.get_username()
            or recorded_time(recorded.get("decided at")) != decision.decided_at
            or entry.snapshot_hash != decision.fingerprint
            or fingerprint(decision.snapshot) != decision.fingerprint
        ):
            return f"decision #{pk} does not match its ledger entry #{entry.sequence}"
        superseding = signoffs.superseding.get(pk)
        expected = recorded_time(superseding.payload["decided at"]) if superseding else None
        if decision.superseded_at != expected:
            return f"decision #{pk} is marked superseded differently from what the ledger records"
    return _orphans(rows, decided, "decision")


def _delegations(signoffs: _Signoffs) -> str:
    delegated = signoffs.by_event[LedgerEvent.DELEGATED]
    rows = {d.pk: d for d in SignoffDelegation.objects.select_related("delegator", "delegate")}
    for pk, delegation in rows.items():
        entry = delegated.get(pk)
        recorded = entry.payload if entry else {}
        if entry is None or (
            recorded.get("request"),
            recorded.get("from"),
            recorded.get("to"),
            entry.actor,
        ) != (
            delegation.request_id,
            delegation.delegator.get_username(),
            delegation.delegate.get_username(),
            delegation.delegator.get_username(),
        ):
            return f"delegation #{pk} does not match the ledger"
    return _orphans(rows, delegated, "delegation")


def _acknowledgements(signoffs: _Signoffs) -> str:
    acknowledged = signoffs.by_event[LedgerEvent.ACKNOWLEDGED]
    rows = {a.pk: a for a in Acknowledgement.objects.select_related("user")}
    for pk, acknowledgement in rows.items():
        entry = acknowledged.get(pk)
        if acknowledgement.acknowledged_at is None:
            if entry is not None:
                return f"acknowledgement #{pk} was recorded in entry #{entry.sequence} but is no longer acknowledged"
            continue
        if (
            entry is None
            or entry.actor != acknowledgement.user.get_username()
            or recorded_time(entry.payload.get("acknowledged at")) != acknowledgement.acknowledged_at
            or entry.payload.get("comment") != acknowledgement.comment
        ):
            return f"acknowledgement #{pk} does not match the ledger"
    return _orphans(rows, acknowledged, "acknowledgement")


def _waivers(signoffs: _Signoffs) -> str:
    requested = signoffs.by_event[LedgerEvent.WAIVER_REQUESTED]
    decided = signoffs.by_event[LedgerEvent.WAIVER_DECIDED]
    rows = {w.pk: w for w in Waiver.objects.select_related("requested_by", "decided_by")}
    for pk, waiver in rows.items():
        asked, answer = requested.get(pk), decided.get(pk)
        if asked is None:
            return f"waiver #{pk} has no ledger entry"
        recorded = asked.payload
        if (
            asked.launch_id != waiver.launch_id
            or asked.actor != waiver.requested_by.get_username()
            or (recorded.get("stage id"), recorded.get("item"), recorded.get("justification"))
            != (waiver.stage_id, waiver.check_key, waiver.justification)
            or recorded.get("expires on") != waiver.expires_on.isoformat()
            or recorded_time(recorded.get("requested at")) != waiver.requested_at
        ):
            return f"waiver #{pk} does not match its ledger entry #{asked.sequence}"
        if waiver.status == WaiverStatus.PENDING:
            if answer is not None or waiver.decided_by_id or waiver.decided_at:
                return f"waiver #{pk} is pending, but the ledger or the row says it was decided"
            continue
        if answer is None or (
            answer.actor,
            answer.payload.get("status"),
            answer.payload.get("comment"),
            recorded_time(answer.payload.get("decided at")),
        ) != (
            waiver.decided_by.get_username() if waiver.decided_by else None,
            waiver.status,
            waiver.decision_comment,
            waiver.decided_at,
        ):
            return f"waiver #{pk} was decided differently from what the ledger records"
    return _orphans(rows, requested, "waiver") or _orphans(rows, decided, "waiver")


def _policies(signoffs: _Signoffs) -> str:
    rows = {p.stage_id: p for p in StagePolicy.objects.prefetch_related("requirements")}
    for stage_id, policy in rows.items():
        entry = signoffs.last_policy.get(stage_id)
        if entry is None:
            return f"the sign-off policy of stage #{stage_id} has no ledger entry"
        if policy_state(policy) != entry.payload["policy"]:
            return f"the sign-off policy of stage #{stage_id} differs from ledger entry #{entry.sequence}"
    return _orphans(rows, signoffs.last_policy, "the sign-off policy of stage")


def _policy_changes(signoffs: _Signoffs) -> str:
    requested = signoffs.by_event[LedgerEvent.POLICY_CHANGE_REQUESTED]
    decided = signoffs.by_event[LedgerEvent.POLICY_CHANGE_DECIDED]
    rows = {c.pk: c for c in PolicyChange.objects.select_related("requested_by", "decided_by", "stage")}
    for pk, change in rows.items():
        asked, answer = requested.get(pk), decided.get(pk)
        if asked is None:
            return f"policy change #{pk} has no ledger entry"
        wanted = (
            {"risk tier": {"from": asked.payload.get("risk tier", {}).get("from"), "to": change.risk_tier}}
            if change.risk_tier
            else {"function": change.function, "approvals required": change.approvals_required}
        )
        if (
            asked.actor != change.requested_by.get_username()
            or asked.payload.get("justification") != change.justification
            or any(asked.payload.get(key) != value for key, value in wanted.items())
        ):
            return f"policy change #{pk} does not match its ledger entry #{asked.sequence}"
        decided_row = (
            change.decided_by.get_username() if change.decided_by else None,
            change.status,
            change.decision_comment,
        )
        decided_entry = (
            (answer.actor, answer.payload.get("status"), answer.payload.get("comment"))
            if answer
            else (None, "pending", "")
        )
        if decided_row != decided_entry:
            return f"policy change #{pk} was decided differently from what the ledger records"
    return _orphans(rows, requested, "policy change") or _orphans(rows, decided, "policy change")
