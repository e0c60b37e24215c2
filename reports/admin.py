"""The reports Preflight issued, read-only: a window onto the record (who asked for what, when,
on which facts, with which hash), never a way to change it. The PDF itself is downloaded from the
product, where the launch's permission is checked."""

from django.contrib import admin

from readiness.admin import ReadOnlyAdminMixin

from .models import Report


@admin.register(Report)
class ReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "kind", "launch", "stage", "language", "requested_by", "requested_at", "status", "attempts")
    list_filter = ("kind", "status", "language")
    list_select_related = ("launch", "stage", "requested_by")
    search_fields = ("id", "sha256", "facts_fingerprint", "launch__slug", "requested_by__username")
    date_hierarchy = "requested_at"
    fields = (
        "id",
        "kind",
        "launch",
        "stage",
        "language",
        "requested_by",
        "requested_at",
        "status",
        "attempts",
        "started_at",
        "finished_at",
        "error",
        "sha256",
        "facts_fingerprint",
        "ledger_head",
    )

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("pdf")
