"""Browser tests: Playwright for Python driving Debian's Chromium headless against a live server.

Playwright cannot download its own browser here, so the tests use the system's ``chromium``
(PREFLIGHT_CHROMIUM names another). Without one they skip, saying why; with
PREFLIGHT_REQUIRE_BROWSER=1 (set by .ci/run) a missing browser fails the run instead.
Every page a test checks is checked by axe-core; with PREFLIGHT_SCREENSHOTS=1 (``make screenshots``)
each is also saved as a full-page JPEG under tests/browser/screenshots/<test>/, emptied when the
test starts. ``make test`` takes none: they are for people to look at, and cost a fifth of the
browser tests' time."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).parent / "screenshots"
TAKE_SCREENSHOTS = os.environ.get("PREFLIGHT_SCREENSHOTS") == "1"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# Evaluated into the page rather than added as a <script> element: cheaper, and leaves the DOM that
# axe checks as the server sent it. ``;0`` keeps the value returned to Playwright small.
AXE_SOURCE = AXE.read_text(encoding="utf-8") + "\n;0"
# JPEG rather than PNG: a long page (the launch page is 8,000 px tall) is captured in about 60% of
# the time, and text stays readable at this quality.
SCREENSHOT_QUALITY = 70
# Korean text is drawn in Noto Sans KR, which the app serves in slices fetched as glyphs need them.
# On a page that had to fetch some, Chromium can keep drawing text it laid out before they arrived
# as empty boxes, even once they are loaded (seen on the first pages of a browser context, which
# most visitors now open without the sign-in page): such a page is laid out again before its screenshot.
REDRAW_WITH_WEB_FONTS = """async () => {
    await document.fonts.ready;
    if (![...document.fonts].some((face) => face.status === "loaded")) return;
    const root = document.documentElement, style = root.getAttribute("style");
    const [x, y] = [window.scrollX, window.scrollY];
    for (let round = 0; round < 3; round++) {  // laying out again may ask for more slices
        root.style.display = "none";
        root.offsetHeight;
        style === null ? root.removeAttribute("style") : root.setAttribute("style", style);
        root.offsetHeight;
        if (document.fonts.status === "loaded") break;
        await document.fonts.ready;
    }
    window.scrollTo(x, y);
}"""
# ``--max-opt=1``: V8 stops at its baseline compiler. Every page evaluates axe-core afresh and runs
# it for a fraction of a second; optimising it on background threads for code thrown away at the
# next page cost about a tenth of Chromium's CPU in the crawl, and made no run faster.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--js-flags=--max-opt=1"]
PASSWORD = "a-browser-test-password"
# axe-core impacts that fail a page.
FAILING_IMPACTS = {"serious", "critical"}


def with_password(user):
    """Give ``user`` the password the visitors sign in with."""
    user.set_password(PASSWORD)
    user.save()
    return user


def _chromium() -> str | None:
    return os.environ.get("PREFLIGHT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    """Chromium for one module of browser tests, closed at its end so that Playwright's event loop
    does not outlive the module."""
    executable = _chromium()
    reason = ""
    if executable is None:
        reason = "no Chromium found (install Debian's `chromium` package or set PREFLIGHT_CHROMIUM)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = reason or "Playwright for Python is not installed (see requirements.txt)"
    if reason:
        if os.environ.get("PREFLIGHT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Browser tests are required (PREFLIGHT_REQUIRE_BROWSER=1) but cannot run: {reason}.")
        pytest.skip(f"Browser tests skipped: {reason}.")
    # Playwright's sync API keeps an event loop in the test's thread; the ORM calls the tests make
    # (setting up data, flushing the database) are still plain synchronous code. The variable stays
    # out of deployment (`check --deploy` refuses it) and out of the settings tests' subprocesses.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visitor:
    """One person in one browser context: signs in, visits pages, screenshots and axe-checks each."""

    def __init__(self, browser, base_url: str, test_name: str, who: str, *, width: int = 1280, locale: str = "en-GB"):
        self.context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale)
        self.page = self.context.new_page()
        self.base_url = base_url
        self.folder = SCREENSHOTS / test_name
        if TAKE_SCREENSHOTS:
            self.folder.mkdir(parents=True, exist_ok=True)
        self.who = who
        self.shots = 0

    def goto(self, path: str):
        return self.page.goto(self.base_url + path)  # waits for the load event

    def sign_in(self, username: str) -> None:
        """Signed in without the form (``sign_in_with_the_form`` drives it, in test_reading): a
        session made as Django's test client makes one (``login()``, so the sign-in signals run),
        its cookie given to this browser context. The page is left where it was."""
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.test import Client

        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        self.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": self.base_url}])

    def sign_in_with_the_form(self, username: str) -> None:
        """Sign in through the sign-in page as a person does, landing on the portfolio."""
        self.goto("/sign-in/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("main button[type=submit]")
        self.page.wait_for_load_state()
        assert self.page.url == self.base_url + "/", f"signing in as {username} ended on {self.page.url}"

    def snap(self, label: str, *, axe: bool = True) -> None:
        """Fail on any serious or critical accessibility violation (and screenshot the page when asked).

        ``axe=False`` for a page in a state that the crawl of the demo (test_crawl) checks with axe
        on every run, at both widths: the same template showing the same kinds of rows (say, an
        inbox with sign-offs waiting). A scenario keeps axe on the states only it reaches: a form
        refused with errors, a message after an action, a place in a conversation, Korean."""
        self.shots += 1
        if TAKE_SCREENSHOTS:
            name = re.sub(r"[^a-z0-9-]+", "-", f"{self.shots:02d}-{self.who}-{label}".lower())
            self.page.evaluate(REDRAW_WITH_WEB_FONTS)
            self.page.screenshot(
                path=str(self.folder / f"{name}.jpg"), full_page=True, type="jpeg", quality=SCREENSHOT_QUALITY
            )
        if not axe:
            return
        self.page.evaluate(AXE_SOURCE)
        result = self.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in FAILING_IMPACTS
        ]
        assert not serious, f"axe-core on {self.page.url}: " + "; ".join(serious)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, live_server, request):
    """``visit(who, **options)`` opens a browser context for one person of the test."""
    opened = []
    shutil.rmtree(SCREENSHOTS / request.node.name, ignore_errors=True)  # no shots of an earlier run

    def open_visitor(who: str, **options) -> Visitor:
        visitor = Visitor(browser, live_server.url, request.node.name, who, **options)
        opened.append(visitor)
        return visitor

    yield open_visitor
    for visitor in opened:
        visitor.close()
