"""Leaving out a standard responsibility area on purpose: recorded with a reason by the owner,
withdrawn by the owner, both in history and in the ledger, and refused for anything else."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from raci.choices import AreaKind
from raci.models import AreaOmission
from raci.services import area_omission_record, area_omission_withdraw
from readiness.history import delete_with_history
from readiness.models import Launch
from readiness.services import EditConflict, fact_version
from readiness.validators import COMMENT_MAX_LENGTH
from tests.builders import ready_launch
from tests.factories import UserFactory
from tests.helpers import archive, assert_refused_by_database, give_view

pytestmark = pytest.mark.django_db

DATA = AreaKind.DATA_RETRIEVAL
REASON = "No retrieval: the model answers from the prompt alone."


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """A ready launch without its data and retrieval area, built once per module."""
    launch = ready_launch()
    delete_with_history(launch.areas.get(kind=DATA), actor=launch.owner, reason="No retrieval")
    return launch.pk


def omission_entries():
    """Entries about omissions (the built launch's agreements come before them)."""
    return LedgerEntry.objects.filter(event__in=[LedgerEvent.AREA_OMITTED, LedgerEvent.OMISSION_WITHDRAWN])


def withdraw(launch, omission, *, actor=None, reason="Retrieval is back in scope.") -> None:
    area_omission_withdraw(
        actor=actor or launch.owner, omission=omission, seen_version=fact_version(omission), reason=reason
    )


def omit(launch: Launch, *, actor=None, kind: str = DATA, reason=REASON) -> AreaOmission:
    return area_omission_record(actor=actor or launch.owner, launch=launch, kind=kind, reason=reason)


# Recording ---------------------------------------------------------------------------------------


def test_the_owner_records_why_a_standard_area_is_left_out_with_history_and_a_ledger_entry(launch):
    omission = omit(launch, reason=f"  {REASON}\n")

    assert (omission.kind, omission.reason, omission.recorded_by) == (DATA, REASON, launch.owner)
    history = omission.history.get()
    assert history.history_user == launch.owner
    assert history.history_change_reason == "Left out 'Data and retrieval quality'"
    entry = LedgerEntry.objects.order_by("sequence").last()
    assert entry.event == LedgerEvent.AREA_OMITTED
    assert entry.actor == launch.owner.get_username()
    assert entry.launch_id == launch.pk
    assert entry.payload == {
        "omission": omission.pk,
        "area kind": DATA,
        "reason": REASON,
        "recorded at": omission.recorded_at.isoformat(),
    }
    assert [seal["model"] for seal in entry.seals] == ["raci.HistoricalAreaOmission"]
    assert verify().ok


def test_someone_who_may_only_view_the_launch_cannot_record_an_omission(launch):
    viewer = give_view(UserFactory(), launch)
    with pytest.raises(PermissionDenied):
        omit(launch, actor=viewer)
    assert not AreaOmission.objects.exists()
    assert not omission_entries().exists()


def test_an_outsider_is_told_the_launch_does_not_exist(launch):
    with pytest.raises(Http404):
        omit(launch, actor=UserFactory())
    assert not AreaOmission.objects.exists()


def test_an_omission_is_refused_on_an_archived_launch(launch):
    archive(launch)
    launch.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        omit(launch)
    assert refused.value.message_dict == {"launch": ["Launch 'assistant' is archived; nothing about it can change."]}
    assert not AreaOmission.objects.exists()


def test_an_area_the_launch_has_cannot_be_left_out(launch):
    with pytest.raises(ValidationError) as refused:
        omit(launch, kind=AreaKind.POLICY)
    assert refused.value.message_dict["kind"] == [
        "This launch has the area 'Policy and guardrails'; only a standard area it does without is left out."
    ]
    assert not AreaOmission.objects.exists()
    assert not omission_entries().exists()


@pytest.mark.parametrize("reason", ["", "   \n\t", None])
def test_a_reason_is_required(launch, reason):
    with pytest.raises(ValidationError) as refused:
        omit(launch, reason=reason)
    assert "reason" in refused.value.message_dict
    assert not AreaOmission.objects.exists()


def test_a_reason_that_is_not_text_is_refused(launch):
    with pytest.raises(ValidationError) as refused:
        omit(launch, reason=["No retrieval."])
    assert refused.value.message_dict == {"reason": ["Expected text, got list."]}


def test_a_reason_may_be_as_long_as_any_comment(launch):
    assert len(omit(launch, reason="x" * COMMENT_MAX_LENGTH).reason) == COMMENT_MAX_LENGTH


def test_a_reason_longer_than_a_comment_is_refused(launch):
    with pytest.raises(ValidationError) as refused:
        omit(launch, reason="x" * (COMMENT_MAX_LENGTH + 1))
    assert refused.value.message_dict["reason"] == [
        f"At most {COMMENT_MAX_LENGTH} characters are allowed; this text has {COMMENT_MAX_LENGTH + 1}."
    ]
    assert not AreaOmission.objects.exists()


def test_a_reason_with_a_nul_character_is_refused(launch):
    with pytest.raises(ValidationError) as refused:
        omit(launch, reason="No\x00retrieval")
    assert "reason" in refused.value.message_dict


@pytest.mark.parametrize("kind", [AreaKind.CUSTOM, "marketing"])
def test_only_a_standard_kind_of_area_can_be_left_out(launch, kind):
    with pytest.raises(ValidationError) as refused:
        omit(launch, kind=kind)
    assert "kind" in refused.value.message_dict


def test_a_standard_area_is_left_out_once(launch):
    omit(launch)
    with pytest.raises(ValidationError) as refused:
        omit(launch, reason="Another reason.")
    assert refused.value.messages == ["This launch already records why this standard area is left out."]
    assert AreaOmission.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"), [("reason", ""), ("kind", AreaKind.CUSTOM), ("kind", "marketing")], ids=str
)
def test_the_database_refuses_an_omission_without_a_reason_or_of_a_non_standard_kind(launch, field, value):
    omission = AreaOmission(launch=launch, kind=DATA, reason=REASON, recorded_by=launch.owner)
    setattr(omission, field, value)
    assert_refused_by_database(omission)


def test_the_database_refuses_a_second_omission_of_the_same_kind(launch):
    omit(launch)
    with pytest.raises(IntegrityError), transaction.atomic():
        AreaOmission.objects.create(launch=launch, kind=DATA, reason="Again.", recorded_by=launch.owner)


# Withdrawing -------------------------------------------------------------------------------------


def test_the_owner_withdraws_an_omission_with_history_and_a_ledger_entry(launch):
    omission = omit(launch)
    pk = omission.pk

    withdraw(launch, omission)

    assert not AreaOmission.objects.exists()
    deleted = AreaOmission.history.filter(id=pk).order_by("history_date").last()
    assert deleted.history_type == "-"
    assert deleted.history_user == launch.owner
    entry = LedgerEntry.objects.order_by("sequence").last()
    assert entry.event == LedgerEvent.OMISSION_WITHDRAWN
    assert entry.payload == {
        "omission": pk,
        "area kind": DATA,
        "withdrawn reason": REASON,
        "why withdrawn": "Retrieval is back in scope.",
    }
    assert verify().ok


def test_after_withdrawing_the_area_can_be_left_out_again_with_another_reason(launch):
    withdraw(launch, omit(launch))
    assert omit(launch, reason="Retrieval moved to another launch.").reason == "Retrieval moved to another launch."
    assert verify().ok


def test_someone_who_may_only_view_the_launch_cannot_withdraw_an_omission(launch):
    omission = omit(launch)
    viewer = give_view(UserFactory(), launch)
    with pytest.raises(PermissionDenied):
        withdraw(launch, omission, actor=viewer)
    assert AreaOmission.objects.filter(pk=omission.pk).exists()


def test_an_omission_cannot_be_withdrawn_on_an_archived_launch(launch):
    omission = omit(launch)
    archive(launch)
    omission.launch.refresh_from_db()
    with pytest.raises(ValidationError):
        withdraw(launch, omission)
    assert AreaOmission.objects.filter(pk=omission.pk).exists()


# The ledger catches what bypasses the services ---------------------------------------------------


def test_a_reason_rewritten_in_the_database_no_longer_verifies(launch):
    omission = omit(launch)
    entry = omission_entries().get()
    AreaOmission.objects.filter(pk=omission.pk).update(reason="Whatever suits us now.")
    result = verify()
    assert not result.ok
    assert result.problem == f"area omission #{omission.pk} does not match its ledger entry #{entry.sequence}"


def test_an_omission_inserted_without_the_service_does_not_verify(launch):
    omit(launch)
    sneaked = AreaOmission.objects.create(
        launch=launch, kind=AreaKind.USER_EXPERIENCE, reason="Sneaked in.", recorded_by=launch.owner
    )
    assert verify().problem == f"area omission #{sneaked.pk} has no ledger entry"


def test_an_omission_deleted_without_the_service_does_not_verify(launch):
    omission = omit(launch)
    entry = omission_entries().get()
    AreaOmission.objects.filter(pk=omission.pk).delete()
    assert verify().problem == f"area omission #{omission.pk} recorded in entry #{entry.sequence} no longer exists"


def test_withdrawing_needs_a_reason_and_the_current_version(launch):
    omission = omit(launch)
    with pytest.raises(ValidationError, match="Say why"):
        withdraw(launch, omission, reason=" ")
    with pytest.raises(EditConflict, match="since you opened it"):
        area_omission_withdraw(
            actor=launch.owner, omission=omission, seen_version=fact_version(omission) - 1, reason="Back."
        )
    assert AreaOmission.objects.filter(pk=omission.pk).exists()


def test_withdrawing_twice_says_it_was_already_withdrawn(launch):
    omission = omit(launch)
    seen = fact_version(omission)
    withdraw(launch, omission)
    with pytest.raises(ValidationError, match="already withdrawn"):
        area_omission_withdraw(actor=launch.owner, omission=omission, seen_version=seen, reason="Again.")
