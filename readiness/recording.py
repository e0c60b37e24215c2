"""The port through which ``readiness`` writes to the ledger, and the registry of its cross-checks.

Some facts the gate reads are changed by ``readiness`` services (a quality bar redefined, the
version in service) and by the apps above it. Those services must append to the ledger in their own
transaction, but ``readiness`` is below ``ledger`` and may not import it (see DESIGN.md): ``ledger``
installs its recorder here when it starts; recording without one installed is a configuration error,
never a silent skip. The events are ``ledger.events.LedgerEvent``, the one module of the ledger that
this app imports, as the port's vocabulary.

The registry of cross-checks lives here too, so it is one registry that every app can reach,
``readiness`` included: each app registers the checks over its own rows from its
``AppConfig.ready()``, and ``ledger.verification.verify`` runs them."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from ledger.events import LedgerEvent

Recorder = Callable[..., object]
_recorder: Recorder | None = None
# Cross-checks of an app's own rows against the entries its services wrote, run by the ledger's
# verification: ``check(entries)`` gets the ledger read once (``ledger.verification.Entries``: its
# ``by_event``, ``facts``, ``one_each``) and returns the first disagreement as a sentence, or "".
LedgerCheck = Callable[..., str]
_ledger_checks: dict[LedgerCheck, bool] = {}  # check -> whether it is a catch-all


def install_recorder(recorder: Recorder) -> None:
    global _recorder
    _recorder = recorder


def record(*, event: LedgerEvent, launch, actor, payload: dict, seal: Iterable[models.Model] = ()) -> object:
    """Append ``event`` for ``launch`` to the ledger, sealing the history rows of ``seal``."""
    if _recorder is None:
        raise ImproperlyConfigured("No ledger is installed: add 'ledger' to INSTALLED_APPS.")
    return _recorder(event=event, launch=launch, actor=actor, payload=payload, seal=seal)


def register_ledger_check(check: LedgerCheck | None = None, *, catch_all: bool = False):
    """Decorator (``@register_ledger_check``, or ``@register_ledger_check(catch_all=True)``)
    registering ``check(entries) -> str``, so that ``verify_ledger`` cross-checks the rows an app
    owns against the entries its services wrote, without the ledger importing the app. Each app
    decorates its checks in its ``ledger_checks`` module, which its ``AppConfig.ready()`` imports.
    Checks run in the order they were registered, a ``catch_all`` (the sealed facts, which also
    cover rows other checks read more closely) after every other: a disagreement is named by the
    most specific check that sees it."""

    def register(check: LedgerCheck) -> LedgerCheck:
        _ledger_checks.setdefault(check, catch_all)
        return check

    return register if check is None else register(check)


def ledger_checks() -> list[LedgerCheck]:
    return sorted(_ledger_checks, key=_ledger_checks.__getitem__)


# --- sealed facts ---------------------------------------------------------------------------------
# Every row the gate, the checklist, the sign-off requirements or an approval's snapshot reads is a
# "sealed fact": whenever ``save_with_history`` or ``delete_with_history`` writes one, the same
# transaction appends a FACT_RECORDED entry holding the row's values (``fact_record``), and
# ``verify_ledger`` checks every such row equals its newest entry and every entry still has its row.
# Each app registers its models (``register_sealed_facts``) from its ``AppConfig.ready()``.
#
# Sealed fields are every concrete field of the model except its key and ``exclude``, read when the
# row is written: a field added by a later migration is sealed from the next write on, and compared
# only where an entry recorded it, so old entries never disagree. Such a migration should end by
# sealing the rows again (``ledger.baseline.seal_unrecorded(fields_added=True)``), or the new
# field of rows untouched since is not covered until their next write.

# Text longer than this is recorded as a digest, so the ledger does not copy whole runbooks.
LONG_VALUE = 120


@dataclass(frozen=True)
class SealedFacts:
    """One model of sealed facts. ``launch`` is the attribute path from a row to its launch
    ("launch", "quality_bar.launch", "" for the launch itself, None for rows of no launch such as
    teams and team memberships); ``exclude`` names fields nothing reads."""

    model: type[models.Model]
    launch: str | None
    exclude: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def fields(self) -> tuple[str, ...]:
        return self.fields_of(self.model)

    def fields_of(self, model: type[models.Model]) -> tuple[str, ...]:
        """The sealed fields of ``model``: this one, or its state in a migration."""
        return tuple(
            field.attname
            for field in model._meta.concrete_fields
            if not field.primary_key and field.name not in self.exclude and field.attname not in self.exclude
        )

    @property
    def launch_lookup(self) -> str | None:
        """The ORM lookup of a row's launch id ("quality_bar__launch_id"), for reading many rows."""
        if self.launch is None:
            return None
        return "__".join([*filter(None, self.launch.split(".")), "id"]) if self.launch else "pk"

    def launch_of(self, row: models.Model):
        if self.launch is None:
            return None
        launch = row
        for part in filter(None, self.launch.split(".")):
            launch = getattr(launch, part)
        return launch


_sealed: dict[type[models.Model], SealedFacts] = {}


def register_sealed_facts(model: type[models.Model], *, launch: str | None, exclude: Iterable[str] = ()) -> None:
    _sealed[model] = SealedFacts(model=model, launch=launch, exclude=tuple(exclude))


def sealed_facts() -> dict[type[models.Model], SealedFacts]:
    return dict(_sealed)


def sealed(model: type[models.Model]) -> SealedFacts | None:
    return _sealed.get(model)


def fact_value(value):
    """One field's value as the ledger records it: JSON, the same whichever database read it."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    value = str(value)
    if len(value) > LONG_VALUE:
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return value


def fact_records(model: type[models.Model], pks: Iterable[int], *, spec: SealedFacts | None = None) -> list[dict]:
    """What the ledger records of the rows ``pks`` of a sealed model, read back from the database
    (so what is recorded is what a later read returns): [{model, id, values}], one query. A
    migration passes its historical ``model`` and the live ``spec``."""
    spec = spec or _sealed[model]
    fields = spec.fields_of(model)
    pks = sorted(pks)
    records = []
    for start in range(0, len(pks), 500):  # SQLite bounds the parameters of one query
        rows = model._default_manager.filter(pk__in=pks[start : start + 500]).order_by("pk").values_list("pk", *fields)
        records.extend(
            {"model": spec.label, "id": pk, "values": dict(zip(fields, map(fact_value, values), strict=True))}
            for pk, *values in rows
        )
    return records


def record_facts(*, actor, launch, rows: Iterable[models.Model] = (), removed: Iterable[tuple[str, int]] = ()):
    """Append one FACT_RECORDED entry for ``launch`` (None for teams and memberships) recording the
    current values of ``rows`` and the removal of ``removed`` ((model label, id) pairs)."""
    facts: list[dict] = []
    by_model: dict[type[models.Model], list[int]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(row.pk)
    for model, pks in by_model.items():
        facts.extend(fact_records(model, pks))
    facts.extend({"model": label, "id": pk, "removed": True} for label, pk in sorted(set(removed)))
    if not facts:
        return None
    return record(event=LedgerEvent.FACT_RECORDED, launch=launch, actor=actor, payload={"facts": facts})
