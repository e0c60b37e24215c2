"""The launch itself: its name, summary, owner, target date and serving version; its risk tier
(raised at once, lowered only by asking: an executive decides); archiving and reopening; the
template's proposals confirmed at once; and what guides the launch page (its next steps, the
order of its sections, and why a control is not offered yet). Every change goes through the
services, as of the version the page showed."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from approvals.models import PolicyChange
from approvals.services import launch_set_risk_tier, policy_change_decide, policy_change_request
from approvals.services.policy import may_decide_policy_change
from presentation.next_steps import next_steps
from readiness.access import CHANGE_LAUNCH, can_view, get_launch_for, get_of_launch
from readiness.choices import RiskTier
from readiness.models import SLO, Launch, RolloutStage, SeverityLevel
from readiness.people import person_name
from readiness.services import EditConflict, fact_version, facts_confirm, launch_archive, launch_change
from readiness.services.launches import LAUNCH_FIELDS

from .facts import launch_url, what_changed
from .forms import DateInput, add_service_errors

RISK_ORDER = [RiskTier.LOW, RiskTier.MEDIUM, RiskTier.HIGH]


class LaunchForm(forms.ModelForm):
    seen_version = forms.IntegerField(widget=forms.HiddenInput)
    justification = forms.CharField(
        label=gettext_lazy("Why may the risk tier be lower?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Needed only to lower the risk tier: an executive decides, and nothing changes until then."
        ),
    )

    class Meta:
        model = Launch
        fields = [*LAUNCH_FIELDS, "risk_tier"]
        widgets = {"target_date": DateInput, "summary": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = get_user_model().objects.filter(is_active=True).order_by("first_name")
        self.fields["owner"].label_from_instance = person_name

    def clean(self):
        data = super().clean()
        lowering = data.get("risk_tier") and RISK_ORDER.index(data["risk_tier"]) < RISK_ORDER.index(
            self.initial["risk_tier"]
        )
        if lowering and not (data.get("justification") or "").strip():
            self.add_error("justification", _("Say why the launch is less risky; an executive reads it."))
        handing_over = data.get("owner") and data["owner"].pk != self.initial["owner"].pk
        if handing_over and data.get("risk_tier") and data["risk_tier"] != self.initial["risk_tier"]:
            self.add_error(
                "risk_tier",
                _("Hand the launch over on its own; its new owner decides whether to change the risk tier."),
            )
        return data

    def _post_clean(self) -> None:
        """The services validate and save; the form does not write to the instance."""


@require_http_methods(["GET", "POST"])
@login_required
def edit_launch(request: HttpRequest, slug: str) -> HttpResponse:
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    if launch.archived:
        messages.error(request, _("This launch is archived; reopen it to change it."))
        return redirect("web:launch", slug=launch.slug)
    form = LaunchForm(request.POST or None, initial=_initial(launch))
    conflict = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        seen = data["seen_version"]
        try:
            with transaction.atomic():
                launch = launch_change(
                    actor=request.user,
                    launch=launch,
                    seen_version=seen,
                    values={name: data[name] for name in LAUNCH_FIELDS},
                )
                asked = _change_risk_tier(request.user, launch, data["risk_tier"], data["justification"])
        except EditConflict as error:
            conflict = [*error.messages, *what_changed(launch, seen)]
            launch.refresh_from_db()
            form = LaunchForm(initial=_initial(launch))  # their version, to change again
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Saved the launch."))
            if asked:
                messages.info(request, _("Lowering the risk tier waits for an executive's decision."))
            if not can_view(request.user, launch):  # handed to someone else, and no role left here
                return redirect("web:portfolio")
            return redirect("web:launch", slug=launch.slug)
    return render(request, "web/launch_form.html", {"launch": launch, "form": form, "conflict": conflict})


def _initial(launch: Launch) -> dict:
    return {
        **{name: getattr(launch, name) for name in [*LAUNCH_FIELDS, "risk_tier"]},
        "seen_version": fact_version(launch),
    }


def _change_risk_tier(actor, launch: Launch, risk_tier: str, justification: str) -> bool:
    """Raise the tier at once; ask to lower it. True when a request now waits for a decision."""
    if risk_tier == launch.risk_tier:
        return False
    if RISK_ORDER.index(risk_tier) > RISK_ORDER.index(launch.risk_tier):
        launch_set_risk_tier(actor=actor, launch=launch, risk_tier=risk_tier)
        return False
    policy_change_request(actor=actor, launch=launch, risk_tier=risk_tier, justification=justification)
    return True


class ArchiveForm(forms.Form):
    seen_version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=gettext_lazy("Why?"), widget=forms.Textarea(attrs={"rows": 3}))


@require_http_methods(["GET", "POST"])
@login_required
def archive_launch(request: HttpRequest, slug: str) -> HttpResponse:
    """Archive the launch (its facts freeze) or reopen it, behind a confirmation with a reason."""
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    form = ArchiveForm(request.POST or None, initial={"seen_version": fact_version(launch)})
    if request.method == "POST" and form.is_valid():
        try:
            launch = launch_archive(
                actor=request.user,
                launch=launch,
                seen_version=form.cleaned_data["seen_version"],
                archived=not launch.archived,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Archived the launch.") if launch.archived else _("Reopened the launch."))
            return redirect("web:launch", slug=launch.slug)
    return render(request, "web/archive.html", {"launch": launch, "form": form})


class PolicyDecisionForm(forms.Form):
    approve = forms.TypedChoiceField(
        label=gettext_lazy("Decision"),
        choices=[("yes", gettext_lazy("Approve")), ("no", gettext_lazy("Reject"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=gettext_lazy("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required to reject."),
    )


@require_http_methods(["GET", "POST"])
@login_required
def decide_policy_change(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """An executive (or, for a requirement, the function's lead) decides a request to lower the
    bar; never whoever asked nor the launch's owner."""
    launch = get_launch_for(request.user, slug)
    change = get_of_launch(PolicyChange.objects.select_related("launch", "stage", "requested_by"), launch, pk)
    if not may_decide_policy_change(request.user, change):
        raise PermissionDenied("Only an executive, or the function's lead, decides this; never whoever asked.")
    form = PolicyDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            policy_change_decide(
                actor=request.user,
                change=change,
                approve=form.cleaned_data["approve"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Your decision is recorded."))
            return redirect(reverse("web:launch", args=[launch.slug]))
    return render(request, "web/policy_decide.html", {"launch": launch, "change": change, "form": form})


# The launch page's guidance -----------------------------------------------------------------

PROPOSABLE = {model._meta.model_name: model for model in (RolloutStage, SLO, SeverityLevel)}


def launch_guide(user, launch: Launch, readiness, signoffs: list, sections: list[dict], *, may_change: bool) -> dict:
    """What the launch page shows to lead its reader: the next steps, the template's proposals
    (for "Confirm all"), whether the launch is live (operations first), and why the sign-off
    request and the advance are not offered yet (``None`` when they are)."""
    proposals = [
        f"{section['name']}:{row['fact'].pk}:{row['version']}"
        for section in sections
        for row in section["rows"]
        if row["proposed"] and section["name"] in PROPOSABLE
    ]
    steps = next_steps(launch, readiness, signoffs, user, proposed=len(proposals))
    stage = readiness.stage
    names = {"stage": stage.name if stage else "", "count": steps.failing_before_signoffs}
    request_blocked = advance_blocked = None
    if stage is not None and not steps.ready_for_signoffs:
        request_blocked = (
            ngettext(
                "Available once the checklist for %(stage)s passes: %(count)s item fails.",
                "Available once the checklist for %(stage)s passes: %(count)s items fail.",
                steps.failing_before_signoffs,
            )
            % names
        )
    if stage is not None and not readiness.may_enter:
        if readiness.refusals:
            advance_blocked = _("Available once nothing else keeps the launch out of %(stage)s: %(reasons)s") % {
                **names,
                "reasons": " ".join(readiness.refusals),
            }
        else:
            count = len(readiness.blockers)
            advance_blocked = ngettext(
                "Available once every gating item for %(stage)s passes, sign-offs included: %(count)s item fails.",
                "Available once every gating item for %(stage)s passes, sign-offs included: %(count)s items fail.",
                count,
            ) % {**names, "count": count}
    return {
        "next_steps": steps,
        "proposals": proposals if may_change else [],
        "live": launch.current_stage_id is not None,
        "request_blocked": request_blocked,
        "advance_blocked": advance_blocked,
    }


@require_POST
@login_required
def confirm_proposals(request: HttpRequest, slug: str) -> HttpResponse:
    """The owner confirms, at once, every value the template proposed that the page showed."""
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    seen = {}
    for token in request.POST.getlist("seen"):
        try:
            name, pk, version = token.split(":")
            seen[(PROPOSABLE[name], int(pk))] = int(version)
        except (KeyError, ValueError):
            raise Http404("No such proposal.") from None
    try:
        confirmed = facts_confirm(actor=request.user, launch=launch, seen=seen)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(f"{launch_url(launch)}#proposals")
    if confirmed:
        messages.success(
            request,
            ngettext(
                "Confirmed the proposed values of %(count)s fact.",
                "Confirmed the proposed values of %(count)s facts.",
                len(confirmed),
            )
            % {"count": len(confirmed)},
        )
    else:
        messages.info(request, _("Nothing was left to confirm: the proposals are confirmed already."))
    return redirect(f"{launch_url(launch)}#facts")
