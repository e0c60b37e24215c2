"""Personal and confidential data bind the launch (items 5 and 6, legal and security sign-offs):
the owner may raise a data asset's class or tighten its controls, but lowering the class or dropping
the asset is the act of the privacy Accountable (the policy area's), with a reason, ledgered."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from raci.choices import AreaKind, Role
from raci.models import ResponsibilityArea
from raci.services import data_asset_declassify, data_asset_remove, raci_assign
from readiness.choices import Classification
from readiness.models import DataAsset
from readiness.services import EditConflict, fact_add, fact_change, fact_remove, fact_version
from tests.builders import accountable_of, ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory

PRIVATE = "Support tickets"  # the ready launch's personal-data asset
PUBLIC = "Help-centre articles"

pytestmark = pytest.mark.usefixtures("ledger_stays_intact")


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """A ready launch, built once per module."""
    return ready_launch(slug="declassification", name="Declassification").pk


def asset(launch, name: str = PRIVATE) -> DataAsset:
    return launch.data_assets.get(name=name)


def privacy_accountable(launch):
    return accountable_of(launch, AreaKind.POLICY).user


def declassify(launch, actor, classification=Classification.INTERNAL, reason="Only ticket ids remain."):
    fact = asset(launch)
    return data_asset_declassify(
        actor=actor, asset=fact, seen_version=fact_version(fact), classification=classification, reason=reason
    )


# --- the owner ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lower", [Classification.CONFIDENTIAL, Classification.INTERNAL, Classification.PUBLIC, ""])
def test_the_owner_cannot_lower_the_class_of_personal_data(launch, lower):
    fact = asset(launch)
    with pytest.raises(ValidationError) as refused:
        fact_change(actor=launch.owner, fact=fact, seen_version=fact_version(fact), values={"classification": lower})
    assert refused.value.message_dict == {
        "classification": [
            f"Data asset '{PRIVATE}' is personal (pii); only the Accountable for privacy (the policy area) may lower its class."
        ]
    }
    assert asset(launch).classification == Classification.PERSONAL


def test_the_owner_may_tighten_personal_data_and_raise_another_asset_s_class(launch):
    fact = asset(launch)
    fact_change(actor=launch.owner, fact=fact, seen_version=fact_version(fact), values={"retention_days": 14})
    public = asset(launch, PUBLIC)
    fact_change(
        actor=launch.owner,
        fact=public,
        seen_version=fact_version(public),
        values={
            "classification": Classification.CONFIDENTIAL,
            "access_level": "need_to_know",
            "named_teams": "Pricing",
        },
    )
    assert asset(launch).retention_days == 14
    assert asset(launch, PUBLIC).classification == Classification.CONFIDENTIAL


def test_once_confidential_the_owner_cannot_lower_it_again(launch):
    public = asset(launch, PUBLIC)
    fact_change(
        actor=launch.owner, fact=public, seen_version=fact_version(public), values={"classification": "confidential"}
    )
    public = asset(launch, PUBLIC)
    with pytest.raises(ValidationError, match="only the Accountable for privacy"):
        fact_change(
            actor=launch.owner, fact=public, seen_version=fact_version(public), values={"classification": "public"}
        )


def test_the_owner_cannot_remove_personal_data_but_may_remove_public_data(launch):
    fact = asset(launch)
    with pytest.raises(ValidationError) as refused:
        fact_remove(actor=launch.owner, fact=fact, seen_version=fact_version(fact), reason="Not needed")
    assert refused.value.message_dict == {
        "fact": [
            f"Data asset '{PRIVATE}' is personal (pii); only the Accountable for privacy (the policy area) may remove it."
        ]
    }
    public = asset(launch, PUBLIC)
    fact_remove(actor=launch.owner, fact=public, seen_version=fact_version(public), reason="Retrieval dropped")
    assert list(launch.data_assets.values_list("name", flat=True)) == [PRIVATE]


# --- the privacy Accountable ----------------------------------------------------------------------


def test_the_privacy_accountable_declassifies_with_a_reason_in_history_and_the_ledger(launch):
    accountable = privacy_accountable(launch)
    declassify(launch, accountable)

    fact = asset(launch)
    assert fact.classification == Classification.INTERNAL
    record = fact.history.first()
    assert record.history_user == accountable
    assert (
        record.history_change_reason
        == "Declassified by the Accountable for 'Policy and guardrails': Only ticket ids remain."
    )
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert (entry.event, entry.actor) == (LedgerEvent.DATA_DECLASSIFIED, accountable.username)
    assert entry.payload == {
        "data asset": fact.pk,
        "name": PRIVATE,
        "from": "personal",
        "to": "internal",
        "reason": "Only ticket ids remain.",
        "area": "Policy and guardrails",
    }


def test_the_privacy_accountable_removes_personal_data_ledgered(launch):
    fact = asset(launch)
    data_asset_remove(
        actor=privacy_accountable(launch), asset=fact, seen_version=fact_version(fact), reason="Tickets no longer read."
    )
    assert not launch.data_assets.filter(name=PRIVATE).exists()
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert (entry.event, entry.payload["from"], entry.payload["to"]) == (
        LedgerEvent.DATA_DECLASSIFIED,
        "personal",
        "removed",
    )


def test_nobody_but_the_current_privacy_accountable_declassifies(launch):
    responsible = launch.areas.get(kind=AreaKind.POLICY).assignments.get(role=Role.RESPONSIBLE).stakeholder.user
    with pytest.raises(PermissionDenied, match="Only the Accountable for 'Policy and guardrails'"):
        declassify(launch, responsible)
    with pytest.raises(PermissionDenied, match="never the owner"):
        declassify(launch, launch.owner)
    with pytest.raises(Http404):
        declassify(launch, UserFactory())
    model_accountable = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    with pytest.raises(PermissionDenied):
        declassify(launch, model_accountable)
    assert asset(launch).classification == Classification.PERSONAL
    assert not LedgerEntry.objects.filter(event=LedgerEvent.DATA_DECLASSIFIED).exists()


def test_declassifying_must_lower_the_class_of_sensitive_data_and_give_a_reason(launch):
    accountable = privacy_accountable(launch)
    with pytest.raises(ValidationError, match="Declassifying lowers the class"):
        declassify(launch, accountable, classification=Classification.PERSONAL)
    with pytest.raises(ValidationError, match="Say why"):
        declassify(launch, accountable, reason="  ")
    public = asset(launch, PUBLIC)
    with pytest.raises(ValidationError, match="is not personal or confidential"):
        data_asset_declassify(
            actor=accountable, asset=public, seen_version=fact_version(public), classification="", reason="No."
        )
    assert not LedgerEntry.objects.filter(event=LedgerEvent.DATA_DECLASSIFIED).exists()


def test_declassifying_what_changed_since_it_was_seen_is_refused(launch):
    fact = asset(launch)
    seen = fact_version(fact)
    fact_change(actor=launch.owner, fact=fact, seen_version=seen, values={"retention_days": 7})
    with pytest.raises(EditConflict, match="since you opened it"):
        data_asset_declassify(
            actor=privacy_accountable(launch), asset=fact, seen_version=seen, classification="internal", reason="Ids."
        )
    assert asset(launch).classification == Classification.PERSONAL


def test_moving_privacy_to_an_area_of_the_owner_s_choosing_does_not_choose_who_declassifies(launch):
    policy = launch.areas.get(kind=AreaKind.POLICY)
    fact_change(
        actor=launch.owner,
        fact=policy,
        seen_version=fact_version(policy),
        values={"concerns": [c for c in policy.concerns if c != "privacy"]},
    )
    friend = StakeholderFactory(teams=[team_for("product")])
    custom = fact_add(
        actor=launch.owner,
        launch=launch,
        model=ResponsibilityArea,
        values={"name": "Privacy desk", "kind": AreaKind.CUSTOM, "concerns": ["privacy"]},
    )
    raci_assign(area=custom, stakeholder=friend, role=Role.ACCOUNTABLE, actor=launch.owner)
    with pytest.raises(PermissionDenied, match="not in any Compliance or Legal or Security team"):
        declassify(launch, friend.user)
    assert asset(launch).classification == Classification.PERSONAL
