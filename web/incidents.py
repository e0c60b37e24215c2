"""A launch's incidents in the browser: report one, read it against the severity policy (its
breaches), correct it, move it on (acknowledged, mitigated, resolved), write its post-mortem with
action items and complete them. Every change goes through ``operations.services``, which checks who
may act; here an outsider gets 404 before anything is read, and someone who may see the launch but
not respond is shown no forms and refused (403) if they post."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from operations.access import is_lower_severity, may_respond, require_respond, severity_lowered_by
from operations.models import ActionItem, Incident
from operations.selectors import incident_review
from operations.services import (
    action_item_complete,
    incident_acknowledge,
    incident_mitigate,
    incident_report,
    incident_resolve,
    incident_update,
    postmortem_record,
)
from raci.models import Stakeholder
from readiness.access import get_launch_for, get_of_launch
from readiness.choices import Severity
from readiness.formfields import RowChoiceField, RowsChoiceField
from readiness.models import Launch

from .forms import DateInput, add_service_errors


class DateTimeInput(forms.DateTimeInput):
    """To the second, so that saving a correction does not move the other times (and the breaches)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None) -> None:
        super().__init__({"step": "1", **(attrs or {})}, format="%Y-%m-%dT%H:%M:%S")


def _when(label, required: bool = False) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=DateTimeInput,
        input_formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


class PeopleField(RowsChoiceField):
    def label_from_instance(self, obj: Stakeholder) -> str:
        return obj.display_name


def raci_people(launch: Launch):
    """The people on the launch's RACI: who may be named responder or action owner (nobody outside
    the launch is listed)."""
    return (
        Stakeholder.objects.filter(assignments__area__launch=launch)
        .distinct()
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "pk")
    )


class IncidentForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    severity = forms.ChoiceField(label=gettext_lazy("Severity"), choices=Severity.choices)
    user_impact = forms.CharField(label=gettext_lazy("What it did to users"), widget=forms.Textarea(attrs={"rows": 3}))
    detected_at = _when(gettext_lazy("Detected at"), required=True)
    acknowledged_at = _when(gettext_lazy("Acknowledged at"))
    mitigated_at = _when(gettext_lazy("Mitigated at"))
    resolved_at = _when(gettext_lazy("Resolved at"))
    responders = PeopleField(
        label=gettext_lazy("Who responded"),
        queryset=Stakeholder.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, launch: Launch, lowest: str | None = None, **kwargs) -> None:
        """``lowest``: the least severe level the user may choose (an incident's own severity, for
        someone who may raise it but not lower it)."""
        super().__init__(*args, **kwargs)
        self.fields["responders"].queryset = raci_people(launch)
        if lowest is not None:
            self.fields["severity"].choices = [
                (value, label) for value, label in Severity.choices if not is_lower_severity(value, lowest)
            ]
            self.fields["severity"].error_messages["invalid_choice"] = _(
                "You may raise the severity but not lower it: the Accountable for the incident area or an "
                "executive may."
            )


class SeverityForm(forms.Form):
    """The severity alone, for those who may lower it (the incident area's Accountable, an executive)."""

    severity = forms.ChoiceField(label=gettext_lazy("Severity"), choices=Severity.choices)


class PostMortemForm(forms.Form):
    summary = forms.CharField(label=gettext_lazy("Summary"), widget=forms.Textarea(attrs={"rows": 3}))
    root_cause = forms.CharField(label=gettext_lazy("Root cause"), widget=forms.Textarea(attrs={"rows": 3}))


class ActionItemForm(forms.Form):
    description = forms.CharField(label=gettext_lazy("Action"), max_length=500, required=False)
    owner = RowChoiceField(label=gettext_lazy("Owner"), queryset=Stakeholder.objects.none(), required=False)
    due_date = forms.DateField(label=gettext_lazy("Due date"), required=False, widget=DateInput)

    def __init__(self, *args, launch: Launch, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = raci_people(launch)
        self.fields["owner"].label_from_instance = lambda person: person.display_name

    def clean(self):
        data = super().clean()
        if data.get("description") and (not data.get("owner") or not data.get("due_date")):
            raise ValidationError(_("Each action needs an owner on the RACI and a due date."))
        return data


ActionItemFormSet = forms.formset_factory(ActionItemForm, extra=3)


def _services_input(data: dict) -> dict:
    return {**data, "responders": list(data["responders"])}


@require_http_methods(["GET", "POST"])
@login_required
def incident_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Report an incident: the owner and the launch's Responsible or Accountable people."""
    launch = get_launch_for(request.user, slug)
    require_respond(request.user, launch)
    form = IncidentForm(request.POST or None, launch=launch)
    if request.method == "POST" and form.is_valid():
        try:
            incident = incident_report(actor=request.user, launch=launch, **_services_input(form.cleaned_data))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Incident “%(title)s” recorded.") % {"title": incident.title})
            return redirect("web:incident", slug=slug, pk=incident.pk)
    return render(request, "web/incident_form.html", {"launch": launch, "form": form, "incident": None})


@require_GET
@login_required
def incident_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    launch = get_launch_for(request.user, slug)
    review = incident_review(incident=get_of_launch(Incident.objects, launch, pk))
    responds = may_respond(request.user, launch) and not launch.archived
    lowers = bool(severity_lowered_by(request.user, launch)) and not launch.archived
    postmortem_form = items = None
    if responds and review.postmortem is None and review.incident.resolved_at is not None:
        postmortem_form, items = PostMortemForm(), ActionItemFormSet(form_kwargs={"launch": launch})
    return render(
        request,
        "web/incident.html",
        {
            "launch": launch,
            "review": review,
            "incident": review.incident,
            "may_respond": responds,
            "severity_form": SeverityForm(initial={"severity": review.incident.severity}) if lowers else None,
            "user_stakeholder_id": getattr(getattr(request.user, "stakeholder", None), "pk", None),
            "postmortem_form": postmortem_form,
            "action_items": items,
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def incident_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    launch = get_launch_for(request.user, slug)
    incident = get_of_launch(Incident.objects, launch, pk)
    require_respond(request.user, launch)
    initial = {
        **{field: getattr(incident, field) for field in IncidentForm.base_fields if field != "responders"},
        "responders": list(incident.responders.all()),
    }
    # Who may not lower the severity is not offered a lower one (the service refuses it too).
    lowest = None if severity_lowered_by(request.user, launch) else incident.severity
    form = IncidentForm(request.POST or None, launch=launch, initial=initial, lowest=lowest)
    if request.method == "POST" and form.is_valid():
        data = _services_input(form.cleaned_data)
        try:
            incident_update(actor=request.user, incident=incident, **data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Incident “%(title)s” changed.") % {"title": data["title"]})
            return redirect("web:incident", slug=slug, pk=pk)
    return render(request, "web/incident_form.html", {"launch": launch, "form": form, "incident": incident})


@require_POST
@login_required
def incident_severity(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Change the severity alone: the incident area's Accountable or an executive (who may lower
    it); anyone else is refused by the service with who may."""
    launch = get_launch_for(request.user, slug)
    incident = get_of_launch(Incident.objects, launch, pk)
    form = SeverityForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("severity", []):
            messages.error(request, error)
        return redirect("web:incident", slug=slug, pk=pk)
    try:
        incident_update(actor=request.user, incident=incident, severity=form.cleaned_data["severity"])
    except PermissionDenied as refusal:
        messages.error(request, str(refusal))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The incident is now %(severity)s.") % {"severity": form.cleaned_data["severity"]})
    return redirect("web:incident", slug=slug, pk=pk)


STEPS = {"acknowledge": incident_acknowledge, "mitigate": incident_mitigate, "resolve": incident_resolve}


@require_POST
@login_required
def incident_step(request: HttpRequest, slug: str, pk: int, step: str) -> HttpResponse:
    """Acknowledge, mitigate or resolve now."""
    launch = get_launch_for(request.user, slug)
    incident = get_of_launch(Incident.objects, launch, pk)
    if step not in STEPS:
        raise Http404("No such step.")
    try:
        STEPS[step](actor=request.user, incident=incident)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("web:incident", slug=slug, pk=pk)


@require_POST
@login_required
def incident_postmortem(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    launch = get_launch_for(request.user, slug)
    incident = get_of_launch(Incident.objects, launch, pk)
    require_respond(request.user, launch)
    form = PostMortemForm(request.POST)
    items = ActionItemFormSet(request.POST, form_kwargs={"launch": launch})
    if form.is_valid() and items.is_valid():
        actions = [item.cleaned_data for item in items if item.cleaned_data.get("description")]
        try:
            postmortem_record(actor=request.user, incident=incident, action_items=actions, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Post-mortem recorded."))
            return redirect("web:incident", slug=slug, pk=pk)
    review = incident_review(incident=incident)
    return render(
        request,
        "web/incident.html",
        {
            "launch": launch,
            "review": review,
            "incident": review.incident,
            "may_respond": True,
            "postmortem_form": form,
            "action_items": items,
        },
        status=400,
    )


@require_POST
@login_required
def action_item_done(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    launch = get_launch_for(request.user, slug)
    item = get_of_launch(ActionItem.objects.select_related("postmortem"), launch, pk)
    try:
        action_item_complete(actor=request.user, item=item)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("web:incident", slug=slug, pk=item.postmortem.incident_id)
