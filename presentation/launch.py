"""The launch as its page and its report show it."""

from __future__ import annotations

from django.db.models import Prefetch

from raci.models import LaunchStakeholder
from readiness.models import Launch
from readiness.selectors import launch_with_facts


def slots_prefetch() -> Prefetch:
    """The launch's stakeholder slots with the people filling them."""
    return Prefetch("stakeholder_slots", queryset=LaunchStakeholder.objects.select_related("stakeholder__user"))


def launch_as_shown(launch_id: int) -> Launch:
    """``launch_with_facts`` and what the page and the report show beside the checklist: the
    stakeholder slots with their people, and the last recertification (``stage_health`` reads it)."""
    return launch_with_facts(launch_id, select_related=("stage_standing",), prefetch_related=(slots_prefetch(),))
