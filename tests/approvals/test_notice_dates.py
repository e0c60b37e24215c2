"""Notices keep ISO dates in their payloads (data) and write them as the reader's language does."""

import pytest
from django.utils import translation

from approvals.notices import names


@pytest.mark.parametrize(("language", "shown"), [("en", "Dec. 14, 2026"), ("ko", "2026년 12월 14일")])
def test_a_notice_names_the_iso_dates_of_its_payload_as_the_reader_writes_dates(language, shown):
    payload = {"due": "2026-12-14", "date": "2026-12-14", "approved": "2026-12-14", "function": "ml"}
    with translation.override(language):
        words = names(payload)
    assert (words["due"], words["date"], words["approved"]) == (shown, shown, shown)
    assert payload["due"] == "2026-12-14"  # what is stored stays ISO
