"""What each kind of report shows: the context its template is rendered with, in the report's
language. Reads through the domain's selectors and the read models of ``presentation`` — each fact
of a launch as the launch page lists it (``fact_sections``), the SLO actuals (``standing_row``), the
portfolio's counts and charts (``portfolio_summary``) — so the page and the PDF say the same thing
in the same words; the charts get their print colours here (``reports.charts.for_print``)."""

from __future__ import annotations

import datetime
from collections import Counter

from django.db.models import Count, Max, Min
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from approvals.choices import DecisionOutcome, PolicyChangeStatus, RequestStatus
from approvals.models import SignoffRequest
from approvals.recertification import stage_health
from approvals.selectors import approval_age_limit, decision_problem, stage_signoffs
from approvals.snapshot import fingerprint, launch_snapshot
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from operations.selectors import failure_reviews_of, launch_incidents, launch_rollbacks, postmortems_of, slo_standings
from presentation.charts import evidence_chart
from presentation.evidence import BarEvidence
from presentation.facts import fact_sections
from presentation.launch import launch_as_shown
from presentation.portfolio import portfolio_summary
from presentation.slo import standing_row
from raci.checklist_items import area_problems
from raci.choices import Role
from raci.selectors import owning_area
from readiness.access import visible_launches
from readiness.checklist import Readiness, evaluate, evaluate_many, registry
from readiness.checklist_items import percent
from readiness.i18n import shown_date
from readiness.models import Launch
from readiness.people import person_name

from .charts import for_print
from .choices import ReportKind
from .models import Report

TEMPLATES = {
    ReportKind.LAUNCH: "reports/launch.html",
    ReportKind.CHECKLIST: "reports/checklist.html",
    ReportKind.PORTFOLIO: "reports/portfolio.html",
}

# Fingerprints are SHA-256 hex digests; print enough of one to tell it apart and check it by eye.
SHORT_FINGERPRINT = 12
# The assets the briefing names per data class; the appendix lists them all.
NAMED_ASSETS = 3
# The oldest sign-off requests still waiting, listed on the portfolio's first page.
OLDEST_WAITING = 10


def document_html(report: Report) -> str:
    """The report's HTML, in its language, as of now."""
    with translation.override(report.language):
        now = timezone.now()
        context = {
            "report": report,
            "generated_at": now,
            "generated_by": person_name(report.requested_by),
        }
        if report.kind == ReportKind.PORTFOLIO:
            context.update(portfolio_context(report.requested_by, now))
        elif report.kind == ReportKind.CHECKLIST:
            context.update(checklist_context(launch_as_shown(report.launch_id), report.stage_id, now))
        else:
            context.update(launch_context(launch_as_shown(report.launch_id), now))
        if report.kind == ReportKind.LAUNCH:
            context["briefing"] = briefing(context, now)
        return render_to_string(TEMPLATES[report.kind], context)


# -- the launch report ---------------------------------------------------------------------------


def launch_context(launch: Launch, now: datetime.datetime) -> dict:
    readiness = evaluate(launch, now=now)
    signoffs = stage_signoffs(launch, readiness.stage, now=now) if readiness.stage else []
    sections = {section["name"]: section for section in fact_sections(launch, now=now)}
    for row in sections["qualitybar"]["rows"]:
        row["printed_evidence"] = printed_evidence(row["evidence"])
    return {
        "launch": launch,
        "current_stage": _current_stage(launch),
        "health": stage_health(launch),
        "readiness": readiness,
        "verdict": verdict(readiness),
        "signoffs": signoffs,
        "stages": launch.ordered_stages(),
        "stakeholders": sorted(
            launch.stakeholder_slots.all(), key=lambda slot: (str(slot.get_function_display()), slot.pk)
        ),
        "raci_rows": raci_rows(launch),
        "sections": sections,
        "data_classes": _grouped(sections["dataasset"]["rows"], lambda row: row["fact"].get_classification_display()),
        "decisions": decision_rows(launch, now),
        "ledger": ledger_summary(launch),
        "failure_reviews": failure_reviews_of(launch),
        **operations_context(launch, now),
        **slo_actuals(launch, now),
    }


def briefing(context: dict, now: datetime.datetime) -> dict:
    """The report's first pages, for an executive: what blocks the next stage and who must act by
    when, where each function's approval stands, how the stage the launch is in holds up, and the
    risks accepted on the way (waivers, lowered bars, the data it touches). Gathered from what the
    full record already read, plus one query for the lowered bars."""
    launch, readiness = context["launch"], context["readiness"]
    stage = readiness.stage
    due = (stage.planned_date if stage is not None else None) or launch.target_date
    owner = person_name(launch.owner)
    blockers = [{"title": refusal, "details": [], "owner": owner, "due": due} for refusal in readiness.refusals]
    approvals = [_approval_row(state, now) for state in context["signoffs"]]
    unsatisfied = [
        (state, row) for state, row in zip(context["signoffs"], approvals, strict=True) if not state.satisfied
    ]
    for result in readiness.blockers:
        if result.key == "stakeholders_approved" and unsatisfied:
            blockers.extend(_signoff_blocker(state, row, owner, due) for state, row in unsatisfied)
            continue
        blockers.append(
            {
                "title": f"{result.number}. {result.title}",
                "details": list(result.reasons[:2]),
                "more": max(0, len(result.reasons) - 2),
                "owner": _item_owner(result, launch) or owner,
                "due": due,
            }
        )
    today = timezone.localdate(now)
    slo_rows = context["slo_rows"]
    return {
        "due": due,
        "blockers": blockers,
        "approvals": approvals,
        # Approved functions in one line, the others in a table: the briefing stays short.
        "approved": [row for row in approvals if row["css"] == "pass"],
        "open_approvals": [row for row in approvals if row["css"] != "pass"],
        "slos": [
            {"objective": row["objective"], "value": row["value"], "reasons": row["reasons"]}
            for row in slo_rows
            if row["standing"].days_measured
        ],
        "slos_unmeasured": sum(1 for row in slo_rows if not row["standing"].days_measured),
        "incidents_open": [review.incident for review, _pm in context["incidents"] if not review.incident.resolved_at],
        "incidents_count": len(context["incidents"]),
        "waivers": [
            {
                "item": _item_title(waiver.check_key),
                "stage": waiver.stage,
                "expires_on": waiver.expires_on,
                "by": person_name(waiver.decided_by) if waiver.decided_by_id else "",
                "justification": waiver.justification,
            }
            for waiver in launch.waivers.all()
            if waiver.is_in_force(today)
        ],
        "lowered": [
            {
                "stage": change.stage,
                "function": change.get_function_display(),
                "approvals_required": change.approvals_required,
                "risk_tier": change.get_risk_tier_display(),
                "by": person_name(change.decided_by) if change.decided_by_id else "",
                "justification": change.justification,
            }
            for change in launch.policy_changes.filter(status=PolicyChangeStatus.APPROVED)
            .select_related("stage", "decided_by")
            .order_by("decided_at", "pk")
        ],
        # The most sensitive classes first, each with a few of its assets named.
        "data_classes": [
            (label, [row["fact"].name for row in rows[:NAMED_ASSETS]], max(0, len(rows) - NAMED_ASSETS))
            for label, rows in context["data_classes"]
        ],
    }


def _signoff_blocker(state, row: dict, owner: str, due) -> dict:
    """A sign-off still missing (``row`` its ``_approval_row``), in words: whose move it is and by when."""
    request = state.request
    title = _("%(function)s sign-off") % {"function": state.requirement.function_label}
    if request is None:
        return {"title": title, "details": [_("Not requested yet.")], "owner": owner, "due": due}
    details = [words for _name, words in row["objections"]]
    details += [
        _("%(person)s approved, but the facts changed since: to be asked again.") % {"person": name}
        for name in row["stale"]
    ]
    details += [
        _("%(person)s's approval has expired: to be asked again.") % {"person": name} for name in row["expired"]
    ]
    if not details:
        details.append(_("Waiting for a decision."))
    # An objection or a lapsed approval is the owner's to answer; a missing decision the approvers'.
    lapsed = row["objections"] or row["stale"] or row["expired"]
    acting = owner if lapsed else ", ".join(row["waiting"]) or owner
    return {
        "title": title,
        "details": details,
        "owner": acting,
        "due": request.due_date or due,
    }


def _approval_row(state, now: datetime.datetime) -> dict:
    """One function's sign-off for the stage: who approved (and it still counts), who rejected or
    asked for changes, whose approval lapsed, who has not decided yet, and the state in a word."""
    request = state.request
    decisions = request.current_decisions() if request is not None else []
    fresh = {decision.pk for decision in state.fresh_approvals}
    objections = [
        (person_name(decision.decided_by), _objection_words(decision))
        for decision in decisions
        if decision.outcome != DecisionOutcome.APPROVE
    ]
    lapsed = [
        decision for decision in decisions if decision.outcome == DecisionOutcome.APPROVE and decision.pk not in fresh
    ]
    too_old = {decision.pk for decision in lapsed if decision.decided_at + approval_age_limit() < now}
    expired = [person_name(decision.decided_by) for decision in lapsed if decision.pk in too_old]
    stale = [person_name(decision.decided_by) for decision in lapsed if decision.pk not in too_old]
    decided = {decision.decided_by_id for decision in decisions} | {decision.on_behalf_of_id for decision in decisions}
    waiting = [person_name(user) for user in request.addressees.all() if user.pk not in decided] if request else []
    if state.satisfied:
        word, css = _("Approved"), "pass"
    elif request is None:
        word, css = _("Not requested"), "fail"
    elif any(decision.outcome == DecisionOutcome.REJECT for decision in decisions):
        word, css = _("Rejected"), "fail"
    elif objections:
        word, css = _("Changes requested"), "fail"
    elif stale:
        word, css = _("Out of date"), "fail"
    elif expired:
        word, css = _("Expired"), "fail"
    else:
        word, css = _("Waiting"), "waiting"
    return {
        "function": state.requirement.function_label,
        "why": state.requirement.why,
        "needed": max(state.requirement.approvals_required, request.approvals_required if request else 0),
        "approved": [person_name(decision.decided_by) for decision in state.fresh_approvals],
        "objections": objections,
        "stale": stale,
        "expired": expired,
        "waiting": waiting,
        "due": request.due_date if request is not None else None,
        "word": word,
        "css": css,
    }


def _objection_words(decision) -> str:
    """A rejection or a change request in a sentence, with the approver's comment."""
    who = person_name(decision.decided_by)
    if decision.outcome == DecisionOutcome.REJECT:
        words = _("%(person)s rejected it") % {"person": who}
    else:
        words = _("%(person)s asked for changes") % {"person": who}
    return _("%(words)s: “%(comment)s”") % {"words": words, "comment": decision.comment} if decision.comment else words


def _item_owner(result, launch: Launch) -> str:
    """Who answers for a failing item beyond the launch's owner: a quality bar's agreement and
    evidence are its owning area's Accountable's."""
    if result.key not in ("failure_rate_agreed", "quality_evidence"):
        return ""
    areas = list(launch.areas.all())
    names = []
    for bar in launch.quality_bars.all():
        area = owning_area(areas, bar.metric)
        for assignment in area.assignments.all() if area else []:
            name = assignment.stakeholder.display_name
            if assignment.role == Role.ACCOUNTABLE and name not in names:
                names.append(name)
    return ", ".join(names)


def _item_title(key: str) -> str:
    if key in registry:
        check = registry.get(key)
        return f"{check.number}. {check.title}"
    return key


def operations_context(launch: Launch, now: datetime.datetime) -> dict:
    """Incidents with their breaches and post-mortems (action items with owners and due dates), and
    the rollbacks executed: from the checklist's prefetched incidents, two queries more."""
    incidents = launch_incidents(launch=launch, now=now)
    postmortems = postmortems_of([review.incident for review in incidents])
    return {
        "incidents": [(review, postmortems.get(review.incident.pk)) for review in incidents],
        "rollbacks": launch_rollbacks(launch=launch),
    }


def slo_actuals(launch: Launch, now: datetime.datetime) -> dict:
    """The SLO actuals as the launch page shows them, with the charts in print colours."""
    today = timezone.localdate(now)
    standings = slo_standings(launch, today)
    rows = [standing_row(standing, today) for standing in standings]
    for row in rows:
        row["chart"] = for_print(row["chart"])
    return {"slo_rows": rows, "slo_period": (standings[0].start, standings[0].end) if standings else None}


def _current_stage(launch: Launch):
    return next((stage for stage in launch.ordered_stages() if stage.pk == launch.current_stage_id), None)


def verdict(readiness: Readiness) -> dict:
    """READY or NOT READY for the next stage, with every reason it is not: the checklist's
    blockers (with their reasons) and the refusals outside it (order, archive, proposed values)."""
    return {
        "ready": readiness.may_enter,
        "stage": readiness.stage,
        "blockers": readiness.blockers,
        "refusals": readiness.refusals,
        "passed": readiness.passed,
        "total": len(readiness.results),
    }


def printed_evidence(evidence: BarEvidence | None) -> dict | None:
    """A bar's evidence as the report prints it: which run counts (or that the latest proves
    nothing), who accepted it, a newer run still waiting, the rates in words and the chart."""
    if evidence is None:
        return None
    run, bar = evidence.run, evidence.bar
    observed, upper, maximum = evidence.observed, evidence.upper, evidence.maximum
    labels = {
        "observed": _("measured %(rate)s (%(failures)s of %(samples)s failed)")
        % {"rate": percent(observed), "failures": run.failures, "samples": run.samples},
        "upper": _("one-sided %(confidence)s %% bound %(rate)s")
        % {"confidence": evidence.confidence, "rate": percent(upper)},
        "maximum": _("agreed maximum %(rate)s") % {"rate": percent(maximum)},
    }
    title = _("Quality bar %(metric)s: measured failure rate against the agreed maximum") % {"metric": bar.metric}
    pending = bar.pending_run()
    return {
        "run": run,
        "counts": evidence.counts,
        "which": _run_label(run),
        "accepted_by": run.accepted_by if evidence.counts and run.accepted_by_id else None,
        "pending": _run_label(pending) if pending is not None else None,
        "within": evidence.within,
        "observed": percent(observed),
        "upper": percent(upper),
        "maximum": percent(maximum),
        "confidence": evidence.confidence,
        "chart": for_print(evidence_chart(title, observed, upper, maximum, labels)),
    }


def _run_label(run) -> str:
    return _("%(failures)s/%(samples)s on %(golden_set)s %(golden_version)s, recorded %(when)s") % {
        "failures": run.failures,
        "samples": run.samples,
        "golden_set": run.golden_set_name,
        "golden_version": run.golden_set_version,
        "when": shown_date(run.recorded_at),
    }


def raci_rows(launch: Launch) -> list[dict]:
    """The RACI matrix for print: one row per area with the names holding each role, and the
    rules the area breaks (a 60-column grid does not fit a page; names per role do)."""
    rows = []
    for area in launch.areas.all():
        names: dict[str, list[str]] = {role: [] for role in Role.values}
        for assignment in area.assignments.all():
            names[assignment.role].append(assignment.stakeholder.display_name)
        rows.append(
            {
                "area": area,
                "roles": [sorted(names[role], key=str.casefold) for role in Role.values],
                "problems": [problem for problem, _person in area_problems(area)],
            }
        )
    return rows


def _grouped(rows: list, key) -> list[tuple[str, list]]:
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(str(key(row)), []).append(row)
    return list(groups.items())


def decision_rows(launch: Launch, now: datetime.datetime) -> list[dict]:
    """Every sign-off decision of the launch, newest request first: who decided what, when, with
    which comment, and whether it still counts (fresh, stale, expired, superseded, closed)."""
    current = {}
    for stage in launch.ordered_stages():
        current[stage.pk] = fingerprint(launch_snapshot(launch, stage))
    rows = []
    for request in launch.signoff_requests.all():
        for decision in request.decisions.all():
            rows.append(
                {
                    "request": request,
                    "decision": decision,
                    "person": person_name(decision.decided_by),
                    "on_behalf_of": person_name(decision.on_behalf_of)
                    if decision.on_behalf_of_id != decision.decided_by_id
                    else "",
                    "fingerprint": decision.fingerprint[:SHORT_FINGERPRINT],
                    "freshness": _freshness(request, decision, current.get(request.stage_id), now),
                }
            )
    return rows


def _freshness(request: SignoffRequest, decision, current_fingerprint: str | None, now) -> tuple[str, str]:
    """(css class, words) for whether a decision still counts."""
    if decision.superseded_at is not None:
        return "muted", _("superseded")
    if not request.is_open:
        return "muted", _("request %(status)s") % {"status": request.get_status_display()}
    if decision.outcome != DecisionOutcome.APPROVE:
        return "blocked", _("standing objection")
    if decision.decided_at + approval_age_limit() < now:
        return "blocked", _("expired")
    if decision.fingerprint != current_fingerprint:
        return "blocked", _("stale: the facts changed since")
    return "ready", _("fresh")


def ledger_summary(launch: Launch) -> dict:
    """The launch's audit trail in figures: entries by event, the first and the last."""
    entries = LedgerEntry.objects.filter(launch=launch)
    by_event = entries.values("event").annotate(count=Count("pk"), first=Min("created_at"), last=Max("created_at"))
    labels = dict(LedgerEvent.choices)
    events = sorted(
        ({**row, "label": labels.get(row["event"], row["event"])} for row in by_event),
        key=lambda row: (-row["count"], str(row["label"])),
    )
    ends = entries.only("sequence", "event", "created_at", "entry_hash")
    return {
        "events": events,
        "total": sum(row["count"] for row in events),
        "first": ends.order_by("sequence").first(),
        "last": ends.order_by("-sequence").first(),
    }


# -- the stage checklist -------------------------------------------------------------------------


def checklist_context(launch: Launch, stage_id: int, now: datetime.datetime) -> dict:
    stage = next(stage for stage in launch.stages.all() if stage.pk == stage_id)
    readiness = evaluate(launch, stage, now=now, ignore_order=True)
    snapshot = launch_snapshot(launch, stage)
    current = fingerprint(snapshot)
    blocks = []
    for state in stage_signoffs(launch, stage, now=now):
        decisions = []
        for decision in state.request.current_decisions() if state.request else []:
            problem = (
                decision_problem(decision, current_fingerprint=current, current_snapshot=snapshot, now=now)
                if decision.outcome == DecisionOutcome.APPROVE
                else None
            )
            decisions.append(
                {
                    "decision": decision,
                    "person": person_name(decision.decided_by),
                    "on_behalf_of": person_name(decision.on_behalf_of)
                    if decision.on_behalf_of_id != decision.decided_by_id
                    else "",
                    "fingerprint": decision.fingerprint[:SHORT_FINGERPRINT],
                    "fresh": decision.outcome == DecisionOutcome.APPROVE and problem is None,
                    # In a word: the problem's own text lists the changed facts by their data paths.
                    "problem": (
                        _("expired")
                        if decision.decided_at + approval_age_limit() < now
                        else _("stale: the facts changed since")
                    )
                    if problem
                    else None,
                }
            )
        blocks.append({"state": state, "decisions": decisions, "row": _approval_row(state, now)})
    return {
        "launch": launch,
        "stage": stage,
        "current_stage": _current_stage(launch),
        "health": stage_health(launch),
        "readiness": readiness,
        "verdict": verdict(readiness),
        "blocks": blocks,
        "current_fingerprint": current[:SHORT_FINGERPRINT],
    }


# -- the portfolio -------------------------------------------------------------------------------


def portfolio_context(user, now: datetime.datetime) -> dict:
    today = timezone.localdate(now)
    visible = visible_launches(user)
    launches = visible.filter(archived=False).select_related("owner", "stage_standing").order_by("name", "pk")
    entries = []
    for readiness in evaluate_many(launches, now=now):
        entries.append(
            {
                "launch": readiness.launch,
                "readiness": readiness,
                "verdict": verdict(readiness),
                "health": stage_health(readiness.launch),
            }
        )
    verdicts = Counter("final" if e["readiness"].stage is None else e["verdict"]["ready"] for e in entries)
    waiting = (
        SignoffRequest.objects.filter(launch__in=visible.filter(archived=False), status=RequestStatus.PENDING)
        .select_related("launch", "stage")
        .prefetch_related("addressees")
        .order_by("created_at", "pk")[:OLDEST_WAITING]
    )
    return {
        "entries": entries,
        "counts": {"ready": verdicts[True], "blocked": verdicts[False], "final": verdicts["final"]},
        "oldest_waiting": [
            {
                "request": request,
                "days": (today - timezone.localdate(request.created_at)).days,
                "addressees": ", ".join(person_name(user) for user in request.addressees.all()),
            }
            for request in waiting
        ],
        **{
            key: for_print(value) if key.endswith("_chart") else value
            for key, value in portfolio_summary(visible, today).items()
        },
    }
