"""Editing a launch's facts in the browser: one generic form per fact kind (readiness.services'
FactKind says which fields a person may set, and which only when adding), saved through the fact
services, which check the permission, the archive, the values and the version the page was opened
on. A change refused because someone else changed the fact meanwhile shows what they changed."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.apps import apps
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from raci.checklist_items import people_to_notify
from raci.choices import Role
from raci.models import LaunchStakeholder, RaciAssignment, ResponsibilityArea, Stakeholder, Team
from raci.selectors import (
    bar_functions,
    function_labels,
    owning_area,
    serves_any,
    slo_functions,
    slo_owning_area,
)
from raci.services import eval_run_accept, quality_bar_agree, slo_agree
from readiness.access import CHANGE_LAUNCH, get_launch_for, visible_launches
from readiness.checklist import Context, with_checklist_facts
from readiness.checklist_items import counted_run, percent
from readiness.choices import SENSITIVITY
from readiness.evidence import judge
from readiness.models import SLO, EvalRun, Launch, QualityBar
from readiness.services import (
    EditConflict,
    fact_add,
    fact_change,
    fact_confirm,
    fact_kinds,
    fact_remove,
    fact_version,
    fact_versions,
)
from readiness.services.facts import kind_of, launch_of

from .charts import evidence_chart
from .forms import DateInput, add_service_errors


def _kind_by_name(name: str):
    for model, kind in fact_kinds().items():
        if model._meta.model_name == name:
            return model, kind
    raise Http404("No such kind of fact.")


def _fact_of(launch: Launch, model: type[models.Model], pk: int) -> models.Model:
    try:
        fact = model.objects.get(pk=pk)
    except model.DoesNotExist:
        raise Http404("No such fact.") from None
    if launch_of(fact).pk != launch.pk:
        raise Http404("No such fact.")
    return fact


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
    return form


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
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def change_fact(request: HttpRequest, slug: str, kind_name: str, pk: int) -> HttpResponse:
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    model, kind = _kind_by_name(kind_name)
    fact = _fact_of(launch, model, pk)
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
        },
    )


class RemoveForm(SeenVersion):
    reason = forms.CharField(label=_("Why remove it?"), widget=forms.Textarea(attrs={"rows": 3}))


@require_http_methods(["GET", "POST"])
@login_required
def remove_fact(request: HttpRequest, slug: str, kind_name: str, pk: int) -> HttpResponse:
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    model, kind = _kind_by_name(kind_name)
    fact = _fact_of(launch, model, pk)
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


def launch_with_facts(launch: Launch, *prefetch) -> Launch:
    """``launch`` read again with its owner and every fact the checklist reads (a fixed number of
    queries however big it is), and whatever else a page names in ``prefetch``."""
    queryset = Launch.objects.filter(pk=launch.pk).select_related("owner", "stage_standing").prefetch_related(*prefetch)
    return with_checklist_facts(queryset).get()


def launch_url(launch: Launch) -> str:
    return reverse("web:launch", args=[launch.slug])


PEOPLE_KINDS = (ResponsibilityArea, RaciAssignment, LaunchStakeholder)


def section_url(launch: Launch, model: type[models.Model]) -> str:
    """The launch page at the section listing facts of ``model``."""
    anchor = "raci" if model in PEOPLE_KINDS else f"facts-{model._meta.model_name}"
    return f"{launch_url(launch)}#{anchor}"


# The facts listed on the launch page, in the order a reader expects them, with their labels.
LISTED = (
    "rolloutstage",
    "qualitybar",
    "evalrun",
    "dataasset",
    "slo",
    "severitylevel",
    "rollbackplan",
    "runbook",
    "feedbackchannel",
)


SECTION_LABELS = {
    "rolloutstage": gettext_lazy("Rollout stages"),
    "qualitybar": gettext_lazy("Quality bars"),
    "evalrun": gettext_lazy("Evaluation runs"),
    "dataasset": gettext_lazy("Data assets"),
    "slo": gettext_lazy("SLOs"),
    "severitylevel": gettext_lazy("Severity levels"),
    "rollbackplan": gettext_lazy("Rollback plan"),
    "runbook": gettext_lazy("Runbook"),
    "feedbackchannel": gettext_lazy("Feedback channels"),
}


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
    fact = _fact_of(launch, model, pk)
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
    fact = _fact_of(launch, model, pk)
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
    run = _fact_of(launch, EvalRun, pk)
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


def _evidence(bar: QualityBar, context: Context):
    """The run that counts as the bar's evidence (item 12's choice: the version in service, recent
    enough) against its maximum, as a small chart; when none counts, the latest recorded run, said
    to prove nothing. None without a run."""
    run = counted_run(bar, context.launch, context)
    counts = run is not None
    run = run or bar.latest_eval_run()
    if run is None or not run.samples:
        return None
    upper = judge(bar, run).upper_bound
    observed, maximum = run.failures / run.samples, float(bar.max_failure_rate)
    confidence = f"{float(bar.confidence_level) * 100:g}"
    title = (
        _("Quality bar %(metric)s: the evaluation that counts, against the agreed maximum")
        if counts
        else _("Quality bar %(metric)s: the latest evaluation, which does not count as evidence")
    )
    return evidence_chart(
        title % {"metric": bar.metric},
        observed,
        upper,
        maximum,
        {
            "observed": _("measured %(rate)s") % {"rate": percent(observed)},
            "upper": _("one-sided %(confidence)s %% bound %(rate)s")
            % {"confidence": confidence, "rate": percent(upper)},
            "maximum": _("maximum %(rate)s") % {"rate": percent(maximum)},
        },
    )


def _answers_for(user, area, functions: frozenset[str]) -> bool:
    """``user`` is the Accountable of ``area`` and serves one of ``functions`` (read from the
    prefetched assignments and teams): the rule the agreement services apply."""
    return area is not None and any(
        a.role == Role.ACCOUNTABLE and a.stakeholder.user_id == user.pk and serves_any(a.stakeholder, functions)
        for a in area.assignments.all()
    )


def fact_sections(launch: Launch, user=None) -> list[dict]:
    """Each fact kind of the launch page with its rows (read from the prefetched facts)."""
    rows = {
        "rolloutstage": launch.ordered_stages(),
        "qualitybar": list(launch.quality_bars.all()),
        "evalrun": [run for bar in launch.quality_bars.all() for run in bar.eval_runs.all()],
        # By class, the most sensitive first: personal and confidential data lead the list.
        "dataasset": sorted(
            launch.data_assets.all(), key=lambda asset: (-SENSITIVITY.get(asset.classification, 0), asset.name)
        ),
        "slo": list(launch.slos.all()),
        "severitylevel": sorted(launch.severity_levels.all(), key=lambda level: level.level),
        "rollbackplan": [plan for plan in [getattr(launch, "rollback_plan", None)] if plan is not None],
        "runbook": [book for book in [getattr(launch, "runbook", None)] if book is not None],
        "feedbackchannel": list(launch.feedback_channels.all()),
    }
    areas = list(launch.areas.all())
    now = timezone.now()
    context = Context(launch=launch, stage=None, today=timezone.localdate(now), now=now)
    agreeable = set()
    if user is not None and user.pk != launch.owner_id:
        agreeable |= {
            ("qualitybar", bar.pk)
            for bar in rows["qualitybar"]
            if bar.agreed_by_id != user.pk
            and _answers_for(user, owning_area(areas, bar.metric), bar_functions(bar.metric))
        }
        agreeable |= {
            ("slo", slo.pk)
            for slo in rows["slo"]
            if slo.agreed_by_id != user.pk
            and _answers_for(user, slo_owning_area(areas, slo.indicator), slo_functions(slo.indicator))
        }
    pending = [run for run in rows["evalrun"] if not run.counts]
    functions = _functions_of(user) if pending else frozenset()
    acceptable = {("evalrun", run.pk) for run in pending if may_accept(user, launch, run, functions)}
    agreeable |= acceptable
    # The versions the Agree and Confirm buttons carry: one query per kind of fact, not one per row.
    versions = {
        (name, pk): version
        for name in LISTED
        for pk, version in fact_versions(
            apps.get_model("readiness", name),
            [fact.pk for fact in rows[name] if (name, fact.pk) in agreeable or getattr(fact, "proposed", None)],
        ).items()
    }
    sections = []
    for name in LISTED:
        model = apps.get_model("readiness", name)
        kind = kind_of(model)
        sections.append(
            {
                "name": name,
                "label": SECTION_LABELS[name],
                "kind": kind,
                "rows": [
                    {
                        "fact": fact,
                        "title": kind.describe(fact),
                        "values": _row_values(fact, kind),
                        # The owner's remove control appears only where the owner may remove.
                        "removable": not (kind.not_the_owners and kind.not_the_owners(fact, None)),
                        "proposed": bool(getattr(fact, "proposed", None)),
                        "agreeable": (name, fact.pk) in agreeable and (name, fact.pk) not in acceptable,
                        "acceptable": (name, fact.pk) in acceptable,
                        "waiting_for": _waiting_for(fact, launch, areas)
                        if name == "evalrun" and not fact.counts
                        else None,
                        "agreed_by": getattr(fact, "agreed_by", None) if getattr(fact, "agreed_by_id", None) else None,
                        "accepted_by": fact.accepted_by if name == "evalrun" and fact.accepted_by_id else None,
                        "version": versions.get((name, fact.pk), 0)
                        if (name, fact.pk) in agreeable or getattr(fact, "proposed", None)
                        else None,
                        "chart": _evidence(fact, context) if name == "qualitybar" else None,
                        "reaches": _reaches(fact, areas) if name == "severitylevel" else None,
                    }
                    for fact in rows[name]
                ],
                "single": name in ("rollbackplan", "runbook"),
            }
        )
    return sections


def _functions_of(user) -> frozenset[str]:
    """The functions ``user`` serves (one query), or none for nobody."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    return frozenset(Team.objects.filter(members__user=user).values_list("function", flat=True))


def may_accept(user, launch: Launch, run, functions: frozenset[str]) -> bool:
    """Whether ``user`` (serving ``functions``) may accept ``run`` — the rule of
    ``raci.services.eval_run_accept``, which checks it again."""
    return (
        user is not None
        and user.pk not in (launch.owner_id, run.recorded_by_id)
        and bool(functions & bar_functions(run.quality_bar.metric))
    )


def runs_awaiting(user) -> list:
    """Evaluation runs waiting for ``user``'s acceptance on launches they see (for "My sign-offs"):
    two queries however many there are."""
    functions = _functions_of(user)
    if not functions:
        return []
    runs = (
        EvalRun.objects.filter(
            needs_acceptance=True,
            accepted_by__isnull=True,
            quality_bar__launch__in=visible_launches(user),
            quality_bar__launch__archived=False,
        )
        .exclude(quality_bar__launch__owner=user)
        .select_related("quality_bar__launch", "recorded_by")
        .order_by("recorded_at", "pk")
    )
    return [run for run in runs if may_accept(user, run.quality_bar.launch, run, functions)]


def _waiting_for(run, launch: Launch, areas) -> str:
    """Who a run waiting for acceptance waits for: the bar's function, and the Accountable
    answering for it where they may accept."""
    bar = run.quality_bar
    functions = bar_functions(bar.metric)
    area = owning_area(areas, bar.metric)
    names = [
        a.stakeholder.display_name
        for a in (area.assignments.all() if area else [])
        if a.role == Role.ACCOUNTABLE
        and serves_any(a.stakeholder, functions)
        and a.stakeholder.user_id not in (run.recorded_by_id, launch.owner_id)
    ]
    labels = {"functions": function_labels(functions), "names": ", ".join(names)}
    if names:
        return _("waiting for acceptance by %(names)s (or another member of a %(functions)s team)") % labels
    return _("waiting for acceptance by a member of a %(functions)s team") % labels


def _reaches(level, areas) -> list[tuple[str, str]]:
    """Whom a severity level pages, area by area, through the RACI (as "Incident owner is clear" reads it)."""
    return [
        (area, ", ".join(person.display_name for person in people) or _("nobody"))
        for area, people in people_to_notify(level, areas).items()
    ]


def _row_values(fact: models.Model, kind) -> list[tuple[str, str]]:
    values = []
    for name in kind.settable_on_add:
        field = type(fact)._meta.get_field(name)
        if field.is_relation and name in ("quality_bar",):
            continue
        value = getattr(fact, f"get_{name}_display")() if getattr(field, "choices", None) else getattr(fact, name)
        if value in (None, "", []):
            continue
        proposed = name in (getattr(fact, "proposed", None) or [])
        shown = shown_value(value)
        values.append((str(field.verbose_name), f"{shown} ({_('proposed')})" if proposed else shown))
    return values


def shown_value(value) -> str:
    """A fact's value as the reader's language writes it: yes/no, dates and numbers localised."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime.datetime):
        return formats.localize(timezone.localtime(value) if timezone.is_aware(value) else value)
    if isinstance(value, datetime.date | Decimal | int | float):
        return formats.localize(value)
    return str(value)
