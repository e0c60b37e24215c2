"""A launch's history tab: who changed which fact, when, field by field (simple-history), and the
launch's entries in the sign-off ledger; narrowed by kind of change, person and days, and paged.
A fixed number of queries: a few per kind of fact, however long the history."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
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

from .filters import LEDGER_KIND, HistoryFilter

HIDDEN_FIELDS = {"updated_at", "created_at", "proposed"}
# Many-to-many lists (who responded to an incident, who was notified) are shown on the incident's
# page; diffing them here would cost a query per row.
M2M_FIELDS = {"responders", "notified"}
# simple-history's own words for what happened to a row, in the reader's language.
ACTIONS = {"+": gettext_lazy("Created"), "~": gettext_lazy("Changed"), "-": gettext_lazy("Deleted")}
CHANGES_PER_PAGE = 50
LEDGER_PER_PAGE = 50
DESCRIBED = {Incident: str, RollbackExecution: str}


@dataclass
class Change:
    when: object
    who: str
    what: str
    action: str
    reason: str
    fields: list[tuple[str, object, object]]


@dataclass(frozen=True)
class Narrowed:
    """What the history is narrowed to (nothing when every field is left empty)."""

    models: list
    ledger: bool
    person: object | None = None
    since: datetime.date | None = None
    until: datetime.date | None = None

    def of_history(self, records):
        if self.person is not None:
            records = records.filter(history_user=self.person)
        if self.since:
            records = records.filter(history_date__gte=_start_of(self.since))
        if self.until:
            records = records.filter(history_date__lt=_start_of(self.until + datetime.timedelta(days=1)))
        return records

    def of_ledger(self, entries):
        """Entries by the person, of events that happened in the range (an event recorded after
        it happened counts on the day it happened)."""
        if self.person is not None:
            entries = entries.filter(actor=self.person.get_username())
        entries = entries.annotate(happened=Coalesce("occurred_at", "created_at"))
        if self.since:
            entries = entries.filter(happened__gte=_start_of(self.since))
        if self.until:
            entries = entries.filter(happened__lt=_start_of(self.until + datetime.timedelta(days=1)))
        return entries


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def history_models() -> list:
    """The kinds of change the history shows, each a model with history rows holding ``launch_id``:
    the launch itself, its facts, incidents and rollbacks executed (not facts a PM edits, but their
    changes are history too). RACI rows, reached through their area, are shown with it."""
    models = [Launch]
    for model in [*fact_kinds(), *DESCRIBED]:
        if "__" not in getattr(model, "launch_lookup", "launch"):
            models.append(model)
    return models


def _records(model, launch: Launch):
    if model is Launch:
        return Launch.history.filter(id=launch.pk)
    return model.history.filter(launch_id=launch.pk)


def launch_changes(launch: Launch, narrowed: Narrowed, page_number) -> Page:
    """One page of the launch's changes, newest first, across every kind asked for. Two queries per
    kind however long the history: the (date, id) of every matching row, to order and count them;
    then the page's rows with the earlier versions of the same rows, to show what changed."""
    keys = []
    for index, model in enumerate(narrowed.models):
        found = narrowed.of_history(_records(model, launch)).values_list("history_date", "history_id", "id")
        keys.extend((when, index, history_id, object_id) for when, history_id, object_id in found)
    keys.sort(reverse=True)
    page = Paginator(keys, CHANGES_PER_PAGE).get_page(page_number)
    kinds = fact_kinds()
    changes = []
    for index, model in enumerate(narrowed.models):
        on_page = [(history_id, object_id) for _when, at, history_id, object_id in page.object_list if at == index]
        if not on_page:
            continue
        wanted = {history_id for history_id, _ in on_page}
        label = str(model._meta.verbose_name)
        # The page's rows with every earlier version of the same rows, to diff each against the
        # one before it (one query).
        versions = _records(model, launch).filter(
            id__in={object_id for _, object_id in on_page}, history_id__lte=max(wanted)
        )
        shown, previous_of, last_by_id = {}, {}, {}
        for record in versions.select_related("history_user").order_by("history_id"):
            previous_of[record.history_id] = last_by_id.get(record.id)
            last_by_id[record.id] = record
            if record.history_id in wanted:
                shown[record.history_id] = record
        for history_id, record in shown.items():
            previous = previous_of.get(history_id)
            fields = []
            if previous is not None and record.history_type == "~":
                delta = record.diff_against(previous, excluded_fields=HIDDEN_FIELDS | M2M_FIELDS)
                fields = [(model._meta.get_field(c.field), c.old, c.new) for c in delta.changes]
            changes.append(
                Change(
                    when=record.history_date,
                    who=person_name(record.history_user) if record.history_user_id else "—",
                    what=label if model is Launch else f"{label} “{_describe(model, kinds, record)}”",
                    action=ACTIONS.get(record.history_type) or record.get_history_type_display(),
                    reason=record.history_change_reason or "",
                    fields=fields,
                )
            )
    changes.sort(key=lambda change: change.when, reverse=True)
    _name_related_rows(changes)
    page.object_list = changes
    return page


def _describe(model, kinds, record) -> str:
    if model in DESCRIBED:
        return DESCRIBED[model](record.instance)
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
    """The launch's history, narrowed by kind of change, person and days, a page at a time. Input
    that is not valid (an unknown kind or person, a date that is not one, a range backwards) is
    said beside its field, with the whole history shown, and answers 400."""
    launch = get_launch_for(request.user, slug)
    models = history_models()
    kinds = [(model._meta.label_lower, str(model._meta.verbose_name).capitalize()) for model in models]
    kinds.append((LEDGER_KIND, str(gettext_lazy("Sign-offs, agreements and stages (ledger)"))))
    filters = HistoryFilter(
        request.GET or None, queryset=LedgerEntry.objects.none(), kinds=kinds, people=_people(launch, models)
    )
    narrowed = Narrowed(models, ledger=True)
    valid = filters.is_valid() if request.GET else True
    if request.GET and valid:
        data = filters.form.cleaned_data
        kind = data.get("kind")
        narrowed = Narrowed(
            [model for model in models if not kind or model._meta.label_lower == kind],
            ledger=not kind or kind == LEDGER_KIND,
            person=data.get("person"),
            since=data.get("since"),
            until=data.get("until"),
        )
    ledger = (
        narrowed.of_ledger(LedgerEntry.objects.filter(launch=launch)) if narrowed.ledger else LedgerEntry.objects.none()
    )
    entries = Paginator(ledger.order_by("-sequence"), LEDGER_PER_PAGE).get_page(request.GET.get("ledger_page"))
    query = request.GET.copy()
    for key in ("page", "ledger_page"):
        query.pop(key, None)
    response = render(
        request,
        "web/history.html",
        {
            "launch": launch,
            "filters": filters,
            "narrowed": request.GET and valid and any(request.GET.get(key) for key in filters.form.fields),
            "changes": launch_changes(launch, narrowed, request.GET.get("page")),
            "show_ledger": narrowed.ledger,
            "entries": entries,
            "query": query.urlencode(),
            "rollbacks": launch_rollbacks(launch=launch),
            "rollback_plan": RollbackPlan.objects.filter(launch=launch).first(),
        },
    )
    if not valid:
        response.status_code = 400
    return response


def _people(launch: Launch, models: list):
    """Who appears in the launch's history (changes or ledger): the only people worth offering,
    and none the reader could not already read of here. One query."""
    User = get_user_model()
    changed = Q()
    for model in models:
        ids = _records(model, launch).exclude(history_user=None).values("history_user_id")
        changed |= Q(pk__in=ids)
    actors = LedgerEntry.objects.filter(launch=launch).values("actor")
    return User.objects.filter(changed | Q(username__in=actors)).order_by("first_name", "last_name", "username")
