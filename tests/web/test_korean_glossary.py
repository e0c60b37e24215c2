"""The Korean catalogue keeps the terms of locale/ko/GLOSSARY.md: one English word, one Korean word,
and none of the confusions a Korean reader tripped over (a target value read as a target date,
evidence accepted read as a stage approved, a waiver read as an exceptional approval)."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale" / "ko"


@pytest.fixture(scope="module")
def catalogue() -> dict[str, str]:
    """msgid → msgstr (the first form of a plural), from the compiled catalogue; contexts dropped."""
    with (LOCALE / "LC_MESSAGES" / "django.mo").open("rb") as mo:
        raw = gettext.GNUTranslations(mo)._catalog
    entries = {}
    for key, value in raw.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if msgid:
            entries[msgid.split("\x04")[-1]] = value
    return entries


def offenders(catalogue, id_pattern: str, forbidden: str, *, unless: str | None = None) -> list[str]:
    return [
        msgid
        for msgid, msgstr in catalogue.items()
        if re.search(id_pattern, msgid, re.I)
        and re.search(forbidden, msgstr)
        and not (unless and re.search(unless, msgid, re.I))
    ]


def test_the_glossary_exists_and_names_the_easy_mistakes():
    text = (LOCALE / "GLOSSARY.md").read_text(encoding="utf-8")
    for term in ("목표값", "목표일", "면제", "채택", "합의", "실무 담당자(R)", "책임자(A)", "심각도"):
        assert term in text


def test_an_slo_target_is_a_value_and_only_a_date_is_a_target_date(catalogue):
    assert catalogue["target"] == "목표값"
    assert catalogue["target date"] == "목표일"
    assert offenders(catalogue, r".", r"목표일", unless=r"date") == []


def test_a_launch_is_always_chul_si(catalogue):
    assert offenders(catalogue, r".", r"런치") == []


def test_a_waiver_is_myeonje_never_an_exceptional_approval(catalogue):
    assert offenders(catalogue, r".", r"예외 승인") == []
    assert offenders(catalogue, r"\bwaiv", r"^((?!면제).)*$") == []


def test_evidence_is_accepted_not_approved(catalogue):
    assert offenders(catalogue, r"\baccept(s|ed|ance)?\b", r"승인", unless=r"waiver|sign-off") == []
    assert offenders(catalogue, r"\bevidence\b", r"근거") == []


def test_an_incident_is_inshideonteu(catalogue):
    assert offenders(catalogue, r"\bincident", r"장애", unless=r"^P1 ") == []


def test_responsible_and_accountable_keep_one_name_each(catalogue):
    assert offenders(catalogue, r".", r"실무 책임자|실행 책임자|최종 책임자") == []
