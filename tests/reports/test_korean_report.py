"""A report comes out in its language: a Korean launch report is written in Korean, in the font
bundled with the static files (fetched through the reports' fetcher and embedded in the PDF), with
no glyph missing and no font of the machine's used."""

import re

import pytest
from django.db import transaction
from django.utils import timezone, translation

from readiness.checklist import evaluate
from readiness.selectors import launch_with_facts
from reports.rendering import BASE_URL
from reports.services import report_request
from reports.templatetags.reports import day
from tests.builders import ready_launch
from tests.factories import UserFactory
from tests.reports.helpers import render, squeeze

pytestmark = pytest.mark.django_db

FONTS = f"{BASE_URL}static/reports/fonts/"


@pytest.fixture(scope="module")
def korean(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        owner = UserFactory(username="minji", first_name="민지", last_name="김")
        launch = ready_launch(owner=owner, slug="korean", name="고객 지원 도우미")
        with translation.override("ko"):
            readiness = evaluate(launch_with_facts(launch.pk))
            blockers = [(r.key, str(r.title), list(r.reasons)) for r in readiness.blockers]
        yield {
            "rendered": render(report_request(actor=owner, kind="launch", language="ko", launch=launch)),
            "blockers": blockers,
        }
        transaction.set_rollback(True)


def test_the_korean_report_is_written_in_korean(korean):
    rendered = korean["rendered"]
    cover = rendered.pages[0]
    assert "고객 지원 도우미" in cover and "준비 안 됨" in cover
    assert "NOT READY" not in rendered.text and "Checklist" not in rendered.text
    appendix = next(page for page in rendered.pages if "전체 기록" in page)
    assert squeeze("생성한 사람") in squeeze(appendix) and squeeze("목차") in squeeze(appendix)
    for number, page in enumerate(rendered.pages, 1):
        assert f"{len(rendered.pages)}쪽 중 {number}쪽" in page


def test_the_briefing_names_the_blockers_and_who_acts_in_korean(korean):
    cover = squeeze(korean["rendered"].pages[0])
    assert squeeze("막고 있는 것, 담당자, 기한") in cover and ("김민지" in cover or "민지김" in cover)
    assert korean["blockers"], "the launch has no sign-offs yet: item 1 blocks"
    for key, title, reasons in korean["blockers"]:
        if key == "stakeholders_approved":  # function by function: not requested yet
            assert squeeze("법무 승인") in cover and squeeze("아직 요청되지 않았습니다.") in cover
            continue
        assert squeeze(title) in cover and any("\uac00" <= ch <= "\ud7a3" for ch in title)
        for reason in reasons[:2]:
            assert squeeze(reason) in cover


def test_korean_dates_are_written_one_way(korean):
    text = korean["rendered"].text
    assert not re.search(r"(?<![\d-])\d{4}-\d{2}-\d{2}(?![\d-])", text)
    assert not re.search(r"오전|오후", text)  # times on a 24-hour clock
    with translation.override("ko"):
        assert squeeze(day(timezone.localdate())) in korean["rendered"].squeezed
    assert re.search(r"\d{4}년 \d{1,2}월 \d{1,2}일", text.replace("\xa0", " "))


def test_the_font_comes_from_our_static_files_and_no_glyph_is_missing(korean):
    rendered = korean["rendered"]
    assert f"{FONTS}nanum-gothic/NanumGothic-Regular-korean.ttf" in rendered.requested
    assert f"{FONTS}nanum-gothic/NanumGothic-Bold-korean.ttf" in rendered.requested
    # Every font in the PDF is one of ours (WeasyPrint names them after the @font-face family):
    # nothing fell back to a font installed on the machine.
    assert rendered.fonts and all(font.split("+", 1)[1].startswith("Preflight-Report") for font in rendered.fonts)
    assert not [message for message in rendered.warnings if "notdef" in message], rendered.warnings
