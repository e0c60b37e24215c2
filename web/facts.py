"""Editing a launch's facts in the browser: one generic form per fact kind (readiness.services'
FactKind says which fields a person may set, and which only when adding), saved through the fact
services, which check the permission, the archive, the values and the version the page was opened
on. A change refused because someone else changed the fact meanwhile shows what they changed."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from raci.models import LaunchStakeholder, RaciAssignment, ResponsibilityArea, Stakeholder
from raci.services import eval_run_accept, quality_bar_agree, slo_agree
from readiness.access import CHANGE_LAUNCH, get_launch_for, get_of_launch
from readiness.models import SLO, EvalRun, Launch, QualityBar
from readiness.services import (
    EditConflict,
    fact_add,
    fact_change,
    fact_confirm,
    fact_kinds,
    fact_remove,
    fact_version,
)
from readiness.services.facts import kind_of

from .forms import DateInput, add_service_errors
from .raci import with_functions


def _kind_by_name(name: str):
    for model, kind in fact_kinds().items():
        if model._meta.model_name == name:
            return model, kind
    raise Http404("No such kind of fact.")


class ConcernsField(forms.CharField):
    """An area's concerns typed as a comma-separated list (``accuracy, latency``); a JSON list to the model."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value)
        return [concern.strip() for concern in text.split(",") if concern.strip()]


class SeenVersion(forms.Form):
    seen_version = forms.IntegerField(widget=forms.HiddenInput)


def _formfield(field: models.Field, **kwargs):
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")  # links typed without a scheme are https
    if field.model is ResponsibilityArea and field.name == "concerns":
        return ConcernsField(
            label=field.verbose_name.capitalize(),
            required=False,
            help_text=gettext_lazy(
                "Separated by commas, e.g. accuracy, hallucination. Quality bars and SLOs go to the area owning their concern."
            ),
        )
    return field.formfield(**kwargs)


def _fact_form(model, field_names, launch: Launch, data=None, instance=None, initial=None) -> forms.ModelForm:
    """A form for ``field_names`` of ``model``; choices of related rows limited to this launch."""
    widgets = {
        field.name: DateInput
        for field in model._meta.fields
        if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField)
    }
    form_class = forms.modelform_factory(
        model, fields=list(field_names), widgets=widgets, formfield_callback=_formfield
    )
    form = form_class(data=data, instance=instance, initial=initial)
    limits = {
        "quality_bar": QualityBar.objects.filter(launch=launch),
        "area": ResponsibilityArea.objects.filter(launch=launch),
        "stakeholder": Stakeholder.objects.select_related("user").order_by("user__first_name", "user__last_name"),
        "golden_set_owner": get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name"),
        "owner": get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name"),
    }
    if isinstance(instance, LaunchStakeholder):  # a slot is filled by someone who serves its function
        limits["stakeholder"] = (
            limits["stakeholder"].filter(user__is_active=True, teams__function=instance.function).distinct()
        )
    for name, queryset in limits.items():
        if name in form.fields:
            form.fields[name].queryset = queryset
    if "stakeholder" in form.fields:  # people listed with the functions they serve
        form.fields["stakeholder"].queryset = form.fields["stakeholder"].queryset.prefetch_related("teams")
        form.fields["stakeholder"].label_from_instance = with_functions
    return form


def form_note(launch: Launch, model, fact=None) -> tuple[str, str, str] | None:
    """What the fact form says before its fields, with a link: (text, url, link text) or None."""
    if model is EvalRun and not launch.serving_version:
        return (
            _(
                "The launch has no serving version yet. A run counts as evidence only for the version in "
                "service: record that version on the launch first, then give it as the measured version."
            ),
            reverse("web:edit-launch", args=[launch.slug]),
            _("Record the serving version"),
        )
    if model is LaunchStakeholder and fact is not None:
        return (
            _("This slot is for the %(function)s function: only active members of a %(function)s team are listed.")
            % {"function": fact.get_function_display()},
            "",
            "",
        )
    return None


def what_changed(fact: models.Model, seen_version: int) -> list[str]:
    """Field by field, how the fact differs from the version the editor opened."""
    history = fact.history.model
    seen = history.objects.filter(history_id=seen_version).first()
    latest = fact.history.order_by("-history_id").first()
    if seen is None or latest is None or seen.history_id == latest.history_id:
        return []
    delta = latest.diff_against(seen)
    return [
        f"{model_field_label(fact, change.field)}: {change.old} → {change.new}"
        for change in delta.changes
        if change.field not in ("proposed", "updated_at")
    ]


def model_field_label(fact: models.Model, name: str) -> str:
    return str(type(fact)._meta.get_field(name).verbose_name)


@require_http_methods(["GET", "POST"])
@login_required
def add_fact(request: HttpRequest, slug: str, kind_name: str) -> HttpResponse:
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    model, kind = _kind_by_name(kind_name)
    fields = [name for name in kind.settable_on_add if name != "launch"]
    initial = {name: request.GET[name] for name in fields if name in request.GET}  # e.g. ?kind=policy
    form = _fact_form(model, fields, launch, data=request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in fields}
        try:
            fact_add(actor=request.user, launch=launch, model=model, values=values)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Added %(what)s.") % {"what": kind.label})
            return redirect(section_url(launch, model))
    return render(
        request,
        "web/fact_form.html",
        {
            "launch": launch,
            "kind": kind,
            "form": form,
            "adding": True,
            "versioned": None,
            "back": section_url(launch, model),
            "note": form_note(launch, model),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def change_fact(request: HttpRequest, slug: str, kind_name: str, pk: int) -> HttpResponse:
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    model, kind = _kind_by_name(kind_name)
    fact = get_of_launch(model.objects, launch, pk)
    versioned = SeenVersion(request.POST or None, initial={"seen_version": fact_version(fact)})
    form = _fact_form(model, kind.fields, launch, data=request.POST or None, instance=model.objects.get(pk=pk))
    conflict = []
    if request.method == "POST" and form.is_valid() and versioned.is_valid():
        seen = versioned.cleaned_data["seen_version"]
        values = {name: form.cleaned_data[name] for name in kind.fields}
        try:
            fact_change(actor=request.user, fact=fact, seen_version=seen, values=values)
        except EditConflict as error:
            conflict = what_changed(fact, seen)
            form.add_error(None, error.messages)
            versioned = SeenVersion(initial={"seen_version": fact_version(fact)})
            form = _fact_form(model, kind.fields, launch, instance=model.objects.get(pk=pk))
            form.is_bound = False
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Saved %(what)s.") % {"what": kind.name(fact)})
            return redirect(section_url(launch, model))
    return render(
        request,
        "web/fact_form.html",
        {
            "launch": launch,
            "kind": kind,
            "fact": fact,
            "form": form,
            "versioned": versioned,
            "conflict": conflict,
            "back": section_url(launch, model),
            "note": form_note(launch, model, fact),
        },
    )


class RemoveForm(SeenVersion):
    reason = forms.CharField(label=_("Why remove it?"), widget=forms.Textarea(attrs={"rows": 3}))


@require_http_methods(["GET", "POST"])
@login_required
def remove_fact(request: HttpRequest, slug: str, kind_name: str, pk: int) -> HttpResponse:
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    model, kind = _kind_by_name(kind_name)
    fact = get_of_launch(model.objects, launch, pk)
    form = RemoveForm(request.POST or None, initial={"seen_version": fact_version(fact)})
    if request.method == "POST" and form.is_valid():
        try:
            fact_remove(
                actor=request.user,
                fact=fact,
                seen_version=form.cleaned_data["seen_version"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Removed %(what)s.") % {"what": kind.name(fact)})
            return redirect(section_url(launch, model))
    return render(
        request,
        "web/fact_remove.html",
        {"launch": launch, "kind": kind, "fact": fact, "form": form, "back": section_url(launch, model)},
    )


def launch_url(launch: Launch) -> str:
    return reverse("web:launch", args=[launch.slug])


PEOPLE_KINDS = (ResponsibilityArea, RaciAssignment, LaunchStakeholder)


def section_url(launch: Launch, model: type[models.Model]) -> str:
    """The launch page at the section listing facts of ``model``."""
    anchor = "raci" if model in PEOPLE_KINDS else f"facts-{model._meta.model_name}"
    return f"{launch_url(launch)}#{anchor}"


def _seen_version(request: HttpRequest) -> int:
    """The fact version the page showed, which every one-button form posts; without one, 404."""
    form = SeenVersion(request.POST)
    if not form.is_valid():
        raise Http404("No version given.")
    return form.cleaned_data["seen_version"]


@require_POST
@login_required
def confirm_fact(request: HttpRequest, slug: str, kind_name: str, pk: int) -> HttpResponse:
    """The owner confirms the values the template proposed, unchanged."""
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    model, kind = _kind_by_name(kind_name)
    fact = get_of_launch(model.objects, launch, pk)
    seen_version = _seen_version(request)
    try:
        fact_confirm(actor=request.user, fact=fact, seen_version=seen_version)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Confirmed the proposed values of %(what)s.") % {"what": kind.name(fact)})
    return redirect(section_url(launch, model))


AGREEMENTS = {"qualitybar": (QualityBar, quality_bar_agree, "bar"), "slo": (SLO, slo_agree, "slo")}


@require_POST
@login_required
def agree_fact(request: HttpRequest, slug: str, kind_name: str, pk: int) -> HttpResponse:
    """The Accountable of the owning area agrees a quality bar or an SLO as shown (the service
    refuses anyone else, the owner included)."""
    launch = get_launch_for(request.user, slug)
    if kind_name not in AGREEMENTS:
        raise Http404("Only quality bars and SLOs are agreed.")
    model, agree, argument = AGREEMENTS[kind_name]
    fact = get_of_launch(model.objects, launch, pk)
    seen_version = _seen_version(request)
    try:
        agree(actor=request.user, seen_version=seen_version, **{argument: fact})
    except PermissionDenied as error:
        # The viewer may see the launch; say why they do not answer for this fact.
        return render(request, "403.html", {"reason": str(error)}, status=403)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("You agreed %(what)s.") % {"what": kind_of(model).name(fact)})
    return redirect(section_url(launch, model))


@require_POST
@login_required
def accept_run(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Someone of the bar's function accepts an evaluation run waiting for acceptance, as shown
    (the service refuses the owner, the run's recorder and anyone else)."""
    launch = get_launch_for(request.user, slug)
    run = get_of_launch(EvalRun.objects, launch, pk)
    seen_version = _seen_version(request)
    try:
        eval_run_accept(actor=request.user, run=run, seen_version=seen_version)
    except PermissionDenied as error:
        return render(request, "403.html", {"reason": str(error)}, status=403)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("You accepted %(what)s as evidence.") % {"what": kind_of(EvalRun).name(run)})
    return redirect(section_url(launch, EvalRun))
