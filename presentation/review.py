"""What a decision page shows an approver: the launch's facts ordered for their function (what a
lawyer reviews first is not what an SRE reviews first), and what changed since their last decision
as before/after pairs in plain words — a label, the thing it is about, and values with their units,
people by name and choices by their label, never a snapshot path, a choice key or ``True``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from approvals.choices import DecisionOutcome
from approvals.selectors import approval_age_limit, decision_problem
from approvals.snapshot import fact_changes, fingerprint, launch_snapshot
from raci.choices import TeamFunction
from readiness.checklist import registry
from readiness.choices import (
    AccessLevel,
    Classification,
    NotifyScope,
    RiskTier,
    Severity,
    SloIndicator,
)
from readiness.people import person_name

from .facts import number_text, percent_text, shown_percent, shown_value

# The fact sections each function reads first, in order; the others follow in the page's order.
FIRST_FOR_FUNCTION: dict[str, tuple[str, ...]] = {
    TeamFunction.LEGAL: ("dataasset", "qualitybar", "feedbackchannel"),
    TeamFunction.COMPLIANCE: ("dataasset", "qualitybar", "feedbackchannel"),
    TeamFunction.SECURITY: ("dataasset", "severitylevel", "rollbackplan", "runbook"),
    TeamFunction.DATA: ("dataasset", "qualitybar", "evalrun"),
    TeamFunction.ML: ("qualitybar", "evalrun", "feedbackchannel"),
    TeamFunction.QA: ("qualitybar", "evalrun", "feedbackchannel"),
    TeamFunction.PLATFORM: ("slo", "severitylevel", "rollbackplan", "runbook"),
    TeamFunction.CUSTOMER_SUPPORT: ("feedbackchannel", "severitylevel", "runbook", "qualitybar"),
    TeamFunction.BUSINESS: ("rolloutstage", "qualitybar", "slo"),
    TeamFunction.PRODUCT: ("rolloutstage", "qualitybar", "feedbackchannel"),
    TeamFunction.EXECUTIVE: ("rolloutstage", "qualitybar", "slo", "dataasset"),
}


def sections_for_function(sections: list[dict], function: str) -> list[dict]:
    """``fact_sections`` with ``function``'s own sections first, each marked ``first``, and each
    row's values as a reviewer reads them (``review_values``)."""
    first = FIRST_FOR_FUNCTION.get(function, ())
    rank = {name: index for index, name in enumerate(first)}
    ordered = sorted(sections, key=lambda section: rank.get(section["name"], len(first)))
    return [
        {
            **section,
            "first": section["name"] in rank,
            "rows": [{**row, "values": review_values(row["fact"], section["kind"])} for row in section["rows"]],
        }
        for section in ordered
    ]


# Fields a row's title already says (the stage's name, the bar's metric, the SLO's indicator...).
_IN_THE_TITLE = {"name", "order", "metric", "indicator", "level", "quality_bar"}
_DAY_FIELDS = {"retention_days", "audit_interval_days", "max_rehearsal_age_days", "review_interval_days"}


def review_values(fact, kind) -> list[tuple[str, str, str]]:
    """A fact's values as ``(label, words, link)``: fractions as percentages, SLO targets with
    their unit, days and minutes counted, people by name, choices by label, links to follow."""
    values = []
    for name in kind.settable_on_add:
        if name in _IN_THE_TITLE:
            continue
        field = type(fact)._meta.get_field(name)
        value = getattr(fact, name)
        if value in (None, "", []):
            continue
        link = ""
        if getattr(field, "choices", None):
            words = getattr(fact, f"get_{name}_display")()
        elif (percent := shown_percent(fact, name, value)) is not None:
            words = percent
        elif name in ("target", "alert_threshold"):
            words = _slo_value(fact.indicator, value)
        elif name in _DAY_FIELDS:
            words = ngettext("%(count)s day", "%(count)s days", value) % {"count": value}
        elif name == "response_minutes":
            words = ngettext("%(count)s minute", "%(count)s minutes", value) % {"count": value}
        elif name == "gating_checks":
            words = ", ".join(str(registry.get(key).title) if key in registry else key for key in value)
        elif field.is_relation:
            words = person_name(value)
        elif name.endswith("link") and str(value).startswith(("https://", "http://")):
            words, link = value, value
        elif isinstance(value, Decimal):
            words = number_text(value)
        else:
            words = shown_value(value)
        if name in (getattr(fact, "proposed", None) or []):
            words = f"{words} ({_('proposed')})"
        values.append((str(field.verbose_name).capitalize(), str(words), link))
    return values


# The snapshot's parts, as a reader names them: the top-level groups, then each fact's fields.
_GROUPS = {
    "risk tier": gettext_lazy("Risk tier"),
    "stage": gettext_lazy("Stage being entered"),
    "quality bars": gettext_lazy("Quality bar"),
    "data assets": gettext_lazy("Data asset"),
    "accountables": gettext_lazy("Accountable"),
    "slos": gettext_lazy("SLO"),
    "severity policy": gettext_lazy("Severity level"),
    "rollback plan": gettext_lazy("Rollback plan"),
    "serving version": gettext_lazy("Serving version"),
    "areas left out": gettext_lazy("Area left out"),
}
# Groups keyed by what the fact is about (a metric, an asset, an area, an indicator, a level).
_NAMED_GROUPS = {"quality bars", "data assets", "accountables", "slos", "severity policy", "areas left out"}
_FIELDS = {
    "name": gettext_lazy("Name"),
    "exposure percent": gettext_lazy("Exposure"),
    "gating items": gettext_lazy("Gating checklist items"),
    "what counts as a failure": gettext_lazy("What counts as a failure"),
    "agreed by": gettext_lazy("Agreed by"),
    "max failure rate": gettext_lazy("Maximum failure rate"),
    "confidence level": gettext_lazy("Confidence level"),
    "minimum samples": gettext_lazy("Minimum samples"),
    "minimum human-reviewed share": gettext_lazy("Minimum human-reviewed share"),
    "evidence": gettext_lazy("Evidence"),
    "evidence waiting for acceptance": gettext_lazy("Evidence waiting for acceptance"),
    "samples": gettext_lazy("samples"),
    "failures": gettext_lazy("failures"),
    "golden set": gettext_lazy("golden set"),
    "golden set owner": gettext_lazy("golden set owner"),
    "measured version": gettext_lazy("measured version"),
    "human reviewed": gettext_lazy("human-reviewed samples"),
    "classification": gettext_lazy("Classification"),
    "access level": gettext_lazy("Access"),
    "masked in logs": gettext_lazy("Masked in logs"),
    "retention days": gettext_lazy("Retention"),
    "audit interval days": gettext_lazy("Audited every"),
    "target": gettext_lazy("Target"),
    "alert threshold": gettext_lazy("Alert threshold"),
    "response minutes": gettext_lazy("Response time"),
    "notify": gettext_lazy("Pages"),
    "procedure": gettext_lazy("Procedure"),
    "one click": gettext_lazy("One-click rollback"),
}
_FRACTIONS = {"max failure rate", "confidence level", "minimum human-reviewed share"}
_PEOPLE = {"agreed by", "golden set owner"}
_CHOICES = {"classification": Classification, "access level": AccessLevel, "notify": NotifyScope}


def _number(value) -> str:
    """A snapshot's number (stored as JSON, so maybe a string) as ``number_text`` writes it."""
    try:
        return number_text(Decimal(str(value)))
    except (InvalidOperation, TypeError, ValueError):
        return str(value)


def _percent_of_fraction(value) -> str:
    try:
        return percent_text(Decimal(str(value)) * 100)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)


def _slo_value(indicator: str, value) -> str:
    if indicator in (SloIndicator.SUCCESS_RATE, SloIndicator.ERROR_RATE):
        return f"{_number(value)} %"
    if indicator in (SloIndicator.LATENCY_P50, SloIndicator.LATENCY_P95, SloIndicator.LATENCY_P99):
        return f"{_number(value)} ms"
    return _number(value)


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


class _Words:
    """Values of one snapshot pair in plain words; people named from one query."""

    def __init__(self, changes: list[dict]) -> None:
        usernames = set()
        for change in changes:
            field = change["fact"].split(" › ")[-1]
            group = change["fact"].split(" › ")[0]
            for value in (change["before"], change["after"]):
                if field in _PEOPLE and isinstance(value, str):
                    usernames.add(value)
                if group == "accountables" and isinstance(value, list):
                    usernames.update(value)
        people = get_user_model().objects.filter(username__in=usernames) if usernames else []
        self.names = {person.get_username(): person_name(person) for person in people}

    def value(self, parts: list[str], value) -> str:
        group, field = parts[0], parts[-1]
        if value is None or value == "none":
            return "—"
        if group == "accountables" and isinstance(value, list):
            return ", ".join(self.names.get(name, name) for name in value) or _("nobody")
        if field == "gating items" and isinstance(value, list):
            return ", ".join(str(registry.get(key).title) if key in registry else key for key in value)
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if field in _PEOPLE:
            return self.names.get(value, value)
        if field in _FRACTIONS:
            return _percent_of_fraction(value)
        if field == "exposure percent":
            return f"{_number(value)} %"
        if group == "slos" and field in ("target", "alert threshold"):
            return _slo_value(parts[1], value)
        if field in _CHOICES:
            return _label(_CHOICES[field], value)
        if group == "risk tier":
            return _label(RiskTier, value)
        if field in ("retention days", "audit interval days"):
            return ngettext("%(count)s day", "%(count)s days", int(value)) % {"count": value}
        if field == "response minutes":
            return ngettext("%(count)s minute", "%(count)s minutes", int(value)) % {"count": value}
        if isinstance(value, list):
            return ", ".join(map(str, value))
        if isinstance(value, int | float | Decimal):
            return _number(value)
        return str(value)


def _subject(group: str, name: str) -> str:
    if group == "slos":
        return _label(SloIndicator, name)
    if group == "severity policy":
        return _label(Severity, name)
    return name


def _field(parts: list[str]) -> str:
    words = [str(_FIELDS.get(part, part)) for part in parts]
    if not words:
        return ""
    return words[0] + (f" ({', '.join(words[1:])})" if len(words) > 1 else "")


def readable_changes(old: dict, new: dict) -> list[dict]:
    """What changed between two snapshots, a dict per fact: ``group`` (e.g. "Quality bar"),
    ``subject`` (the metric, asset, area, indicator or level it is about, or ""), ``field``,
    ``change`` ("added", "removed" or "changed") and ``before``/``after`` in plain words.
    One query, for the names of the people the changes mention."""
    changes = fact_changes(old, new)
    words = _Words(changes)
    return [_readable(change, words) for change in changes]


def _readable(change: dict, words: _Words) -> dict:
    parts = change["fact"].split(" › ")
    group = parts[0]
    named = group in _NAMED_GROUPS and len(parts) > 1
    return {
        "group": str(_GROUPS.get(group, group)),
        "subject": _subject(group, parts[1]) if named else "",
        "field": _field(parts[2:] if named else parts[1:]),
        "change": change["change"],
        "before": words.value(parts, change["before"]),
        "after": words.value(parts, change["after"]),
    }


def readable_change_lines(old: dict, new: dict) -> list[str]:
    """What changed between two snapshots, a plain line per fact (see ``readable_changes``)."""
    return [_change_words(change) for change in readable_changes(old, new)]


def _change_words(change: dict) -> str:
    """One readable change in a line: "Quality bar wrong_answers, Maximum failure rate: 5 % → 4 %"."""
    what = ", ".join(part for part in (f"{change['group']} {change['subject']}".strip(), change["field"]) if part)
    return f"{what}: {change['before']} → {change['after']}"


def plain_reasons(readiness, launch, stage, *, now) -> dict[str, list[str]]:
    """The blockers' reasons by checklist key, each stale approval's list of changed facts (which
    the checklist words as snapshot paths, for the record) said as ``readable_changes`` says it.
    Reads the snapshots the checklist loaded; one query for the people the changes name."""
    snapshot = launch_snapshot(launch, stage)
    current = fingerprint(snapshot)
    stale = [
        decision
        for request in launch.signoff_requests.all()
        if request.stage_id == stage.pk and request.is_open
        for decision in request.current_decisions()
        if decision.outcome == DecisionOutcome.APPROVE
        and decision.fingerprint != current
        and decision.decided_at + approval_age_limit() >= now
        and "snapshot" not in decision.get_deferred_fields()
    ]
    changes = {decision.pk: fact_changes(decision.snapshot, snapshot) for decision in stale}
    words = _Words([change for listed in changes.values() for change in listed])
    plain = {}
    for decision in stale:
        recorded = decision_problem(decision, current_fingerprint=current, current_snapshot=snapshot, now=now)
        shown = [_change_words(_readable(change, words)) for change in changes[decision.pk]]
        listed = "; ".join(shown[:5])
        if len(shown) > 5:
            listed += ngettext("; and %(count)s more", "; and %(count)s more", len(shown) - 5) % {
                "count": len(shown) - 5
            }
        plain[recorded] = _("approval by %(person)s is stale — facts changed since: %(changes)s") % {
            "person": person_name(decision.on_behalf_of),
            "changes": listed,
        }
    reasons = {}
    for blocker in readiness.blockers:
        reasons[blocker.key] = []
        for reason in blocker.reasons:
            reason = str(reason)
            for recorded, said in plain.items():
                reason = reason.replace(recorded, said)
            reasons[blocker.key].append(reason)
    return reasons
