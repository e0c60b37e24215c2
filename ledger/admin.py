"""Admin for the ledger: entries shown read-only, as everything ``verify_ledger`` cross-checks.

Entries are appended only by the services, under the head's lock; an entry added or changed here
would break the chain. The head, the lock row appends serialise on, is deliberately not registered."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from readiness.admin import ReadOnlyAdminMixin, pretty_json

from .models import LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("sequence", "event", "launch_slug", "actor", "created_at", "short_hash")
    list_filter = ("event",)
    search_fields = ("launch_slug", "actor", "entry_hash", "snapshot_hash")
    date_hierarchy = "created_at"
    ordering = ("-sequence",)
    exclude = ("payload",)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return tuple(f for f in fields if f != "payload") + ("payload_pretty",)

    @admin.display(description="hash")
    def short_hash(self, entry: LedgerEntry) -> str:
        return entry.entry_hash[:12]

    @admin.display(description="payload")
    def payload_pretty(self, entry: LedgerEntry) -> str:
        return pretty_json(entry.payload)
