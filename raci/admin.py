"""Admin for teams, people and RACI assignments, each with a History view (django-simple-history).

Launch pickers use autocomplete through readiness' LaunchAdmin (which has search_fields); the
dependency stays one-way, raci → readiness."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from readiness.admin import FactOfLaunchAdmin, ReadOnlyAdminMixin
from readiness.formfields import InRangeAutocompleteSelect, RowChoiceField, RowsChoiceField
from readiness.history import save_with_history

from .choices import TeamFunction
from .models import (
    AreaOmission,
    LanguagePreference,
    LaunchStakeholder,
    RaciAssignment,
    ResponsibilityArea,
    Stakeholder,
    Team,
)
from .services import MANAGE_TEAMS, stakeholder_set_executive, team_add_member, team_remove_member, team_set_lead

WAITING = "waiting to be filled"
# A posted id beyond the id column's range is an invalid choice, not a 500 (readiness.formfields).
ROW_PICKERS = {
    models.ForeignKey: {"form_class": RowChoiceField},
    models.ManyToManyField: {"form_class": RowsChoiceField},
}


class StakeholderPickerMixin:
    """A stakeholder's label is the user's name: load the user with it, not once per option."""

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.related_model is Stakeholder:
            kwargs.setdefault("queryset", Stakeholder.objects.select_related("user"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    """Who serves a function is the team administrators' call (``raci.manage_teams``)."""

    list_display = ("name", "function", "lead")
    formfield_overrides = ROW_PICKERS
    list_filter = ("function",)
    list_select_related = ("lead__user",)
    search_fields = ("name",)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "lead":
            kwargs.setdefault("queryset", Stakeholder.objects.select_related("user"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Team | None = None):
        if obj is None:
            return ("lead",)  # a new team has no members to lead yet
        # The function decides who may approve what: a Legal team never turns into a Product team
        # with its members. The lead changes through team_set_lead (save_model).
        readonly = ("function",) if request.user.has_perm(MANAGE_TEAMS) else ("function", "lead")
        return (*super().get_readonly_fields(request, obj), *readonly)

    def has_delete_permission(self, request: HttpRequest, obj: Team | None = None) -> bool:
        # Deleting drops the memberships without the services (and the access they re-derive).
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.members.exists())

    def get_actions(self, request: HttpRequest):
        return {name: action for name, action in super().get_actions(request).items() if name != "delete_selected"}

    def save_model(self, request: HttpRequest, obj: Team, form, change: bool) -> None:
        # Teams are sealed facts (readiness.recording): saved with history and recorded in the ledger.
        if not (change and "lead" in form.changed_data):
            save_with_history(obj, actor=request.user, reason="Changed in the admin" if change else "Team created")
            return
        new_lead = obj.lead
        obj.lead_id = form.initial.get("lead")  # the stored lead stays; the service changes it
        save_with_history(obj, actor=request.user, reason="Changed in the admin")
        team_set_lead(actor=request.user, team=obj, stakeholder=new_lead)


@admin.register(Stakeholder)
class StakeholderAdmin(SimpleHistoryAdmin):
    list_display = ("display_name", "user", "title", "team_names", "is_active")
    formfield_overrides = ROW_PICKERS
    list_filter = ("teams__function", "user__is_active")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email", "title")
    autocomplete_fields = ("user",)
    filter_horizontal = ("teams",)

    def get_readonly_fields(self, request: HttpRequest, obj: Stakeholder | None = None):
        # The user is the person: changing it would hand another account this row's teams and
        # executive standing past the membership services (the model and PostgreSQL refuse it too).
        fixed = () if obj is None else ("user",)
        if not request.user.has_perm(MANAGE_TEAMS):
            return (*super().get_readonly_fields(request, obj), *fixed, "teams", "executive")
        return (*super().get_readonly_fields(request, obj), *fixed)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "user":
            kwargs.setdefault("widget", InRangeAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using")))
        if db_field.name == "executive":
            kwargs.setdefault(
                "queryset",
                Stakeholder.objects.filter(teams__function=TeamFunction.EXECUTIVE).distinct().select_related("user"),
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Stakeholder | None = None) -> bool:
        # As for teams: a person leaves their teams through team_remove_member first.
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.teams.exists())

    def get_actions(self, request: HttpRequest):
        return {name: action for name, action in super().get_actions(request).items() if name != "delete_selected"}

    def save_model(self, request: HttpRequest, obj: Stakeholder, form, change: bool) -> None:
        """The executive changes through ``stakeholder_set_executive`` (team administrators, never
        one's own), like team membership; on the add form too, where one could otherwise add
        one's own stakeholder row with an executive of one's choosing."""
        reason = "Changed in the admin" if change else "Added in the admin"
        if "executive" not in form.changed_data:
            save_with_history(obj, actor=request.user, reason=reason)  # a sealed fact, like teams
            return
        new_executive = obj.executive
        obj.executive_id = form.initial.get("executive") if change else None
        save_with_history(obj, actor=request.user, reason=reason)
        stakeholder_set_executive(actor=request.user, stakeholder=obj, executive=new_executive)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """Team membership goes through the services: team administrators only, never one's own."""
        if "teams" not in form.cleaned_data:
            return super().save_related(request, form, formsets, change)
        wanted = set(form.cleaned_data.pop("teams"))
        stakeholder = form.instance
        current = set(stakeholder.teams.all())
        super().save_related(request, form, formsets, change)
        for team in sorted(wanted - current, key=lambda t: t.pk):
            team_add_member(actor=request.user, team=team, stakeholder=stakeholder)
        for team in sorted(current - wanted, key=lambda t: t.pk):
            team_remove_member(actor=request.user, team=team, stakeholder=stakeholder)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Stakeholder]:
        # Labels read the user (also in autocomplete answers); team_names reads every row's teams.
        return super().get_queryset(request).select_related("user").prefetch_related("teams")

    @admin.display(description="name", ordering="user__last_name")
    def display_name(self, stakeholder: Stakeholder) -> str:
        return stakeholder.display_name

    @admin.display(description="teams")
    def team_names(self, stakeholder: Stakeholder) -> str:
        return ", ".join(team.name for team in stakeholder.teams.all())

    @admin.display(description="active", boolean=True, ordering="user__is_active")
    def is_active(self, stakeholder: Stakeholder) -> bool:
        return stakeholder.is_reachable


@admin.register(LaunchStakeholder)
class LaunchStakeholderAdmin(StakeholderPickerMixin, FactOfLaunchAdmin):
    list_display = ("launch", "function", "filled_by")
    list_filter = ("function", ("stakeholder", admin.EmptyFieldListFilter), "launch__archived")
    list_select_related = ("launch", "stakeholder__user")
    search_fields = (
        "launch__name",
        "launch__slug",
        "stakeholder__user__username",
        "stakeholder__user__first_name",
        "stakeholder__user__last_name",
    )
    autocomplete_fields = ("launch", "stakeholder")

    @admin.display(description="stakeholder", ordering="stakeholder__user__last_name")
    def filled_by(self, slot: LaunchStakeholder) -> str:
        return slot.stakeholder.display_name if slot.stakeholder_id else WAITING

    def get_queryset(self, request: HttpRequest) -> QuerySet[LaunchStakeholder]:
        # __str__ (change page title, history, delete confirmation) names the stakeholder.
        return super().get_queryset(request).select_related("launch", "stakeholder__user")


class RaciAssignmentInline(ReadOnlyAdminMixin, StakeholderPickerMixin, admin.TabularInline):
    model = RaciAssignment
    extra = 0
    fields = ("role", "stakeholder")
    autocomplete_fields = ("stakeholder",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[RaciAssignment]:
        # Each row's __str__ names its area and stakeholder.
        return super().get_queryset(request).select_related("area", "stakeholder__user")


@admin.register(ResponsibilityArea)
class ResponsibilityAreaAdmin(FactOfLaunchAdmin):
    list_display = ("name", "launch", "kind", "concern_list")
    list_filter = ("kind", "launch__archived")
    list_select_related = ("launch",)
    search_fields = ("name", "launch__name", "launch__slug")
    autocomplete_fields = ("launch",)
    inlines = (RaciAssignmentInline,)

    @admin.display(description="concerns")
    def concern_list(self, area: ResponsibilityArea) -> str:
        return ", ".join(area.concerns) if isinstance(area.concerns, list) else str(area.concerns)


@admin.register(RaciAssignment)
class RaciAssignmentAdmin(StakeholderPickerMixin, FactOfLaunchAdmin):
    list_display = ("area", "launch", "stakeholder", "role")
    list_filter = ("role", "area__kind", "area__launch__archived")
    list_select_related = ("area__launch", "stakeholder__user")
    search_fields = (
        "area__name",
        "area__launch__name",
        "stakeholder__user__username",
        "stakeholder__user__first_name",
        "stakeholder__user__last_name",
    )
    autocomplete_fields = ("area", "stakeholder")

    @admin.display(ordering="area__launch__name")
    def launch(self, assignment: RaciAssignment):
        return assignment.area.launch

    def get_queryset(self, request: HttpRequest) -> QuerySet[RaciAssignment]:
        return super().get_queryset(request).select_related("area__launch", "stakeholder__user")


@admin.register(AreaOmission)
class AreaOmissionAdmin(FactOfLaunchAdmin):
    """Why a launch does without a standard area. Recorded and withdrawn only through
    ``area_omission_record`` and ``area_omission_withdraw``, which ledger both: a row added or
    changed here would have no ledger entry and fail ``verify_ledger``."""

    list_display = ("launch", "kind", "recorded_by", "recorded_at")
    list_filter = ("kind",)
    list_select_related = ("launch", "recorded_by")
    search_fields = ("launch__name", "launch__slug", "reason")


@admin.register(LanguagePreference)
class LanguagePreferenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each person chooses their own language from the header (``language_set``); shown here only."""

    list_display = ("user", "language", "updated_at")
    list_filter = ("language",)
    list_select_related = ("user",)
    search_fields = ("user__username",)
