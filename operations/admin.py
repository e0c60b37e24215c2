"""Admin for operations after launch: read-only windows onto the record, with History. Values are
recorded and sources configured only through ``operations.services`` (who may, validation,
history naming the actor); the admin walk test proves nothing here writes."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from readiness.admin import ReadOnlyAdminMixin

from .models import PrometheusPull, PrometheusSource, SliActual


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
