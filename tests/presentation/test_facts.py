"""``fact_sections``: each fact of a launch as the launch page lists it and the report prints it —
in the reading order, values in the reader's language, the most sensitive data first, a bar's
evidence with its chart, whom a severity level pages, and the one-button actions (agree, accept)
only for whom the services would let act — in the same number of queries for a small launch and a
big one."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from presentation.facts import LISTED, fact_sections, runs_awaiting, shown_value
from presentation.launch import launch_as_shown
from raci.choices import AreaKind, Role, TeamFunction
from readiness.models import Launch
from tests.builders import accountable_of, ready_launch
from tests.factories import (
    DataAssetFactory,
    EvalRunFactory,
    QualityBarFactory,
    RaciAssignmentFactory,
    ResponsibilityAreaFactory,
    StakeholderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _grow(launch: Launch) -> None:
    """Ten more areas (twenty more people), twenty more data assets, five more bars with two runs
    each, none agreed yet."""
    for n in range(10):
        area = ResponsibilityAreaFactory(launch=launch, name=f"Workstream {n}", concerns=[f"workstream-{n}"])
        RaciAssignmentFactory(area=area, role=Role.ACCOUNTABLE, stakeholder=StakeholderFactory())
        RaciAssignmentFactory(area=area, role=Role.RESPONSIBLE, stakeholder=StakeholderFactory())
    for n in range(20):
        DataAssetFactory(launch=launch, name=f"Source {n}")
    for n in range(5):
        bar = QualityBarFactory(launch=launch, metric=f"metric-{n}")
        EvalRunFactory(quality_bar=bar)
        EvalRunFactory(quality_bar=bar)


@pytest.fixture(scope="module")
def shared(django_db_setup, django_db_blocker) -> dict[str, int]:
    with django_db_blocker.unblock(), transaction.atomic():
        owner = UserFactory(username="pam")
        small = ready_launch(owner=owner, slug="small", name="Small")
        big = ready_launch(owner=owner, slug="big", name="Big")
        _grow(big)
        # On both, a bar nobody agreed yet, and a run the owner recorded that waits for acceptance.
        for launch in (small, big):
            bar = QualityBarFactory(launch=launch, metric="hallucination")
            EvalRunFactory(quality_bar=bar, recorded_by=owner, needs_acceptance=True, samples=500, failures=5)
        yield {"small": small.pk, "big": big.pk}
        transaction.set_rollback(True)


@pytest.fixture
def launches(shared, db) -> dict[str, Launch]:
    return {name: launch_as_shown(pk) for name, pk in shared.items()}


def sections_of(launch: Launch, user=None) -> dict[str, dict]:
    return {section["name"]: section for section in fact_sections(launch, user)}


def row_of(section: dict, title_part: str) -> dict:
    return next(row for row in section["rows"] if title_part in str(row["title"]))


def ml_member(launch: Launch):
    """The Responsible for model quality: of an ML team (the bars' function), so they may accept."""
    area = launch.areas.get(kind=AreaKind.MODEL_QUALITY)
    return area.assignments.get(role=Role.RESPONSIBLE).stakeholder.user


def test_the_sections_come_in_reading_order_and_the_plan_and_runbook_are_single(launches):
    sections = fact_sections(launches["small"])
    assert [section["name"] for section in sections] == list(LISTED)
    assert [section["name"] for section in sections if section["single"]] == ["rollbackplan", "runbook"]
    assert all(section["label"] for section in sections)


def test_personal_data_is_listed_before_internal_data(launches):
    rows = sections_of(launches["small"])["dataasset"]["rows"]
    assert [str(row["title"]) for row in rows][0].startswith("Support tickets")
    assert ("Masked in logs", "yes") in [(label.capitalize(), value) for label, value in rows[0]["values"]]


def test_values_are_written_in_the_reader_s_language():
    assert (shown_value(True), shown_value(datetime.date(2025, 3, 1)), shown_value(Decimal("99.5"))) == (
        "yes",
        "March 1, 2025",
        "99.5",
    )
    with translation.override("ko"):
        assert (shown_value(False), shown_value(datetime.date(2025, 3, 1))) == ("아니요", "2025년 3월 1일")


def test_moments_are_written_with_their_date_and_a_24_hour_time_and_people_by_name():
    moment = datetime.datetime(2025, 3, 1, 20, 30, tzinfo=datetime.UTC)
    assert shown_value(moment) == "March 1, 2025 20:30"
    with translation.override("ko"):
        assert shown_value(moment) == "2025년 3월 1일 20:30"
    assert shown_value(UserFactory.build(username="raj", first_name="Raj", last_name="Patel")) == "Raj Patel"


def test_a_bar_s_fractions_are_shown_as_percent(launches):
    rows = sections_of(launches["small"])["qualitybar"]["rows"]
    values = dict(rows[0]["values"])
    assert values["max failure rate"].endswith(" %") and values["confidence level"] == "95 %"
    assert not any(value.startswith("0.") for value in values.values())


def test_a_bar_shows_the_evidence_that_counts_with_its_chart(launches):
    rows = sections_of(launches["small"])["qualitybar"]["rows"]
    agreed = next(row for row in rows if row["fact"].metric != "hallucination")
    assert agreed["evidence"].counts and agreed["evidence"].within
    assert agreed["evidence"].observed == pytest.approx(0.03)
    assert 'class="chart evidence"' in agreed["chart"] and "bar-ready" in agreed["chart"]
    assert "the evaluation that counts" in agreed["chart"]
    assert agreed["agreed_by"] == accountable_of(launches["small"], AreaKind.MODEL_QUALITY).user


def test_a_bar_whose_only_run_waits_for_acceptance_says_it_proves_nothing(launches):
    row = next(r for r in sections_of(launches["small"])["qualitybar"]["rows"] if r["fact"].metric == "hallucination")
    assert row["evidence"].counts is False
    assert "which does not count as evidence" in row["chart"]


def test_the_accountable_may_agree_an_unagreed_bar_the_owner_and_a_report_may_not(launches):
    launch = launches["small"]
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    for user, agreeable in ((accountable, True), (launch.owner, False), (None, False)):
        row = next(r for r in sections_of(launch, user)["qualitybar"]["rows"] if r["fact"].metric == "hallucination")
        assert row["agreeable"] is agreeable, user
        assert (row["version"] is not None) is agreeable, user


def test_someone_of_the_bar_s_function_may_accept_a_waiting_run_its_recorder_may_not(launches):
    launch = launches["small"]
    member = ml_member(launch)
    assert member.stakeholder.teams.filter(function=TeamFunction.ML).exists()
    run = sections_of(launch, member)["evalrun"]["rows"]
    waiting = next(row for row in run if not row["fact"].counts)
    assert waiting["acceptable"] and not waiting["agreeable"]
    assert waiting["version"] is not None
    assert "waiting for acceptance by" in waiting["waiting_for"]
    owners_view = next(row for row in sections_of(launch, launch.owner)["evalrun"]["rows"] if not row["fact"].counts)
    assert not owners_view["acceptable"]
    assert [run.quality_bar.launch_id for run in runs_awaiting(member)].count(launch.pk) == 1
    assert runs_awaiting(launch.owner) == []


def test_a_severity_level_names_whom_it_pages_area_by_area(launches):
    launch = launches["small"]
    levels = sections_of(launch)["severitylevel"]["rows"]
    assert [row["fact"].level for row in levels] == ["P0", "P1", "P2", "P3"]
    whole_service_down = dict(levels[0]["reaches"])
    assert set(whole_service_down) == {area.name for area in launch.areas.all()}
    model_quality = launch.areas.get(kind=AreaKind.MODEL_QUALITY)
    assert accountable_of(launch, AreaKind.MODEL_QUALITY).display_name in whole_service_down[model_quality.name]


def _queries(launch_pk: int, user) -> int:
    launch = launch_as_shown(launch_pk)
    with CaptureQueriesContext(connection) as queries:
        fact_sections(launch, user)
    return len(queries)


@pytest.mark.parametrize("who", ["owner", "accountable", "ml_member", "report"])
def test_a_big_launch_costs_the_same_queries_as_a_small_one(launches, who):
    counts = {}
    for name, launch in launches.items():
        user = {
            "owner": launch.owner,
            "accountable": accountable_of(launch, AreaKind.MODEL_QUALITY).user,
            "ml_member": ml_member(launch),
            "report": None,
        }[who]
        counts[name] = _queries(launch.pk, user)
    assert counts["big"] == counts["small"], counts
    assert counts["small"] <= 6, counts
