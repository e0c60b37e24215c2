"""The material facts a sign-off covers, as a canonical snapshot, its fingerprint and a readable diff.

Only facts an approver actually approves are in the snapshot: editing the summary does not make
approvals stale; changing a quality bar, a data class, an Accountable or the exposure does."""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ledger.chain import canonical_json
from raci.choices import Role
from readiness.checklist import gating_checks_for
from readiness.i18n import english
from readiness.models import RollbackPlan


def fingerprint(snapshot: dict) -> str:
    return hashlib.sha256(canonical_json(snapshot).encode()).hexdigest()


def _decimal(value) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def launch_snapshot(launch, stage) -> dict:
    """Facts of ``launch`` that sign-offs for entering ``stage`` cover. Reads prefetched rows.

    Built in English whatever language is active: the snapshot is stored with each decision and
    its fingerprint ledgered, so a Korean page and an English one must take the same."""
    with english():
        return _launch_snapshot(launch, stage)


def _launch_snapshot(launch, stage) -> dict:
    quality_bars = {}
    for bar in launch.quality_bars.all():
        # The evidence that counts; a newer run waiting for acceptance is named beside it.
        run, pending = bar.latest_counting_run(), bar.pending_run()
        quality_bars[bar.metric] = _optional(
            {
                "what counts as a failure": bar.failure_definition,
                "agreed by": bar.agreed_by.get_username() if bar.agreed_by_id else None,
                "max failure rate": _decimal(bar.max_failure_rate),
                "confidence level": _decimal(bar.confidence_level),
                "minimum samples": bar.min_samples,
                "evidence": None
                if run is None
                else _optional(
                    {
                        "samples": run.samples,
                        "failures": run.failures,
                        "golden set": f"{run.golden_set_name} {run.golden_set_version}",
                    },
                    {
                        "measured version": run.measured_version or None,
                        "golden set owner": run.golden_set_owner.get_username() if run.golden_set_owner_id else None,
                        "human reviewed": run.human_reviewed if bar.min_human_reviewed_share else None,
                    },
                ),
            },
            {
                "minimum human-reviewed share": _decimal(bar.min_human_reviewed_share)
                if bar.min_human_reviewed_share
                else None,
                "evidence waiting for acceptance": None
                if pending is None
                else {
                    "samples": pending.samples,
                    "failures": pending.failures,
                    "golden set": f"{pending.golden_set_name} {pending.golden_set_version}",
                },
            },
        )
    data_assets = {
        asset.name: {
            "classification": asset.classification or None,
            "access level": asset.access_level or None,
            "masked in logs": asset.masked_in_logs,
            "retention days": asset.retention_days,
            "audit interval days": asset.audit_interval_days,
        }
        for asset in launch.data_assets.all()
    }
    accountables = {
        area.name: sorted(a.stakeholder.user.username for a in area.assignments.all() if a.role == Role.ACCOUNTABLE)
        for area in launch.areas.all()
    }
    slos = {
        slo.indicator: {
            "target": _decimal(slo.target),
            "alert threshold": _decimal(slo.alert_threshold),
            "agreed by": slo.agreed_by.get_username() if slo.agreed_by_id else None,
        }
        for slo in launch.slos.all()
    }
    severity = {
        level.level: {"response minutes": level.response_minutes, "notify": level.notify}
        for level in launch.severity_levels.all()
    }
    try:
        plan = launch.rollback_plan
        rollback = {"procedure": plan.procedure, "one click": plan.one_click}
    except RollbackPlan.DoesNotExist:
        rollback = None
    omitted = {str(omission.get_kind_display()): omission.reason for omission in launch.area_omissions.all()}
    return _optional(
        {
            "risk tier": launch.risk_tier,
            "stage": {
                "name": stage.name,
                "exposure percent": _decimal(stage.exposure_percent),
                "gating items": gating_checks_for(stage),
            },
            "quality bars": quality_bars,
            "data assets": data_assets,
            "accountables": accountables,
            "slos": slos,
            "severity policy": severity,
            "rollback plan": rollback,
        },
        {"serving version": launch.serving_version or None, "areas left out": omitted or None},
    )


def _optional(facts: dict, added: dict) -> dict:
    """``facts`` with the ``added`` facts that are set. Facts introduced after approvals were
    given join the snapshot only once recorded, so adding them does not make those approvals
    stale by itself; recording one does, as any change of the facts."""
    return {**facts, **{key: value for key, value in added.items() if value is not None}}


def _flatten(data, prefix: str = "") -> dict[str, object]:
    if isinstance(data, dict):
        flat = {}
        for key, value in data.items():
            flat.update(_flatten(value, f"{prefix} › {key}" if prefix else str(key)))
        if not data and prefix:
            flat[prefix] = "none"
        return flat
    return {prefix: data}


def _show(value, key: str = "") -> str:
    if value is None:
        return _("none")
    if isinstance(value, list):
        return ", ".join(map(str, value)) or _("nobody")
    if (percent := _percent(key, value)) is not None:
        return percent
    return str(value)


# Shares the snapshot stores as fractions ("0.05") and those it stores in percent ("1", "99.5"):
# a reader sees both in percent, as they are typed ("5 %", "99.5 %").
_FRACTION_FACTS = frozenset({"max failure rate", "confidence level", "minimum human-reviewed share"})
_PERCENT_SLOS = frozenset({"success_rate", "error_rate"})


def _percent(key: str, value) -> str | None:
    parts = key.split(" › ")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if parts[-1] in _FRACTION_FACTS:
        number *= 100
    elif not (
        parts[-1] == "exposure percent"
        or (
            len(parts) >= 3
            and parts[0] == "slos"
            and parts[-2] in _PERCENT_SLOS
            and parts[-1] in ("target", "alert threshold")
        )
    ):
        return None
    return f"{number.normalize():f} %"


# The snapshot's own keys as a reader's language names them. The snapshot itself stays English (it
# is stored and fingerprinted); only what a page shows is translated. Names people gave (metrics,
# assets, areas) are shown as they are.
_FACT_NAMES = {
    "risk tier": gettext_lazy("risk tier"),
    "stage": gettext_lazy("stage"),
    "name": gettext_lazy("name"),
    "exposure percent": gettext_lazy("exposure percent"),
    "gating items": gettext_lazy("gating items"),
    "quality bars": gettext_lazy("quality bars"),
    "what counts as a failure": gettext_lazy("what counts as a failure"),
    "agreed by": gettext_lazy("agreed by"),
    "max failure rate": gettext_lazy("max failure rate"),
    "confidence level": gettext_lazy("confidence level"),
    "minimum samples": gettext_lazy("minimum samples"),
    "minimum human-reviewed share": gettext_lazy("minimum human-reviewed share"),
    "evidence": gettext_lazy("evidence"),
    "samples": gettext_lazy("samples"),
    "failures": gettext_lazy("failures"),
    "golden set": gettext_lazy("golden set"),
    "golden set owner": gettext_lazy("golden set owner"),
    "measured version": gettext_lazy("measured version"),
    "human reviewed": gettext_lazy("human reviewed"),
    "data assets": gettext_lazy("data assets"),
    "classification": gettext_lazy("classification"),
    "access level": gettext_lazy("access level"),
    "masked in logs": gettext_lazy("masked in logs"),
    "retention days": gettext_lazy("retention days"),
    "audit interval days": gettext_lazy("audit interval days"),
    "accountables": gettext_lazy("accountables"),
    "slos": gettext_lazy("slos"),
    "target": gettext_lazy("target"),
    "alert threshold": gettext_lazy("alert threshold"),
    "severity policy": gettext_lazy("severity policy"),
    "response minutes": gettext_lazy("response minutes"),
    "notify": gettext_lazy("notify"),
    "rollback plan": gettext_lazy("rollback plan"),
    "procedure": gettext_lazy("procedure"),
    "one click": gettext_lazy("one click"),
    "serving version": gettext_lazy("serving version"),
    "areas left out": gettext_lazy("areas left out"),
}


def _named(key: str) -> str:
    """A flattened key as the reader's language names its parts, e.g. "SLOs › latency_p95 › target"."""
    return " › ".join(str(_FACT_NAMES.get(part, part)) for part in key.split(" › "))


def readable_facts(snapshot: dict) -> list[tuple[str, str]]:
    """The snapshot as (fact, value) lines, as an approver reads them, e.g. ("slos › latency_p95 › target", "3000")."""
    return [(_named(key), _show(value, key)) for key, value in _flatten(snapshot).items()]


def fact_changes(old: dict, new: dict) -> list[dict]:
    """What changed between two snapshots, as data in no language (for storing in a notice):
    one ``{"fact", "change", "before", "after"}`` per fact, ``change`` being "added", "removed"
    or "changed"; ``fact`` is the snapshot's English path, values as the snapshot holds them."""
    before, after = _flatten(old), _flatten(new)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        if key not in after:
            changes.append({"fact": key, "change": "removed", "before": before[key], "after": None})
        elif key not in before:
            changes.append({"fact": key, "change": "added", "before": None, "after": after[key]})
        elif before[key] != after[key]:
            changes.append({"fact": key, "change": "changed", "before": before[key], "after": after[key]})
    return changes


def change_line(change: dict) -> str:
    """One of ``fact_changes`` as a reader's language says it."""
    fact = _named(change["fact"])
    if change["change"] == "removed":
        return _("%(fact)s: removed (was %(value)s)") % {"fact": fact, "value": _show(change["before"], change["fact"])}
    if change["change"] == "added":
        return _("%(fact)s: added (%(value)s)") % {"fact": fact, "value": _show(change["after"], change["fact"])}
    return f"{fact}: {_show(change['before'], change['fact'])} → {_show(change['after'], change['fact'])}"


def diff_snapshots(old: dict, new: dict) -> list[str]:
    """What changed between two snapshots, one readable line per fact."""
    return [change_line(change) for change in fact_changes(old, new)]
