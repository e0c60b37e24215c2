from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger import chain
from ledger.events import LedgerEvent
from notifications.services import notices_answered, notify
from raci.models import Team
from raci.selectors import serves_function
from readiness.access import refuse_if_archived, require_view
from readiness.history import save_with_history
from readiness.i18n import in_english, shown_date
from readiness.people import person_name
from readiness.validators import clean_text

from ..choices import OUTCOMES_NEEDING_COMMENT, DecisionOutcome, NotificationEvent, request_status
from ..models import Acknowledgement, SignoffDecision, SignoffDelegation, SignoffRequest
from ..notices import owner_and_accountables
from ..snapshot import diff_snapshots, fingerprint
from ._common import facts_now, locked_request, moment, refuse_if_closed
from .conversation import open_with_decision

# Decisions ---------------------------------------------------------------------------------


def _acting_for(actor, signoff: SignoffRequest):
    """The addressee ``actor`` decides for: themselves, or whoever delegated to them. Both the
    addressee and their delegate act for the same seat: the newer decision supersedes the other,
    and both stay on the record."""
    if signoff.addressees.filter(pk=actor.pk).exists():
        seat = actor
    else:
        delegation = signoff.delegations.filter(delegate=actor).select_related("delegator").first()
        if delegation is None:
            raise PermissionDenied(_("This request is not addressed or delegated to you."))
        seat = delegation.delegator
    # Who serves a function is checked again when they act: leaving the team ends the right to
    # decide for it, for the addressee and for anyone they delegated to.
    label = signoff.get_function_display()
    for person in dict.fromkeys((actor, seat)):
        if not serves_function(person, signoff.function):
            raise PermissionDenied(
                _("%(person)s no longer serves %(function)s, so cannot decide this request.")
                % {"person": person_name(person), "function": label}
            )
    return seat


@transaction.atomic
def signoff_decide(
    *,
    actor,
    signoff: SignoffRequest,
    outcome: str,
    comment: str = "",
    expected_fingerprint: str | None = None,
    now: datetime.datetime | None = None,
) -> SignoffDecision:
    """Approve, reject or request changes. Supersedes the addressee's previous decision, stores
    the snapshot of the facts decided on, and appends to the ledger.

    ``expected_fingerprint`` is the fingerprint of the facts the approver was shown; when the
    facts changed since, the decision is refused with what changed, so nobody approves facts
    they never saw. Pages and the API pass it; scripts may omit it."""
    signoff = locked_request(signoff)
    require_view(actor, signoff.launch)
    if actor.pk == signoff.requested_by_id:
        raise PermissionDenied(_("You raised this request; someone else must decide it."))
    if actor.pk == signoff.launch.owner_id:
        raise PermissionDenied(_("You own this launch; nobody decides a sign-off of their own launch."))
    on_behalf_of = _acting_for(actor, signoff)
    refuse_if_archived(signoff.launch)
    refuse_if_closed(signoff)
    if outcome not in DecisionOutcome.values:
        raise ValidationError(
            {
                "outcome": _("Unknown outcome '%(outcome)s'. Choose approve, reject or request_changes.")
                % {"outcome": outcome}
            }
        )
    comment = clean_text(comment, field="comment")
    if outcome in OUTCOMES_NEEDING_COMMENT and not comment:
        raise ValidationError(
            {
                "comment": _("A comment is required to %(outcome)s.")
                % {"outcome": DecisionOutcome(outcome).label.lower()}
            }
        )

    snapshot = facts_now(signoff)
    if expected_fingerprint is not None and expected_fingerprint != fingerprint(snapshot):
        shown = next((d.snapshot for d in signoff.decisions.all() if d.fingerprint == expected_fingerprint), None)
        changes = "; ".join(diff_snapshots(shown, snapshot)) if shown else _("reload to see them")
        raise ValidationError(
            {"request": _("The facts changed since you opened this request: %(changes)s.") % {"changes": changes}}
        )
    now = moment(now)
    superseded = list(
        SignoffDecision.objects.select_for_update(of=("self",)).filter(
            request=signoff, on_behalf_of=on_behalf_of, superseded_at__isnull=True
        )
    )
    for previous in superseded:
        previous.superseded_at = now
        previous._history_user = actor
        previous._change_reason = "Superseded by a newer decision"
        previous.save(update_fields=["superseded_at"])
    decision = SignoffDecision(
        request=signoff,
        decided_by=actor,
        on_behalf_of=on_behalf_of,
        outcome=outcome,
        comment=comment,
        fingerprint=fingerprint(snapshot),
        snapshot=snapshot,
        decided_at=now,
    )
    try:
        with transaction.atomic():
            save_with_history(decision, actor=actor, reason=in_english(DecisionOutcome(outcome).label))
    except IntegrityError:
        raise ValidationError(
            {"request": _("Someone decided this request at the same moment; reload and try again.")}
        ) from None
    current = SignoffDecision.objects.filter(request=signoff, superseded_at__isnull=True)
    signoff.status = request_status([d.outcome for d in current], signoff.approvals_required)
    save_with_history(
        signoff, actor=actor, reason=f"{in_english(DecisionOutcome(outcome).label)} by {person_name(actor)}"
    )
    if outcome in OUTCOMES_NEEDING_COMMENT:
        # "Request changes" (or a rejection) opens the conversation with its comment, so the owner
        # can answer it there.
        open_with_decision(actor=actor, signoff=signoff, decision=decision)
    chain.append(
        event=LedgerEvent.DECIDED,
        launch=signoff.launch,
        actor=actor,
        payload={
            "request": signoff.pk,
            "decision": decision.pk,
            "stage": signoff.stage.name,
            "function": signoff.function,
            "outcome": outcome,
            "comment": comment,
            "on behalf of": on_behalf_of.get_username(),
            "decided at": now.isoformat(),
            "supersedes": [previous.pk for previous in superseded],
        },
        snapshot_hash=decision.fingerprint,
        seal=[*superseded, decision, signoff],
    )
    notify(
        event=NotificationEvent.SIGNOFF_DECIDED,
        key=f"decision:{decision.pk}",
        launch=signoff.launch,
        actor=actor,
        recipients=owner_and_accountables(signoff.launch),
        payload={
            "launch": signoff.launch.name,
            "stage": signoff.stage.name,
            "function": signoff.function,
            "person": person_name(actor),
            "outcome": outcome,
            "text": comment,
        },
        link=signoff.get_absolute_url(),
    )
    # What asked them for this decision waits for them no more.
    notices_answered(
        people={actor, on_behalf_of}, event=NotificationEvent.SIGNOFF_REQUESTED, keys=[f"request:{signoff.pk}"]
    )
    if on_behalf_of.pk != actor.pk:  # a delegate decided: the delegation asked them
        delegations = signoff.delegations.filter(delegate=actor).values_list("pk", flat=True)
        notices_answered(
            people=[actor], event=NotificationEvent.SIGNOFF_DELEGATED, keys=[f"delegation:{pk}" for pk in delegations]
        )
    return decision


@transaction.atomic
def signoff_delegate(*, actor, signoff: SignoffRequest, delegate, reason: str = "") -> SignoffDelegation:
    """An addressee hands their decision to another member of a team of the request's function."""
    signoff = locked_request(signoff)
    require_view(actor, signoff.launch)
    if not signoff.addressees.filter(pk=actor.pk).exists():
        raise PermissionDenied(_("Only an addressee of this request may delegate it."))
    refuse_if_archived(signoff.launch)
    refuse_if_closed(signoff)
    reason = clean_text(reason, field="reason")
    if delegate.pk == actor.pk:
        raise ValidationError({"delegate": _("You cannot delegate to yourself.")})
    if delegate.pk == signoff.requested_by_id:
        raise ValidationError({"delegate": _("The person who raised the request cannot decide it.")})
    if delegate.pk == signoff.launch.owner_id:
        raise ValidationError({"delegate": _("The launch's owner cannot decide a sign-off of their own launch.")})
    names = {"person": person_name(delegate), "function": signoff.get_function_display()}
    if not delegate.is_active:
        raise ValidationError({"delegate": _("%(person)s is deactivated.") % names})
    if not serves_function(actor, signoff.function):
        raise PermissionDenied(_("You no longer serve %(function)s, so cannot delegate this request.") % names)
    shared = Team.objects.filter(function=signoff.function, members__user=actor).filter(members__user=delegate)
    if not shared.exists():
        raise ValidationError({"delegate": _("%(person)s is not in any %(function)s team with you.") % names})
    if signoff.delegations.filter(delegator=actor).exists():
        raise ValidationError({"delegate": _("You have already delegated this request.")})
    if signoff.addressees.filter(pk=delegate.pk).exists():
        raise ValidationError(
            {"delegate": _("%(person)s is already asked for this sign-off in their own right.") % names}
        )
    if signoff.delegations.filter(delegate=delegate).exists():
        raise ValidationError({"delegate": _("%(person)s already decides this request for someone else.") % names})
    delegation = save_with_history(
        SignoffDelegation(request=signoff, delegator=actor, delegate=delegate, reason=reason),
        actor=actor,
        reason=f"Delegated to {person_name(delegate)}",
    )
    chain.append(
        event=LedgerEvent.DELEGATED,
        launch=signoff.launch,
        actor=actor,
        payload={
            "request": signoff.pk,
            "delegation": delegation.pk,
            "from": actor.get_username(),
            "to": delegate.get_username(),
            "reason": reason,
        },
        seal=[delegation],
    )
    notify(
        event=NotificationEvent.SIGNOFF_DELEGATED,
        key=f"delegation:{delegation.pk}",
        launch=signoff.launch,
        actor=actor,
        recipients=[delegate],
        payload={
            "launch": signoff.launch.name,
            "stage": signoff.stage.name,
            "function": signoff.function,
            "person": person_name(actor),
            "text": reason,
        },
        link=signoff.get_absolute_url(),
    )
    return delegation


@transaction.atomic
def acknowledge(*, actor, acknowledgement: Acknowledgement, comment: str = "") -> Acknowledgement:
    """A Consulted person acknowledges a stage, optionally with a comment."""
    acknowledgement = (
        Acknowledgement.objects.select_for_update(of=("self",))
        .select_related("launch", "stage")
        .get(pk=acknowledgement.pk)
    )
    require_view(actor, acknowledgement.launch)
    if acknowledgement.user_id != actor.pk:
        raise PermissionDenied(_("Only the person consulted may acknowledge."))
    refuse_if_archived(acknowledgement.launch)
    if acknowledgement.acknowledged_at is not None:
        raise ValidationError(
            {
                "acknowledgement": _("Already acknowledged on %(date)s.")
                % {"date": shown_date(acknowledgement.acknowledged_at)}
            }
        )
    comment = clean_text(comment, field="comment")
    acknowledgement.acknowledged_at = timezone.now()
    acknowledgement.comment = comment
    save_with_history(acknowledgement, actor=actor, reason="Acknowledged")
    chain.append(
        event=LedgerEvent.ACKNOWLEDGED,
        launch=acknowledgement.launch,
        actor=actor,
        payload={
            "acknowledgement": acknowledgement.pk,
            "stage": acknowledgement.stage.name,
            "comment": acknowledgement.comment,
            "acknowledged at": acknowledgement.acknowledged_at.isoformat(),
        },
        seal=[acknowledgement],
    )
    notices_answered(
        people=[actor],
        event=NotificationEvent.ACKNOWLEDGEMENT_REQUESTED,
        keys=[f"acknowledgement:{acknowledgement.pk}"],
    )
    return acknowledgement
