"""A launch's history tab: who changed which fact, when, field by field (simple-history), and the
launch's entries in the sign-off ledger. A fixed number of queries: one per kind of fact."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from ledger.models import LedgerEntry
from operations.models import Incident, RollbackExecution
from operations.selectors import launch_rollbacks
from presentation.facts import shown_value
from readiness.access import get_launch_for
from readiness.models import Launch, RollbackPlan
from readiness.people import person_name
from readiness.services import fact_kinds

HIDDEN_FIELDS = {"updated_at", "created_at", "proposed"}
# Many-to-many lists (who responded to an incident, who was notified) are shown on the incident's
# page; diffing them here would cost a query per row.
M2M_FIELDS = {"responders", "notified"}
# simple-history's own words for what happened to a row, in the reader's language.
ACTIONS = {"+": gettext_lazy("Created"), "~": gettext_lazy("Changed"), "-": gettext_lazy("Deleted")}
CHANGES_SHOWN = 300


@dataclass
class Change:
    when: object
    who: str
    what: str
    action: str
    reason: str
    fields: list[tuple[str, object, object]]


def launch_changes(launch: Launch) -> list[Change]:
    changes = []
    kinds = fact_kinds()
    # Incidents and rollbacks executed are not facts a PM edits, but their changes are history too.
    described = {Incident: str, RollbackExecution: str}
    for model in [Launch, *kinds, *described]:
        if model is Launch:
            records = Launch.history.filter(id=launch.pk)
        else:
            lookup = getattr(model, "launch_lookup", "launch")
            if "__" in lookup:
                continue  # rows reached through another fact (RACI rows): shown with their area
            records = model.history.filter(launch_id=launch.pk)
        records = list(records.select_related("history_user").order_by("id", "history_id"))
        label = str(model._meta.verbose_name)
        previous_by_id = {}
        for record in records:
            previous = previous_by_id.get(record.id)
            fields = []
            if previous is not None and record.history_type == "~":
                delta = record.diff_against(previous, excluded_fields=HIDDEN_FIELDS | M2M_FIELDS)
                fields = [(model._meta.get_field(c.field), c.old, c.new) for c in delta.changes]
            previous_by_id[record.id] = record
            changes.append(
                Change(
                    when=record.history_date,
                    who=person_name(record.history_user) if record.history_user_id else "—",
                    what=label if model is Launch else f"{label} “{_describe(model, kinds, described, record)}”",
                    action=ACTIONS.get(record.history_type) or record.get_history_type_display(),
                    reason=record.history_change_reason or "",
                    fields=fields,
                )
            )
    changes.sort(key=lambda change: change.when, reverse=True)
    changes = changes[:CHANGES_SHOWN]
    _name_related_rows(changes)
    return changes


def _describe(model, kinds, described, record) -> str:
    if model in described:
        return described[model](record.instance)
    return kinds[model].describe(record.instance)


def _name_related_rows(changes: list[Change]) -> None:
    """Show a changed reference (who agreed, who fills a slot) by its name, not its id: one query
    per kind of row referred to."""
    wanted: dict[type, set] = {}
    for change in changes:
        for field, old, new in change.fields:
            if field.is_relation:
                wanted.setdefault(field.related_model, set()).update(v for v in (old, new) if v is not None)
    names = {
        model: {pk: _label(row) for pk, row in model._default_manager.in_bulk(list(pks)).items()}
        for model, pks in wanted.items()
    }
    for change in changes:
        change.fields = [
            (
                str(field.verbose_name),
                _show(
                    field, names[field.related_model].get(old, old) if field.is_relation and old is not None else old
                ),
                _show(
                    field, names[field.related_model].get(new, new) if field.is_relation and new is not None else new
                ),
            )
            for field, old, new in change.fields
        ]


def _label(row) -> str:
    user = getattr(row, "user", None)  # a stakeholder reads as their person
    return person_name(user if user is not None else row) if hasattr(row, "get_full_name") or user else str(row)


def _show(field, value) -> str:
    """An old or new value as the reader's language shows it: a choice by its label, dates and
    numbers localised."""
    if value in (None, ""):
        return "—"
    if not field.is_relation and getattr(field, "choices", None):
        labels = dict(field.flatchoices)
        if value in labels:
            return str(labels[value])
    return shown_value(value)


@require_GET
@login_required
def launch_history(request: HttpRequest, slug: str) -> HttpResponse:
    launch = get_launch_for(request.user, slug)
    entries = Paginator(LedgerEntry.objects.filter(launch=launch).order_by("-sequence"), 50).get_page(
        request.GET.get("ledger_page")
    )
    return render(
        request,
        "web/history.html",
        {
            "launch": launch,
            "changes": launch_changes(launch),
            "entries": entries,
            "limit": CHANGES_SHOWN,
            "rollbacks": launch_rollbacks(launch=launch),
            "rollback_plan": RollbackPlan.objects.filter(launch=launch).first(),
        },
    )
