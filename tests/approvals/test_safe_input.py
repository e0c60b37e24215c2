"""Bad input to the sign-off services gets a clear ValidationError naming the field, before anything
is written: a NUL byte, something other than text, None where text is required, text over the
documented limit. Header-unsafe names and decisions dated in the future are refused at validation."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import TestCase
from django.utils import timezone

from approvals.models import Acknowledgement, SignoffDecision, Waiver
from approvals.services import (
    acknowledge,
    signoff_decide,
    signoff_delegate,
    signoff_withdraw,
    signoffs_request,
    stage_rollback,
    waiver_decide,
    waiver_request,
)
from ledger.models import LedgerEntry
from raci.choices import AreaKind, Role
from readiness.history import CHANGE_REASON_MAX_LENGTH
from readiness.models import Launch
from readiness.services import launch_create
from readiness.validators import COMMENT_MAX_LENGTH
from tests.builders import ready_launch, request_for
from tests.factories import RaciAssignmentFactory, StakeholderFactory, UserFactory

TWENTY_MB = "x" * 20_000_000


class TextArgumentsTest(TestCase):
    """One launch in Beta (to roll back) with a sign-off request, an acknowledgement to give and a
    waiver to decide. Built once for the class."""

    @classmethod
    def setUpTestData(cls):
        cls.launch = ready_launch(slug="assistant")
        cls.owner = cls.launch.owner
        cls.consulted = StakeholderFactory().user
        RaciAssignmentFactory(
            area=cls.launch.areas.get(kind=AreaKind.POLICY), role=Role.CONSULTED, stakeholder=cls.consulted.stakeholder
        )
        cls.internal = cls.launch.stages.get(name="Internal")
        cls.request = next(
            r for r in signoffs_request(actor=cls.owner, launch=cls.launch, stage=cls.internal) if r.function == "ml"
        )
        cls.addressee = cls.request.addressees.get()
        cls.acknowledgement = Acknowledgement.objects.get(stage=cls.internal, user=cls.consulted)
        cls.waiver = waiver_request(
            actor=cls.owner,
            launch=cls.launch,
            stage=cls.launch.stages.get(name="Beta"),
            check_key="rollback_plan",
            justification="Rehearsal booked for next week.",
            expires_on=timezone.localdate() + datetime.timedelta(days=7),
        )
        cls.infrastructure_accountable = (
            cls.launch.areas.get(kind=AreaKind.INFRASTRUCTURE).assignments.get(role=Role.ACCOUNTABLE).stakeholder.user
        )
        cls.launch.current_stage = cls.launch.stages.get(name="Beta")  # so that it can be rolled back
        cls.launch.save()

    # Each service with a text argument: (name, field, required, call(text)).
    def calls(self):
        beta = self.launch.stages.get(name="Beta")
        yield (
            "signoffs_request",
            "message",
            False,
            lambda text: signoffs_request(actor=self.owner, launch=self.launch, stage=beta, message=text),
        )
        yield (
            "signoff_decide",
            "comment",
            True,
            lambda text: signoff_decide(actor=self.addressee, signoff=self.request, outcome="reject", comment=text),
        )
        yield (
            "signoff_delegate",
            "reason",
            False,
            lambda text: signoff_delegate(
                actor=self.addressee, signoff=self.request, delegate=UserFactory(), reason=text
            ),
        )
        yield (
            "signoff_withdraw",
            "reason",
            False,
            lambda text: signoff_withdraw(actor=self.owner, signoff=self.request, reason=text),
        )
        yield (
            "acknowledge",
            "comment",
            False,
            lambda text: acknowledge(actor=self.consulted, acknowledgement=self.acknowledgement, comment=text),
        )
        yield (
            "stage_rollback",
            "reason",
            True,
            lambda text: stage_rollback(
                actor=self.owner, launch=self.launch, stage=self.launch.stages.get(name="Internal"), reason=text
            ),
        )
        yield (
            "waiver_request",
            "justification",
            True,
            lambda text: waiver_request(
                actor=self.owner,
                launch=self.launch,
                stage=beta,
                check_key="incident_runbook",
                justification=text,
                expires_on=timezone.localdate() + datetime.timedelta(days=7),
            ),
        )
        yield (
            "waiver_decide",
            "comment",
            True,
            lambda text: waiver_decide(
                actor=self.infrastructure_accountable, waiver=self.waiver, approve=False, comment=text
            ),
        )

    def assert_refused(self, call, field: str, text, expected: str) -> None:
        entries = LedgerEntry.objects.count()
        with self.assertRaises(ValidationError) as refused:
            call(text)
        self.assertEqual(list(refused.exception.message_dict), [field])
        self.assertIn(expected, refused.exception.message_dict[field][0])
        self.assertEqual(LedgerEntry.objects.count(), entries, "nothing was written")

    def test_a_nul_byte_is_refused_naming_the_field(self):
        for name, field, _, call in self.calls():
            with self.subTest(name):
                self.assert_refused(call, field, "Looks\x00 fine", "NUL character")

    def test_a_20_mb_text_is_refused_naming_the_field_and_the_limit(self):
        for name, field, _, call in self.calls():
            with self.subTest(name):
                self.assert_refused(call, field, TWENTY_MB, f"At most {COMMENT_MAX_LENGTH} characters")

    def test_something_other_than_text_is_refused_naming_the_field(self):
        for name, field, _, call in self.calls():
            for value in (42, b"bytes", ["a list"]):
                with self.subTest(name, value=value):
                    self.assert_refused(call, field, value, f"Expected text, got {type(value).__name__}.")

    def test_none_where_text_is_required_is_refused_naming_the_field(self):
        for name, field, required, call in self.calls():
            if required:
                with self.subTest(name):
                    self.assert_refused(call, field, None, "")

    def test_rolling_back_or_rejecting_a_waiver_with_none_says_why_a_reason_is_needed(self):
        for name, field, message in (
            ("stage_rollback", "reason", "Say why the launch is rolled back."),
            ("waiver_decide", "comment", "Say why the waiver is rejected."),
            ("waiver_request", "justification", "A waiver needs a justification."),
        ):
            call = next(call for n, _, _, call in self.calls() if n == name)
            with self.subTest(name):
                self.assert_refused(call, field, None, message)

    def test_none_where_text_is_optional_counts_as_no_text(self):
        decision = acknowledge(actor=self.consulted, acknowledgement=self.acknowledgement, comment=None)
        self.assertEqual(decision.comment, "")
        waiver = waiver_decide(actor=self.infrastructure_accountable, waiver=self.waiver, approve=True, comment=None)
        self.assertEqual(waiver.decision_comment, "")

    def test_text_at_the_limit_is_accepted_and_stored_whole(self):
        comment = "y" * COMMENT_MAX_LENGTH
        decision = signoff_decide(actor=self.addressee, signoff=self.request, outcome="reject", comment=comment)
        self.assertEqual(SignoffDecision.objects.get(pk=decision.pk).comment, comment)

    def test_a_long_rollback_reason_is_kept_whole_in_the_ledger_and_shortened_in_history(self):
        reason = "Latency regression. " * 100
        stage_rollback(
            actor=self.owner, launch=self.launch, stage=self.launch.stages.get(name="Internal"), reason=reason
        )
        self.assertEqual(LedgerEntry.objects.order_by("-sequence").first().payload["reason"], reason.strip())
        history_reason = self.launch.history.first().history_change_reason
        self.assertEqual(len(history_reason), CHANGE_REASON_MAX_LENGTH)
        self.assertTrue(history_reason.startswith("Rolled back from Beta to Internal: Latency regression."))

    def test_the_model_refuses_what_the_service_refuses(self):
        waiver = Waiver.objects.get(pk=self.waiver.pk)
        for value, expected in (("a\x00b", "Null characters are not allowed."), (TWENTY_MB, "at most 4000")):
            waiver.justification = value
            with self.subTest(expected), self.assertRaises(ValidationError) as refused:
                waiver.full_clean()
            self.assertIn(expected, " ".join(refused.exception.message_dict["justification"]))

    def test_a_decision_dated_in_the_future_is_refused_at_validation(self):
        decision = SignoffDecision(
            request=self.request,
            decided_by=self.addressee,
            on_behalf_of=self.addressee,
            outcome="approve",
            fingerprint="0" * 64,
            snapshot={"risk tier": "medium"},
            decided_at=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC),
        )
        with self.assertRaises(ValidationError) as refused:
            decision.full_clean()
        self.assertEqual(refused.exception.message_dict["decided_at"], ["A decision cannot be dated in the future."])

        decision.decided_at = timezone.now() + datetime.timedelta(minutes=4)  # within the allowed clock skew
        decision.full_clean()


class HeaderUnsafeNamesTest(TestCase):
    """Names reach mail subjects: a line break in one would forge a header (BadHeaderError at send)."""

    @classmethod
    def setUpTestData(cls):
        cls.owner = UserFactory()

    def test_a_launch_name_with_a_newline_is_refused_at_validation(self):
        for name in ("Support assistant\nBcc: everyone@example.com", "Support\r\nassistant", "Support\u2028assistant"):
            with self.subTest(name=name), self.assertRaises(ValidationError) as refused:
                launch_create(actor=self.owner, name=name, slug="assistant")
            self.assertEqual(list(refused.exception.message_dict), ["name"])
            self.assertIn("Enter a single line", refused.exception.message_dict["name"][0])
        self.assertFalse(Launch.objects.exists())

    def test_a_stage_name_with_a_newline_is_refused_at_validation(self):
        launch = launch_create(actor=self.owner, name="Support assistant", slug="assistant")
        stage = launch.stages.model(launch=launch, name="Beta\nBcc: x@example.com", order=1, exposure_percent=10)
        with self.assertRaises(ValidationError) as refused:
            stage.full_clean()
        self.assertEqual(list(refused.exception.message_dict), ["name"])


# --- bad arguments to a request, a decision and a waiver --------------------------------------


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"due_date": "2030-01-01"}, "due_date"),
        ({"functions": "ml"}, "functions"),
        ({"addressees": {"ml": [1, 2]}}, "addressees"),
        ({"stage": None}, "stage"),
        ({"message": 42}, "message"),
    ],
)
def test_bad_input_to_a_request_names_the_field(launch, owner, arguments, field):
    call = {"actor": owner, "launch": launch, "stage": launch.stages.get(name="Internal")} | arguments
    with pytest.raises(ValidationError) as refused:
        signoffs_request(**call)
    assert field in refused.value.message_dict
    assert not launch.signoff_requests.exists()


def test_a_missing_comment_on_an_approval_is_fine_but_not_on_a_rejection(launch, owner):
    request = request_for(launch, owner, "ml")
    approver = request.addressees.first()
    with pytest.raises(ValidationError) as refused:
        signoff_decide(actor=approver, signoff=request, outcome="reject", comment=None)
    assert "comment" in refused.value.message_dict
    assert signoff_decide(actor=approver, signoff=request, outcome="approve", comment=None).comment == ""


def test_a_waiver_with_a_text_date_names_the_field(launch, owner):
    with pytest.raises(ValidationError) as refused:
        waiver_request(
            actor=owner,
            launch=launch,
            stage=launch.stages.get(name="Beta"),
            check_key="feedback_loop",
            justification="Channel lands next sprint.",
            expires_on="2030-01-01",
        )
    assert "expires_on" in refused.value.message_dict
