"""Every event in the ledger is a ``LedgerEvent``: the chain refuses anything else, however it is
reached (a service's own append, the port the apps below approvals write through), so no module can
record a bare string, a typo or an event nobody declared. ``ledger.events`` is the one module of the
ledger that ``readiness`` imports: it must import nothing from any project app."""

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from ledger.chain import append
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from readiness.recording import record

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("event", ["decided", "fact_recorded", "bar_agreed", "no_such_event"])
def test_appending_a_bare_string_is_refused_and_appends_nothing(launch, owner, event):
    count = LedgerEntry.objects.count()
    with pytest.raises(TypeError, match="LedgerEvent"), transaction.atomic():
        append(event=event, launch=launch, actor=owner, payload={})
    assert LedgerEntry.objects.count() == count


def test_recording_a_bare_string_through_the_port_is_refused(launch, owner):
    count = LedgerEntry.objects.count()
    with pytest.raises(TypeError, match="LedgerEvent"), transaction.atomic():
        record(event="slo_agreed", launch=launch, actor=owner, payload={})
    assert LedgerEntry.objects.count() == count


def test_a_ledger_event_is_appended_and_read_back_as_itself(launch, owner):
    with transaction.atomic():
        entry = append(event=LedgerEvent.VERSION_CHANGED, launch=launch, actor=owner, payload={"to": "v2"})
    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert stored.event == LedgerEvent.VERSION_CHANGED
    assert stored.get_event_display() == "Serving version changed"


def test_the_events_module_imports_nothing_from_any_project_app():
    source = Path(settings.BASE_DIR, "ledger", "events.py")
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import reaches into the ledger"
            imported.add(node.module.split(".")[0])
    assert imported == {"django"}
