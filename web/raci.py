"""The launch's people on its page: the stakeholder slots, the RACI matrix as a grid (areas × people,
rule violations marked, each cell editable in place with htmx by the owner), and the standard areas
the launch does without. Every write goes through raci.services, which check the permission, the
archive and the version the editor saw."""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_htmx.http import reswap, retarget

from presentation.launch import launch_as_shown
from raci.checklist_items import area_problems
from raci.choices import STANDARD_AREA_CONCERNS, AreaKind, Role
from raci.models import AreaOmission, RaciAssignment, ResponsibilityArea, Stakeholder
from raci.services import area_omission_record, area_omission_withdraw, raci_set_roles
from readiness.access import CHANGE_LAUNCH, get_launch_for, get_of_launch
from readiness.checklist import evaluate
from readiness.models import Launch
from readiness.services import EditConflict, fact_version

from .forms import add_service_errors
from .standing import Standing
from .waivers import launch_waivers


@dataclass
class GridRow:
    """One area of the grid: its cells in the order of the grid's people, and what breaks
    "RACI defined" in it."""

    area: ResponsibilityArea
    cells: list[GridCell]
    problems: list[str]


@dataclass
class GridCell:
    """One cell, ready to print: a grid of 30 areas by 60 people has 1,800 of them, so the URL
    and the screen reader's label are built here rather than by a template tag per cell."""

    id: str
    css: str = "cell"
    roles: list[tuple[str, str]] = field(default_factory=list)
    label: str = ""
    url: str = ""
    flagged: bool = False
    focused: bool = False


def raci_grid(launch: Launch, focus: tuple[int, int] | None = None, *, editable: bool = False) -> dict:
    """The grid from the launch's prefetched areas (with their assignments, people and teams, as
    ``with_checklist_facts`` fetches them), slots and omissions: no query of its own. Cells link
    to their editor when ``editable``; the cell ``focus`` (area id, person id), just edited, takes
    the keyboard focus back."""
    # One reverse() for the whole grid; each cell's URL differs only in its two ids.
    cell_url = reverse("web:raci-cell", args=[launch.slug, 0, 0]).removesuffix("0/0/") if editable else ""
    role_labels = {role: str(label) for role, label in Role.choices}
    rule = _("(breaks a RACI rule)")
    areas = list(launch.areas.all())
    slots = list(launch.stakeholder_slots.all())
    people = {a.stakeholder.pk: a.stakeholder for area in areas for a in area.assignments.all()}
    people |= {slot.stakeholder.pk: slot.stakeholder for slot in slots if slot.stakeholder_id}
    columns = sorted(people.values(), key=lambda person: person.display_name.casefold())
    rows = []
    for area in areas:
        problems = area_problems(area)
        flagged = {person.pk for _problem, person in problems if person is not None}
        held: dict[int, list[str]] = {}
        for assignment in area.assignments.all():
            held.setdefault(assignment.stakeholder_id, []).append(assignment.role)
        cells = []
        for person in columns:
            roles = [(role, role_labels[role]) for role in sorted(held.get(person.pk, []), key=Role.values.index)]
            label = _("%(person)s on %(area)s") % {"person": person.display_name, "area": area.name}
            if not roles:
                label = f"{label}: {_('no role')}"
            if person.pk in flagged:
                label = f"{label} {rule}"
            cells.append(
                GridCell(
                    id=f"cell-{area.pk}-{person.pk}",
                    css="cell flagged" if person.pk in flagged else "cell",
                    roles=roles,
                    label=label,
                    url=f"{cell_url}{area.pk}/{person.pk}/" if editable else "",
                    flagged=person.pk in flagged,
                    focused=focus == (area.pk, person.pk),
                )
            )
        rows.append(GridRow(area, cells, [problem for problem, _person in problems]))
    present = {area.kind for area in areas}
    omissions = list(launch.area_omissions.all())
    omitted = {omission.kind for omission in omissions}
    return {
        "slots": sorted(slots, key=lambda slot: (slot.get_function_display(), slot.pk)),
        "people": columns,
        "rows": rows,
        "problems": [problem for row in rows for problem in row.problems],
        "omissions": omissions,
        "missing": [(kind, AreaKind(kind).label) for kind in STANDARD_AREA_CONCERNS if kind not in present | omitted],
        "roles": Role.choices,
    }


class CellForm(forms.Form):
    """The roles one person holds on one area, and the versions of those the editor saw."""

    roles = forms.MultipleChoiceField(
        label=gettext_lazy("Roles"), choices=Role.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, held: list[RaciAssignment], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for assignment in held:
            # Not required: a role the editor never saw has no version, and the service refuses
            # to take it away.
            self.fields[f"v{assignment.pk}"] = forms.IntegerField(
                widget=forms.HiddenInput, initial=fact_version(assignment), required=False
            )
        self.fields["roles"].initial = [assignment.role for assignment in held]

    def seen_versions(self) -> dict[int, int]:
        return {
            int(name[1:]): value
            for name, value in self.cleaned_data.items()
            if name.startswith("v") and value is not None
        }


@require_http_methods(["GET", "POST"])
@login_required
def raci_cell(request: HttpRequest, slug: str, area_pk: int, person_pk: int) -> HttpResponse:
    """Edit one cell of the grid: in place with htmx (the cell becomes a small form, and saving
    redraws the people section, the verdict and the checklist), or as a page of its own without."""
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    if launch.archived:
        raise PermissionDenied(_("This launch is archived; nothing about it can change."))
    area = get_of_launch(ResponsibilityArea.objects.select_related("launch"), launch, area_pk)
    person = get_object_or_404(Stakeholder.objects.select_related("user"), pk=person_pk)
    held = list(RaciAssignment.objects.filter(area=area, stakeholder=person).order_by("role"))
    form = CellForm(request.POST or None, held=held)
    context = {"launch": launch, "area": area, "person": person, "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            raci_set_roles(
                actor=request.user,
                area=area,
                stakeholder=person,
                roles=form.cleaned_data["roles"],
                seen_versions=form.seen_versions(),
            )
        except EditConflict as error:
            # Show the cell as it stands now, with what refused the change.
            held = list(RaciAssignment.objects.filter(area=area, stakeholder=person).order_by("role"))
            form = CellForm(held=held)
            form = CellForm({"roles": form.fields["roles"].initial, **_versions(form)}, held=held)
            form.is_valid()
            form.add_error(None, error.messages)
            context["form"] = form
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if not request.htmx:
                messages.success(request, _("Saved the roles of %(person)s on %(area)s.") % _names(person, area))
                return redirect(reverse("web:launch", args=[launch.slug]) + "#raci")
            return people_section(request, launch_as_shown(launch.pk), focus=(area.pk, person.pk))
    if request.htmx:
        response = render(request, "web/_raci_cell_form.html", context)
        return reswap(retarget(response, f"#cell-{area.pk}-{person.pk}"), "outerHTML") if form.errors else response
    return render(request, "web/raci_cell.html", context)


def _versions(form: CellForm) -> dict[str, int]:
    return {name: field.initial for name, field in form.fields.items() if name.startswith("v")}


def _names(person: Stakeholder, area: ResponsibilityArea) -> dict:
    return {"person": person.display_name, "area": area.name}


def people_section(request: HttpRequest, launch: Launch, *, focus: tuple[int, int]) -> HttpResponse:
    """The people section after an in-place edit, with the verdict and the checklist, which the
    edit may have changed, swapped in out of band."""
    readiness = evaluate(launch)
    context = {
        "launch": launch,
        "raci": raci_grid(launch, focus, editable=True),
        "may_change": True,
        "verdict": Standing.of(readiness),
        "oob": True,
        **launch_waivers(request.user, launch, readiness, may_change=True),
    }
    return render(request, "web/_people.html", context)


class OmissionForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Standard area"))
    reason = forms.CharField(
        label=gettext_lazy("Why does this launch need no such area?"), widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, kinds, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds


@require_http_methods(["GET", "POST"])
@login_required
def omission_record(request: HttpRequest, slug: str) -> HttpResponse:
    """The owner records why the launch does without a standard area; ledgered by the service."""
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    launch = launch_as_shown(launch.pk)
    kinds = raci_grid(launch)["missing"]
    if not kinds:
        messages.info(request, _("Every standard area is present or already left out with a reason."))
        return redirect(reverse("web:launch", args=[launch.slug]) + "#raci")
    form = OmissionForm(request.POST or None, kinds=kinds, initial={"kind": request.GET.get("kind")})
    if request.method == "POST" and form.is_valid():
        try:
            area_omission_record(
                actor=request.user, launch=launch, kind=form.cleaned_data["kind"], reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Recorded why the launch does without that area."))
            return redirect(reverse("web:launch", args=[launch.slug]) + "#raci")
    return render(request, "web/omission_form.html", {"launch": launch, "form": form})


class WithdrawOmissionForm(forms.Form):
    seen_version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=gettext_lazy("Why withdraw it?"), widget=forms.Textarea(attrs={"rows": 3}))


@require_http_methods(["GET", "POST"])
@login_required
def omission_withdraw(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    omission = get_of_launch(AreaOmission.objects.select_related("recorded_by"), launch, pk)
    form = WithdrawOmissionForm(request.POST or None, initial={"seen_version": fact_version(omission)})
    if request.method == "POST" and form.is_valid():
        try:
            area_omission_withdraw(
                actor=request.user,
                omission=omission,
                seen_version=form.cleaned_data["seen_version"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Withdrawn: the missing area fails “RACI defined” again until it is added."))
            return redirect(reverse("web:launch", args=[launch.slug]) + "#raci")
    return render(request, "web/omission_withdraw.html", {"launch": launch, "omission": omission, "form": form})


class StaffForm(forms.Form):
    """One person given one or more roles on one area at once (e.g. Accountable and Responsible)."""

    area = forms.ModelChoiceField(label=gettext_lazy("Area"), queryset=ResponsibilityArea.objects.none())
    stakeholder = forms.ModelChoiceField(label=gettext_lazy("Person"), queryset=Stakeholder.objects.none())
    roles = forms.MultipleChoiceField(
        label=gettext_lazy("Roles"), choices=Role.choices, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, launch: Launch, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = ResponsibilityArea.objects.filter(launch=launch).order_by("pk")
        self.fields["stakeholder"].queryset = (
            Stakeholder.objects.filter(user__is_active=True)
            .select_related("user")
            .prefetch_related("teams")
            .order_by("user__first_name", "user__last_name")
        )
        self.fields["stakeholder"].label_from_instance = with_functions
        self.fields["stakeholder"].help_text = gettext_lazy(
            "Listed with the functions they serve: an Accountable must serve the area's function."
        )


def with_functions(stakeholder: Stakeholder) -> str:
    """A person as lists of people show them: their name and the functions they serve."""
    functions = sorted({str(team.get_function_display()) for team in stakeholder.teams.all()})
    return f"{stakeholder.display_name} ({', '.join(functions)})" if functions else stakeholder.display_name


@require_http_methods(["GET", "POST"])
@login_required
def raci_staff(request: HttpRequest, slug: str) -> HttpResponse:
    """Give a person roles on an area, several at once; the roles they hold already are kept."""
    launch = get_launch_for(request.user, slug, CHANGE_LAUNCH)
    if launch.archived:
        raise PermissionDenied(_("This launch is archived; nothing about it can change."))
    form = StaffForm(request.POST or None, launch=launch, initial={"area": request.GET.get("area")})
    if request.method == "POST" and form.is_valid():
        area, person = form.cleaned_data["area"], form.cleaned_data["stakeholder"]
        held = list(RaciAssignment.objects.filter(area=area, stakeholder=person))
        try:
            raci_set_roles(
                actor=request.user,
                area=area,
                stakeholder=person,
                roles={a.role for a in held} | set(form.cleaned_data["roles"]),
                seen_versions={},
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            labels = ", ".join(str(Role(role).label) for role in sorted(form.cleaned_data["roles"]))
            messages.success(
                request,
                _("%(person)s is now %(roles)s on %(area)s.") % {**_names(person, area), "roles": labels},
            )
            return redirect(reverse("web:launch", args=[launch.slug]) + "#raci")
    return render(request, "web/raci_staff.html", {"launch": launch, "form": form})
