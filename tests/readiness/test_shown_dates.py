"""One way to write a date per language (``readiness.i18n.shown_date`` / ``shown_moment``)."""

import datetime

import pytest
from django.utils import timezone, translation

from readiness.i18n import shown_date, shown_moment

LATE_EVENING_UTC = datetime.datetime(2026, 12, 14, 20, 30, tzinfo=datetime.UTC)  # 05:30 the next day in Seoul


@pytest.mark.parametrize(("language", "shown"), [("en", "Dec. 14, 2026"), ("ko", "2026년 12월 14일")])
def test_a_date_is_written_as_the_active_language_writes_dates(language, shown):
    with translation.override(language):
        assert shown_date(datetime.date(2026, 12, 14)) == shown
        assert shown_date("2026-12-14") == shown  # the ISO date a payload stores


def test_text_that_is_no_iso_date_is_left_as_it_is():
    assert shown_date("") == ""
    assert shown_date("next week") == "next week"


def test_a_moment_is_shown_as_its_local_date_and_time():
    with timezone.override("Asia/Seoul"):
        with translation.override("en"):
            assert shown_date(LATE_EVENING_UTC) == "Dec. 15, 2026"
            assert shown_moment(LATE_EVENING_UTC) == "Dec. 15, 2026 05:30"
        with translation.override("ko"):
            assert shown_moment(LATE_EVENING_UTC) == "2026년 12월 15일 05:30"
