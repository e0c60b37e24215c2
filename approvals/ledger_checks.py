"""Cross-checks between the ledger and the rows the gate reads, both ways and on every field.

Someone with database access can rewrite a row without a service; they cannot write a matching
entry without the ledger key. So every decision, request, waiver, policy, policy change,
delegation, acknowledgement, standard area left out and SLI actual must agree with the entries written with it, every entry must
still have its row, each launch must be in the state its newest entry recorded, and every history
row a service sealed must be unchanged. The first disagreement is returned as a sentence."""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.apps import apps
from django.db.models import F, Prefetch, Q

from readiness.models import SLO, Launch, QualityBar
from readiness.recording import fact_value, ledger_checks, sealed_facts
from readiness.services.facts import bar_definition, slo_definition

from .choices import LedgerEvent, RequestStatus, WaiverStatus, request_status
from .models import (
    Acknowledgement,
    LedgerEntry,
    PolicyChange,
    SignoffDecision,
    SignoffDelegation,
    SignoffRequest,
    StagePolicy,
    Waiver,
)
from .policies import policy_state
from .snapshot import fingerprint


def _time(value) -> datetime.datetime | None:
    return None if value is None else datetime.datetime.fromisoformat(value)


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


class _Entries:
    """The ledger read once, indexed the ways the checks need."""

    def __init__(self) -> None:
        self.by_event: dict[str, dict[int, LedgerEntry]] = defaultdict(dict)
        self.last_by_launch: dict[int, LedgerEntry] = {}
        self.slugs: dict[int, set[str]] = defaultdict(set)
        self.last_policy: dict[int, LedgerEntry] = {}
        self.replaced: set[int] = set()
        self.superseding: dict[int, LedgerEntry] = {}
        self.seals: list[tuple[LedgerEntry, dict]] = []
        self.last_agreement: dict[tuple[str, int], LedgerEntry] = {}
        self.all_by_event: dict[str, list[LedgerEntry]] = defaultdict(list)
        # (launch id, indicator, day) -> the newest entry recording that SLI actual, and its value.
        self.sli_actuals: dict[tuple[int, str, str], tuple[LedgerEntry, dict]] = {}
        self.problem = ""
        keys = {
            LedgerEvent.REQUESTED: "request",
            LedgerEvent.DECIDED: "decision",
            LedgerEvent.WITHDRAWN: "request",
            LedgerEvent.DELEGATED: "delegation",
            LedgerEvent.ACKNOWLEDGED: "acknowledgement",
            LedgerEvent.WAIVER_REQUESTED: "waiver",
            LedgerEvent.WAIVER_DECIDED: "waiver",
            LedgerEvent.POLICY_CHANGE_REQUESTED: "change",
            LedgerEvent.POLICY_CHANGE_DECIDED: "change",
            LedgerEvent.AREA_OMITTED: "omission",
            LedgerEvent.OMISSION_WITHDRAWN: "omission",
        }
        # (model label, id) -> the newest entry recording that sealed fact, and what it recorded.
        self.facts: dict[tuple[str, int], tuple[LedgerEntry, dict]] = {}
        for entry in LedgerEntry.objects.order_by("sequence").iterator(chunk_size=2000):
            if entry.event == LedgerEvent.FACT_RECORDED:
                # Facts entries record no launch state (the events that change it do), and those of
                # teams and memberships name no launch; they are checked by ``_sealed_facts``.
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
            self.all_by_event[entry.event].append(entry)
            key = keys.get(entry.event)
            if key is not None:
                if entry.payload.get(key) in self.by_event[entry.event]:
                    self.problem = self.problem or f"entry #{entry.sequence} records {key} #{entry.payload[key]} twice"
                self.by_event[entry.event][entry.payload.get(key)] = entry
            agreement_key = _AGREEMENT_EVENTS.get(entry.event)
            if agreement_key is not None:
                self.last_agreement[(agreement_key, entry.payload.get(agreement_key))] = entry
            if entry.event == LedgerEvent.POLICY_CHANGED:
                self.last_policy[entry.payload["policy"]["stage"]] = entry
            if entry.event == LedgerEvent.REQUESTED and entry.payload.get("replaces") is not None:
                self.replaced.add(entry.payload["replaces"])
            if entry.event == LedgerEvent.DECIDED:
                for superseded in entry.payload.get("supersedes", []):
                    self.superseding[superseded] = entry
            self.seals.extend((entry, seal) for seal in entry.seals)
            if entry.event == LedgerEvent.SLI_RECORDED:
                for value in entry.payload.get("values", []):
                    self.sli_actuals[(entry.launch_id, value.get("indicator"), value.get("day"))] = (entry, value)


# Events about one agreed fact, and the payload key naming it.
_AGREEMENT_EVENTS = {
    LedgerEvent.BAR_AGREED: "quality bar",
    LedgerEvent.BAR_REDEFINED: "quality bar",
    LedgerEvent.SLO_AGREED: "slo",
    LedgerEvent.SLO_REDEFINED: "slo",
}


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
    entries = _Entries()
    checks = (
        lambda: entries.problem,
        lambda: _launches(entries),
        lambda: _serving_versions(entries),
        lambda: _decisions(entries),
        lambda: _requests(entries),
        lambda: _delegations(entries),
        lambda: _acknowledgements(entries),
        lambda: _waivers(entries),
        lambda: _policies(entries),
        lambda: _policy_changes(entries),
        lambda: _agreements(entries),
        lambda: _eval_run_acceptances(entries),
        lambda: _area_omissions(entries),
        lambda: _registered(entries),
        lambda: _sli_actuals(entries),
        lambda: _sealed_facts(entries),
        lambda: _seals(entries),
    )
    for check in checks:
        problem = check()
        if problem:
            return problem
    return ""


def _orphans(rows: dict, recorded: dict[int, LedgerEntry], what: str) -> str:
    for key, entry in recorded.items():
        if key not in rows:
            return f"{what} #{key} recorded in entry #{entry.sequence} no longer exists"
    return ""


def _launches(entries: _Entries) -> str:
    from .ledger import launch_state

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


def _serving_versions(entries: _Entries) -> str:
    """The version in service decides what evidence counts: a launch whose version changed through
    ``launch_change`` must still serve the version its last ``VERSION_CHANGED`` entry recorded.
    (A version set before versions were ledgered has no entry, and nothing to compare with.)"""
    last: dict[int, LedgerEntry] = {}
    for entry in entries.all_by_event[LedgerEvent.VERSION_CHANGED]:
        last[entry.launch_id] = entry
    serving = dict(Launch.objects.filter(pk__in=list(last)).values_list("pk", "serving_version"))
    for launch_id, entry in last.items():
        if launch_id in serving and serving[launch_id] != entry.payload.get("to"):
            return (
                f"launch '{entry.launch_slug}' serves version {serving[launch_id]!r}, but entry #{entry.sequence} "
                f"recorded {entry.payload.get('to')!r}"
            )
    return ""


def _requests(entries: _Entries) -> str:
    requested = entries.by_event[LedgerEvent.REQUESTED]
    withdrawn = entries.by_event[LedgerEvent.WITHDRAWN]
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
            expected_closed = pk in entries.replaced
        else:
            expected_closed = pk not in withdrawn and pk not in entries.replaced
            outcomes = [decision.outcome for decision in request.decisions.all()]
            if expected_closed and request.status != request_status(outcomes, request.approvals_required):
                return f"sign-off request #{pk} is {request.status}, which its decisions do not say"
        if not expected_closed:
            return f"sign-off request #{pk} is {request.status}, which the ledger does not record"
    return _orphans(rows, requested, "sign-off request") or _orphans(rows, withdrawn, "sign-off request")


def _decisions(entries: _Entries) -> str:
    decided = entries.by_event[LedgerEvent.DECIDED]
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
            or _time(recorded.get("decided at")) != decision.decided_at
            or entry.snapshot_hash != decision.fingerprint
            or fingerprint(decision.snapshot) != decision.fingerprint
        ):
            return f"decision #{pk} does not match its ledger entry #{entry.sequence}"
        superseding = entries.superseding.get(pk)
        expected = _time(superseding.payload["decided at"]) if superseding else None
        if decision.superseded_at != expected:
            return f"decision #{pk} is marked superseded differently from what the ledger records"
    return _orphans(rows, decided, "decision")


def _delegations(entries: _Entries) -> str:
    delegated = entries.by_event[LedgerEvent.DELEGATED]
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


def _acknowledgements(entries: _Entries) -> str:
    acknowledged = entries.by_event[LedgerEvent.ACKNOWLEDGED]
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
            or _time(entry.payload.get("acknowledged at")) != acknowledgement.acknowledged_at
            or entry.payload.get("comment") != acknowledgement.comment
        ):
            return f"acknowledgement #{pk} does not match the ledger"
    return _orphans(rows, acknowledged, "acknowledgement")


def _waivers(entries: _Entries) -> str:
    requested = entries.by_event[LedgerEvent.WAIVER_REQUESTED]
    decided = entries.by_event[LedgerEvent.WAIVER_DECIDED]
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
            or _time(recorded.get("requested at")) != waiver.requested_at
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
            _time(answer.payload.get("decided at")),
        ) != (
            waiver.decided_by.get_username() if waiver.decided_by else None,
            waiver.status,
            waiver.decision_comment,
            waiver.decided_at,
        ):
            return f"waiver #{pk} was decided differently from what the ledger records"
    return _orphans(rows, requested, "waiver") or _orphans(rows, decided, "waiver")


def _policies(entries: _Entries) -> str:
    rows = {p.stage_id: p for p in StagePolicy.objects.prefetch_related("requirements")}
    for stage_id, policy in rows.items():
        entry = entries.last_policy.get(stage_id)
        if entry is None:
            return f"the sign-off policy of stage #{stage_id} has no ledger entry"
        if policy_state(policy) != entry.payload["policy"]:
            return f"the sign-off policy of stage #{stage_id} differs from ledger entry #{entry.sequence}"
    return _orphans(rows, entries.last_policy, "the sign-off policy of stage")


def _policy_changes(entries: _Entries) -> str:
    requested = entries.by_event[LedgerEvent.POLICY_CHANGE_REQUESTED]
    decided = entries.by_event[LedgerEvent.POLICY_CHANGE_DECIDED]
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


def _agreements(entries: _Entries) -> str:
    """An agreed quality bar or SLO is agreed by whom, and on the very definition, that its newest
    entry records; a fact its newest entry records as agreed is still agreed and still exists."""
    kinds = (
        (QualityBar, "quality bar", LedgerEvent.BAR_AGREED, bar_definition),
        (SLO, "slo", LedgerEvent.SLO_AGREED, slo_definition),
    )
    for model, key, agreed, definition in kinds:
        rows = {row.pk: row for row in model.objects.select_related("agreed_by")}
        for pk, row in rows.items():
            entry = entries.last_agreement.get((key, pk))
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
        for (kind, pk), entry in entries.last_agreement.items():
            if kind != key:
                continue
            removed = "removed" in entry.payload
            if pk not in rows and not removed:
                return f"{key} #{pk} recorded in entry #{entry.sequence} no longer exists, and no entry records its removal"
            if pk in rows and removed:
                return f"{key} #{pk} was removed in entry #{entry.sequence} but exists again"


def _eval_run_acceptances(entries: _Entries) -> str:
    """An accepted run was accepted by whom, and as the very run, its entry records; a run the
    launch owner recorded still needs acceptance; every accepted run recorded still exists, or
    its history says it was removed."""
    from raci.services import eval_run_acceptance
    from readiness.models import EvalRun

    recorded = {
        entry.payload.get("evaluation run"): entry for entry in entries.all_by_event[LedgerEvent.EVAL_RUN_ACCEPTED]
    }
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


def _area_omissions(entries: _Entries) -> str:
    """Every reason for leaving out a standard area was recorded as it stands and not withdrawn;
    every recorded, unwithdrawn one still exists."""
    from raci.models import AreaOmission

    recorded = entries.by_event[LedgerEvent.AREA_OMITTED]
    withdrawn = entries.by_event[LedgerEvent.OMISSION_WITHDRAWN]
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
            or _time(entry.payload.get("recorded at")) != omission.recorded_at
        ):
            return f"area omission #{pk} does not match its ledger entry #{entry.sequence}"
    for pk, entry in recorded.items():
        if pk not in rows and pk not in withdrawn:
            return f"area omission #{pk} recorded in entry #{entry.sequence} no longer exists"
    return ""


def _registered(entries: _Entries) -> str:
    """The checks other apps registered for their own rows (``readiness.recording``)."""
    for check in ledger_checks():
        problem = check(entries.all_by_event)
        if problem:
            return problem


def _sli_actuals(entries: _Entries) -> str:
    """Every daily SLI value (item 15 reads them) is the one its newest ledger entry recorded, from
    the same source; every recorded value still exists. Read through the app registry: approvals
    does not depend on operations, and without it there is nothing to check."""
    from decimal import Decimal, InvalidOperation

    if not apps.is_installed("operations"):
        return ""
    model = apps.get_model("operations", "SliActual")
    seen = set()
    rows = model.objects.values_list("pk", "launch_id", "indicator", "day", "value", "source").order_by("pk")
    for pk, launch_id, indicator, day, value, source in rows.iterator(chunk_size=2000):
        key = (launch_id, indicator, day.isoformat())
        seen.add(key)
        recorded = entries.sli_actuals.get(key)
        if recorded is None:
            return f"SLI actual #{pk} ({indicator} on {key[2]}) has no ledger entry"
        entry, payload = recorded
        try:
            same = Decimal(str(payload.get("value"))) == value and entry.payload.get("source") == source
        except InvalidOperation:
            same = False
        if not same:
            return f"SLI actual #{pk} ({indicator} on {key[2]}) does not match its ledger entry #{entry.sequence}"
    for key, (entry, _value) in entries.sli_actuals.items():
        if key not in seen:
            return f"SLI actual {key[1]} on {key[2]} recorded in entry #{entry.sequence} no longer exists"
    return ""


def _seals(entries: _Entries) -> str:
    from .ledger import history_digest

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


def _sealed_facts(entries: _Entries) -> str:
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
