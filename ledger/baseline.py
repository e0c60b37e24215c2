"""The sealed-fact baseline: sealing the facts the ledger holds no entry for. Rows written before
facts were ledgered (a data migration: approvals 0021), rows a test or the demo built without the
services, and fields a later migration added.

Sealing records what the rows hold now, so it also seals a change made in SQL before it runs:
run it where a fresh start is meant (a migration, a new database), never to make a failing
``verify_ledger`` pass. A row whose newest entry disagrees with it is never sealed again here."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from django.apps import apps as live_apps
from django.db import transaction

from readiness.recording import fact_records, fact_value, sealed_facts

from .chain import append
from .events import LedgerEvent
from .models import LedgerEntry


def _recorded() -> dict[tuple[str, int], dict]:
    recorded: dict[tuple[str, int], dict] = {}
    entries = LedgerEntry.objects.filter(event=LedgerEvent.FACT_RECORDED).order_by("sequence")
    for payload in entries.values_list("payload", flat=True).iterator(chunk_size=2000):
        for fact in payload.get("facts", []):
            recorded[(fact.get("model"), fact.get("id"))] = fact
    return recorded


@transaction.atomic
def seal_unrecorded(*, actor=None, apps=live_apps, fields_added: bool = False) -> int:
    """Append FACT_RECORDED entries for every sealed fact that has none (one entry per launch and
    one for the rows of no launch, whatever their number); with ``fields_added``, also for rows
    whose newest entry lacks a field the model has now and agrees on every field it recorded.
    ``apps`` is a migration's app registry there. Returns the number of rows sealed."""
    recorded = _recorded()
    wanted: dict[int | None, dict[str, tuple]] = defaultdict(dict)
    for spec in sealed_facts().values():
        model = apps.get_model(spec.label)
        fields = spec.fields_of(model)
        lookup = spec.launch_lookup
        columns = ("pk", lookup or "pk", *fields)
        for pk, launch_id, *values in model._default_manager.order_by("pk").values_list(*columns).iterator():
            fact = recorded.get((spec.label, pk))
            if fact is not None and not fact.get("removed"):
                was = fact.get("values", {})
                if not fields_added or set(fields) <= set(was):
                    continue
                if any(
                    was[name] != fact_value(value) for name, value in zip(fields, values, strict=True) if name in was
                ):
                    continue  # a disagreement is verify_ledger's to report, not ours to seal
            key = launch_id if lookup else None
            wanted[key].setdefault(spec.label, (model, spec, []))[2].append(pk)
    launches = dict(
        apps.get_model("readiness", "Launch")
        ._default_manager.filter(pk__in=[k for k in wanted if k])
        .values_list("pk", "slug")
    )
    count = 0
    for launch_id, by_model in sorted(wanted.items(), key=lambda item: (item[0] is not None, item[0] or 0)):
        facts = []
        for model, spec, pks in by_model.values():
            facts.extend(fact_records(model, pks, spec=spec))
        count += len(facts)
        launch = SimpleNamespace(pk=launch_id, slug=launches[launch_id]) if launch_id else None
        append(event=LedgerEvent.FACT_RECORDED, launch=launch, actor=actor, payload={"facts": facts})
    return count
