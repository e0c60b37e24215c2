"""Each fact of a launch as the launch page lists it and the launch report prints it: its values
in the reader's language, who agreed or accepted it, whom a severity level pages, a quality bar's
evidence with its chart, and which one-button actions (agree, accept) the reader may take."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.apps import apps
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals.agreements import Waiting, launches_for_agreements, waiting_agreements
from raci.checklist_items import people_to_notify
from raci.choices import Role
from raci.models import Team
from raci.selectors import bar_functions, function_labels, owning_area, serves_any, slo_functions, slo_owning_area
from readiness.access import visible_launches
from readiness.checklist import Context
from readiness.checklist_items import percent
from readiness.choices import PERCENT_INDICATORS, SENSITIVITY
from readiness.formfields import PERCENT_FIELDS
from readiness.i18n import shown_moment
from readiness.models import SLO, EvalRun, Launch
from readiness.people import person_name
from readiness.services import fact_versions
from readiness.services.facts import kind_of

from .charts import evidence_chart
from .evidence import BarEvidence, bar_evidence

# The facts listed on the launch page, in the order a reader expects them, with their labels.
LISTED = (
    "rolloutstage",
    "qualitybar",
    "evalrun",
    "dataasset",
    "slo",
    "severitylevel",
    "rollbackplan",
    "runbook",
    "feedbackchannel",
)


SECTION_LABELS = {
    "rolloutstage": gettext_lazy("Rollout stages"),
    "qualitybar": gettext_lazy("Quality bars"),
    "evalrun": gettext_lazy("Evaluation runs"),
    "dataasset": gettext_lazy("Data assets"),
    "slo": gettext_lazy("SLOs"),
    "severitylevel": gettext_lazy("Severity levels"),
    "rollbackplan": gettext_lazy("Rollback plan"),
    "runbook": gettext_lazy("Runbook"),
    "feedbackchannel": gettext_lazy("Feedback channels"),
}


def _page_chart(evidence: BarEvidence | None):
    """The launch page's chart of a bar's evidence, titled by whether it counts."""
    if evidence is None:
        return None
    title = (
        _("Quality bar %(metric)s: the evaluation that counts, against the agreed maximum")
        if evidence.counts
        else _("Quality bar %(metric)s: the latest evaluation, which does not count as evidence")
    )
    return evidence_chart(
        title % {"metric": evidence.bar.metric},
        evidence.observed,
        evidence.upper,
        evidence.maximum,
        {
            "observed": _("measured %(rate)s") % {"rate": percent(evidence.observed)},
            "upper": _("one-sided %(confidence)s %% bound %(rate)s")
            % {"confidence": evidence.confidence, "rate": percent(evidence.upper)},
            "maximum": _("maximum %(rate)s") % {"rate": percent(evidence.maximum)},
        },
    )


def _answers_for(user, area, functions: frozenset[str]) -> bool:
    """``user`` is the Accountable of ``area`` and serves one of ``functions`` (read from the
    prefetched assignments and teams): the rule the agreement services apply."""
    return area is not None and any(
        a.role == Role.ACCOUNTABLE and a.stakeholder.user_id == user.pk and serves_any(a.stakeholder, functions)
        for a in area.assignments.all()
    )


def fact_sections(launch: Launch, user=None, *, now: datetime.datetime | None = None) -> list[dict]:
    """Each fact kind of the launch page with its rows, read from the facts ``launch_with_facts``
    prefetched (a query per kind for the versions the buttons carry, one for ``user``'s teams when
    a run waits for acceptance). Without ``user`` (a report) no row is agreeable or acceptable."""
    rows = {
        "rolloutstage": launch.ordered_stages(),
        "qualitybar": list(launch.quality_bars.all()),
        "evalrun": [run for bar in launch.quality_bars.all() for run in bar.eval_runs.all()],
        # By class, the most sensitive first: personal and confidential data lead the list.
        "dataasset": sorted(
            launch.data_assets.all(), key=lambda asset: (-SENSITIVITY.get(asset.classification, 0), asset.name)
        ),
        "slo": list(launch.slos.all()),
        "severitylevel": sorted(launch.severity_levels.all(), key=lambda level: level.level),
        "rollbackplan": [plan for plan in [getattr(launch, "rollback_plan", None)] if plan is not None],
        "runbook": [book for book in [getattr(launch, "runbook", None)] if book is not None],
        "feedbackchannel": list(launch.feedback_channels.all()),
    }
    areas = list(launch.areas.all())
    now = now or timezone.now()
    context = Context(launch=launch, stage=None, today=timezone.localdate(now), now=now)
    agreeable = set()
    if user is not None and user.pk != launch.owner_id:
        agreeable |= {
            ("qualitybar", bar.pk)
            for bar in rows["qualitybar"]
            if bar.agreed_by_id != user.pk
            and _answers_for(user, owning_area(areas, bar.metric), bar_functions(bar.metric))
        }
        agreeable |= {
            ("slo", slo.pk)
            for slo in rows["slo"]
            if slo.agreed_by_id != user.pk
            and _answers_for(user, slo_owning_area(areas, slo.indicator), slo_functions(slo.indicator))
        }
    pending = [run for run in rows["evalrun"] if not run.counts]
    functions = _functions_of(user) if pending else frozenset()
    acceptable = {("evalrun", run.pk) for run in pending if may_accept(user, launch, run, functions)}
    agreeable |= acceptable
    # The versions the Agree and Confirm buttons carry: one query per kind of fact, not one per row.
    versions = {
        (name, pk): version
        for name in LISTED
        for pk, version in fact_versions(
            apps.get_model("readiness", name),
            [fact.pk for fact in rows[name] if (name, fact.pk) in agreeable or getattr(fact, "proposed", None)],
        ).items()
    }
    evidence = {bar.pk: bar_evidence(bar, context) for bar in rows["qualitybar"]}
    sections = []
    for name in LISTED:
        model = apps.get_model("readiness", name)
        kind = kind_of(model)
        sections.append(
            {
                "name": name,
                "label": SECTION_LABELS[name],
                "kind": kind,
                "rows": [
                    {
                        "fact": fact,
                        "title": kind.describe(fact),
                        "values": _row_values(fact, kind),
                        # The owner's remove control appears only where the owner may remove;
                        # elsewhere the page says who removes it.
                        "removable": not (refusal := _not_the_owners(kind, fact)),
                        "removal_note": refusal,
                        "proposed": bool(getattr(fact, "proposed", None)),
                        "agreeable": (name, fact.pk) in agreeable and (name, fact.pk) not in acceptable,
                        "acceptable": (name, fact.pk) in acceptable,
                        "waiting_for": _waiting_for(fact, launch, areas)
                        if name == "evalrun" and not fact.counts
                        else None,
                        "agreed_by": getattr(fact, "agreed_by", None) if getattr(fact, "agreed_by_id", None) else None,
                        "accepted_by": fact.accepted_by if name == "evalrun" and fact.accepted_by_id else None,
                        "version": versions.get((name, fact.pk), 0)
                        if (name, fact.pk) in agreeable or getattr(fact, "proposed", None)
                        else None,
                        "evidence": evidence.get(fact.pk) if name == "qualitybar" else None,
                        "chart": _page_chart(evidence.get(fact.pk)) if name == "qualitybar" else None,
                        "reaches": _reaches(fact, areas) if name == "severitylevel" else None,
                    }
                    for fact in rows[name]
                ],
                "single": name in ("rollbackplan", "runbook"),
            }
        )
    return sections


def _not_the_owners(kind, fact) -> str:
    """Why the owner may not remove ``fact`` (who does instead), or "" when they may."""
    return " ".join(str(reason) for reason in (kind.not_the_owners(fact, None) if kind.not_the_owners else {}).values())


def _functions_of(user) -> frozenset[str]:
    """The functions ``user`` serves (one query), or none for nobody."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    return frozenset(Team.objects.filter(members__user=user).values_list("function", flat=True))


def may_accept(user, launch: Launch, run, functions: frozenset[str]) -> bool:
    """Whether ``user`` (serving ``functions``) may accept ``run`` — the rule of
    ``raci.services.eval_run_accept``, which checks it again."""
    return (
        user is not None
        and user.pk not in (launch.owner_id, run.recorded_by_id)
        and bool(functions & bar_functions(run.quality_bar.metric))
    )


def runs_awaiting(user) -> list:
    """Evaluation runs waiting for ``user``'s acceptance on launches they see (for "My sign-offs"):
    two queries however many there are."""
    functions = _functions_of(user)
    if not functions:
        return []
    runs = (
        EvalRun.objects.filter(
            needs_acceptance=True,
            accepted_by__isnull=True,
            quality_bar__launch__in=visible_launches(user),
            quality_bar__launch__archived=False,
        )
        .exclude(quality_bar__launch__owner=user)
        .select_related("quality_bar__launch", "recorded_by")
        .order_by("recorded_at", "pk")
    )
    return [run for run in runs if may_accept(user, run.quality_bar.launch, run, functions)]


def _waiting_for(run, launch: Launch, areas) -> str:
    """Who a run waiting for acceptance waits for: the bar's function, and the Accountable
    answering for it where they may accept."""
    bar = run.quality_bar
    functions = bar_functions(bar.metric)
    area = owning_area(areas, bar.metric)
    names = [
        a.stakeholder.display_name
        for a in (area.assignments.all() if area else [])
        if a.role == Role.ACCOUNTABLE
        and serves_any(a.stakeholder, functions)
        and a.stakeholder.user_id not in (run.recorded_by_id, launch.owner_id)
    ]
    labels = {"functions": function_labels(functions), "names": ", ".join(names)}
    if names:
        return _("waiting for acceptance by %(names)s (or another %(functions)s team member)") % labels
    return _("waiting for acceptance by any %(functions)s team member") % labels


def _reaches(level, areas) -> list[tuple[str, str]]:
    """Whom a severity level pages, area by area, through the RACI (as "Incident owners" reads it)."""
    return [
        (area, ", ".join(person.display_name for person in people) or _("nobody"))
        for area, people in people_to_notify(level, areas).items()
    ]


def _row_values(fact: models.Model, kind) -> list[tuple[str, str]]:
    values = []
    for name in kind.settable_on_add:
        field = type(fact)._meta.get_field(name)
        if field.is_relation and name in ("quality_bar",):
            continue
        value = getattr(fact, f"get_{name}_display")() if getattr(field, "choices", None) else getattr(fact, name)
        if value in (None, "", []):
            continue
        proposed = name in (getattr(fact, "proposed", None) or [])
        shown = shown_percent(fact, name, value) or shown_value(value)
        values.append((str(field.verbose_name), f"{shown} ({_('proposed')})" if proposed else shown))
    return values


def shown_percent(fact: models.Model, name: str, value) -> str | None:
    """A share as it is typed: in percent ("5 %", "99.5 %"), whether stored as a fraction (a quality
    bar's rates) or as percent (a stage's exposure, a rate SLO's target and alert); None for others."""
    spec = PERCENT_FIELDS.get((fact._meta.label, name))
    if spec is not None:
        return percent_text(value * 100 if spec.get("fraction") else value)
    if isinstance(fact, SLO) and name in ("target", "alert_threshold") and fact.indicator in PERCENT_INDICATORS:
        return percent_text(value)
    return None


def percent_text(number) -> str:
    """``number`` percent in the reader's language, without trailing zeros: "5 %", "99.5 %"."""
    return f"{number_text(number)} %"


def number_text(number) -> str:
    """``number`` in the reader's language, without trailing zeros or exponent: "5", "99.5", "8000"."""
    return formats.localize(Decimal(number).normalize())


def shown_value(value) -> str:
    """A fact's value as the reader's language writes it: yes/no, dates, moments and numbers localised."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, AbstractBaseUser):
        return person_name(value)
    if isinstance(value, datetime.datetime):
        # The page, the report and the history write a moment the same way ("Aug. 9, 2026 20:30").
        return shown_moment(value)
    if isinstance(value, datetime.date | Decimal | int | float):
        return formats.localize(value)
    return str(value)


def agreements_awaiting(user) -> list[Waiting]:
    """Quality bars and SLOs waiting for ``user``'s agreement as the Accountable who answers for
    them, on launches they see and do not own (for "My sign-offs"): a fixed number of queries."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    launches = launches_for_agreements(
        visible_launches(user)
        .filter(
            archived=False,
            areas__assignments__stakeholder__user=user,
            areas__assignments__role=Role.ACCOUNTABLE,
        )
        .exclude(owner=user)
        .distinct()
        .order_by("name", "pk")
    )
    return [
        item
        for launch in launches
        for item in waiting_agreements(launch)
        if any(person.pk == user.pk for person in item.people)
    ]
