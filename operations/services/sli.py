"""State changes of operations after launch. Every function is keyword-only, takes the acting user,
runs in one transaction with the launch locked, checks permission, and writes history.

SLI actuals
-----------
Who may record a day's SLI values: the launch's owner, and the Responsible and Accountable people
of the area owning the SLI's concern (``raci.selectors.slo_owning_area``: availability for success
and error rates, latency, cost; operations by default) — those who run the service and answer for
it. Who may configure the Prometheus source: the owner and the Accountable of the area owning
availability (the source feeds every SLI, so one person answers for it besides the owner).
Anyone else is refused (404 for who may not see the launch, 403 for a viewer)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from ledger.events import LedgerEvent
from raci.choices import Role
from raci.models import RaciAssignment, ResponsibilityArea
from raci.selectors import slo_owning_area
from readiness.access import refuse_if_archived, require_view
from readiness.choices import SloIndicator
from readiness.history import save_with_history
from readiness.i18n import shown_date
from readiness.models import Launch
from readiness.recording import record
from readiness.services.facts import lock_launch

from ..models import SLI_INDICATORS, PrometheusSource, SliActual, SliSource, sli_value_problem

RECORDING_ROLES = (Role.RESPONSIBLE, Role.ACCOUNTABLE)


@dataclass(frozen=True)
class Measurement:
    """One value to record: ``line`` names where it came from (a CSV line) in error messages."""

    day: datetime.date
    indicator: str
    value: Decimal
    line: int | None = None


def launch_areas(launch: Launch) -> list[ResponsibilityArea]:
    assignments = RaciAssignment.objects.select_related("stakeholder")
    return list(launch.areas.order_by("pk").prefetch_related(Prefetch("assignments", queryset=assignments)))


def _holders(area: ResponsibilityArea | None, roles: Iterable[str]) -> set[int]:
    if area is None:
        return set()
    return {a.stakeholder.user_id for a in area.assignments.all() if a.role in roles}


def recordable_indicators(user, launch: Launch, areas: list[ResponsibilityArea] | None = None) -> set[str]:
    """The SLI indicators ``user`` may record values of on ``launch`` (see the module's docstring)."""
    if not (user.is_authenticated and user.is_active):
        return set()
    if user.pk == launch.owner_id:
        return set(SLI_INDICATORS)
    areas = launch_areas(launch) if areas is None else areas
    return {
        indicator
        for indicator in SLI_INDICATORS
        if user.pk in _holders(slo_owning_area(areas, indicator), RECORDING_ROLES)
    }


def may_configure_source(user, launch: Launch, areas: list[ResponsibilityArea] | None = None) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.pk == launch.owner_id:
        return True
    areas = launch_areas(launch) if areas is None else areas
    return user.pk in _holders(slo_owning_area(areas, SloIndicator.SUCCESS_RATE), (Role.ACCOUNTABLE,))


def _where(measurement: Measurement) -> str:
    if measurement.line is None:
        return ""
    return _("Line %(line)s: ") % {"line": measurement.line}


def _check_values(measurements: list[Measurement], today: datetime.date) -> None:
    """Every problem of every value, each naming its line and column; nothing is saved if any."""
    problems, seen = [], {}
    for m in measurements:
        where = _where(m)
        if problem := sli_value_problem(m.indicator, m.value):
            column = "indicator" if m.indicator not in SLI_INDICATORS else "value"
            problems.append(f"{where}{column}: {problem}")
        if m.day > today:
            problems.append(
                f"{where}date: "
                + _("%(day)s is in the future; record a day once it has been measured.") % {"day": shown_date(m.day)}
            )
        key = (m.indicator, m.day)
        if key in seen:
            problems.append(
                f"{where}date: "
                + _("%(indicator)s on %(day)s is given twice (also line %(other)s).")
                % {"indicator": m.indicator, "day": shown_date(m.day), "other": seen[key]}
            )
        seen[key] = m.line
    if problems:
        raise ValidationError(problems)


def _check_batch(measurements: list[Measurement]) -> None:
    """What a batch of values must be before any transaction starts: not empty, within
    ``SLI_UPLOAD_MAX_ROWS``, and every value valid (each problem naming its line and column)."""
    if not measurements:
        raise ValidationError(_("There are no values to record."))
    limit = settings.SLI_UPLOAD_MAX_ROWS
    if len(measurements) > limit:
        raise ValidationError(
            _("There are %(count)s values; at most %(max)s are recorded at once (SLI_UPLOAD_MAX_ROWS): split them.")
            % {"count": f"{len(measurements):,}", "max": f"{limit:,}"}
        )
    _check_values(measurements, timezone.localdate())


def sli_record(*, actor, launch: Launch, measurements: Iterable[Measurement], source: str) -> list[SliActual]:
    """Record daily SLI values, all or nothing. A day already recorded with another value is
    replaced (its history keeps the earlier value and who recorded it); a day recorded with the
    same value from the same source is left as it is, so recording a file twice writes nothing
    the second time. Returns the values written. ``source`` is the command or the form.

    The values are validated before the transaction starts, and the transaction writes them in
    bulk: on SQLite it holds the whole database's write lock, so a 10,000-row file must not keep
    everyone else waiting for long (scripts/bench_sli_upload.py measures it)."""
    if source not in (SliSource.COMMAND, SliSource.FORM):
        raise ValidationError({"source": _("People record values from the command or the form.")})
    measurements = list(measurements)
    _check_batch(measurements)
    return _record_checked(actor=actor, launch=launch, measurements=measurements, source=source)


@transaction.atomic
def _record_checked(*, actor, launch: Launch, measurements: list[Measurement], source: str) -> list[SliActual]:
    launch = lock_launch(launch)
    require_view(actor, launch)
    refuse_if_archived(launch)
    allowed = recordable_indicators(actor, launch)
    refused = sorted({m.indicator for m in measurements} - allowed)
    if refused:
        raise PermissionDenied(
            _(
                "Only the launch owner and the Responsible or Accountable of the area owning an SLI "
                "record its values; you may not record %(indicators)s."
            )
            % {"indicators": ", ".join(refused)}
        )
    return _store(launch, measurements, source=source, actor=actor)


class ScheduledPull:
    """The acting party the ledger names for values the scheduled Prometheus pull recorded (no
    person acted; the values' history names nobody)."""

    pk = None

    def get_username(self) -> str:
        return "scheduled-prometheus-pull"


WRITTEN_FIELDS = ["value", "source", "recorded_by", "recorded_at"]


def _value_text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _store(launch: Launch, measurements: list[Measurement], *, source: str, actor) -> list[SliActual]:
    """Save the values in bulk, each with its history row, and ledger them in one entry of the
    same transaction sealing those history rows: item 15 reads them to gate the next stage, so a
    value rewritten later outside the services shows up in ``verify_ledger``. The queries are a
    fixed few plus one per batch of rows the database takes in one statement, never one per row;
    days whose value (and source) is unchanged are not written."""
    now = timezone.now()
    days = [m.day for m in measurements]
    existing = {
        (a.indicator, a.day): a for a in SliActual.objects.filter(launch=launch, day__range=(min(days), max(days)))
    }
    created, changed, replaced = [], [], {}
    for m in measurements:
        actual = existing.get((m.indicator, m.day))
        if actual is None:
            actual = SliActual(launch=launch, indicator=m.indicator, day=m.day)
            created.append(actual)
        elif actual.value == m.value and actual.source == source:
            continue
        else:
            replaced[(m.indicator, m.day)] = _value_text(actual.value)
            changed.append(actual)
        # Validated before the transaction (_check_values applies the model's own sli_value_problem
        # and the rules of its clean()); the database's constraints stand behind it.
        actual.value, actual.source, actual.recorded_by, actual.recorded_at = m.value, source, actor, now
        actual._history_user = actor
        actual._change_reason = f"{'Re-recorded' if actual.pk else 'Recorded'} from {source}"
    if not created and not changed:
        return []
    bulk_create_with_history(created, SliActual, default_date=now)
    bulk_update_with_history(changed, SliActual, fields=WRITTEN_FIELDS, default_date=now)
    written = created + changed
    _attach_history_rows(launch, written, now)
    record(
        event=LedgerEvent.SLI_RECORDED,
        launch=launch,
        actor=actor or ScheduledPull(),
        payload={
            "source": source,
            "values": [
                {
                    "indicator": a.indicator,
                    "day": a.day.isoformat(),
                    "value": _value_text(a.value),
                    "replaced": replaced.get((a.indicator, a.day)),
                }
                for a in written
            ],
        },
        seal=written,
    )
    return written


def _attach_history_rows(launch: Launch, actuals: list[SliActual], when: datetime.datetime) -> None:
    """Bulk writes send no history signals: name the history rows just written (all dated
    ``when``; their ids in one query) so that the ledger can seal them (it reads them back)."""
    history = SliActual.history.model
    ids = dict(
        SliActual.history.filter(launch_id=launch.pk, history_date=when)
        .order_by("history_id")
        .values_list("id", "history_id")
    )
    for actual in actuals:
        actual._latest_history_row = history(history_id=ids[actual.pk])


@transaction.atomic
def sli_record_pulled(*, launch: Launch, measurements: list[Measurement]) -> list[SliActual]:
    """Values the scheduled Prometheus pull measured; no person acts, so none is named. A day
    recorded meanwhile (by a person while the pull was asking Prometheus) is left alone: the pull
    fills in missing days, it never replaces a value."""
    launch = lock_launch(launch)
    if launch.archived or not measurements:
        return []
    days = [m.day for m in measurements]
    recorded = set(
        SliActual.objects.filter(launch=launch, day__range=(min(days), max(days))).values_list("indicator", "day")
    )
    measurements = [m for m in measurements if (m.indicator, m.day) not in recorded]
    if not measurements:
        return []
    _check_values(measurements, timezone.localdate())
    return _store(launch, measurements, source=SliSource.PROMETHEUS, actor=None)


@transaction.atomic
def prometheus_source_set(*, actor, launch: Launch, base_url: str, queries: dict[str, str]) -> PrometheusSource:
    """Name the launch's Prometheus server and its PromQL query per SLI (replacing what was set)."""
    launch = lock_launch(launch)
    require_view(actor, launch)
    refuse_if_archived(launch)
    if not may_configure_source(actor, launch):
        raise PermissionDenied(
            _("Only the launch owner and the Accountable for availability configure its Prometheus source.")
        )
    source = PrometheusSource.objects.filter(launch=launch).first() or PrometheusSource(launch=launch)
    changed = source.pk is not None
    source.base_url, source.queries, source.configured_by = base_url.strip(), dict(queries), actor
    return save_with_history(
        source, actor=actor, reason="Prometheus source changed" if changed else "Prometheus source configured"
    )
