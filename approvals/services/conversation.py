"""The conversation on a sign-off request: comments, questions to the launch owner and replies,
so that asking for changes is a dialogue. Only the people the request is between may post — the
launch's owner side (its owner, who raised the request, who may change the launch) and the
approvers (the addressees and their delegates); everyone else who sees the launch reads it.
Each message is kept (history), ledgered (the launch's history shows it) and told to the other
party: a question to the owner, a reply to who wrote what it answers, a comment across."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ledger import chain
from ledger.events import LedgerEvent
from notifications.services import notify
from readiness.access import CHANGE_LAUNCH, refuse_if_archived, require_view
from readiness.history import save_with_history
from readiness.people import person_name
from readiness.validators import clean_text

from ..choices import MessageKind, NotificationEvent
from ..models import SignoffComment, SignoffDecision, SignoffRequest
from ._common import locked_request, moment, refuse_if_closed

# What each kind of message tells its recipients (``approvals.notices`` words them).
_EVENTS = {
    MessageKind.QUESTION: NotificationEvent.SIGNOFF_QUESTION,
    MessageKind.REPLY: NotificationEvent.SIGNOFF_REPLY,
    MessageKind.COMMENT: NotificationEvent.SIGNOFF_COMMENT,
}
TOKEN_MAX_LENGTH = 40


def owner_side(user, signoff: SignoffRequest) -> bool:
    """``user`` answers for the launch in this conversation: its owner, who raised the request,
    or someone who may change the launch."""
    launch = signoff.launch
    return user.pk in (launch.owner_id, signoff.requested_by_id) or user.has_perm(CHANGE_LAUNCH, launch)


def approver_side(user, signoff: SignoffRequest) -> bool:
    """``user`` is asked for this sign-off: an addressee, or someone an addressee delegated to."""
    return signoff.addressees.filter(pk=user.pk).exists() or signoff.delegations.filter(delegate_id=user.pk).exists()


def may_post(user, signoff: SignoffRequest) -> bool:
    """Whether ``user`` may write in the conversation on ``signoff`` (the service's rule)."""
    return user.is_authenticated and (owner_side(user, signoff) or approver_side(user, signoff))


@transaction.atomic
def signoff_comment(
    *,
    actor,
    signoff: SignoffRequest,
    kind: str,
    body: str,
    in_reply_to: SignoffComment | None = None,
    token: str = "",
    now: datetime.datetime | None = None,
) -> SignoffComment:
    """Post a comment, a question to the launch owner, or a reply (``in_reply_to``, a message of
    the same request). Posting again with the same ``token`` returns the message already
    recorded, without recording or telling anything twice."""
    signoff = locked_request(signoff)
    require_view(actor, signoff.launch)
    if not may_post(actor, signoff):
        raise PermissionDenied(
            _("Only the launch's owner and the people asked for this sign-off may write in its conversation.")
        )
    token = clean_text(token, field="token", max_length=TOKEN_MAX_LENGTH)
    if token:
        already = SignoffComment.objects.filter(request=signoff, author=actor, token=token).first()
        if already is not None:
            return already
    refuse_if_archived(signoff.launch)
    refuse_if_closed(signoff)
    if kind not in _EVENTS:
        raise ValidationError({"kind": _("Choose a comment, a question or a reply.")})
    body = clean_text(body, field="body", required=_("Write a message."))
    if kind == MessageKind.QUESTION and owner_side(actor, signoff):
        raise ValidationError(
            {"kind": _("Questions go to the launch owner; as the launch's owner side, post a comment or a reply.")}
        )
    if kind == MessageKind.REPLY:
        if in_reply_to is None or in_reply_to.request_id != signoff.pk:
            raise ValidationError({"in_reply_to": _("Reply to a message of this conversation.")})
    else:
        in_reply_to = None
    message = _record(
        signoff=signoff, actor=actor, kind=kind, body=body, in_reply_to=in_reply_to, token=token, now=moment(now)
    )
    notify(
        event=_EVENTS[kind],
        key=f"signoff-message:{message.pk}",
        launch=signoff.launch,
        actor=actor,
        recipients=_told(actor, signoff, kind, in_reply_to),
        payload={
            "launch": signoff.launch.name,
            "stage": signoff.stage.name,
            "function": signoff.function,
            "person": person_name(actor),
            "text": body,
        },
        link=f"{signoff.get_absolute_url()}#message-{message.pk}",
    )
    return message


def _record(
    *, signoff, actor, kind, body, in_reply_to=None, decision=None, token="", now, ledgered: bool = True
) -> SignoffComment:
    message = save_with_history(
        SignoffComment(
            request=signoff,
            author=actor,
            kind=kind,
            body=body,
            in_reply_to=in_reply_to,
            decision=decision,
            token=token,
            created_at=now,
        ),
        actor=actor,
        reason=f"{MessageKind(kind).label} posted",
    )
    if not ledgered:
        return message
    chain.append(
        event=LedgerEvent.SIGNOFF_MESSAGE,
        launch=signoff.launch,
        actor=actor,
        payload={
            "request": signoff.pk,
            "message": message.pk,
            "kind": kind,
            "in reply to": in_reply_to.pk if in_reply_to else None,
            "decision": decision.pk if decision else None,
            "stage": signoff.stage.name,
            "function": signoff.function,
            "text": body,
            "posted at": now.isoformat(),
        },
        seal=[message],
    )
    return message


def open_with_decision(*, actor, signoff: SignoffRequest, decision: SignoffDecision) -> SignoffComment:
    """A rejection's or change request's comment as the first message of the conversation (called
    by ``signoff_decide`` inside its transaction). The decision's ledger entry already records the
    text and its notice tells the owner, so this message adds neither: one entry per decision."""
    return _record(
        signoff=signoff,
        actor=actor,
        kind=MessageKind.DECISION,
        body=decision.comment,
        decision=decision,
        now=decision.decided_at,
        ledgered=False,
    )


def _told(actor, signoff: SignoffRequest, kind: str, in_reply_to: SignoffComment | None) -> list:
    """Who hears of a message: the owner of a question; the author of what a reply answers; the
    other side of a comment."""
    if kind == MessageKind.QUESTION:
        return [signoff.launch.owner]
    if kind == MessageKind.REPLY:
        return [in_reply_to.author]
    if owner_side(actor, signoff):
        delegates = signoff.delegations.values_list("delegate_id", flat=True)
        return list(
            get_user_model()
            .objects.filter(pk__in=[*signoff.addressees.values_list("pk", flat=True), *delegates])
            .order_by("pk")
        )
    return [signoff.launch.owner]
