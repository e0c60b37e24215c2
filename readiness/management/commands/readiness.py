"""`manage.py readiness SLUG [--stage STAGE] [--what-if] [--json]`: may this launch enter a stage?

It answers exactly what the stage gate (``approvals.services.stage_advance``) would do now: a stage
that is not the next one is refused, and at the final stage there is no stage to enter.
``--what-if`` judges a stage on its checklist alone, as if it were the next one. For a launch in a
stage it also says whether that stage still holds, by the recertification's rule (the stage's gating
items judged now); the portfolio's "Operations health" shows the same.

Exit status: 0 when it may, 1 when it may not, 2 when the launch or stage is unknown. Pipelines
can gate a deployment on it."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from readiness.checklist import Readiness, Status, current_stage_of, evaluate, with_checklist_facts
from readiness.models import Launch

_MARKS = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.NOT_APPLICABLE: "N/A ", Status.WAIVED: "WAIV"}


class Command(BaseCommand):
    help = "Print a launch's checklist for its next stage (or --stage) and exit 0 if it may enter it, 1 if not."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The launch's slug.")
        parser.add_argument("--stage", help="Stage name or kind (internal, beta, full); default: the next stage.")
        parser.add_argument(
            "--what-if",
            action="store_true",
            dest="what_if",
            help="Evaluate the checklist for the stage ignoring the rollout order (at the final stage: the final stage).",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print machine-readable JSON.")

    def handle(self, *args, slug: str, stage: str | None, as_json: bool, what_if: bool = False, **options):
        try:
            launch = with_checklist_facts(Launch.objects.filter(slug=slug)).get()
        except Launch.DoesNotExist:
            raise CommandError(f"Unknown launch '{slug}'.", returncode=2) from None
        target = self._stage(launch, stage, what_if=what_if)
        readiness = evaluate(launch, target, ignore_order=what_if)
        standing = self._standing(launch)
        if as_json:
            self.stdout.write(json.dumps({**readiness.as_dict(), "standing": standing}, indent=2, ensure_ascii=False))
        else:
            self._print(readiness)
            self._print_standing(standing)
        if not readiness.may_enter:
            sys.exit(1)

    def _stage(self, launch: Launch, wanted: str | None, *, what_if: bool):
        stages = launch.ordered_stages()
        if wanted is None:
            target = launch.next_stage()
            if target is None and not stages:
                raise CommandError(f"Launch '{launch.slug}' has no rollout stages.", returncode=2)
            # At the final stage there is no stage to enter (None); a what-if rechecks the final stage.
            return target or (launch.current_stage if what_if else None)
        wanted_key = wanted.strip().lower()
        for stage in stages:
            if stage.name.lower() == wanted_key:
                return stage
        by_kind = [stage for stage in stages if stage.kind == wanted_key]
        if len(by_kind) == 1:
            return by_kind[0]
        known = ", ".join(stage.name for stage in stages) or "none"
        raise CommandError(f"Launch '{launch.slug}' has no stage '{wanted}'. Its stages: {known}.", returncode=2)

    def _standing(self, launch) -> dict | None:
        """Whether the stage the launch is in still holds: its gating items judged now, as if it
        were entering it (None in planning, and for an archived launch, which is judged no more)."""
        stage = current_stage_of(launch)
        if stage is None or launch.archived:
            return None
        found: Readiness = evaluate(launch, stage, ignore_order=True)
        failing = [result.key for result in found.blockers]
        return {"stage": stage.name, "holds": not failing, "failing": failing}

    def _print_standing(self, standing: dict | None) -> None:
        if standing is None:
            return
        if standing["holds"]:
            self.stdout.write(f"STANDING: {standing['stage']} holds.")
        else:
            failing = ", ".join(standing["failing"])
            self.stdout.write(f"STANDING: {standing['stage']} no longer holds ({failing}).")

    def _print(self, readiness) -> None:
        launch, stage = readiness.launch, readiness.stage
        current = launch.current_stage.name if launch.current_stage else "planning"
        if stage is None:
            self.stdout.write(f"{launch.name} ({launch.slug}) — now in {current}; there is no stage to enter")
            for reason in readiness.refusals:
                self.stdout.write(f"  {reason}")
            self.stdout.write(self.style.ERROR("BLOCKED: there is no stage to enter."))
            return
        what_if = " as if it were the next stage (--what-if)" if readiness.ignore_order else ""
        self.stdout.write(f"{launch.name} ({launch.slug}) — now in {current}; checking entry to {stage.name}{what_if}")
        for result in readiness.results:
            scope = "" if result.gating else "  (advisory for this stage)"
            self.stdout.write(f"  [{_MARKS[result.status]}] {result.number:>2}. {result.title}{scope}")
            for reason in result.reasons:
                self.stdout.write(f"          {reason}")
        for reason in readiness.refusals:
            self.stdout.write(f"  {reason}")
        if readiness.may_enter:
            self.stdout.write(self.style.SUCCESS(f"READY: may enter {stage.name}."))
        else:
            count = len(readiness.blockers) + len(readiness.refusals)
            self.stdout.write(self.style.ERROR(f"BLOCKED: may not enter {stage.name} ({count} blocking)."))
