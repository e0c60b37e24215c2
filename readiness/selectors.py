"""Read paths over launches that every layer above shares."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch

from .checklist import with_checklist_facts
from .models import Launch


def launch_with_facts(
    launch_id: int, *, select_related: Iterable[str] = (), prefetch_related: Iterable[str | Prefetch] = ()
) -> Launch:
    """The launch ``launch_id`` read with its owner, its stages and every fact the registered
    checks read, in a fixed number of queries however big it is: what the gate, the sign-off
    services, the pages and the reports all evaluate. A caller adds what it shows besides
    (``select_related``, ``prefetch_related``); ``readiness`` names nothing of the apps above it."""
    queryset = (
        Launch.objects.filter(pk=launch_id).select_related("owner", *select_related).prefetch_related(*prefetch_related)
    )
    return with_checklist_facts(queryset).get()
