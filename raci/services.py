"""State changes on teams, people and the RACI, and the agreements only an Accountable gives."""

from __future__ import annotations

import copy

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ledger.events import LedgerEvent
from readiness.access import refuse_if_archived, require_change, require_view
from readiness.choices import SENSITIVITY
from readiness.history import delete_with_history, save_with_history
from readiness.i18n import english, in_english
from readiness.launch_templates import TEMPLATES, LaunchTemplate, register_contributor
from readiness.models import SLO, DataAsset, EvalRun, Launch, QualityBar
from readiness.recording import record, record_facts
from readiness.services import EditConflict, FactKind, fact_add, fact_change, fact_remove, register_fact_kind
from readiness.services.facts import (
    bar_definition,
    launch_of,
    lock_launch,
    locked_fact,
    require_version,
    slo_definition,
)
from readiness.validators import clean_text

from .choices import STANDARD_AREA_CONCERNS, AreaKind, Role, TeamFunction
from .models import (
    AreaOmission,
    LanguagePreference,
    LaunchStakeholder,
    RaciAssignment,
    ResponsibilityArea,
    Stakeholder,
    Team,
)
from .selectors import (
    SLO_CONCERNS,
    bar_functions,
    concern_functions,
    function_labels,
    owning_area,
    privacy_owning_area,
    serves_function,
    slo_owning_area,
)


def _rehome_agreements(*, fact: ResponsibilityArea, changed: set[str], actor, previous, **_ignored) -> None:
    """An agreement answers for a concern as owned when it was given: when adding, removing or
    changing an area's concerns makes another area own an agreed bar's or SLO's concern, that
    agreement is cleared, with history and a ``bar_redefined``/``slo_redefined`` entry, in the
    same transaction. (The checklist already refuses an agreement whose giver is no longer the
    owning area's Accountable; this also covers a concern moved to an area the same person holds.)"""
    if not changed & {"added", "removed", "concerns"}:
        return
    launch = fact.launch_id
    now = list(ResponsibilityArea.objects.filter(launch_id=launch).order_by("pk"))
    if "added" in changed:
        before, after = [area for area in now if area.pk != fact.pk], now
    elif "removed" in changed:
        before, after = now, [area for area in now if area.pk != fact.pk]
    else:
        old = copy.copy(next(area for area in now if area.pk == fact.pk))
        old.concerns = previous["concerns"]
        before, after = [old if area.pk == fact.pk else area for area in now], now

    def moved(owner) -> tuple[ResponsibilityArea | None, ResponsibilityArea | None] | None:
        was, becomes = owner(before), owner(after)
        return None if getattr(was, "pk", None) == getattr(becomes, "pk", None) else (was, becomes)

    for bar in QualityBar.objects.filter(launch_id=launch, agreed_by__isnull=False).order_by("pk"):
        if areas := moved(lambda areas, bar=bar: owning_area(areas, bar.metric)):
            _clear_moved_agreement(bar, areas, actor, LedgerEvent.BAR_REDEFINED, bar_definition)
    for slo in SLO.objects.filter(launch_id=launch, agreed_by__isnull=False).order_by("pk"):
        if areas := moved(lambda areas, slo=slo: slo_owning_area(areas, slo.indicator)):
            _clear_moved_agreement(slo, areas, actor, LedgerEvent.SLO_REDEFINED, slo_definition)


def _clear_moved_agreement(fact, areas, actor, event: LedgerEvent, definition) -> None:
    was, becomes = (area.name if area else "none" for area in areas)
    fact = locked_fact(fact)
    fact.agreed_by, fact.agreed_at = None, None
    save_with_history(fact, actor=actor, reason=f"Agreement cleared: its concern moved from '{was}' to '{becomes}'")
    payload = {**definition(fact), "agreement cleared": True, "concern moved from": was, "concern moved to": becomes}
    record(event=event, launch=fact.launch, actor=actor, payload=payload, seal=[fact])


register_fact_kind(
    FactKind(
        ResponsibilityArea,
        gettext_lazy("responsibility area"),
        fields=("name", "concerns"),
        fixed=("kind",),
        after_change=_rehome_agreements,
    )
)
register_fact_kind(
    FactKind(
        RaciAssignment,
        gettext_lazy("RACI assignment"),
        fields=(),
        fixed=("area", "stakeholder", "role"),
        describe=lambda row: (
            _("%(role)s on %(area)s: %(person)s")
            % {"role": row.get_role_display(), "area": row.area.name, "person": row.stakeholder.display_name}
        ),
    )
)
register_fact_kind(
    FactKind(
        LaunchStakeholder,
        gettext_lazy("stakeholder slot"),
        fields=("stakeholder",),
        fixed=("function",),
        describe=lambda slot: slot.get_function_display(),
    )
)


@transaction.atomic
def create_standard_areas(
    *, launch: Launch, actor, reason: str = "Standard responsibility areas"
) -> list[ResponsibilityArea]:
    areas = []
    for kind, concerns in STANDARD_AREA_CONCERNS.items():
        # The name is the owner's to change, and stored: English, whatever the creator's language.
        area = ResponsibilityArea(
            launch=launch, kind=kind, name=in_english(AreaKind(kind).label), concerns=list(concerns)
        )
        areas.append(save_with_history(area, actor=actor, reason=reason))
    return areas


def raci_assign(*, area: ResponsibilityArea, stakeholder: Stakeholder, role: str, actor) -> RaciAssignment:
    """Give ``stakeholder`` a RACI role on an area; they may then view the launch. An Accountable
    for an area whose decisions need a function must serve that function (see the model)."""
    return fact_add(
        actor=actor,
        launch=area.launch,
        model=RaciAssignment,
        values={"area": area, "stakeholder": stakeholder, "role": role},
        reason=f"Assigned {role} on '{area.name}'",
    )


def launch_stakeholder_fill(
    *, slot: LaunchStakeholder, stakeholder: Stakeholder, actor, seen_version: int
) -> LaunchStakeholder:
    """Put a person who serves the slot's function in it; they may then view the launch."""
    return fact_change(
        actor=actor,
        fact=slot,
        seen_version=seen_version,
        values={"stakeholder": stakeholder},
        reason=f"{in_english(TeamFunction(slot.function).label)} filled by {stakeholder}",
    )


# Standard areas a launch does without, and why: read by "Responsibilities (RACI)", so ledgered.


@transaction.atomic
def area_omission_record(*, actor, launch: Launch, kind: str, reason: str) -> AreaOmission:
    """Record why ``launch`` does without the standard area ``kind``; "Responsibilities (RACI)" then accepts
    the missing area and quotes the reason. The owner only, on a launch that lacks that area."""
    reason = clean_text(reason, field="reason", required=_("Say why this launch does without the area."))
    launch = lock_launch(launch)
    require_change(actor, launch)
    refuse_if_archived(launch)
    omission = AreaOmission(launch=launch, kind=kind, reason=reason, recorded_by=actor)
    with english():
        save_with_history(omission, actor=actor, reason=f"Left out '{omission.get_kind_display()}'")
    record(
        event=LedgerEvent.AREA_OMITTED,
        launch=launch,
        actor=actor,
        payload={
            "omission": omission.pk,
            "area kind": omission.kind,
            "reason": omission.reason,
            "recorded at": omission.recorded_at.isoformat(),
        },
        seal=[omission],
    )
    return omission


@transaction.atomic
def area_omission_withdraw(*, actor, omission: AreaOmission, seen_version: int, reason: str) -> None:
    """Take back a recorded omission, as of the version the caller saw and saying why: the missing
    standard area fails "Responsibilities (RACI)" again until it is added or another reason is recorded. The
    owner only."""
    why = clean_text(reason, field="reason", required=_("Say why the launch no longer does without the area."))
    launch = lock_launch(omission.launch)
    require_change(actor, launch)
    refuse_if_archived(launch)
    try:
        omission = AreaOmission.objects.select_for_update().get(pk=omission.pk)
    except AreaOmission.DoesNotExist:
        raise ValidationError({"omission": _("This reason was already withdrawn.")}) from None
    require_version(
        omission,
        seen_version,
        what=_("The reason for leaving out '%(area)s'") % {"area": omission.get_kind_display()},
    )
    pk, kind, recorded = omission.pk, omission.kind, omission.reason
    with english():
        history_reason = f"No longer leaving out '{omission.get_kind_display()}': {why}"
    delete_with_history(omission, actor=actor, reason=history_reason)
    record(
        event=LedgerEvent.OMISSION_WITHDRAWN,
        launch=launch,
        actor=actor,
        payload={"omission": pk, "area kind": kind, "withdrawn reason": recorded, "why withdrawn": why},
        seal=[omission],
    )


# Team membership: who serves a function. Never the launch owner's choice.

MANAGE_TEAMS = "raci.manage_teams"


def _require_team_admin(actor, stakeholder: Stakeholder) -> None:
    if not (actor.is_active and actor.has_perm(MANAGE_TEAMS)):
        raise PermissionDenied(_("Only team administrators may change who serves a function."))
    if stakeholder.user_id == actor.pk:
        raise PermissionDenied(_("Nobody changes their own team membership; ask another team administrator."))


@transaction.atomic
def team_add_member(*, actor, team: Team, stakeholder: Stakeholder) -> Stakeholder:
    """Make ``stakeholder`` serve ``team``'s function; they may then be asked to sign off for it."""
    _require_team_admin(actor, stakeholder)
    stakeholder = Stakeholder.objects.select_for_update().get(pk=stakeholder.pk)
    if stakeholder.teams.filter(pk=team.pk).exists():
        raise ValidationError(
            {"team": _("%(person)s is already in %(team)s.") % {"person": stakeholder.display_name, "team": team.name}}
        )
    stakeholder._history_user = actor
    stakeholder._change_reason = f"Joined {team.name}"
    stakeholder.teams.add(team)
    membership = Stakeholder.teams.through.objects.get(stakeholder=stakeholder, team=team)
    record_facts(actor=actor, launch=None, rows=[membership])
    return stakeholder


@transaction.atomic
def team_remove_member(*, actor, team: Team, stakeholder: Stakeholder) -> Stakeholder:
    """``stakeholder`` no longer serves ``team``'s function: they cannot decide its sign-offs, fill
    its slots or be Accountable where it is needed, and lose the views only that gave them."""
    _require_team_admin(actor, stakeholder)
    stakeholder = Stakeholder.objects.select_for_update().get(pk=stakeholder.pk)
    if not stakeholder.teams.filter(pk=team.pk).exists():
        raise ValidationError(
            {"team": _("%(person)s is not in %(team)s.") % {"person": stakeholder.display_name, "team": team.name}}
        )
    team = Team.objects.select_for_update().get(pk=team.pk)
    if team.lead_id == stakeholder.pk:
        team.lead = None
        save_with_history(team, actor=actor, reason=f"{stakeholder.display_name} left the team")
    stakeholder._history_user = actor
    stakeholder._change_reason = f"Left {team.name}"
    membership = Stakeholder.teams.through.objects.get(stakeholder=stakeholder, team=team)
    stakeholder.teams.remove(team)
    record_facts(actor=actor, launch=None, removed=[(membership._meta.label, membership.pk)])
    return stakeholder


@transaction.atomic
def team_set_lead(*, actor, team: Team, stakeholder: Stakeholder | None) -> Team:
    """Name the team's lead (a member), or none."""
    if stakeholder is not None:
        _require_team_admin(actor, stakeholder)
    elif not actor.has_perm(MANAGE_TEAMS):
        raise PermissionDenied(_("Only team administrators may change who leads a team."))
    team = Team.objects.select_for_update().get(pk=team.pk)
    team.lead = stakeholder
    who = stakeholder.display_name if stakeholder else "nobody"
    return save_with_history(team, actor=actor, reason=f"Lead: {who}")


@transaction.atomic
def stakeholder_set_executive(*, actor, stakeholder: Stakeholder, executive: Stakeholder | None) -> Stakeholder:
    """Name the executive ``stakeholder``'s overdue sign-offs are escalated to (an executive-team
    member), or none (the executive teams' leads then). A reporting line, like team membership:
    team administrators set it, never the person themselves, so an owner cannot route their own
    escalations to someone who will not act."""
    _require_team_admin(actor, stakeholder)
    stakeholder = Stakeholder.objects.select_for_update().get(pk=stakeholder.pk)
    stakeholder.executive = executive
    who = executive.display_name if executive else "nobody"
    return save_with_history(stakeholder, actor=actor, reason=f"Executive: {who}")


def raci_unassign(*, actor, assignment: RaciAssignment, seen_version: int, reason: str = "") -> None:
    """Take a RACI role away; the person keeps viewing the launch only if another role grants it."""
    reason = reason or f"{in_english(Role(assignment.role).label)} on '{assignment.area.name}' no longer needed"
    fact_remove(actor=actor, fact=assignment, seen_version=seen_version, reason=reason)


@transaction.atomic
def raci_set_roles(
    *, actor, area: ResponsibilityArea, stakeholder: Stakeholder, roles, seen_versions: dict[int, int]
) -> list[RaciAssignment]:
    """Make ``roles`` exactly the roles ``stakeholder`` holds on ``area`` (one cell of the RACI
    grid), in one transaction: missing roles are assigned, others taken away as of the versions the
    caller saw (``seen_versions``: assignment id → version). A role someone else gave the person
    since the caller looked is never taken away unseen: that refuses the whole change."""
    roles = set(roles)
    unknown = roles - set(Role.values)
    if unknown:
        raise ValidationError({"roles": f"Unknown RACI role {', '.join(sorted(unknown))}; use R, A, C or I."})
    launch = lock_launch(area.launch)
    require_change(actor, launch)
    refuse_if_archived(launch)
    held = {a.role: a for a in RaciAssignment.objects.filter(area=area, stakeholder=stakeholder).order_by("pk")}
    for role, assignment in held.items():
        if role in roles:
            continue
        if assignment.pk not in seen_versions:
            raise EditConflict(
                f"{stakeholder.display_name} was made {assignment.get_role_display()} on '{area.name}' after you "
                "opened this; reload to see it."
            )
        raci_unassign(actor=actor, assignment=assignment, seen_version=seen_versions[assignment.pk])
    for role in sorted(roles - set(held)):
        raci_assign(area=area, stakeholder=stakeholder, role=role, actor=actor)
    return list(RaciAssignment.objects.filter(area=area, stakeholder=stakeholder).order_by("role"))


def launch_stakeholder_clear(*, actor, slot: LaunchStakeholder, seen_version: int) -> LaunchStakeholder:
    """Empty a launch's function slot."""
    return fact_change(
        actor=actor,
        fact=slot,
        seen_version=seen_version,
        values={"stakeholder": None},
        reason=f"{in_english(TeamFunction(slot.function).label)} slot emptied",
    )


# Agreements: the Accountable of the owning area agrees a quality bar or an SLO. The launch owner
# proposes numbers; they bind the owner only once someone else, who answers for them, agrees.


def _accountable_for(
    actor, launch: Launch, area: ResponsibilityArea | None, what: str, *, concern: str, fallback_kind: str
) -> ResponsibilityArea:
    """Refuse unless ``actor`` is, now, the Accountable of ``area`` and serves a function that
    answers for ``concern`` (selectors.concern_functions)."""
    if actor.pk == launch.owner_id:
        raise PermissionDenied(
            _("The launch owner proposes %(what)s; the Accountable of the owning area agrees, never the owner.")
            % {"what": what}
        )
    if area is None:
        raise ValidationError(
            {"area": _("No responsibility area owns %(what)s, so nobody can agree it.") % {"what": what}}
        )
    accountables = [a.stakeholder for a in area.assignments.all() if a.role == Role.ACCOUNTABLE]
    if actor.pk not in {person.user_id for person in accountables}:
        names = ", ".join(person.display_name for person in accountables) or _("nobody yet")
        raise PermissionDenied(
            _("Only the Accountable for '%(area)s' (%(names)s) may agree %(what)s.")
            % {"area": area.name, "names": names, "what": what}
        )
    functions = concern_functions(concern, fallback_kind)
    if functions and not any(serves_function(actor, function) for function in sorted(functions)):
        raise PermissionDenied(
            _("You are not in any %(functions)s team, so you cannot decide %(what)s for '%(area)s'.")
            % {"functions": function_labels(functions), "what": what, "area": area.name}
        )
    return area


def _areas(launch: Launch) -> list[ResponsibilityArea]:
    assignments = RaciAssignment.objects.select_related("stakeholder")
    return list(launch.areas.order_by("pk").prefetch_related(Prefetch("assignments", queryset=assignments)))


def _bar_accountable(actor, launch: Launch, metric: str, what: str) -> ResponsibilityArea:
    """``actor`` as the Accountable answering for ``metric`` (a quality bar's or its runs')."""
    area = owning_area(_areas(launch), metric)
    return _accountable_for(actor, launch, area, what, concern=metric, fallback_kind=AreaKind.MODEL_QUALITY)


def _slo_accountable(actor, launch: Launch, slo: SLO, what: str) -> ResponsibilityArea:
    """``actor`` as the Accountable answering for the SLO's concern (operations, by default)."""
    area = slo_owning_area(_areas(launch), slo.indicator)
    concern = SLO_CONCERNS.get(slo.indicator, "")
    return _accountable_for(actor, launch, area, what, concern=concern, fallback_kind=AreaKind.INFRASTRUCTURE)


def _locked(fact: models.Model, actor) -> tuple[Launch, models.Model]:
    launch = lock_launch(launch_of(fact))
    require_view(actor, launch)
    refuse_if_archived(launch)
    return launch, locked_fact(fact)


@transaction.atomic
def quality_bar_agree(*, actor, bar: QualityBar, seen_version: int) -> QualityBar:
    """The Accountable of the area owning the bar's metric agrees the bar as they saw it. Ledgered
    with the bar's definition; changing the definition later clears the agreement."""
    launch, bar = _locked(bar, actor)
    require_version(bar, seen_version, what=_("Quality bar '%(metric)s'") % {"metric": bar.metric})
    area = _bar_accountable(actor, launch, bar.metric, _("quality bar '%(metric)s'") % {"metric": bar.metric})
    if bar.agreed_by_id == actor.pk:
        raise ValidationError(
            {"agreed_by": _("You have already agreed quality bar '%(metric)s' as it stands.") % {"metric": bar.metric}}
        )
    bar.agreed_by, bar.agreed_at = actor, timezone.now()
    save_with_history(bar, actor=actor, reason=f"Agreed by the Accountable for '{area.name}'")
    record(
        event=LedgerEvent.BAR_AGREED,
        launch=launch,
        actor=actor,
        payload={**bar_definition(bar), "area": area.name},
        seal=[bar],
    )
    return bar


@transaction.atomic
def quality_bar_remove(*, actor, bar: QualityBar, seen_version: int, reason: str) -> None:
    """Drop a quality bar: the act of the Accountable who answers for it, with a reason, ledgered.
    (The owner may add bars and change them, which clears their agreement, but never drop one.)"""
    reason = clean_text(reason, field="reason", required=_("Say why the quality bar is removed."), max_length=500)
    launch, bar = _locked(bar, actor)
    require_version(bar, seen_version, what=_("Quality bar '%(metric)s'") % {"metric": bar.metric})
    area = _bar_accountable(actor, launch, bar.metric, _("quality bar '%(metric)s'") % {"metric": bar.metric})
    payload = {**bar_definition(bar), "removed": reason, "area": area.name}
    record(event=LedgerEvent.BAR_REDEFINED, launch=launch, actor=actor, payload=payload)
    delete_with_history(bar, actor=actor, reason=f"Removed by the Accountable for '{area.name}': {reason}")


@transaction.atomic
def slo_remove(*, actor, slo: SLO, seen_version: int, reason: str) -> None:
    """Drop an agreed SLO: the act of the Accountable of the area owning its concern, with a
    reason, ledgered. (The owner may remove an SLO nobody has agreed yet.)"""
    reason = clean_text(reason, field="reason", required=_("Say why the SLO is removed."), max_length=500)
    launch, slo = _locked(slo, actor)
    what = _("SLO '%(slo)s'") % {"slo": slo.get_indicator_display()}
    require_version(slo, seen_version, what=what)
    area = _slo_accountable(actor, launch, slo, what)
    payload = {**slo_definition(slo), "removed": reason, "was agreed": slo.agreed_by_id is not None, "area": area.name}
    record(event=LedgerEvent.SLO_REDEFINED, launch=launch, actor=actor, payload=payload)
    delete_with_history(slo, actor=actor, reason=f"Removed by the Accountable for '{area.name}': {reason}")


@transaction.atomic
def eval_run_remove(*, actor, run: EvalRun, seen_version: int, reason: str) -> None:
    """Remove a wrong evaluation run: the act of the Accountable of the area owning its bar's
    metric, with a reason kept in history; never the launch owner."""
    reason = clean_text(reason, field="reason", required=_("Say why the evaluation run is removed."), max_length=500)
    launch, run = _locked(run, actor)
    require_version(
        run,
        seen_version,
        what=_("Evaluation run %(failures)s/%(samples)s") % {"failures": run.failures, "samples": run.samples},
    )
    metric = run.quality_bar.metric
    area = _bar_accountable(
        actor, launch, metric, _("the evaluation runs of quality bar '%(metric)s'") % {"metric": metric}
    )
    delete_with_history(run, actor=actor, reason=f"Removed by the Accountable for '{area.name}': {reason}")


@transaction.atomic
def eval_run_accept(*, actor, run: EvalRun, seen_version: int) -> EvalRun:
    """Accept an evaluation run that waits for acceptance (one the launch owner recorded, or one
    recorded while the bar's counting evidence failed), so it counts as evidence: someone who
    serves the bar's function (ML for a quality metric) and may view the launch — never the
    launch owner, never whoever recorded the run. Ledgered; until then the earlier run keeps counting."""
    launch, run = _locked(run, actor)
    what = _("Evaluation run %(failures)s/%(samples)s") % {"failures": run.failures, "samples": run.samples}
    require_version(run, seen_version, what=what)
    if not run.needs_acceptance or run.accepted_by_id is not None:
        raise ValidationError({"accepted_by": _("%(what)s needs no acceptance; it counts already.") % {"what": what}})
    if actor.pk == launch.owner_id:
        raise PermissionDenied(_("You own this launch; someone of the bar's function must accept its evidence."))
    if actor.pk == run.recorded_by_id:
        raise PermissionDenied(_("You recorded this run; someone else of the bar's function must accept it."))
    bar = run.quality_bar
    functions = bar_functions(bar.metric)
    if not any(serves_function(actor, function) for function in sorted(functions)):
        raise PermissionDenied(
            _("You are not in any %(functions)s team, so you cannot accept evidence for quality bar '%(metric)s'.")
            % {"functions": function_labels(functions), "metric": bar.metric}
        )
    run.accepted_by, run.accepted_at = actor, timezone.now()
    save_with_history(run, actor=actor, reason=f"Accepted as evidence for '{bar.metric}'")
    record(
        event=LedgerEvent.EVAL_RUN_ACCEPTED, launch=launch, actor=actor, payload=eval_run_acceptance(run), seal=[run]
    )
    return run


def eval_run_acceptance(run: EvalRun) -> dict:
    """What the ledger keeps of an accepted run (and what ``verify_ledger`` compares the row against)."""
    return {
        "evaluation run": run.pk,
        "quality bar": run.quality_bar_id,
        "samples": run.samples,
        "failures": run.failures,
        "golden set": f"{run.golden_set_name} {run.golden_set_version}",
        "measured version": run.measured_version,
        "recorded by": run.recorded_by.get_username() if run.recorded_by_id else None,
        "accepted at": run.accepted_at.isoformat() if run.accepted_at else None,
    }


@transaction.atomic
def slo_agree(*, actor, slo: SLO, seen_version: int) -> SLO:
    """The Accountable of the area owning the SLO's concern (operations, by default) agrees its
    target and alert as they saw them, which also confirms any value the template proposed."""
    launch, slo = _locked(slo, actor)
    label = slo.get_indicator_display()
    what = _("SLO '%(slo)s'") % {"slo": label}
    require_version(slo, seen_version, what=what)
    area = _slo_accountable(actor, launch, slo, what)
    if slo.agreed_by_id == actor.pk:
        raise ValidationError({"agreed_by": _("You have already agreed SLO '%(slo)s' as it stands.") % {"slo": label}})
    slo.agreed_by, slo.agreed_at = actor, timezone.now()
    confirmed = [name for name in slo.proposed if name in SLO.AGREED_FIELDS]
    slo.proposed = [name for name in slo.proposed if name not in SLO.AGREED_FIELDS]
    note = f"; confirms the proposed {', '.join(n.replace('_', ' ') for n in confirmed)}" if confirmed else ""
    save_with_history(slo, actor=actor, reason=f"Agreed by the Accountable for '{area.name}'{note}")
    record(
        event=LedgerEvent.SLO_AGREED,
        launch=launch,
        actor=actor,
        payload={**slo_definition(slo), "area": area.name},
        seal=[slo],
    )
    return slo


# Personal and confidential data: what the launch must show for it (items 5 and 6, legal and
# security sign-offs) binds the owner, so lowering its class or dropping it is the privacy Accountable's act.


def _sensitive_asset(actor, asset: DataAsset, seen_version: int) -> tuple[Launch, DataAsset, ResponsibilityArea]:
    launch, asset = _locked(asset, actor)
    require_version(asset, seen_version, what=_("Data asset '%(name)s'") % {"name": asset.name})
    if not asset.is_sensitive:
        raise ValidationError(
            {
                "classification": _("Data asset '%(name)s' is not personal or confidential; its owner changes it.")
                % {"name": asset.name}
            }
        )
    what = _("declassifying or removing data asset '%(name)s'") % {"name": asset.name}
    area = privacy_owning_area(_areas(launch))
    return launch, asset, _accountable_for(actor, launch, area, what, concern="privacy", fallback_kind=AreaKind.POLICY)


def _record_declassification(*, launch, actor, asset, before: str, after: str, reason: str, area) -> None:
    payload = {"data asset": asset.pk, "name": asset.name, "from": before, "to": after, "reason": reason}
    record(
        event=LedgerEvent.DATA_DECLASSIFIED,
        launch=launch,
        actor=actor,
        payload={**payload, "area": area.name},
        seal=[asset],
    )


@transaction.atomic
def data_asset_declassify(*, actor, asset: DataAsset, seen_version: int, classification: str, reason: str) -> DataAsset:
    """Lower a personal or confidential asset's class, with a reason, ledgered: the current
    Accountable of the area owning privacy (the policy area), never the launch owner."""
    reason = clean_text(reason, field="reason", required=_("Say why the data is less sensitive than recorded."))
    launch, asset, area = _sensitive_asset(actor, asset, seen_version)
    before = asset.classification
    if SENSITIVITY.get(classification, 0) >= SENSITIVITY[before]:
        raise ValidationError(
            {"classification": _("Declassifying lowers the class; raise it or change anything else as the owner.")}
        )
    asset.classification = classification
    save_with_history(asset, actor=actor, reason=f"Declassified by the Accountable for '{area.name}': {reason}")
    _record_declassification(
        launch=launch, actor=actor, asset=asset, before=before, after=classification, reason=reason, area=area
    )
    return asset


@transaction.atomic
def data_asset_remove(*, actor, asset: DataAsset, seen_version: int, reason: str) -> None:
    """Drop a personal or confidential asset from the launch, with a reason, ledgered: the current
    Accountable of the area owning privacy, never the launch owner."""
    reason = clean_text(reason, field="reason", required=_("Say why the launch no longer holds this data."))
    launch, asset, area = _sensitive_asset(actor, asset, seen_version)
    before, pk = asset.classification, asset.pk
    delete_with_history(asset, actor=actor, reason=f"Removed by the Accountable for '{area.name}': {reason}")
    asset.pk = pk  # the entry names and seals the row the history keeps
    _record_declassification(
        launch=launch, actor=actor, asset=asset, before=before, after="removed", reason=reason, area=area
    )


def _contribute_to_template(*, launch: Launch, template: LaunchTemplate, actor) -> None:
    reason = f"Created from template '{template.name}'"
    create_standard_areas(launch=launch, actor=actor, reason=reason)
    for function in template.stakeholder_functions:
        save_with_history(LaunchStakeholder(launch=launch, function=function), actor=actor, reason=reason)


for _template_key in TEMPLATES:
    register_contributor(_template_key, _contribute_to_template)


# A person's own settings.


@transaction.atomic
def language_set(*, actor, language: str) -> LanguagePreference:
    """Keep ``actor``'s choice of language (one of ``settings.LANGUAGES``) for their pages and
    mails, on any browser they sign in from. Anyone signed in, for themselves only."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied(_("Sign in to choose a language."))
    available = dict(settings.LANGUAGES)
    if not isinstance(language, str) or language not in available:
        raise ValidationError(
            {
                "language": _("Choose one of the available languages: %(languages)s.")
                % {"languages": ", ".join(available)}
            }
        )
    preference, _created = LanguagePreference.objects.select_for_update().get_or_create(
        user=actor, defaults={"language": language}
    )
    if preference.language != language:
        preference.language = language
        preference.save(update_fields=["language", "updated_at"])
    return preference
