"""Admin for the facts of a launch: read-only, with a History view (django-simple-history).

Every fact is a person's act through the services (``readiness.services``, ``raci.services``,
``approvals.services``): they check the change permission, take the version the editor saw, clear
agreements a change invalidates, and ledger what the gate reads. An admin form would do none of
that, so the admin only shows the record; a test walks every registered admin to prove it.

Guardian's per-object permission rows (LaunchUserObjectPermission, LaunchGroupObjectPermission) are
deliberately not registered: object permissions are granted by services, not edited by hand."""

from __future__ import annotations

import json

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from .evidence import judge
from .models import (
    SLO,
    DataAsset,
    EvalRun,
    FeedbackChannel,
    Launch,
    QualityBar,
    RollbackPlan,
    RolloutStage,
    Runbook,
    SeverityLevel,
)

# Links to dashboards, runbooks and eval results are typed without a scheme; they are https.
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


# --- inlines on the launch page -------------------------------------------------------------------


def all_field_names(model) -> tuple[str, ...]:
    """Every concrete and many-to-many field, for admins where nothing may be edited."""
    return tuple(f.name for f in (*model._meta.fields, *model._meta.many_to_many))


def pretty_json(value) -> str:
    """A JSON field (a payload, a snapshot) indented for reading on a change page."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return format_html("<pre style='white-space: pre-wrap'>{}</pre>", text)


class ReadOnlyAdminMixin:
    """Nothing may be added, changed or deleted; the change page remains viewable (Django shows it
    read-only to whoever has the view permission)."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return tuple(dict.fromkeys((*all_field_names(self.model), *super().get_readonly_fields(request, obj))))


class RolloutStageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RolloutStage
    extra = 0
    fields = ("order", "name", "kind", "exposure_percent", "planned_date", "gating_checks")
    ordering = ("order",)


class QualityBarInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = QualityBar
    extra = 0
    fields = (
        "metric",
        "failure_definition",
        "max_failure_rate",
        "confidence_level",
        "min_samples",
        "agreed_by",
        "agreed_at",
    )
    autocomplete_fields = ("agreed_by",)
    show_change_link = True  # eval runs are edited on the quality bar's own page


class DataAssetInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DataAsset
    extra = 0
    fields = (
        "name",
        "classification",
        "access_level",
        "named_teams",
        "masked_in_logs",
        "retention_days",
        "last_audit_at",
        "audit_interval_days",
    )
    show_change_link = True


class SLOInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SLO
    formfield_overrides = HTTPS_URLS
    extra = 0
    fields = ("indicator", "target", "alert_threshold", "dashboard_link")


class SeverityLevelInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SeverityLevel
    extra = 0
    fields = ("level", "definition", "response_minutes", "notify")


class FeedbackChannelInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = FeedbackChannel
    extra = 0
    fields = ("kind", "description", "review_cadence")


class RollbackPlanInline(ReadOnlyAdminMixin, admin.StackedInline):
    model = RollbackPlan
    max_num = 1
    can_delete = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[RollbackPlan]:
        # __str__ names the launch; avoid a query per rendered row.
        return super().get_queryset(request).select_related("launch")


class RunbookInline(ReadOnlyAdminMixin, admin.StackedInline):
    model = Runbook
    formfield_overrides = HTTPS_URLS
    max_num = 1
    can_delete = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Runbook]:
        return super().get_queryset(request).select_related("launch")


# --- launch ---------------------------------------------------------------------------------------


@admin.register(Launch)
class LaunchAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("name", "slug", "owner", "risk_tier", "current_stage", "target_date", "archived")
    list_filter = ("risk_tier", "archived")
    list_select_related = ("owner", "current_stage")
    search_fields = ("name", "slug", "summary")
    autocomplete_fields = ("owner",)
    date_hierarchy = "target_date"
    fieldsets = (
        (None, {"fields": ("name", "slug", "summary", "owner")}),
        ("Rollout", {"fields": ("risk_tier", "target_date", "current_stage", "archived")}),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = (
        RolloutStageInline,
        QualityBarInline,
        DataAssetInline,
        SLOInline,
        SeverityLevelInline,
        FeedbackChannelInline,
        RollbackPlanInline,
        RunbookInline,
    )
    history_list_display = ("current_stage", "archived")


# --- the launch's facts, each with its own list ----------------------------------------------------


class FactOfLaunchAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """A fact's own page: the record and its history; changes go through the services."""


_LAUNCH_SEARCH = ("launch__name", "launch__slug")


@admin.register(RolloutStage)
class RolloutStageAdmin(FactOfLaunchAdmin):
    list_display = ("name", "launch", "order", "kind", "exposure_percent", "planned_date")
    list_filter = ("kind", "launch__archived")
    list_select_related = ("launch",)
    search_fields = ("name", *_LAUNCH_SEARCH)
    autocomplete_fields = ("launch",)
    ordering = ("launch__name", "order")


class EvalRunInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = EvalRun
    formfield_overrides = HTTPS_URLS
    extra = 0
    fields = ("run_at", "samples", "failures", "human_reviewed", "golden_set_name", "golden_set_version", "link")
    ordering = ("-run_at",)


@admin.register(QualityBar)
class QualityBarAdmin(FactOfLaunchAdmin):
    list_display = ("metric", "launch", "max_failure_rate", "confidence_level", "min_samples", "agreed_by", "agreed_at")
    list_filter = ("launch__archived", ("agreed_by", admin.EmptyFieldListFilter))
    list_select_related = ("launch", "agreed_by")
    search_fields = ("metric", "failure_definition", *_LAUNCH_SEARCH)
    autocomplete_fields = ("launch", "agreed_by")
    inlines = (EvalRunInline,)


class _ReviewedFilter(admin.SimpleListFilter):
    """Filtering on the raw number of reviewed samples is noise; offer "was anything reviewed"."""

    title = "human review"
    parameter_name = "reviewed"

    def lookups(self, request, model_admin):
        return (("yes", "Some samples reviewed"), ("no", "None reviewed"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(human_reviewed__gt=0)
        if self.value() == "no":
            return queryset.filter(human_reviewed=0)
        return queryset


@admin.register(EvalRun)
class EvalRunAdmin(FactOfLaunchAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = (
        "__str__",
        "launch",
        "quality_bar",
        "failure_rate",
        "upper_bound",
        "proves_bar",
        "human_reviewed",
        "run_at",
        "recorded_at",
    )
    list_filter = (_ReviewedFilter, "quality_bar__launch__archived")
    list_select_related = ("quality_bar__launch",)
    search_fields = ("golden_set_name", "golden_set_version", "quality_bar__metric", "quality_bar__launch__name")
    autocomplete_fields = ("quality_bar",)
    date_hierarchy = "run_at"

    @admin.display(ordering="quality_bar__launch__name")
    def launch(self, run: EvalRun) -> Launch:
        return run.quality_bar.launch

    @admin.display(description="observed failure rate")
    def failure_rate(self, run: EvalRun) -> str:
        return f"{run.failures / run.samples:.2%}"

    @admin.display(description="upper bound")
    def upper_bound(self, run: EvalRun) -> str:
        return f"{judge(run.quality_bar, run).upper_bound:.2%}"

    @admin.display(description="proves the bar", boolean=True)
    def proves_bar(self, run: EvalRun) -> bool:
        return judge(run.quality_bar, run).proves_bar


@admin.register(DataAsset)
class DataAssetAdmin(FactOfLaunchAdmin):
    list_display = (
        "name",
        "launch",
        "classification",
        "access_level",
        "masked_in_logs",
        "retention_days",
        "last_audit_at",
        "audit_due_on",
    )
    list_filter = ("classification", "access_level", "masked_in_logs", "launch__archived")
    list_select_related = ("launch",)
    search_fields = ("name", "description", *_LAUNCH_SEARCH)
    autocomplete_fields = ("launch",)


@admin.register(SLO)
class SLOAdmin(FactOfLaunchAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ("__str__", "launch", "indicator", "target", "alert_threshold", "dashboard_link")
    list_filter = ("indicator", "launch__archived")
    list_select_related = ("launch",)
    search_fields = ("indicator", *_LAUNCH_SEARCH)
    autocomplete_fields = ("launch",)


@admin.register(SeverityLevel)
class SeverityLevelAdmin(FactOfLaunchAdmin):
    list_display = ("level", "launch", "response_label", "notify")
    list_filter = ("level", "notify", "launch__archived")
    list_select_related = ("launch",)
    search_fields = ("definition", *_LAUNCH_SEARCH)
    autocomplete_fields = ("launch",)

    @admin.display(description="respond within", ordering="response_minutes")
    def response_label(self, level: SeverityLevel) -> str:
        return level.response_label


@admin.register(RollbackPlan)
class RollbackPlanAdmin(FactOfLaunchAdmin):
    list_display = ("launch", "one_click", "last_rehearsed_at", "max_rehearsal_age_days")
    list_filter = ("one_click", ("last_rehearsed_at", admin.EmptyFieldListFilter), "launch__archived")
    list_select_related = ("launch",)
    search_fields = ("procedure", *_LAUNCH_SEARCH)
    autocomplete_fields = ("launch",)


@admin.register(Runbook)
class RunbookAdmin(FactOfLaunchAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ("launch", "link", "last_reviewed_at", "review_interval_days")
    list_filter = (("last_reviewed_at", admin.EmptyFieldListFilter), "launch__archived")
    list_select_related = ("launch",)
    search_fields = ("link", "content", *_LAUNCH_SEARCH)
    autocomplete_fields = ("launch",)


@admin.register(FeedbackChannel)
class FeedbackChannelAdmin(FactOfLaunchAdmin):
    list_display = ("kind", "launch", "review_cadence")
    list_filter = ("kind", "review_cadence", "launch__archived")
    list_select_related = ("launch",)
    search_fields = ("description", *_LAUNCH_SEARCH)
    autocomplete_fields = ("launch",)
