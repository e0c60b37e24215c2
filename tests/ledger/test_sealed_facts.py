"""Every row the gate, the checklist or an approval reads is sealed in the ledger when a service
writes it, so a change made in SQL to any of them is named by ``verify_ledger``: a personal-data
asset declassified, a stage not yet entered turned into a lighter kind, an evaluation's failures
erased, an outsider slipped into a team. Changes made through the services verify intact.

No trigger guards these tables on PostgreSQL either, so each test writes in plain SQL, as someone
with database access would."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.db import connection
from django.test import TestCase

from approvals.policies import effective_requirements
from ledger.baseline import seal_unrecorded
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from raci.choices import AreaKind, TeamFunction
from raci.models import Stakeholder
from raci.services import eval_run_remove, team_add_member, team_remove_member, team_set_lead
from readiness.choices import Classification, StageKind
from readiness.models import DataAsset, EvalRun, RolloutStage
from readiness.services import fact_add, fact_change, fact_remove, fact_version
from tests.builders import accountable_of, launch_at, team_for
from tests.factories import StakeholderFactory, UserFactory

MEMBERSHIP = Stakeholder.teams.through


def sql(statement: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def required_functions(launch, stage) -> set[str]:
    return {requirement.function for requirement in effective_requirements(launch, stage)}


def newest_fact_entry(label: str, pk: int) -> int:
    """The sequence of the newest entry recording the sealed fact ``label`` #``pk``."""
    return max(
        entry.sequence
        for entry in LedgerEntry.objects.filter(event=LedgerEvent.FACT_RECORDED)
        if any((fact["model"], fact["id"]) == (label, pk) for fact in entry.payload["facts"])
    )


class LedgerCoverageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.launch = launch_at("Internal", slug="covered")
        cls.owner = cls.launch.owner
        cls.personal = cls.launch.data_assets.get(classification=Classification.PERSONAL)
        cls.full = cls.launch.stages.get(kind=StageKind.FULL)
        cls.evaluation = EvalRun.objects.get(quality_bar__launch=cls.launch)
        cls.legal = team_for(TeamFunction.LEGAL)
        cls.admin = UserFactory(username="team-admin")
        cls.admin.user_permissions.add(Permission.objects.get(codename="manage_teams"))

    def setUp(self):
        self.assertEqual(verify().problem, "")

    def assertCaught(self, expected: str) -> None:
        result = verify()
        self.assertFalse(result.ok)
        self.assertEqual(result.problem, expected)

    # --- the four attacks of the review --------------------------------------------------------------

    def test_a_personal_data_asset_declassified_in_sql_is_caught(self):
        sql("UPDATE readiness_dataasset SET classification = %s WHERE id = %s", "public", self.personal.pk)
        self.assertCaught(
            f"readiness.DataAsset #{self.personal.pk} differs from what entry "
            f"#{newest_fact_entry('readiness.DataAsset', self.personal.pk)} recorded (classification)"
        )

    def test_a_stage_not_yet_entered_turned_into_a_lighter_kind_in_sql_is_caught(self):
        # The attack: with Full turned into a Beta-kind stage, the executive's sign-off is no longer
        # required to enter it.
        self.assertIn(TeamFunction.EXECUTIVE, required_functions(self.launch, self.full))
        sql("UPDATE readiness_rolloutstage SET kind = %s WHERE id = %s", StageKind.BETA, self.full.pk)
        lighter = RolloutStage.objects.get(pk=self.full.pk)
        self.assertNotIn(TeamFunction.EXECUTIVE, required_functions(self.launch, lighter))
        self.assertCaught(
            f"readiness.RolloutStage #{self.full.pk} differs from what entry "
            f"#{newest_fact_entry('readiness.RolloutStage', self.full.pk)} recorded (kind)"
        )

    def test_an_evaluation_s_failures_erased_in_sql_are_caught(self):
        self.assertEqual(self.evaluation.failures, 30)
        sql("UPDATE readiness_evalrun SET failures = 0 WHERE id = %s", self.evaluation.pk)
        self.assertCaught(
            f"readiness.EvalRun #{self.evaluation.pk} differs from what entry "
            f"#{newest_fact_entry('readiness.EvalRun', self.evaluation.pk)} recorded (failures)"
        )

    def test_an_outsider_inserted_into_a_legal_team_in_sql_is_caught(self):
        outsider = StakeholderFactory(user=UserFactory(username="outsider"))
        sql(
            "INSERT INTO raci_stakeholder_teams (stakeholder_id, team_id) VALUES (%s, %s)",
            outsider.pk,
            self.legal.pk,
        )
        membership = MEMBERSHIP.objects.get(stakeholder=outsider, team=self.legal)
        self.assertCaught(f"raci.Stakeholder_teams #{membership.pk} has no ledger entry (written without a service)")

    # --- other shapes of the same hole -----------------------------------------------------------

    def test_a_row_inserted_in_sql_is_caught(self):
        sql(
            "INSERT INTO readiness_dataasset (launch_id, name, description, classification, access_level, "
            "masked_in_logs, retention_days, audit_interval_days) VALUES (%s, 'Shadow copy', '', %s, %s, %s, 30, 90)",
            self.launch.pk,
            Classification.PUBLIC,
            "public",
            False,
        )
        shadow = DataAsset.objects.get(name="Shadow copy")
        self.assertCaught(f"readiness.DataAsset #{shadow.pk} has no ledger entry (written without a service)")

    def test_a_row_deleted_in_sql_is_caught(self):
        channel = self.launch.feedback_channels.get()
        sql("DELETE FROM readiness_feedbackchannel WHERE id = %s", channel.pk)
        self.assertCaught(
            f"readiness.FeedbackChannel #{channel.pk} recorded in entry "
            f"#{newest_fact_entry('readiness.FeedbackChannel', channel.pk)} no longer exists, "
            "and no entry records its removal"
        )

    def test_a_membership_deleted_in_sql_is_caught(self):
        membership = MEMBERSHIP.objects.filter(team=self.legal).first()
        sql("DELETE FROM raci_stakeholder_teams WHERE id = %s", membership.pk)
        self.assertIn(f"raci.Stakeholder_teams #{membership.pk} recorded in entry", verify().problem)

    def test_a_team_s_function_changed_in_sql_is_caught(self):
        sql("UPDATE raci_team SET function = %s WHERE id = %s", TeamFunction.LEGAL, team_for(TeamFunction.ML).pk)
        self.assertIn("(function)", verify().problem)

    def test_a_stakeholder_given_another_account_in_sql_is_caught(self):
        member = MEMBERSHIP.objects.filter(team=self.legal).first().stakeholder
        mallory = UserFactory(username="mallory")
        if connection.vendor == "postgresql":
            # raci 0006's trigger refuses this first; an operator who may drop triggers gets past it.
            sql("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending, or ALTER TABLE refuses
            sql("ALTER TABLE raci_stakeholder DISABLE TRIGGER raci_stakeholder_user_never_changes")
        sql("UPDATE raci_stakeholder SET user_id = %s WHERE id = %s", mallory.pk, member.pk)
        self.assertIn(f"raci.Stakeholder #{member.pk} differs", verify().problem)
        self.assertIn("(user_id)", verify().problem)

    def test_the_version_in_service_or_the_owner_changed_in_sql_is_caught(self):
        sql(
            "UPDATE readiness_launch SET owner_id = %s WHERE id = %s",
            UserFactory(username="mallory").pk,
            self.launch.pk,
        )
        self.assertIn(f"readiness.Launch #{self.launch.pk} differs", verify().problem)
        self.assertIn("(owner_id)", verify().problem)

    def test_a_fact_deleted_in_sql_and_its_removal_not_forged_by_a_later_change(self):
        """Rewriting a row back to its recorded values clears the disagreement; nothing else does."""
        sql("UPDATE readiness_evalrun SET failures = 0 WHERE id = %s", self.evaluation.pk)
        self.assertFalse(verify().ok)
        sql("UPDATE readiness_evalrun SET failures = 30 WHERE id = %s", self.evaluation.pk)
        self.assertTrue(verify().ok)

    # --- the allowed paths ---------------------------------------------------------------------------

    def test_facts_changed_added_and_removed_through_the_services_verify_intact(self):
        asset = self.launch.data_assets.exclude(pk=self.personal.pk).get()
        fact_change(actor=self.owner, fact=asset, seen_version=fact_version(asset), values={"name": "Help articles"})
        channel = fact_add(
            actor=self.owner,
            launch=self.launch,
            model=type(self.launch.feedback_channels.get()),
            values={"kind": "negative_feedback", "review_cadence": "weekly"},
        )
        fact_remove(actor=self.owner, fact=channel, seen_version=fact_version(channel), reason="Duplicate")
        self.assertEqual(verify().problem, "")
        removal = LedgerEntry.objects.order_by("-sequence").first()
        self.assertEqual(removal.event, LedgerEvent.FACT_RECORDED)
        self.assertEqual(
            removal.payload["facts"], [{"model": "readiness.FeedbackChannel", "id": channel.pk, "removed": True}]
        )

    def test_a_run_removed_by_its_accountable_verifies_intact(self):
        accountable = accountable_of(self.launch, AreaKind.MODEL_QUALITY).user
        eval_run_remove(
            actor=accountable,
            run=self.evaluation,
            seen_version=fact_version(self.evaluation),
            reason="Wrong golden set",
        )
        self.assertEqual(verify().problem, "")

    def test_membership_and_lead_changed_through_the_services_verify_intact(self):
        person = StakeholderFactory(user=UserFactory(username="newcomer"))
        team_add_member(actor=self.admin, team=self.legal, stakeholder=person)
        self.assertEqual(verify().problem, "")
        team_set_lead(actor=self.admin, team=self.legal, stakeholder=person)
        self.assertEqual(verify().problem, "")
        team_remove_member(actor=self.admin, team=self.legal, stakeholder=person)  # also clears the lead
        self.assertEqual(verify().problem, "")
        entry = LedgerEntry.objects.order_by("-sequence").first()
        self.assertIsNone(entry.launch_id)
        self.assertEqual(entry.actor, "team-admin")
        self.assertEqual(entry.payload["facts"][0]["model"], "raci.Stakeholder_teams")
        self.assertTrue(entry.payload["facts"][0]["removed"])

    def test_a_membership_re_added_in_sql_after_its_removal_is_caught(self):
        person = StakeholderFactory(user=UserFactory(username="leaver"))
        team_add_member(actor=self.admin, team=self.legal, stakeholder=person)
        pk = MEMBERSHIP.objects.get(stakeholder=person, team=self.legal).pk
        team_remove_member(actor=self.admin, team=self.legal, stakeholder=person)
        sql(
            "INSERT INTO raci_stakeholder_teams (id, stakeholder_id, team_id) VALUES (%s, %s, %s)",
            pk,
            person.pk,
            self.legal.pk,
        )
        self.assertIn(f"raci.Stakeholder_teams #{pk} was removed in entry #", verify().problem)

    # --- sealing what has no entry ---------------------------------------------------------------

    def test_sealing_records_rows_without_entries_but_never_a_row_that_disagrees(self):
        sql(
            "INSERT INTO raci_stakeholder_teams (stakeholder_id, team_id) VALUES (%s, %s)",
            StakeholderFactory(user=UserFactory(username="before-ledgering")).pk,
            self.legal.pk,
        )
        sql("UPDATE readiness_evalrun SET failures = 0 WHERE id = %s", self.evaluation.pk)
        self.assertEqual(seal_unrecorded(), 1)  # the membership; the run keeps disagreeing
        self.assertIn(f"readiness.EvalRun #{self.evaluation.pk} differs", verify().problem)
        sql("UPDATE readiness_evalrun SET failures = 30 WHERE id = %s", self.evaluation.pk)
        self.assertEqual(verify().problem, "")
        self.assertEqual(seal_unrecorded(), 0)
