"""Waivers in the browser: the owner asks to accept a failing checklist item for one stage until a
date; the item's area Accountable or an executive approves or rejects it, never the one who asked.
The approvals services decide who may act; the pages only show the controls to those allowed, and
the decision page refuses (403) anyone the service would refuse before reading their input."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from approvals.access import get_waiver_for
from approvals.choices import UNWAIVABLE_CHECKS, WaiverStatus
from approvals.models import Waiver
from approvals.selectors import waivers_awaiting
from approvals.services import waiver_decide, waiver_request
from approvals.services.waivers import _may_decide_waiver
from readiness.access import CHANGE_LAUNCH, get_launch_for
from readiness.checklist import CheckResult, Readiness, Status, evaluate, registry
from readiness.models import Launch
from readiness.selectors import launch_with_facts

from .forms import WaiverDecisionForm, WaiverRequestForm, add_service_errors


@dataclass(frozen=True)
class WaiverRow:
    """One waiver as the launch page lists it."""

    waiver: Waiver
    title: str
    state: str  # pending, in_force, expired or rejected
    may_decide: bool


def state_of(waiver: Waiver, today: datetime.date) -> str:
    if waiver.status == WaiverStatus.APPROVED:
        return "in_force" if waiver.is_in_force(today) else "expired"
    return str(waiver.status)


def decidable(user, launch: Launch) -> set[int]:
    """Ids of the launch's waivers ``user`` may decide now, in one query (the selector follows the
    service's rule; the service applies it again when the decision is made)."""
    return set(waivers_awaiting(user).filter(launch=launch).values_list("pk", flat=True))


def _title(check_key: str) -> str:
    return registry.get(check_key).title if check_key in registry else check_key


def launch_waivers(user, launch: Launch, readiness: Readiness, *, may_change: bool) -> dict:
    """The launch page's waivers (from the waivers ``with_checklist_facts`` prefetched), which of
    them ``user`` may decide, and the failing items of the next stage the owner may ask to waive."""
    today = timezone.localdate()
    may_decide = (
        decidable(user, launch) if any(w.status == WaiverStatus.PENDING for w in launch.waivers.all()) else set()
    )
    stages = {stage.pk: stage for stage in launch.stages.all()}
    rows = []
    for waiver in launch.waivers.all():
        if waiver.stage_id in stages:
            waiver.stage = stages[waiver.stage_id]
        rows.append(WaiverRow(waiver, _title(waiver.check_key), state_of(waiver, today), waiver.pk in may_decide))
    waivable = set()
    if may_change and readiness.stage is not None:
        live = {
            w.check_key
            for w in launch.waivers.all()
            if w.stage_id == readiness.stage.pk and (w.status == WaiverStatus.PENDING or w.is_in_force(today))
        }
        waivable = {
            result.key
            for result in readiness.results
            if result.status == Status.FAIL and result.key not in UNWAIVABLE_CHECKS and result.key not in live
        }
    return {"waivers": rows, "waivable": waivable}


def _result(facts: Launch, stage, check_key: str) -> CheckResult | None:
    """How ``check_key`` stands for entering ``stage`` now, judged on the checklist alone."""
    if stage is None or check_key not in registry:
        return None
    readiness = evaluate(facts, stage, ignore_order=True)
    return next((result for result in readiness.results if result.key == check_key), None)


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@require_http_methods(["GET", "POST"])
@login_required
def request_waiver(request: HttpRequest, slug: str) -> HttpResponse:
    """The owner asks to waive a checklist item for a stage not yet entered (the service refuses
    anyone else, sign-offs, a second live waiver and expiry dates out of range)."""
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    facts = launch_with_facts(launch.pk)
    current = facts.current_stage
    stages = [s for s in facts.ordered_stages() if current is None or s.order > current.order]
    items = [check for check in registry.all() if check.key not in UNWAIVABLE_CHECKS]
    next_stage = facts.next_stage()
    initial = {
        "check_key": request.GET.get("item", ""),
        "stage": _as_int(request.GET.get("stage")) or (next_stage.pk if next_stage else None),
    }
    form = WaiverRequestForm(request.POST or None, initial=initial, items=items, stages=stages)
    if request.method == "POST" and form.is_valid():
        stage = next(s for s in stages if s.pk == form.cleaned_data["stage"])
        try:
            waiver_request(
                actor=request.user,
                launch=launch,
                stage=stage,
                check_key=form.cleaned_data["check_key"],
                justification=form.cleaned_data["justification"],
                expires_on=form.cleaned_data["expires_on"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Waiver of “%(item)s” for %(stage)s requested.")
                % {"item": _title(form.cleaned_data["check_key"]), "stage": stage.name},
            )
            return redirect(reverse("web:launch", args=[slug]) + "#waivers")
    chosen_key = form.data.get("check_key") if form.is_bound else initial["check_key"]
    chosen_stage = _as_int(form.data.get("stage")) if form.is_bound else initial["stage"]
    stage = next((s for s in stages if s.pk == chosen_stage), None)
    return render(
        request,
        "web/waiver_request.html",
        {"launch": facts, "form": form, "stages": stages, "result": _result(facts, stage, chosen_key), "stage": stage},
    )


@require_http_methods(["GET", "POST"])
@login_required
def decide_waiver(request: HttpRequest, pk: int) -> HttpResponse:
    """The waiver, how its item stands now, and the decision form for whoever may decide it."""
    waiver = get_waiver_for(request.user, pk)  # 404 for a launch the user may not see
    waiver = Waiver.objects.select_related("launch", "stage", "requested_by", "decided_by").get(pk=waiver.pk)
    may_decide = waiver.pk in decidable(request.user, waiver.launch)
    form = WaiverDecisionForm(request.POST or None)
    if request.method == "POST":
        # The service's own refusals, before the input is read: whoever may not decide gets 403.
        if waiver.requested_by_id == request.user.pk:
            raise PermissionDenied("You asked for this waiver; someone else must decide it.")
        if not _may_decide_waiver(request.user, waiver):
            raise PermissionDenied("Only the Accountable for this item's area or an executive may decide this waiver.")
        if form.is_valid():
            try:
                waiver_decide(
                    actor=request.user,
                    waiver=waiver,
                    approve=form.cleaned_data["decision"] == WaiverDecisionForm.APPROVE,
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Your decision on the waiver is recorded."))
                return redirect(reverse("web:launch", args=[waiver.launch.slug]) + "#waivers")
    facts = launch_with_facts(waiver.launch_id)
    stage = next((s for s in facts.stages.all() if s.pk == waiver.stage_id), None)
    return render(
        request,
        "web/waiver_decide.html",
        {
            "waiver": waiver,
            "launch": facts,
            "title": _title(waiver.check_key),
            "state": state_of(waiver, timezone.localdate()),
            "result": _result(facts, stage, waiver.check_key),
            "form": form,
            "may_decide": may_decide,
        },
    )
