from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger import chain
from ledger.events import LedgerEvent
from notifications.services import notify
from raci.choices import Role
from readiness.access import refuse_if_archived, require_change, require_view
from readiness.checklist import Readiness, evaluate
from readiness.history import save_with_history
from readiness.models import Launch, RolloutStage
from readiness.people import person_name
from readiness.selectors import launch_with_facts
from readiness.stage_events import stage_rolled_back
from readiness.validators import clean_text

from ..choices import NotificationEvent
from ..models import Acknowledgement, InformedNotice, PolicyChange, SignoffRequest, Waiver
from ..notices import people_on_launch
from ..snapshot import fingerprint, launch_snapshot
from ._common import moment, stage_of


def stage_record_kept(stage: RolloutStage) -> dict[str, str]:
    """A stage with sign-off requests, waivers, policy changes, acknowledgements or informed notices
    on record is not removed: they would go with it (or, once decided, make removing it fail)."""
    on_record = (
        SignoffRequest.objects.filter(stage=stage).exists()
        or Waiver.objects.filter(stage=stage).exists()
        or PolicyChange.objects.filter(stage=stage).exists()
        or Acknowledgement.objects.filter(stage=stage).exists()
        or InformedNotice.objects.filter(stage=stage).exists()
    )
    if not on_record:
        return {}
    return {
        "fact": _(
            "Stage '%(stage)s' has sign-off requests on record, so it is not removed: the record is kept. "
            "Rename it or change its date or exposure instead."
        )
        % {"stage": stage.name}
    }


class GateRefused(ValidationError):
    """The stage gate said no; ``readiness`` holds the refusals (e.g. not the next stage), then the blockers."""

    def __init__(self, readiness: Readiness) -> None:
        self.readiness = readiness
        lines = readiness.refusals + [f"{r.title}: {reason}" for r in readiness.blockers for reason in r.reasons]
        super().__init__(
            {
                "stage": [
                    _("May not enter %(stage)s: %(reason)s") % {"stage": readiness.stage.name, "reason": line}
                    for line in lines
                ]
            }
        )


# Stage gate --------------------------------------------------------------------------------


@transaction.atomic
def stage_advance(*, actor, launch: Launch, stage: RolloutStage, now: datetime.datetime | None = None) -> Readiness:
    """Move ``launch`` forward to ``stage`` only when its checklist passes and every sign-off is
    approved and fresh. Locks the launch and the stage's requests first, so a decision racing
    the advance is either seen by the gate or waits for it."""
    require_change(actor, launch)
    locked = Launch.objects.select_for_update(of=("self",), no_key=True).get(pk=launch.pk)
    refuse_if_archived(locked)
    stage_of(locked, stage)
    list(
        SignoffRequest.objects.select_for_update(of=("self",))
        .filter(launch=locked, stage=stage)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    facts = launch_with_facts(locked.pk)
    stage = next(s for s in facts.stages.all() if s.pk == stage.pk)
    current = facts.current_stage
    # The rollout order is one of the readiness refusals, so the gate and the `readiness` command agree.
    readiness = evaluate(facts, stage, now=moment(now))
    if not readiness.may_enter:
        raise GateRefused(readiness)
    previous_name = current.name if current else "planning"
    locked.current_stage = stage
    save_with_history(locked, actor=actor, reason=f"Advanced from {previous_name} to {stage.name}")
    chain.append(
        event=LedgerEvent.STAGE_ADVANCED,
        launch=locked,
        actor=actor,
        payload={
            "from": previous_name,
            "to": stage.name,
            "exposure percent": format(stage.exposure_percent.normalize(), "f"),
            "checklist": {r.key: str(r.status) for r in readiness.results},
        },
        snapshot_hash=fingerprint(launch_snapshot(facts, stage)),
        seal=[locked],
    )
    _notify_stage_change(NotificationEvent.STAGE_ADVANCED, locked, actor, previous_name, stage.name, "")
    return readiness


def _is_accountable(user, launch: Launch) -> bool:
    return launch.areas.filter(assignments__role=Role.ACCOUNTABLE, assignments__stakeholder__user=user).exists()


@transaction.atomic
def stage_rollback(
    *,
    actor,
    launch: Launch,
    stage: RolloutStage,
    reason: str,
    duration: datetime.timedelta | None = None,
    incident_id: int | None = None,
    now: datetime.datetime | None = None,
) -> Launch:
    """Go back to an earlier stage. Always allowed to the owner and the launch's Accountables.

    Every rollback is also recorded as an execution by whoever receives
    ``readiness.stage_events.stage_rolled_back`` (``operations``), in this transaction, with the
    optional ``duration`` (how long it took) and ``incident_id`` (the incident that caused it);
    a receiver's refusal (say, an incident of another launch) undoes the rollback. ``now`` dates
    the execution (loading history that happened earlier, as ``stage_advance``'s does)."""
    require_view(actor, launch)
    # Lock only the launch row: PostgreSQL cannot lock the nullable side of the stage join.
    locked = (
        Launch.objects.select_for_update(of=("self",), no_key=True).select_related("current_stage").get(pk=launch.pk)
    )
    if actor.pk != locked.owner_id and not _is_accountable(actor, locked):
        raise PermissionDenied(_("Only the launch owner or an Accountable may roll the launch back."))
    refuse_if_archived(locked)
    stage_of(locked, stage)
    reason = clean_text(reason, field="reason", required=_("Say why the launch is rolled back."))
    current = locked.current_stage
    if current is None or stage.order >= current.order:
        raise ValidationError(
            {"stage": _("%(stage)s is not before the current stage; nothing to roll back.") % {"stage": stage.name}}
        )
    locked.current_stage = stage
    save_with_history(locked, actor=actor, reason=f"Rolled back from {current.name} to {stage.name}: {reason}")
    stage_rolled_back.send(
        sender=Launch,
        launch=locked,
        actor=actor,
        from_stage=current,
        to_stage=stage,
        reason=reason,
        at=now or timezone.now(),
        duration=duration,
        incident_id=incident_id,
    )
    payload = {"from": current.name, "to": stage.name, "reason": reason}
    if duration is not None:
        payload["duration seconds"] = int(duration.total_seconds())
    if incident_id is not None:
        payload["incident"] = incident_id
    chain.append(event=LedgerEvent.STAGE_ROLLED_BACK, launch=locked, actor=actor, payload=payload, seal=[locked])
    _notify_stage_change(NotificationEvent.STAGE_ROLLED_BACK, locked, actor, current.name, stage.name, reason)
    return locked


def _notify_stage_change(event: str, launch: Launch, actor, from_name: str, to_name: str, reason: str) -> None:
    """Tell everyone on the launch; the key is the moment of the change, so a stage entered again
    after a rollback is news again."""
    notify(
        event=event,
        key=f"launch:{launch.pk}:{to_name}:{timezone.now().isoformat()}"[:100],
        launch=launch,
        actor=actor,
        recipients=people_on_launch(launch),
        payload={"launch": launch.name, "from": from_name, "to": to_name, "person": person_name(actor), "text": reason},
        link=launch.get_absolute_url(),
    )
