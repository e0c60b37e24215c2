"""Sign-offs and stage changes in the browser: request, the approver's inbox and decision page,
advance and roll back. Every action calls the approvals services, which check who may act; the
pages only show the controls to those allowed."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from approvals.access import DECIDE_REQUEST
from approvals.models import Acknowledgement, SignoffDecision, SignoffRequest
from approvals.policies import Requirement, effective_requirements
from approvals.routing import default_addressees
from approvals.selectors import open_request, policy_changes_awaiting, requests_awaiting, waivers_awaiting
from approvals.services import (
    acknowledge,
    signoff_decide,
    signoff_delegate,
    signoff_withdraw,
    signoffs_request,
    stage_advance,
    stage_rollback,
)
from approvals.services.gate import GateRefused
from approvals.services.requests import _addressees_for
from approvals.snapshot import diff_snapshots, fingerprint, launch_snapshot, readable_facts
from notifications.audience import sees_launch
from operations.models import Incident
from readiness.access import CHANGE_LAUNCH, get_launch_for, require_view
from readiness.checklist import registry
from readiness.models import Launch

from .facts import launch_with_facts, runs_awaiting
from .forms import (
    ChooseAddresseesForm,
    DecisionForm,
    DelegateForm,
    RequestSignoffsForm,
    RollbackForm,
    add_service_errors,
)

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
    facts = launch_with_facts(launch)
    stage = facts.next_stage()
    if request.method == "POST" and "choose" not in request.POST:
        return _request_routed(request, launch, stage)
    suggestions = addressee_suggestions(facts, stage, request.user) if stage is not None else []
    form = ChooseAddresseesForm(request.POST if request.method == "POST" else None, suggestions=suggestions)
    if request.method == "POST" and stage is not None and form.is_valid():
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
        },
    )


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
        },
    )


@require_POST
@login_required
def acknowledge_stage(request: HttpRequest, pk: int) -> HttpResponse:
    """The Consulted person acknowledges (the service refuses anyone else)."""
    consultation = get_object_or_404(Acknowledgement.objects.select_related("launch"), pk=pk)
    try:
        require_view(request.user, consultation.launch)
    except PermissionDenied:
        raise Http404("No such consultation.") from None
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
    signoff = get_object_or_404(SignoffRequest.objects.select_related("launch"), pk=pk)
    get_launch_for(request.user, signoff.launch.slug)  # outsiders: 404
    try:
        signoff_withdraw(actor=request.user, signoff=signoff, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("The %(function)s sign-off request is withdrawn.") % {"function": signoff.get_function_display()}
        )
    return redirect("web:launch", slug=signoff.launch.slug)


def _remember(request: HttpRequest, snapshot: dict) -> str:
    shown = request.session.get(SHOWN_SNAPSHOTS, {})
    key = fingerprint(snapshot)
    shown[key] = snapshot
    request.session[SHOWN_SNAPSHOTS] = dict(list(shown.items())[-SHOWN_KEEP:])
    return key


@require_http_methods(["GET", "POST"])
@login_required
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """The facts being approved, what changed since the last decision, and the decision form."""
    signoff = get_object_or_404(
        SignoffRequest.objects.select_related("launch", "stage", "requested_by").prefetch_related(
            "addressees", Prefetch("decisions", queryset=SignoffDecision.objects.select_related("decided_by"))
        ),
        pk=pk,
    )
    try:
        require_view(request.user, signoff.launch)
    except PermissionDenied:
        raise Http404("No such sign-off request.") from None
    facts = launch_with_facts(signoff.launch)
    stage = next(s for s in facts.stages.all() if s.pk == signoff.stage_id)
    snapshot = launch_snapshot(facts, stage)
    posting_decision = request.method == "POST" and "delegate" not in request.POST
    form = DecisionForm(request.POST if posting_decision else None, initial={"fingerprint": fingerprint(snapshot)})
    delegate_form = DelegateForm(
        request.POST if request.method == "POST" and not posting_decision else None, signoff=signoff, user=request.user
    )
    changed_meanwhile = []
    if request.method == "POST" and not posting_decision and delegate_form.is_valid():
        try:
            signoff_delegate(
                actor=request.user,
                signoff=signoff,
                delegate=delegate_form.cleaned_data["delegate"],
                reason=delegate_form.cleaned_data["reason"],
            )
        except ValidationError as error:
            add_service_errors(delegate_form, error)
        else:
            messages.success(
                request, _("Delegated to %(who)s.") % {"who": delegate_form.cleaned_data["delegate"].get_full_name()}
            )
            return redirect("web:inbox")
    if posting_decision and form.is_valid():
        try:
            signoff_decide(
                actor=request.user,
                signoff=signoff,
                outcome=form.cleaned_data["outcome"],
                comment=form.cleaned_data["comment"],
                expected_fingerprint=form.cleaned_data["fingerprint"],
            )
        except ValidationError as error:
            shown = request.session.get(SHOWN_SNAPSHOTS, {}).get(form.cleaned_data["fingerprint"])
            if shown is not None and form.cleaned_data["fingerprint"] != fingerprint(snapshot):
                # A fresh form on the current facts: the decision is taken again, knowingly.
                changed_meanwhile = diff_snapshots(shown, snapshot) or [_("reload to see them")]
                form = DecisionForm(initial={"fingerprint": fingerprint(snapshot)})
            else:
                add_service_errors(form, error)
        else:
            messages.success(request, _("Your decision is recorded."))
            return redirect("web:inbox")
    _remember(request, snapshot)
    # The last decision on this function for this stage, on this request or one it replaced.
    last = (
        SignoffDecision.objects.filter(
            request__launch=signoff.launch, request__stage=signoff.stage, request__function=signoff.function
        )
        .select_related("decided_by")
        .order_by("-decided_at", "-pk")
        .first()
    )
    since_last = diff_snapshots(last.snapshot, snapshot) if last else []
    return render(
        request,
        "web/decide.html",
        {
            "signoff": signoff,
            "launch": facts,
            "facts": readable_facts(snapshot),
            "last": last,
            "since_last": since_last,
            "changed_meanwhile": changed_meanwhile,
            "form": form,
            "delegate_form": delegate_form,
            "may_delegate": signoff.is_open
            and request.user.pk != facts.owner_id
            and signoff.addressees.filter(pk=request.user.pk).exists(),
            "may_decide": signoff.is_open
            and request.user.pk not in (signoff.requested_by_id, facts.owner_id)
            and request.user.has_perm(DECIDE_REQUEST, signoff),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def advance(request: HttpRequest, slug: str) -> HttpResponse:
    """Confirm, then ask the gate to move the launch to its next stage; a refusal shows why."""
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    facts = launch_with_facts(launch)
    stage = facts.next_stage()
    refusal = []
    if request.method == "POST" and stage is not None:
        try:
            stage_advance(actor=request.user, launch=launch, stage=stage)
        except GateRefused as refused:
            refusal = refused.messages
        except ValidationError as error:
            refusal = error.messages
        else:
            messages.success(
                request, _("%(launch)s is now in %(stage)s.") % {"launch": launch.name, "stage": stage.name}
            )
            return redirect("web:launch", slug=slug)
    return render(request, "web/advance.html", {"launch": facts, "stage": stage, "refusal": refusal})


@require_http_methods(["GET", "POST"])
@login_required
def rollback(request: HttpRequest, slug: str) -> HttpResponse:
    """Go back to an earlier stage, with a reason (the owner or an Accountable; the service decides)."""
    launch = get_launch_for(request.user, slug)
    facts = launch_with_facts(launch)
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
