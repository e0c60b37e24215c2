"""Admin for incidents, post-mortems, action items and rollbacks executed: read-only with their
History (django-simple-history). They change only through ``operations.services``, which check
who may act and ledger what the gate reads; the admin is a window onto the record."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from readiness.admin import FactOfLaunchAdmin, ReadOnlyAdminMixin

from .models import ActionItem, Incident, PostMortem, PrometheusPull, PrometheusSource, RollbackExecution, SliActual

# =============================================================================================
# Incidents
# =============================================================================================


class ActionItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ActionItem
    extra = 0
    fields = ("description", "owner", "due_date", "completed_at", "completed_by")


@admin.register(Incident)
class IncidentAdmin(FactOfLaunchAdmin):
    list_display = ("title", "severity", "launch", "detected_at", "acknowledged_at", "resolved_at")
    list_filter = ("severity", ("resolved_at", admin.EmptyFieldListFilter), "launch__archived")
    list_select_related = ("launch",)
    search_fields = ("title", "launch__name", "launch__slug")
    date_hierarchy = "detected_at"


@admin.register(PostMortem)
class PostMortemAdmin(FactOfLaunchAdmin):
    list_display = ("incident", "written_by", "recorded_at")
    list_select_related = ("incident", "written_by")
    search_fields = ("incident__title", "incident__launch__slug")
    inlines = [ActionItemInline]


@admin.register(ActionItem)
class ActionItemAdmin(FactOfLaunchAdmin):
    list_display = ("description", "owner", "due_date", "completed_at")
    list_filter = (("completed_at", admin.EmptyFieldListFilter),)
    list_select_related = ("owner__user",)
    search_fields = ("description", "postmortem__incident__title")


# =============================================================================================
# Rollbacks
# =============================================================================================


@admin.register(RollbackExecution)
class RollbackExecutionAdmin(FactOfLaunchAdmin):
    list_display = ("launch", "from_stage_name", "to_stage_name", "performed_by", "rolled_back_at", "duration")
    list_select_related = ("launch", "performed_by")
    search_fields = ("reason", "launch__name", "launch__slug")
    date_hierarchy = "rolled_back_at"


@admin.register(SliActual)
class SliActualAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("launch", "indicator", "day", "value", "source", "recorded_by", "recorded_at")
    list_filter = ("indicator", "source")
    list_select_related = ("launch", "recorded_by")
    search_fields = ("launch__slug", "launch__name")
    date_hierarchy = "day"


@admin.register(PrometheusSource)
class PrometheusSourceAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("launch", "base_url", "configured_by")
    list_select_related = ("launch", "configured_by")
    search_fields = ("launch__slug", "launch__name", "base_url")


@admin.register(PrometheusPull)
class PrometheusPullAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("source", "pulled_at", "status", "recorded")
    list_filter = ("status",)
    list_select_related = ("source__launch",)
