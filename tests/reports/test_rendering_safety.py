"""Rendering user text safely: whatever a launch, an asset, a summary, a fact or a comment holds
(an <img>, a <link>, a CSS url(), an @import) is written as text, and WeasyPrint fetches nothing
but the project's own static files. A fetcher that records every URL asked for proves it; and the
fetcher itself refuses every other kind of URL."""

import pytest
from django.db import transaction
from weasyprint import HTML

from approvals.services import signoff_decide, signoffs_request
from readiness.models import Launch
from readiness.services import fact_change, fact_version
from reports import rendering
from reports.choices import ReportKind
from reports.documents import document_html
from reports.rendering import BASE_URL, StaticOnlyFetcher, static_path
from reports.services import report_request
from tests.builders import ready_launch
from tests.factories import DataAssetFactory, UserFactory
from tests.helpers import give_view
from tests.reports.helpers import render, squeeze

pytestmark = pytest.mark.django_db

NAME = '<img src="http://127.0.0.1:9/x">'
ASSET = '<link rel="stylesheet" href="file:///etc/passwd">'
SUMMARY = '<div style="background:url(http://127.0.0.1:9/y)">summary</div>'
DEFINITION = "<style>@import url(http://127.0.0.1:9/z); body{background:url(file:///etc/shadow)}</style>"
COMMENT = '<object data="http://127.0.0.1:9/c"></object><a rel="attachment" href="file:///etc/hosts">x</a>'
HOSTILE = (NAME, ASSET, SUMMARY, DEFINITION, COMMENT)


@pytest.fixture(scope="module")
def rendered(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        owner = UserFactory(username="pam", first_name="Pam", last_name="Okafor")
        launch = ready_launch(owner=owner, slug="hostile", name=NAME)
        Launch.objects.filter(pk=launch.pk).update(summary=SUMMARY)
        DataAssetFactory(launch=launch, name=ASSET)
        bar = launch.quality_bars.get()
        fact_change(actor=owner, fact=bar, seen_version=fact_version(bar), values={"failure_definition": DEFINITION})
        internal = launch.stages.get(name="Internal")
        request = signoffs_request(actor=owner, launch=launch, stage=internal)[0]
        signoff_decide(actor=request.addressees.first(), signoff=request, outcome="reject", comment=COMMENT)
        yield {
            "launch": render(report_request(actor=owner, kind="launch", language="en", launch=launch)),
            "portfolio": render(report_request(actor=owner, kind="portfolio", language="en")),
            "launch_id": launch.pk,
        }
        transaction.set_rollback(True)


@pytest.mark.parametrize("kind", ["launch", "portfolio"])
def test_nothing_but_our_static_files_is_fetched(rendered, kind):
    requested = rendered[kind].requested
    assert f"{BASE_URL}static/reports/report.css" in requested
    assert all(url.startswith(f"{BASE_URL}static/reports/") and static_path(url) for url in requested), requested
    assert not [url for url in requested if "127.0.0.1" in url or url.startswith(("file:", "data:"))]


def test_the_hostile_text_is_printed_as_text_in_the_launch_report(rendered):
    text = rendered["launch"].squeezed
    for hostile in HOSTILE:
        assert squeeze(hostile) in text, hostile


def test_the_briefing_prints_the_hostile_name_summary_and_rejection_as_text(rendered):
    briefing = squeeze(rendered["launch"].pages[0])
    for hostile in (NAME, SUMMARY, COMMENT):
        assert squeeze(hostile) in briefing, hostile


def test_the_hostile_name_is_printed_as_text_in_the_portfolio(rendered):
    assert squeeze(NAME) in rendered["portfolio"].squeezed


# --- the fetcher itself ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/",
        "https://127.0.0.1:9/static/reports/report.css",
        "https://evil.example/static/reports/report.css",
        "data:text/css,body{background:red}",
        "ftp://preflight.invalid/static/reports/report.css",
        f"{BASE_URL}static/../settings.py",
        f"{BASE_URL}static/%2e%2e/config/settings.py",
        f"{BASE_URL}static/reports/no-such-file.css",
        f"{BASE_URL}static/",
        f"{BASE_URL}media/reports/report.css",
    ],
)
def test_the_fetcher_refuses_anything_but_a_static_file_of_ours(url):
    fetcher = StaticOnlyFetcher()
    with pytest.raises(ValueError, match="Refused"):
        fetcher.fetch(url)
    assert fetcher.requested == [url]


def test_the_fetcher_serves_our_static_files_with_their_type():
    fetcher = StaticOnlyFetcher()
    response = fetcher.fetch(f"{BASE_URL}static/reports/report.css")
    assert b"@font-face" in response.read() and response.headers["Content-Type"] == "text/css"
    font = fetcher.fetch(f"{BASE_URL}static/reports/fonts/nanum-gothic/NanumGothic-Regular-korean.ttf")
    assert font.read()[:4] == b"\x00\x01\x00\x00"  # a TrueType font


def test_html_to_pdf_uses_the_static_only_fetcher_by_default(monkeypatch):
    made = []

    class Spy(StaticOnlyFetcher):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            made.append(self)

    monkeypatch.setattr(rendering, "StaticOnlyFetcher", Spy)
    pdf = rendering.html_to_pdf('<p>hi</p><img src="http://127.0.0.1:9/x"><img src="file:///etc/passwd">')
    assert pdf.startswith(b"%PDF")
    assert made and made[0].requested == ["http://127.0.0.1:9/x", "file:///etc/passwd"]


# --- a long word stays on the page ------------------------------------------------------------


def test_a_long_unbroken_launch_name_stays_on_the_page(rendered):
    long_word = "Supercalifragilistic" * 9  # 180 characters (names hold 200), no break opportunity
    Launch.objects.filter(pk=rendered["launch_id"]).update(name=long_word, summary=long_word)
    launch = Launch.objects.get(pk=rendered["launch_id"])
    report = report_request(
        actor=give_view(UserFactory(username="vic"), launch),
        kind=ReportKind.LAUNCH,
        language="en",
        launch=launch,
        dispatch=False,
    )
    document = HTML(
        string=document_html(report), base_url=rendering.BASE_URL, url_fetcher=rendering.StaticOnlyFetcher()
    ).render()
    page = document.pages[0]

    def boxes(box):
        yield box
        for child in getattr(box, "children", []):
            yield from boxes(child)

    overflowing = [
        box
        for box in boxes(page._page_box)
        if getattr(box, "text", None) and box.position_x + box.width > page.width + 0.5
    ]
    assert not overflowing, f"{len(overflowing)} text boxes run past the page edge ({page.width:.0f}px)"
