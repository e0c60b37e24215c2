"""Failure reviews in the browser: each feedback channel's failure counts, its review meetings
with their actions, and whether its review cadence is kept. The owner and the launch's Responsible
and Accountable people record them (``operations.services`` decides); an action's owner marks it
done."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from operations.access import require_respond
from operations.models import ReviewAction
from operations.services import failure_count_record, failure_review_record, review_action_complete
from raci.models import Stakeholder
from readiness.access import get_launch_for, get_of_launch
from readiness.formfields import RowChoiceField, RowsChoiceField
from readiness.models import FeedbackChannel, Launch

from .forms import DateInput, add_service_errors
from .incidents import raci_people

ACTION_ROWS = 3


class FailureCountForm(forms.Form):
    period_start = forms.DateField(label=gettext_lazy("Period start"), widget=DateInput)
    period_end = forms.DateField(label=gettext_lazy("Period end"), widget=DateInput)
    cases = forms.IntegerField(label=gettext_lazy("Failure cases"), min_value=0)


class FailureReviewForm(forms.Form):
    """A review meeting and up to three actions it decided; an action row left empty is ignored."""

    held_on = forms.DateField(label=gettext_lazy("Held on"), widget=DateInput)
    attendees = RowsChoiceField(
        label=gettext_lazy("Who attended"), queryset=Stakeholder.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    decisions = forms.CharField(label=gettext_lazy("What was decided"), widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, people, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = people
        for number in range(1, ACTION_ROWS + 1):
            names = {"number": number}
            self.fields[f"action_{number}"] = forms.CharField(
                label=_("Action %(number)s") % names, required=False, max_length=300
            )
            self.fields[f"owner_{number}"] = RowChoiceField(
                label=_("Owner of action %(number)s") % names, queryset=people, required=False
            )
            self.fields[f"due_{number}"] = forms.DateField(
                label=_("Action %(number)s due on") % names, required=False, widget=DateInput
            )

    def clean(self):
        data = super().clean()
        for number in range(1, ACTION_ROWS + 1):
            parts = [data.get(f"action_{number}"), data.get(f"owner_{number}"), data.get(f"due_{number}")]
            if any(parts) and not all(parts):
                self.add_error(
                    f"action_{number}",
                    _("Give action %(number)s a description, an owner and a due date, or leave all three empty.")
                    % {"number": number},
                )
        return data

    def actions(self) -> list[dict]:
        return [
            {
                "description": self.cleaned_data[f"action_{number}"],
                "owner": self.cleaned_data[f"owner_{number}"],
                "due_on": self.cleaned_data[f"due_{number}"],
            }
            for number in range(1, ACTION_ROWS + 1)
            if self.cleaned_data.get(f"action_{number}")
        ]


def _operated(request: HttpRequest, slug: str, channel_pk: int) -> tuple[Launch, FeedbackChannel]:
    """The launch (404 to whoever may not see it) and its channel (404 when another launch's),
    refusing (403) those who may see but not operate it, before reading any input."""
    launch = get_launch_for(request.user, slug)
    channel = get_of_launch(FeedbackChannel.objects, launch, channel_pk)
    require_respond(request.user, launch)
    if launch.archived:
        raise PermissionDenied(_("The launch is archived; its record can no longer change."))
    return launch, channel


def _people_on(launch: Launch):
    """Who may attend or own an action: the active people on the launch's RACI."""
    return raci_people(launch).filter(user__is_active=True)


def _back(slug: str) -> str:
    return reverse("web:launch", args=[slug]) + "#failure-reviews"


@require_http_methods(["GET", "POST"])
@login_required
def record_failure_review(request: HttpRequest, slug: str, channel_pk: int) -> HttpResponse:
    launch, channel = _operated(request, slug, channel_pk)
    form = FailureReviewForm(request.POST or None, people=_people_on(launch), initial={"held_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            failure_review_record(
                actor=request.user,
                channel=channel,
                held_on=form.cleaned_data["held_on"],
                attendees=form.cleaned_data["attendees"],
                decisions=form.cleaned_data["decisions"],
                actions=form.actions(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("Failure review of “%(channel)s” recorded.") % {"channel": channel.get_kind_display()}
            )
            return redirect(_back(slug))
    return render(
        request,
        "web/failure_review_form.html",
        {"launch": launch, "channel": channel, "form": form, "action_rows": range(1, ACTION_ROWS + 1)},
    )


@require_http_methods(["GET", "POST"])
@login_required
def record_failure_count(request: HttpRequest, slug: str, channel_pk: int) -> HttpResponse:
    launch, channel = _operated(request, slug, channel_pk)
    today = timezone.localdate()
    form = FailureCountForm(
        request.POST or None, initial={"period_start": today - timezone.timedelta(days=7), "period_end": today}
    )
    if request.method == "POST" and form.is_valid():
        try:
            failure_count_record(actor=request.user, channel=channel, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("Failure cases of “%(channel)s” recorded.") % {"channel": channel.get_kind_display()}
            )
            return redirect(_back(slug))
    return render(request, "web/failure_count_form.html", {"launch": launch, "channel": channel, "form": form})


@require_POST
@login_required
def complete_review_action(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    launch = get_launch_for(request.user, slug)
    action = get_of_launch(ReviewAction.objects.select_related("review__channel"), launch, pk)
    try:
        review_action_complete(actor=request.user, action=action)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("“%(action)s” marked done.") % {"action": action.description})
    return redirect(_back(slug))
