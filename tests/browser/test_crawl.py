"""Every page a demo user can reach passes axe-core at laptop and phone widths without scrolling
sideways, and every form on them submits what its view reads, to a URL that accepts it (issue 20,
points 1 and 10).

One walk over the demo (``seed_demo``, built once) as each kind of person: the launch owner, two
approvers, the executive and an outsider. Each starts from the portfolio and follows links
breadth-first, one page per route (see tests/browser/crawl.py). The test fails once, listing every
serious or critical violation and every broken form with the page it was found on."""

import datetime
import logging
import re
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from approvals.services import waiver_request
from readiness.access import visible_launches
from readiness.models import Launch
from reports.choices import ReportKind, ReportStatus
from reports.models import Report
from tests.browser.crawl import PHONE_COLOURS, crawl, form_problems, media_colours
from tests.seeded_demo import the_seeded_demo

# Who walks, by the kind of person they are in seed_demo (and someone not signed in).
VISITORS = {
    "anonymous": None,
    "owner": "pam",
    "legal": "lena",
    "security": "sam",
    "executive": "eve",
    "outsider": "otto",
}
# Pages a walk must have reached, or it proves little: the routes each kind of person can open.
MUST_REACH = {
    "anonymous": {"web:sign-in"},
    "owner": {
        "web:portfolio",
        "web:launch",
        "web:history",
        "web:request-signoffs",
        "web:fact-change",
        "web:raci-cell",
        "web:incident",
        "web:decide",
        "web:waiver-request",
        "web:waiver-decide",
        "web:report",
    },
    "legal": {"web:inbox", "web:decide", "web:launch", "web:history", "web:notifications"},
    "security": {"web:inbox", "web:decide", "web:launch"},
    "executive": {"web:launch", "web:reports", "web:decide"},
    "outsider": {"web:portfolio", "web:inbox", "web:notifications"},
}


def beyond_the_demo() -> None:
    """What the demo lacks and some pages only show: a pending waiver (its decision page) and a
    rendered report (its status page), on the owner's launch in planning."""
    launch = Launch.objects.filter(owner__username="pam", current_stage__isnull=True, archived=False).first()
    owner, stage = launch.owner, launch.next_stage()
    waiver_request(
        actor=owner,
        launch=launch,
        stage=stage,
        check_key="feedback_loop",
        justification="The channel opens with the beta.",
        expires_on=timezone.localdate() + datetime.timedelta(days=14),
    )
    Report.objects.create(  # ready (one being rendered would refresh itself under axe's feet)
        kind=ReportKind.LAUNCH,
        launch=launch,
        language="en",
        requested_by=owner,
        facts_fingerprint="0" * 64,
        status=ReportStatus.READY,
        pdf=b"%PDF-1.7",
        sha256="0" * 64,
        finished_at=timezone.now(),
    )


def allowed_methods(client: Client):
    """The methods the view behind a path accepts, as it says when asked with OPTIONS: Django's
    method decorators answer 405 naming them before the view runs (so nothing changes), class-based
    views answer OPTIONS itself. None when the path is no view, or the view names no methods."""

    def ask(path: str) -> set[str] | None:
        quiet = logging.getLogger("django.request")  # each 405 would log a warning
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            response = client.options(path)
        finally:
            quiet.setLevel(level)
        allow = response.headers.get("Allow") if response.status_code in (200, 405) else None
        return {method.strip().upper() for method in allow.split(",")} if allow else None

    return ask


@pytest.mark.django_db(transaction=True)
def test_every_page_a_demo_user_reaches_passes_axe_and_its_forms_can_be_submitted(visit, live_server, tmp_path_factory):
    started = time.monotonic()
    the_seeded_demo(tmp_path_factory)  # seeded once per test run, emptied by the test's flush
    beyond_the_demo()
    seeded = time.monotonic()
    problems, pages, checked, actions, seen_content = [], {}, 0, 0, set()
    seconds = {"load": 0.0, "axe": 0.0, "forms": 0.0}
    for who, username in VISITORS.items():
        visitor, client = visit(who), Client()
        if username:
            visitor.sign_in(username)
            client.force_login(get_user_model().objects.get(username=username))
        found = crawl(
            visitor.page,
            live_server.url,
            who,
            allowed_methods(client),
            start="/sign-in/" if username is None else "/",
            every_url=who == "owner",  # the owner opens every launch: each is at another point
            seen_content=seen_content,
        )
        pages[who], checked, actions = found.pages, checked + found.checked, actions + found.actions
        seconds = {part: seconds[part] + found.seconds[part] for part in seconds}
        problems += found.problems
        reached = {resolve(path.split("?")[0]).view_name for path in found.pages}
        missing = MUST_REACH[who] - reached
        assert not missing, f"the {who}'s walk never reached {sorted(missing)}: {found.pages}"
        visitor.close()
    walked = time.monotonic()
    count = sum(len(paths) for paths in pages.values())
    print(
        f"\ncrawl: {count} pages ({', '.join(f'{who} {len(paths)}' for who, paths in pages.items())}),"
        f" {checked} different ones checked by axe at 1280 and 390 px, forms posting to {actions} actions;"
        f" seed_demo {seeded - started:.1f} s, walk {walked - seeded:.1f} s"
        f" ({', '.join(f'{part} {value:.1f} s' for part, value in seconds.items())})"
    )
    assert not problems, f"{len(problems)} problems over {count} pages:\n" + "\n".join(problems)


@pytest.mark.django_db(transaction=True)
def test_the_demo_restored_from_the_run_s_copy_answers_as_seeded_after_content_types_moved(tmp_path_factory):
    if connection.vendor != "sqlite":
        pytest.skip("the run's copy of the seeded demo is SQLite's (tests/seeded_demo.py): PostgreSQL seeds each time")
    """The copy of the seeded demo is restored on a worker whose content types and permissions had
    other ids (a transactional test's flush recreates them under new ones) and whose caches hold
    those (guardian's): pages must read the launches the copy's permissions grant."""
    the_seeded_demo(tmp_path_factory)  # seeded, or restored, as the run's copy
    call_command("flush", interactive=False, verbosity=0, reset_sequences=False)  # as after a test
    list(visible_launches(get_user_model().objects.create(username="someone")))  # cached: the new ids
    the_seeded_demo(tmp_path_factory)  # the copy, with the ids of the worker that seeded it
    pam = get_user_model().objects.get(username="pam")
    assert set(visible_launches(pam).values_list("owner__username", flat=True)) >= {"pam"}


SHADOWING_FORM = """<form method="post" action="http://testserver/signoffs/1/delegate/" id="delegate">
  <select name="delegate"><option value="7">Lee</option></select>
  <button type="submit" name="delegate" value="1">Delegate</button>
</form>
<form method="post" action="http://testserver/signoffs/"><button>Decide</button></form>
<form method="get" action="http://testserver/search/"><input name="delegate"><button name="go">Go</button></form>"""


def test_the_walk_s_form_check_finds_a_button_shadowing_a_control_and_a_refused_method(browser):
    """The check each page of the walk gets, on a page made to fail it: the delegation form as it
    once was (its button named like its select), and a POST to a view that only answers GET."""
    page = browser.new_page()
    page.set_content(SHADOWING_FORM)
    allowed = {"/signoffs/1/delegate/": {"POST"}, "/signoffs/": {"GET"}, "/search/": {"GET"}}
    problems = form_problems(page, "http://testserver", "page", allowed.get, {})
    page.close()
    assert problems == [
        "page: form '#delegate': a submit button is named 'delegate' like another control",
        "page: form 'Decide': POST to /signoffs/, which accepts ['GET']",
    ]


PROJECT = Path(__file__).resolve().parents[2]


def test_the_phone_styles_change_no_colour_so_the_phone_pass_may_skip_colour_contrast():
    """The crawl checks colour contrast at laptop width only (crawl.AXE_RUN_PHONE says why): that
    holds while the pages' style sheets, and the styles written into their templates, declare no
    colour for phone width beyond the ones known to change none of the pairs of text and background
    colour. A new one fails here: check colour contrast at phone width again, or add it with why."""
    sheets = [path.read_text(encoding="utf-8") for path in (PROJECT / "web" / "static").rglob("*.css")]
    sheets += [
        style
        for template in (PROJECT / "templates").rglob("*.html")
        for style in re.findall(r"<style[^>]*>(.*?)</style>", template.read_text(encoding="utf-8"), re.S)
    ]
    assert len(sheets) >= 3
    declared = set().union(*(media_colours(sheet) for sheet in sheets))
    assert declared - PHONE_COLOURS == set(), f"phone styles declare colours: {declared - PHONE_COLOURS}"
    # The phone's table rows repeat the colour of every table at every width.
    stylesheet = (PROJECT / "web" / "static" / "web" / "preflight.css").read_text(encoding="utf-8")
    assert re.search(r"(?m)^table \{[^}]*background: var\(--paper\);", stylesheet)


PHONE_STYLES = """/* Phones */
a { color: var(--accent); }
@media (max-width: 640px) {
  tr { border: 1px solid var(--line); background: var(--paper); }
  .badge, .tag { padding: 0; Background-Color : #777 ; }
  td::before { content: attr(data-label); color: var(--muted); }
}
@media print { .page { opacity: 0.5 } }"""


def test_the_colour_check_names_each_colour_a_media_query_declares_and_nothing_else():
    assert media_colours(PHONE_STYLES) == {
        ("tr", "background", "var(--paper)"),
        (".badge", "background-color", "#777"),
        (".tag", "background-color", "#777"),
        ("td::before", "color", "var(--muted)"),
        (".page", "opacity", "0.5"),
    }
    assert media_colours("a { color: red; } @media (max-width: 640px) { .page { padding: 1rem; } }") == set()
