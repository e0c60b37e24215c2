"""Checklist items are named, not judged: a title says what the item is about, and its state (pass,
fail, waived) is shown beside it, so a failing item never reads as done in either language."""

import re

import pytest
from django.utils import translation

from readiness.checklist import registry

# Words that state an outcome: a title holding one reads as done even when the item fails.
CLAIMS_EN = re.compile(
    r"\b(exists?|defined|agreed|approved|reviewed|complete[d]?|classified|clear|proven|within|no open)\b", re.I
)
CLAIMS_KO = re.compile(r"완료|수립|구축|명확|작성|입증|정의|합의|없음|범위 내")


def test_every_item_has_a_neutral_english_title():
    with translation.override("en"):
        claims = [str(check.title) for check in registry.all() if CLAIMS_EN.search(str(check.title))]
    assert not claims


def test_every_item_has_a_neutral_korean_title():
    with translation.override("ko"):
        titles = {check.key: str(check.title) for check in registry.all()}
    claims = [title for title in titles.values() if CLAIMS_KO.search(title)]
    assert not claims
    assert titles["stakeholders_approved"] == "이해관계자 승인"


@pytest.mark.parametrize(
    ("key", "english"),
    [("stakeholders_approved", "Stakeholder approvals"), ("quality_evidence", "Quality evidence")],
)
def test_named_items_read_as_the_issue_asks(key, english):
    with translation.override("en"):
        assert str(registry.get(key).title) == english


def test_the_claim_pattern_catches_an_old_title():
    """The guard itself works: the titles this replaced would fail it."""
    assert CLAIMS_EN.search("Stakeholders have approved")
    assert CLAIMS_KO.search("이해관계자 승인 완료")
