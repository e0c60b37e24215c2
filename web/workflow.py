"""Sign-offs and stage changes in the browser: request, the approver's inbox and decision page,
advance and roll back. Every action calls the approvals services, which check who may act; the
pages only show the controls to those allowed."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from approvals.access import DECIDE_REQUEST, get_acknowledgement_for, get_signoff_for
from approvals.agreements import launches_for_agreements, waiting_agreements
from approvals.choices import OUTCOMES_NEEDING_COMMENT, MessageKind
from approvals.models import Acknowledgement, SignoffComment, SignoffDecision, SignoffRequest
from approvals.policies import Requirement, effective_requirements
from approvals.routing import default_addressees
from approvals.selectors import open_request, policy_changes_awaiting, requests_awaiting, waivers_awaiting
from approvals.services import (
    acknowledge,
    may_post,
    signoff_ask_again,
    signoff_comment,
    signoff_decide,
    signoff_delegate,
    signoff_withdraw,
    signoffs_request,
    stage_advance,
    stage_rollback,
)
from approvals.services.conversation import owner_side
from approvals.services.gate import GateRefused
from approvals.services.requests import _addressees_for
from approvals.snapshot import fingerprint, launch_snapshot
from notifications.audience import sees_launch
from operations.models import Incident
from presentation.facts import agreements_awaiting, fact_sections, runs_awaiting
from presentation.review import plain_reasons, readable_change_lines, readable_changes, sections_for_function
from readiness.access import CHANGE_LAUNCH, get_launch_for
from readiness.checklist import evaluate, registry
from readiness.models import Launch
from readiness.people import person_name
from readiness.selectors import launch_with_facts

from .forms import (
    ChooseAddresseesForm,
    DecisionForm,
    DelegateForm,
    MessageForm,
    RequestSignoffsForm,
    RollbackForm,
    add_service_errors,
)
from .page_cache import cached_page

# The snapshots shown on decision pages, by fingerprint, kept in the session so that a refused
# decision can say what changed since (the server's copy, not one the browser sends back).
SHOWN_SNAPSHOTS = "shown_snapshots"
SHOWN_KEEP = 20


@dataclass
class Suggestion:
    """Whom a request for one required function would go to, as routing decides, and why nobody
    (or not enough people) can be asked, in the service's own words."""

    requirement: Requirement
    people: list
    problem: str = ""
    replaces: SignoffRequest | None = None


def addressee_suggestions(facts: Launch, stage, actor) -> list[Suggestion]:
    """Per required function of ``stage``: the routed addressees, checked by the same helper the
    request service uses, so the page names a refusal before the owner submits."""
    suggestions = []
    for requirement in effective_requirements(facts, stage):
        people = default_addressees(facts, requirement.function, exclude_user_id=actor.pk)
        problem = ""
        try:
            _addressees_for(facts, requirement, people or None, actor)
        except ValidationError as error:
            problem = " ".join(error.messages)
        suggestions.append(Suggestion(requirement, people, problem, open_request(facts, stage, requirement.function)))
    return suggestions


@require_http_methods(["GET", "POST"])
@login_required
def request_signoffs(request: HttpRequest, slug: str) -> HttpResponse:
    """The owner requests the next stage's sign-offs: straight from the launch page (routed), or
    from this page, which shows per function whom routing suggests and lets the owner choose."""
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    facts = launch_with_facts(launch.pk)
    stage = facts.next_stage()
    pending = _pending_agreements(launch)
    held = False
    if request.method == "POST" and "choose" not in request.POST:
        if not (pending and stage is not None and "proceed" not in request.POST):
            return _request_routed(request, launch, stage)
        # Agreements still to come would make these approvals stale: nothing is requested; this
        # page shows what is pending, with what the owner typed, to wait or to ask anyway.
        messages.warning(request, _("Agreements are pending; nothing was requested yet. See below."))
        held = True
    suggestions = addressee_suggestions(facts, stage, request.user) if stage is not None else []
    if held:
        typed = {name: request.POST.get(name, "") for name in ("due_date", "message")}
        form = ChooseAddresseesForm(initial=typed, suggestions=suggestions)
    else:
        form = ChooseAddresseesForm(request.POST if request.method == "POST" else None, suggestions=suggestions)
    if request.method == "POST" and not held and stage is not None and form.is_valid():
        try:
            created = signoffs_request(
                actor=request.user,
                launch=launch,
                stage=stage,
                due_date=form.cleaned_data["due_date"],
                message=form.cleaned_data["message"],
                addressees=form.chosen(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Requested %(count)s sign-offs for %(stage)s.") % {"count": len(created), "stage": stage.name},
            )
            return redirect("web:launch", slug=slug)
    return render(
        request,
        "web/request_signoffs.html",
        {
            "launch": facts,
            "stage": stage,
            "form": form,
            "rows": [(s, form[f"addressees_{s.requirement.function}"] if s.people else None) for s in suggestions],
            "blocked": any(s.problem for s in suggestions),
            "pending": pending,
        },
    )


def _pending_agreements(launch: Launch) -> list:
    """The launch's quality bars and SLOs nobody has agreed yet, with whom each waits for."""
    facts = launches_for_agreements(Launch.objects.filter(pk=launch.pk)).first()
    return waiting_agreements(facts) if facts is not None else []


def _request_routed(request: HttpRequest, launch: Launch, stage) -> HttpResponse:
    form = RequestSignoffsForm(request.POST)
    if stage is None:
        messages.error(request, _("The launch has no stage left to enter."))
    elif form.is_valid():
        try:
            created = signoffs_request(
                actor=request.user,
                launch=launch,
                stage=stage,
                due_date=form.cleaned_data["due_date"],
                message=form.cleaned_data["message"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Requested %(count)s sign-offs for %(stage)s.") % {"count": len(created), "stage": stage.name},
            )
    else:
        messages.error(request, " ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items()))
    return redirect("web:launch", slug=launch.slug)


@require_http_methods(["GET"])
@login_required
@cached_page
def inbox(request: HttpRequest) -> HttpResponse:
    """What waits for the signed-in user's decision, overdue first."""
    today = timezone.localdate()
    waiting = list(requests_awaiting(request.user))
    waiting.sort(key=lambda r: (r.due_date is None, r.due_date or today, r.created_at))
    # Only on launches the person still sees: taken off one, they can no longer acknowledge there.
    consultations = (
        Acknowledgement.objects.filter(user=request.user, acknowledged_at__isnull=True, launch__archived=False)
        .filter(sees_launch("user"))
        .select_related("launch", "stage", "requested_by")
    )
    waivers = [
        (waiver, registry.get(waiver.check_key).title if waiver.check_key in registry else waiver.check_key)
        for waiver in waivers_awaiting(request.user)
    ]
    return render(
        request,
        "web/inbox.html",
        {
            "waiting": waiting,
            "today": today,
            "consultations": consultations,
            "waivers": waivers,
            "policy_changes": list(policy_changes_awaiting(request.user)),
            "runs": runs_awaiting(request.user),
            "agreements": agreements_awaiting(request.user),
        },
    )


@require_POST
@login_required
def acknowledge_stage(request: HttpRequest, pk: int) -> HttpResponse:
    """The Consulted person acknowledges (anyone else who sees the launch: 403)."""
    consultation = get_acknowledgement_for(request.user, pk, to_acknowledge=True)
    try:
        acknowledge(actor=request.user, acknowledgement=consultation, comment=request.POST.get("comment", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Acknowledged."))
    return redirect("web:inbox")


@require_POST
@login_required
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner withdraws an open request (the service refuses anyone else)."""
    signoff = get_signoff_for(request.user, pk)  # outsiders: 404
    try:
        signoff_withdraw(actor=request.user, signoff=signoff, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("The %(function)s sign-off request is withdrawn.") % {"function": signoff.get_function_display()}
        )
    return redirect("web:launch", slug=signoff.launch.slug)


@require_POST
@login_required
def ask_again(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner asks an approver whose approval went stale to decide again (the service refuses
    anyone who may not change the launch); asking twice on the same facts changes nothing."""
    signoff = get_signoff_for(request.user, pk)  # outsiders: 404
    approver = get_user_model().objects.filter(pk=_int(request.POST.get("approver"))).first()
    if approver is None:
        messages.error(request, _("Choose whom to ask again."))
        return redirect("web:launch", slug=signoff.launch.slug)
    try:
        _asked, new = signoff_ask_again(actor=request.user, signoff=signoff, approver=approver)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        words = {"person": person_name(approver)}
        if new:
            messages.success(request, _("%(person)s is asked again, with what changed.") % words)
        else:
            messages.info(request, _("%(person)s was already asked again on these facts.") % words)
    return redirect(f"{signoff.launch.get_absolute_url()}#signoffs-heading")


def _int(value) -> int | None:
    """A positive id the database can hold, or None (a huge number would overflow the query)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def _remember(request: HttpRequest, snapshot: dict) -> str:
    shown = request.session.get(SHOWN_SNAPSHOTS, {})
    key = fingerprint(snapshot)
    shown[key] = snapshot
    request.session[SHOWN_SNAPSHOTS] = dict(list(shown.items())[-SHOWN_KEEP:])
    return key


def _shown_signoff(user, pk: int, **to) -> SignoffRequest:
    """The request as its decision page shows it (404 for who may not see its launch; ``to`` as
    ``get_signoff_for`` takes it, 403 for who may see but not act)."""
    signoff = get_signoff_for(user, pk, **to)
    prefetch_related_objects(
        [signoff],
        "requested_by",
        "addressees",
        Prefetch("decisions", queryset=SignoffDecision.objects.select_related("decided_by")),
    )
    return signoff


def _facts_decided_on(signoff: SignoffRequest) -> tuple[Launch, dict]:
    """The launch with its facts, and the snapshot of them a decision on ``signoff`` covers now."""
    facts = launch_with_facts(signoff.launch_id)
    stage = next(s for s in facts.stages.all() if s.pk == signoff.stage_id)
    return facts, launch_snapshot(facts, stage)


@require_http_methods(["GET", "POST"])
@login_required
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """The facts being approved, what changed since the last decision, and the decision form;
    posting it records the decision (403 for who may see the request but not decide it)."""
    posting = request.method == "POST"
    signoff = _shown_signoff(request.user, pk, to_decide=posting)
    # The facts are read for the page only: a decision that is recorded redirects, and the
    # service reads them itself (under the request's lock), so a POST reads them once.
    form = DecisionForm(request.POST) if posting else None
    changed_meanwhile = []
    error = None
    if posting and form.is_valid():
        try:
            signoff_decide(
                actor=request.user,
                signoff=signoff,
                outcome=form.cleaned_data["outcome"],
                comment=form.cleaned_data["comment"],
                expected_fingerprint=form.cleaned_data["fingerprint"],
            )
        except ValidationError as refused:
            error = refused
        else:
            if form.cleaned_data["outcome"] in OUTCOMES_NEEDING_COMMENT:
                # The comment opened the conversation: the approver lands on it, to follow it up.
                messages.success(
                    request,
                    _("Your decision is recorded. Your comment opens the conversation below; the owner is told."),
                )
                return redirect(f"{signoff.get_absolute_url()}#conversation")
            messages.success(request, _("Your decision is recorded."))
            return redirect("web:inbox")
    facts, snapshot = _facts_decided_on(signoff)
    if form is None:
        form = DecisionForm(initial={"fingerprint": fingerprint(snapshot)})
    if error is not None:
        shown = request.session.get(SHOWN_SNAPSHOTS, {}).get(form.cleaned_data["fingerprint"])
        if shown is not None and form.cleaned_data["fingerprint"] != fingerprint(snapshot):
            # A fresh form on the current facts: the decision is taken again, knowingly.
            changed_meanwhile = readable_change_lines(shown, snapshot) or [_("reload to see them")]
            form = DecisionForm(initial={"fingerprint": fingerprint(snapshot)})
        else:
            add_service_errors(form, error)
    delegate_form = DelegateForm(signoff=signoff, user=request.user)
    return _decision_page(request, signoff, facts, snapshot, form, delegate_form, changed_meanwhile)


@require_POST
@login_required
def converse(request: HttpRequest, pk: int) -> HttpResponse:
    """Post a comment, a question to the owner or a reply on a sign-off (404 for who may not see
    its launch; the service answers 403 to who sees it but is not party to the request)."""
    signoff = _shown_signoff(request.user, pk)
    message_form = MessageForm(request.POST, reply=request.POST.get("kind") == MessageKind.REPLY)
    if message_form.is_valid():
        data = message_form.cleaned_data
        answered = None
        if data["kind"] == MessageKind.REPLY:
            answered = SignoffComment.objects.filter(
                pk=data["in_reply_to"] or 0, request__launch=signoff.launch
            ).first()
        try:
            message = signoff_comment(
                actor=request.user,
                signoff=signoff,
                kind=data["kind"],
                body=data["body"],
                in_reply_to=answered,
                token=data["token"],
            )
        except ValidationError as error:
            add_service_errors(message_form, error)
        else:
            messages.success(request, _("Your message is posted."))
            return redirect(f"{signoff.get_absolute_url()}#message-{message.pk}")
    facts, snapshot = _facts_decided_on(signoff)
    form = DecisionForm(initial={"fingerprint": fingerprint(snapshot)})
    delegate_form = DelegateForm(signoff=signoff, user=request.user)
    return _decision_page(request, signoff, facts, snapshot, form, delegate_form, message_form=message_form)


@require_POST
@login_required
def delegate(request: HttpRequest, pk: int) -> HttpResponse:
    """An addressee hands their decision to a colleague of the request's function (403 for anyone
    else who sees the request); a refusal shows the decision page again with the reason."""
    signoff = _shown_signoff(request.user, pk, to_delegate=True)
    delegate_form = DelegateForm(request.POST, signoff=signoff, user=request.user)
    if delegate_form.is_valid():
        chosen = delegate_form.cleaned_data["delegate"]
        try:
            signoff_delegate(
                actor=request.user, signoff=signoff, delegate=chosen, reason=delegate_form.cleaned_data["reason"]
            )
        except ValidationError as error:
            add_service_errors(delegate_form, error)
        else:
            messages.success(request, _("Delegated to %(who)s.") % {"who": chosen.get_full_name()})
            return redirect("web:inbox")
    facts, snapshot = _facts_decided_on(signoff)
    form = DecisionForm(initial={"fingerprint": fingerprint(snapshot)})
    return _decision_page(request, signoff, facts, snapshot, form, delegate_form)


def _decision_page(
    request: HttpRequest,
    signoff: SignoffRequest,
    facts: Launch,
    snapshot: dict,
    form: DecisionForm,
    delegate_form: DelegateForm,
    changed_meanwhile: list[str] | None = None,
    message_form: MessageForm | None = None,
) -> HttpResponse:
    """The decision page, as a review: the verdict for the stage, the facts in plain words (the
    approver's function's first), what changed since their last decision, the conversation, and
    the forms."""
    _remember(request, snapshot)
    user = request.user
    stage = next(s for s in facts.stages.all() if s.pk == signoff.stage_id)
    now = timezone.now()
    readiness = evaluate(facts, stage, now=now, ignore_order=True)
    reasons = plain_reasons(readiness, facts, stage, now=now)
    last = _last_decision(signoff, user)
    conversation = list(
        SignoffComment.objects.filter(
            request__launch=signoff.launch, request__stage=signoff.stage, request__function=signoff.function
        )
        .select_related("author", "in_reply_to__author", "decision")
        .order_by("created_at", "pk")
    )
    posting = signoff.is_open and not facts.archived and may_post(user, signoff)
    return render(
        request,
        "web/decide.html",
        {
            "signoff": signoff,
            "launch": facts,
            "readiness": readiness,
            "blockers": [(blocker, reasons[blocker.key]) for blocker in readiness.blockers],
            "sections": sections_for_function(fact_sections(facts, user), signoff.function),
            "stage": stage,
            "last": last,
            "changes": readable_changes(last.snapshot, snapshot) if last else [],
            "changed_meanwhile": changed_meanwhile or [],
            "form": form,
            "delegate_form": delegate_form,
            "conversation": conversation,
            "may_post": posting,
            "may_ask": posting and not owner_side(user, signoff),
            "message_form": message_form
            or MessageForm(initial={"token": uuid.uuid4().hex, "kind": MessageKind.COMMENT}),
            "reply_token": uuid.uuid4().hex,
            "may_delegate": signoff.is_open
            and user.pk != facts.owner_id
            and any(person.pk == user.pk for person in signoff.addressees.all()),
            "may_decide": signoff.is_open
            and user.pk not in (signoff.requested_by_id, facts.owner_id)
            and user.has_perm(DECIDE_REQUEST, signoff),
        },
    )


def _last_decision(signoff: SignoffRequest, user) -> SignoffDecision | None:
    """The viewer's last decision on this function for this stage (on this request or one it
    replaced), or, for anyone who decided none, the function's last decision."""
    decisions = list(
        SignoffDecision.objects.filter(
            request__launch=signoff.launch, request__stage=signoff.stage, request__function=signoff.function
        )
        .select_related("decided_by")
        .order_by("-decided_at", "-pk")
    )
    mine = next((d for d in decisions if user.pk in (d.decided_by_id, d.on_behalf_of_id)), None)
    return mine or (decisions[0] if decisions else None)


@require_http_methods(["GET", "POST"])
@login_required
def advance(request: HttpRequest, slug: str) -> HttpResponse:
    """Confirm, then ask the gate to move the launch to its next stage; a refusal shows why."""
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    facts = launch_with_facts(launch.pk)
    stage = facts.next_stage()
    refusal, refused_by = [], None
    if request.method == "POST" and stage is not None:
        try:
            stage_advance(actor=request.user, launch=launch, stage=stage)
        except GateRefused as refused:
            refused_by = refused.readiness  # one heading, each reason with where to act on it
        except ValidationError as error:
            refusal = error.messages
        else:
            messages.success(
                request, _("%(launch)s is now in %(stage)s.") % {"launch": launch.name, "stage": stage.name}
            )
            return redirect("web:launch", slug=slug)
    return render(
        request, "web/advance.html", {"launch": facts, "stage": stage, "refusal": refusal, "refused_by": refused_by}
    )


@require_http_methods(["GET", "POST"])
@login_required
def rollback(request: HttpRequest, slug: str) -> HttpResponse:
    """Go back to an earlier stage, with a reason (the owner or an Accountable; the service decides)."""
    launch = get_launch_for(request.user, slug)
    facts = launch_with_facts(launch.pk)
    current = facts.current_stage
    earlier = [s for s in facts.ordered_stages() if current is not None and s.order < current.order]
    incidents = Incident.objects.filter(launch=launch).order_by("-detected_at", "-pk")[:50]
    form = RollbackForm(request.POST or None, stages=earlier, incidents=incidents)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        stage = next(s for s in earlier if s.pk == data["stage"])
        minutes = data["duration_minutes"]
        try:
            stage_rollback(
                actor=request.user,
                launch=launch,
                stage=stage,
                reason=data["reason"],
                duration=None if minutes is None else datetime.timedelta(minutes=minutes),
                incident_id=data["incident"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("%(launch)s is back in %(stage)s.") % {"launch": launch.name, "stage": stage.name}
            )
            return redirect("web:launch", slug=slug)
    return render(request, "web/rollback.html", {"launch": facts, "form": form, "earlier": earlier})
