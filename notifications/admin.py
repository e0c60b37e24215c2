"""Admin for the outbox: shown read-only, so an operator can see what is waiting or failing and
why; delivery alone changes it (``notifications.outbox``)."""

from django.contrib import admin

from readiness.admin import ReadOnlyAdminMixin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "launch", "channel", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "event", "channel")
    list_select_related = ("launch", "recipient")
    search_fields = ("recipient__username", "recipient__email", "last_error", "launch__slug")
    date_hierarchy = "created_at"
