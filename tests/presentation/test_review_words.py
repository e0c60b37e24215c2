"""``readable_changes``: what changed between two snapshots, in plain words — choices by label,
fractions as percentages, SLO targets with their unit, people by name, yes/no — never a path."""

import pytest
from django.utils import translation

from presentation.review import readable_changes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OLD = {
    "risk tier": "medium",
    "quality bars": {"wrong_answers": {"max failure rate": "0.05", "agreed by": "mia"}},
    "data assets": {"Tickets": {"access level": "all_employees", "masked in logs": False, "retention days": 30}},
    "slos": {"latency_p95": {"target": "3000"}, "success_rate": {"target": "99.5"}},
    "accountables": {"Model/prompt quality": ["mia"]},
    "rollback plan": {"one click": True},
}
NEW = {
    "risk tier": "high",
    "quality bars": {"wrong_answers": {"max failure rate": "0.02", "agreed by": None}},
    "data assets": {"Tickets": {"access level": "need_to_know", "masked in logs": True, "retention days": 60}},
    "slos": {"latency_p95": {"target": "3500"}, "success_rate": {"target": "99.9"}},
    "accountables": {"Model/prompt quality": ["raj"]},
    "rollback plan": {"one click": False},
}


def rows() -> dict[tuple[str, str, str], tuple[str, str]]:
    UserFactory(username="mia", first_name="Mia", last_name="Chen")
    UserFactory(username="raj", first_name="Raj", last_name="Patel")
    return {(c["group"], c["subject"], c["field"]): (c["before"], c["after"]) for c in readable_changes(OLD, NEW)}


def test_every_change_is_said_in_plain_words():
    shown = rows()
    assert shown[("Risk tier", "", "")] == ("Medium", "High")
    assert shown[("Quality bar", "wrong_answers", "Maximum failure rate")] == ("5 %", "2 %")
    assert shown[("Quality bar", "wrong_answers", "Agreed by")] == ("Mia Chen", "—")
    assert shown[("Data asset", "Tickets", "Access")] == ("All employees", "Need to know (named teams)")
    assert shown[("Data asset", "Tickets", "Masked in logs")] == ("no", "yes")
    assert shown[("Data asset", "Tickets", "Retention")] == ("30 days", "60 days")
    assert shown[("SLO", "Latency p95 (ms)", "Target")] == ("3000 ms", "3500 ms")
    assert shown[("SLO", "Success rate (%)", "Target")] == ("99.5 %", "99.9 %")
    assert shown[("Accountable", "Model/prompt quality", "")] == ("Mia Chen", "Raj Patel")
    assert shown[("Rollback plan", "", "One-click rollback")] == ("yes", "no")
    assert len(shown) == 10


def test_in_korean_too():
    with translation.override("ko"):
        shown = rows()
    assert shown[("위험 등급", "", "")] == ("중간", "높음")
    assert shown[("데이터 자산", "Tickets", "보존 기간")] == ("30일", "60일")
