"""Every change to a launch's facts, made by a named person on the version they saw.

One door for every fact of a launch (stages, quality bars, evaluation runs, data assets, SLOs,
severity levels, rollback plan, runbook, feedback channels, and the RACI rows ``raci`` registers):
``fact_add``, ``fact_change``, ``fact_confirm`` and ``fact_remove``. Each checks the change
permission on the launch, refuses an archived launch, validates (``full_clean``), runs in one
transaction with the launch locked (so the gate never judges facts half-changed), and writes a
history row naming the actor and why.

A change or removal names the version the caller saw (``fact_version``: the id of the fact's
newest history row). If someone changed the fact since, the edit is refused with an
``EditConflict`` naming who and when, instead of silently undoing their change.

What a person may set is declared per model (``FactKind``): agreements, proposals and who
recorded a run are never set directly. Changing what an agreement covers (a quality bar's
definition, an SLO's numbers) clears the agreement and is ledgered."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ledger.events import LedgerEvent

from ..access import refuse_if_archived, require_change
from ..choices import SENSITIVITY
from ..history import delete_with_history, save_with_history
from ..i18n import in_english, shown_moment
from ..models import (
    SLO,
    DataAsset,
    EvalRun,
    FeedbackChannel,
    Launch,
    ProposedValues,
    QualityBar,
    RollbackPlan,
    RolloutStage,
    Runbook,
    SeverityLevel,
)
from ..people import person_name
from ..recording import record
from ..validators import clean_text


class EditConflict(ValidationError):
    """The fact changed since the caller saw it; nothing was saved."""


ChangeHook = Callable[..., None]


@dataclass(frozen=True)
class FactKind:
    """How people may write one model of launch facts.

    ``fields`` may be set when adding and changed later; ``fixed`` may be set only when adding (a
    RACI row's person, an evaluation's measured numbers: a wrong one is removed, with a reason, and
    recorded again). Anything else (agreements, proposals, timestamps) only services set.
    ``after_change(fact=, changed=, actor=, agreement_cleared=, previous=)`` runs in the
    transaction after a fact is added (``changed`` is ``{"added"}``) or changed (``previous``: the
    changed fields' old values), and before one is removed (``{"removed"}``, with ``reason``).
    ``not_the_owners(fact, values)`` names, field by field, what in a change (``values``) or a
    removal (``None``) would lower a bar that binds the launch: someone who answers for it does that
    through a service of their own, never the owner through these."""

    model: type[models.Model]
    label: str
    fields: tuple[str, ...]
    fixed: tuple[str, ...] = ()
    after_change: ChangeHook | None = None
    describe: Callable[[models.Model], str] = field(default=lambda fact: str(fact))
    not_the_owners: Callable[[models.Model, Mapping | None], dict[str, str]] | None = None
    # Fills what only services set on a fact being added (``before_add(fact=, actor=, launch=)``).
    before_add: Callable[..., None] | None = None

    def name(self, fact: models.Model) -> str:
        """How messages name one fact, e.g. "Quality bar 'wrong_answers'"."""
        label = str(self.label)
        return f"{label[:1].upper()}{label[1:]} '{self.describe(fact)}'"

    @property
    def settable_on_add(self) -> tuple[str, ...]:
        return (*self.fixed, *self.fields)


_kinds: dict[type[models.Model], FactKind] = {}


def register_fact_kind(kind: FactKind) -> None:
    if kind.model in _kinds:
        raise ValueError(f"{kind.model.__name__} is already registered as a fact kind.")
    _kinds[kind.model] = kind


def fact_kinds() -> dict[type[models.Model], FactKind]:
    return dict(_kinds)


# Another app's reasons a fact stays: a guard answers, field by field, why ``fact`` may not be
# removed (e.g. approvals: a stage with sign-offs on record), or nothing. readiness knows no app above it.
RemovalGuard = Callable[[models.Model], dict[str, str]]
_removal_guards: dict[type[models.Model], list[RemovalGuard]] = {}


def register_removal_guard(model: type[models.Model], guard: RemovalGuard) -> None:
    guards = _removal_guards.setdefault(model, [])
    if guard not in guards:
        guards.append(guard)


def kind_of(model: type[models.Model]) -> FactKind:
    try:
        return _kinds[model]
    except (KeyError, TypeError):
        raise ValidationError(
            {"model": _("%(model)s is not a fact of a launch.") % {"model": getattr(model, "__name__", model)}}
        ) from None


# --- versions ------------------------------------------------------------------------------------


def fact_version(fact: models.Model) -> int:
    """The version a caller saw: the id of the fact's newest history row (0 if it has none)."""
    return fact.history.order_by("-history_id").values_list("history_id", flat=True).first() or 0


def fact_versions(model: type[models.Model], pks) -> dict[int, int]:
    """``fact_version`` of many facts of ``model`` in one query: {pk: newest history id}; a fact
    without history is left out (its version is 0)."""
    pks = list(pks)
    if not pks:
        return {}
    pk_name = model._meta.pk.attname
    rows = (
        model.history.filter(**{f"{pk_name}__in": pks})
        .order_by()  # no default ordering in the GROUP BY
        .values(pk_name)
        .annotate(latest=Max("history_id"))
    )
    return {row[pk_name]: row["latest"] for row in rows}


def require_version(fact: models.Model, seen_version, *, what: str) -> None:
    """Refuse unless ``fact`` is still at ``seen_version``; call it with the fact's row locked."""
    if isinstance(seen_version, bool) or not isinstance(seen_version, int):
        raise ValidationError({"seen_version": _("Give the version of the fact you saw (an integer).")})
    latest = fact.history.order_by("-history_id").select_related("history_user").first()
    current = latest.history_id if latest else 0
    if current == seen_version:
        return
    if latest is None or seen_version > current:
        raise ValidationError(
            {
                "seen_version": _("%(what)s has no version %(version)s; reload it.")
                % {"what": what, "version": seen_version}
            }
        )
    who = person_name(latest.history_user) if latest.history_user_id else _("someone (no user recorded)")
    when = shown_moment(latest.history_date)
    raise EditConflict(
        _(
            "%(what)s was changed by %(who)s at %(when)s since you opened it; reload it to see their change, "
            "then make yours again."
        )
        % {"what": what, "who": who, "when": when}
    )


# --- locking and ownership -----------------------------------------------------------------------


def lock_launch(launch: Launch) -> Launch:
    """Lock the launch row for the rest of the transaction (the gate takes the same lock), without
    blocking rows that merely point at it (FOR NO KEY UPDATE on PostgreSQL)."""
    return Launch.objects.select_for_update(of=("self",), no_key=True).select_related("current_stage").get(pk=launch.pk)


def launch_of(fact: models.Model) -> Launch:
    launch = fact
    for step in getattr(fact, "launch_lookup", "launch").split("__"):
        launch = getattr(launch, step)
    return launch


def _writable_launch(actor, launch: Launch) -> Launch:
    if not isinstance(launch, Launch):
        raise ValidationError({"launch": _("Expected a launch, got %(type)s.") % {"type": type(launch).__name__}})
    # The permission is judged on the locked row as it stands, not on the caller's copy (which
    # may predate a hand-over to another owner).
    launch = lock_launch(launch)
    require_change(actor, launch)
    refuse_if_archived(launch)
    return launch


def _refuse_unknown(values: Mapping, allowed: Iterable[str], kind: FactKind, *, changing: bool) -> None:
    if not isinstance(values, Mapping):
        raise ValidationError({"values": _("Give the fields to set as a mapping of field name to value.")})
    allowed = set(allowed)
    errors = {}
    for name in values:
        if name in allowed:
            continue
        names = {"field": name.replace("_", " "), "kind": kind.label}
        if changing and name in kind.fixed:
            errors[name] = _("The %(field)s of a %(kind)s is set once; remove it and add another.") % names
        else:
            errors[name] = _("A %(kind)s's %(field)s cannot be set here.") % names
    if errors:
        raise ValidationError(errors)


# --- the services --------------------------------------------------------------------------------


@transaction.atomic
def fact_add(*, actor, launch: Launch, model: type[models.Model], values: Mapping, reason: str = "") -> models.Model:
    """Add a fact of ``model`` to ``launch``. ``values`` names the fields (and the parent row, e.g.
    ``quality_bar`` for an evaluation run, ``area`` for a RACI row)."""
    kind = kind_of(model)
    has_launch = "launch" in {f.name for f in model._meta.fields}
    _refuse_unknown(values, {*kind.settable_on_add, *(["launch"] if has_launch else [])}, kind, changing=False)
    launch = _writable_launch(actor, launch)
    fact = model(**{**values, "launch": launch} if has_launch else values)
    if launch_of(fact).pk != launch.pk:
        raise ValidationError(
            {
                "launch": _("That %(kind)s would belong to another launch than '%(slug)s'.")
                % {"kind": kind.label, "slug": launch.slug}
            }
        )
    if kind.before_add is not None:
        kind.before_add(fact=fact, actor=actor, launch=launch)
    fact = save_with_history(fact, actor=actor, reason=reason or f"Added {in_english(kind.label)}")
    if kind.after_change is not None:
        kind.after_change(fact=fact, changed={"added"}, actor=actor, agreement_cleared=False, previous={})
    return fact


def locked_fact(fact: models.Model) -> models.Model:
    """``fact`` re-read and locked for the transaction; EditConflict when it was removed meanwhile."""
    try:
        return type(fact).objects.select_for_update(of=("self",)).get(pk=fact.pk)
    except type(fact).DoesNotExist:
        raise gone(fact) from None


def gone(fact: models.Model) -> EditConflict:
    """The fact was removed since the caller saw it: say who removed it, when history knows."""
    kind = kind_of(type(fact))
    removal = type(fact).history.filter(id=fact.pk, history_type="-").select_related("history_user").first()
    if removal is None:
        return EditConflict({"fact": _("%(what)s was removed since you opened it.") % {"what": kind.name(fact)}})
    name = person_name(removal.history_user) if removal.history_user_id else _("someone")
    return EditConflict(
        {
            "fact": _("%(what)s was removed by %(who)s at %(when)s since you opened it.")
            % {
                "what": kind.name(fact),
                "who": name,
                "when": f"{timezone.localtime(removal.history_date):%Y-%m-%d %H:%M}",
            }
        }
    )


def _prepare(actor, fact: models.Model) -> tuple[FactKind, models.Model]:
    kind = kind_of(type(fact))
    if fact.pk is None:
        raise ValidationError(
            {"fact": _("This %(kind)s has not been saved yet; add it instead.") % {"kind": kind.label}}
        )
    _writable_launch(actor, launch_of(fact))
    return kind, locked_fact(fact)


@transaction.atomic
def fact_change(*, actor, fact: models.Model, seen_version: int, values: Mapping, reason: str = "") -> models.Model:
    """Change fields of ``fact``, as of the version the caller saw. Unchanged values are not a
    change (no history row). A changed value the template proposed becomes a person's value."""
    kind = kind_of(type(fact))
    _refuse_unknown(values, kind.fields, kind, changing=True)
    kind, fact = _prepare(actor, fact)
    require_version(fact, seen_version, what=kind.name(fact))
    _refuse_lowering(kind, fact, values)
    changed, previous = set(), {}
    for name, value in values.items():
        if getattr(fact, name) != value:
            previous[name] = getattr(fact, name)
            setattr(fact, name, value)
            changed.add(name)
    if not changed:
        return fact
    if hasattr(fact, "proposed"):
        fact.proposed = [name for name in fact.proposed if name not in changed]
    agreement_cleared = _clear_agreement(fact, changed)
    labels = ", ".join(sorted(name.replace("_", " ") for name in changed))
    note = "; agreement cleared" if agreement_cleared else ""
    save_with_history(fact, actor=actor, reason=reason or f"Changed {labels}{note}")
    if kind.after_change is not None:
        kind.after_change(
            fact=fact, changed=changed, actor=actor, agreement_cleared=agreement_cleared, previous=previous
        )
    return fact


def _refuse_lowering(kind: FactKind, fact: models.Model, values: Mapping | None) -> None:
    if kind.not_the_owners is not None and (errors := kind.not_the_owners(fact, values)):
        raise ValidationError(errors)


def _clear_agreement(fact: models.Model, changed: set[str]) -> bool:
    """An agreement covers the values it was given on: changing one of them clears it."""
    covered = set(getattr(fact, "AGREED_FIELDS", ()))
    if not (covered & changed) or getattr(fact, "agreed_by_id", None) is None:
        return False
    fact.agreed_by, fact.agreed_at = None, None
    return True


@transaction.atomic
def fact_confirm(*, actor, fact: models.Model, seen_version: int, fields: Iterable[str] | None = None) -> models.Model:
    """Confirm values the template proposed, unchanged: they become the person's own."""
    kind, fact = _prepare(actor, fact)
    require_version(fact, seen_version, what=kind.name(fact))
    proposed = list(getattr(fact, "proposed", None) or [])
    if fields is not None and (isinstance(fields, str) or not all(isinstance(name, str) for name in fields)):
        raise ValidationError({"fields": _("Give the fields to confirm as a list of field names.")})
    chosen = list(proposed if fields is None else fields)
    not_proposed = sorted(set(chosen) - set(proposed))
    if not chosen or not_proposed:
        raise ValidationError(
            {
                "fields": _("Nothing proposed to confirm: %(fields)s.")
                % {"fields": ", ".join(not_proposed) or _("no field given")}
            }
        )
    fact.proposed = [name for name in proposed if name not in chosen]
    labels = ", ".join(name.replace("_", " ") for name in chosen)
    return save_with_history(fact, actor=actor, reason=f"Confirmed the proposed {labels}")


@transaction.atomic
def facts_confirm(*, actor, launch: Launch, seen: Mapping[tuple[type[models.Model], int], int]) -> list[models.Model]:
    """Confirm at once every proposal the caller saw: ``seen`` maps (model, pk) to the version
    shown. One transaction, each fact confirmed (and recorded) as ``fact_confirm`` does. A fact no
    longer proposed, or removed meanwhile, is skipped, so sending the same form twice changes
    nothing; a fact changed since it was shown refuses the whole confirmation (``EditConflict``)."""
    launch = _writable_launch(actor, launch)
    confirmed = []
    for (model, pk), version in sorted(seen.items(), key=lambda item: (item[0][0]._meta.model_name, item[0][1])):
        if not issubclass(model, ProposedValues):
            raise ValidationError({"fact": _("%(kind)s has no proposed values.") % {"kind": kind_of(model).label}})
        fact = model.objects.filter(launch=launch, pk=pk).first()
        if fact is None or not fact.proposed:
            continue
        confirmed.append(fact_confirm(actor=actor, fact=fact, seen_version=version))
    return confirmed


@transaction.atomic
def fact_remove(*, actor, fact: models.Model, seen_version: int, reason: str) -> None:
    """Remove ``fact`` with a reason (kept in its history), as of the version the caller saw."""
    kind, fact = _prepare(actor, fact)
    _refuse_lowering(kind, fact, None)
    reason = clean_text(
        reason, field="reason", required=_("Say why the %(kind)s is removed.") % {"kind": kind.label}, max_length=500
    )
    require_version(fact, seen_version, what=kind.name(fact))
    for guard in _removal_guards.get(type(fact), ()):
        if errors := guard(fact):
            raise ValidationError(errors)
    if kind.after_change is not None:
        kind.after_change(
            fact=fact, changed={"removed"}, actor=actor, agreement_cleared=False, reason=reason, previous={}
        )
    delete_with_history(fact, actor=actor, reason=f"Removed: {reason}")


def _declassifying(asset: DataAsset, values: Mapping | None) -> dict[str, str]:
    """Lowering a personal or confidential asset's class, or removing it, is the privacy
    Accountable's act (raci.services.data_asset_declassify / data_asset_remove), not the owner's."""
    if not asset.is_sensitive:
        return {}
    names = {"name": asset.name, "class": asset.get_classification_display().lower()}
    if values is None:
        return {
            "fact": _(
                "Data asset '%(name)s' is %(class)s; only the Accountable for privacy (the policy area) may remove it."
            )
            % names
        }
    lowered = SENSITIVITY.get(values.get("classification", asset.classification) or "", 0)
    if lowered < SENSITIVITY[asset.classification]:
        return {
            "classification": _(
                "Data asset '%(name)s' is %(class)s; only the Accountable for privacy (the policy area) "
                "may lower its class."
            )
            % names
        }
    return {}


# --- what changing an agreed fact records ----------------------------------------------------------


def bar_definition(bar: QualityBar) -> dict:
    return {
        "quality bar": bar.pk,
        "metric": bar.metric,
        "failure definition": bar.failure_definition,
        "max failure rate": format(bar.max_failure_rate.normalize(), "f"),
        "confidence level": format(bar.confidence_level.normalize(), "f"),
        "min samples": bar.min_samples,
        "min human-reviewed share": format(bar.min_human_reviewed_share.normalize(), "f"),
    }


def slo_definition(slo: SLO) -> dict:
    return {
        "slo": slo.pk,
        "indicator": slo.indicator,
        "target": format(slo.target.normalize(), "f"),
        "alert threshold": None if slo.alert_threshold is None else format(slo.alert_threshold.normalize(), "f"),
    }


def _ledger_redefinition(event: LedgerEvent, definition: Callable[[models.Model], dict]) -> ChangeHook:
    def hook(*, fact, changed, actor, agreement_cleared, reason: str = "", previous=None) -> None:
        if "removed" in changed:
            payload = {**definition(fact), "removed": reason, "was agreed": fact.agreed_by_id is not None}
            record(event=event, launch=launch_of(fact), actor=actor, payload=payload)
            return
        if not changed & set(fact.AGREED_FIELDS):
            return
        payload = {**definition(fact), "agreement cleared": agreement_cleared}
        record(event=event, launch=launch_of(fact), actor=actor, payload=payload, seal=[fact])

    return hook


register_fact_kind(
    FactKind(
        RolloutStage,
        gettext_lazy("stage"),
        fields=("name", "order", "exposure_percent", "planned_date", "gating_checks"),
        # A Beta stage turned Internal would need less: a stage keeps its kind (remove it, with a
        # reason, and add another).
        fixed=("kind",),
        describe=lambda stage: stage.name,
    )
)
register_fact_kind(
    FactKind(
        QualityBar,
        gettext_lazy("quality bar"),
        fields=(
            "metric",
            "failure_definition",
            "max_failure_rate",
            "confidence_level",
            "min_samples",
            "min_human_reviewed_share",
        ),
        after_change=_ledger_redefinition(LedgerEvent.BAR_REDEFINED, bar_definition),
        describe=lambda bar: bar.metric,
        # The bar binds the owner: dropping it is the Accountable's act (raci.services.quality_bar_remove).
        not_the_owners=lambda bar, values: (
            {"fact": _("A quality bar is removed only by the Accountable of the area that owns its metric.")}
            if values is None
            else {}
        ),
    )
)


def _evidence_to_accept(*, fact: EvalRun, actor, launch: Launch) -> None:
    """A run the launch owner records, or one recorded while the bar's counting evidence fails,
    counts only once someone of the bar's function accepts it (``raci.services.eval_run_accept``):
    otherwise the owner could outvote a failing run with numbers of her own. Any other run counts at once."""
    fact.recorded_by = actor
    fact.needs_acceptance = actor.pk == launch.owner_id or evidence_fails(fact.quality_bar, launch)


def evidence_fails(bar: QualityBar, launch: Launch) -> bool:
    """The run that counts as ``bar``'s evidence now (item 12's choice) does not prove it."""
    from ..checklist import Context
    from ..checklist_items import counted_run, run_proves

    now = timezone.now()
    context = Context(launch=launch, stage=None, today=timezone.localdate(now), now=now)
    run = counted_run(bar, launch, context)
    return run is not None and not run_proves(bar, run, context)


register_fact_kind(
    FactKind(
        EvalRun,
        gettext_lazy("evaluation run"),
        fields=("link",),
        fixed=(
            "quality_bar",
            "samples",
            "failures",
            "golden_set_name",
            "golden_set_version",
            "golden_set_owner",
            "measured_version",
            "human_reviewed",
            "run_at",
        ),
        describe=lambda run: (
            _("%(failures)s/%(samples)s on %(golden_set)s %(golden_version)s")
            % {
                "failures": run.failures,
                "samples": run.samples,
                "golden_set": run.golden_set_name,
                "golden_version": run.golden_set_version,
            }
        ),
        before_add=_evidence_to_accept,
        # Evidence is not the owner's to drop (a failing run would vanish and an older passing one
        # count again): the Accountable of the area owning the bar's metric removes a wrong run
        # (raci.services.eval_run_remove).
        not_the_owners=lambda run, values: (
            {"fact": _("An evaluation run is removed only by the Accountable of the area that owns its bar's metric.")}
            if values is None
            else {}
        ),
    )
)
register_fact_kind(
    FactKind(
        DataAsset,
        gettext_lazy("data asset"),
        fields=(
            "name",
            "description",
            "classification",
            "access_level",
            "named_teams",
            "masked_in_logs",
            "retention_days",
            "last_audit_at",
            "audit_interval_days",
        ),
        describe=lambda asset: asset.name,
        not_the_owners=lambda asset, values: _declassifying(asset, values),
    )
)
register_fact_kind(
    FactKind(
        SLO,
        gettext_lazy("SLO"),
        fields=("target", "alert_threshold", "dashboard_link"),
        fixed=("indicator",),
        # Once agreed, an SLO binds the owner: dropping it is the Accountable's act (raci.services.slo_remove).
        not_the_owners=lambda slo, values: (
            {"fact": _("An agreed SLO is removed only by the Accountable of the area that owns its concern.")}
            if values is None and slo.agreed_by_id
            else {}
        ),
        after_change=_ledger_redefinition(LedgerEvent.SLO_REDEFINED, slo_definition),
        describe=lambda slo: slo.get_indicator_display(),
    )
)
register_fact_kind(
    FactKind(
        SeverityLevel,
        gettext_lazy("severity level"),
        fields=("definition", "response_minutes", "notify"),
        fixed=("level",),
        describe=lambda level: level.level,
    )
)
register_fact_kind(
    FactKind(
        RollbackPlan,
        gettext_lazy("rollback plan"),
        fields=("procedure", "one_click", "last_rehearsed_at", "max_rehearsal_age_days"),
        describe=lambda plan: plan.launch.slug,
    )
)
register_fact_kind(
    FactKind(
        Runbook,
        gettext_lazy("runbook"),
        fields=("link", "content", "last_reviewed_at", "review_interval_days"),
        describe=lambda runbook: runbook.launch.slug,
    )
)
register_fact_kind(
    FactKind(
        FeedbackChannel,
        gettext_lazy("feedback channel"),
        fields=("kind", "description", "review_cadence"),
        describe=lambda channel: channel.get_kind_display(),
    )
)
