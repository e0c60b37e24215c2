"""A crawl of what one signed-in person can reach: from the portfolio, every same-origin link
followed breadth-first, one page per route (``resolve()``'s pattern), each checked by axe-core at
laptop and phone widths; and every form on those pages checked for what a browser would submit.

Used by test_crawl; kept apart so that the same walk can be pointed at a running demo."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.urls import Resolver404, resolve

from tests.browser.conftest import AXE_SOURCE, FAILING_IMPACTS

PHONE_WIDTH = 390
WIDTHS = (1280, PHONE_WIDTH)
# Routes a crawl does not open: signing out ends the walk, downloads are files (no page to check),
# the language switch and the admin are not the app's pages.
SKIPPED_ROUTES = {"web:sign-out", "web:report-download", "set_language"}

# Every link on the page (absolute, without its fragment) that is not a download.
LINKS = """() => [...document.querySelectorAll('a[href]')]
    .filter((a) => !a.hasAttribute('download'))
    .map((a) => a.href.split('#')[0])"""

# Every form: its method and action (resolved by the browser, as it would submit), and the names of
# its submit buttons that another control of the same form also carries (and so overrides: the
# button a person clicks sends its own name=value along with the control's).
FORMS = """() => [...document.forms].map((form) => {
    const controls = [...form.elements].filter((element) => element.name);
    const isButton = (element) =>
        (element.tagName === 'BUTTON' && (element.type || 'submit') === 'submit')
        || (element.tagName === 'INPUT' && ['submit', 'image'].includes(element.type));
    const fields = new Set(controls.filter((element) => !isButton(element)).map((element) => element.name));
    const shadowing = controls.filter((element) => isButton(element) && fields.has(element.name))
        .map((button) => button.name);
    const label = form.id ? '#' + form.id
        : (form.querySelector('button, input[type=submit]')?.textContent || '').trim().slice(0, 40);
    return {method: form.method, action: form.action, shadowing, label,
            hx: form.getAttribute('hx-post') || form.getAttribute('hx-get') || ''};
})"""

# ``preload: false``: axe otherwise fetches the page's style sheets again for the rules that read
# them, all of which are off by default (experimental); it saves about a fifth of each run.
AXE_RUN = "async () => await axe.run(document, {resultTypes: ['violations'], preload: false})"
# At phone width every rule runs but colour contrast (about 40 % of a run), which the laptop-width
# pass has checked on the same page: the phone styles (``@media (max-width: 640px)``) change layout,
# not colours. The only colours they declare are PHONE_COLOURS below, which change no pair of text and
# background colour: table rows become cards painted ``--paper``, the colour every table already has,
# and the cards' cell labels are ``::before`` text, which axe does not check at any width. Layout
# alone could still put text over another background (a sticky or positioned box overlapping it);
# the pages have none at load but the sticky area column of the RACI grid, over which nothing
# scrolls until someone scrolls. test_crawl fails when a style sheet's phone styles declare another
# colour: then colour contrast must run at phone width again (``AXE_RUN`` for both).
AXE_RUN_PHONE = (
    "async () => await axe.run(document, {resultTypes: ['violations'], preload: false,"
    " rules: {'color-contrast': {enabled: false}}})"
)
# (selector, property, value) of every colour the phone styles declare; see AXE_RUN_PHONE.
PHONE_COLOURS = {
    ("tr", "background", "var(--paper)"),
    ("td::before", "color", "var(--muted)"),
    (".before-after td::before", "color", "var(--muted)"),
}
# What a page shows in its main part, without the session's CSRF tokens: two people shown the same
# page (a form to change one's password) need it checked once.
MAIN_CONTENT = """() => {
    const main = document.querySelector('main')?.cloneNode(true);
    if (!main) return null;
    main.querySelectorAll('input[name=csrfmiddlewaretoken]').forEach((input) => input.remove());
    return main.outerHTML;
}"""


@dataclass
class Crawl:
    """What one person's crawl found."""

    who: str
    pages: list[str] = field(default_factory=list)  # the paths visited, one per route
    checked: int = 0  # of which axe checked (the others showed what an earlier page had shown)
    actions: int = 0  # the different form actions checked
    seconds: dict[str, float] = field(default_factory=lambda: {"load": 0.0, "axe": 0.0, "forms": 0.0})
    problems: list[str] = field(default_factory=list)  # each names the page it was found on


# Pages opened for each URL rather than once per route: a launch's page shows different sections
# at each point of its life (and the demo has one launch at each).
EVERY_URL = {"web:launch"}


def route_of(path: str, *, every_url: bool = False) -> str | None:
    """What makes a page one to check: its URL pattern (``launches/<slug:slug>/``), or with
    ``every_url`` the path itself for the routes in EVERY_URL; None for what a crawl does not open."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if match.view_name in SKIPPED_ROUTES or match.namespace == "admin" or path.endswith(".pdf"):
        return None
    return path if every_url and match.view_name in EVERY_URL else match.route


def crawl(
    page,
    base_url: str,
    who: str,
    allowed_methods: Callable[[str], set[str] | None],
    *,
    start: str = "/",
    every_url: bool = False,
    seen_content: set[int] | None = None,
) -> Crawl:
    """Walk from ``start`` as the person signed in to ``page``'s browser context.

    ``allowed_methods(path)`` gives the methods the view behind ``path`` accepts (None when it
    declares none): a form whose action refuses its method could never succeed. ``every_url``
    opens every launch (EVERY_URL), not one. ``seen_content`` (shared between walks) holds what the
    pages already checked showed in their main part; a page showing the same is not checked again."""
    found = Crawl(who)
    seen_routes: set[str] = set()
    seen_content = set() if seen_content is None else seen_content
    probed: dict[str, set[str] | None] = {}
    queue = deque([start])
    seen_routes.add(route_of(start, every_url=every_url))
    while queue:
        path = queue.popleft()
        clock = time.monotonic()
        response = page.goto(base_url + path)
        found.seconds["load"] += time.monotonic() - clock
        found.pages.append(path)
        if response is None or response.status >= 400:
            found.problems.append(f"{who} {path}: a link leads to a page answering {response and response.status}")
        content = hash(page.evaluate(MAIN_CONTENT))
        if content not in seen_content:
            seen_content.add(content)
            found.checked += 1
            clock = time.monotonic()
            found.problems += _axe(page, f"{who} {path}")
            found.seconds["axe"] += time.monotonic() - clock
        clock = time.monotonic()
        found.problems += form_problems(page, base_url, f"{who} {path}", allowed_methods, probed)
        found.seconds["forms"] += time.monotonic() - clock
        for link in page.evaluate(LINKS):
            parts = urlsplit(link)
            if f"{parts.scheme}://{parts.netloc}" != base_url:
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            route = route_of(parts.path, every_url=every_url)
            if route is None or route in seen_routes:
                continue
            seen_routes.add(route)
            queue.append(target)
    found.actions = len(probed)
    return found


def _axe(page, where: str) -> list[str]:
    """axe-core's serious and critical violations on the page, at each width; and a page wider
    than the screen (what is wide, as the RACI grid, scrolls inside a box of its own).

    The page is checked first at the width it was opened at, and left at the last: the walk's next
    page opens at that width, so each page is laid out twice, not three times (its links and forms
    are read from the document, whatever the width)."""
    problems = []
    page.evaluate(AXE_SOURCE)
    current = page.viewport_size["width"]
    for width in sorted(WIDTHS, key=lambda width: width != current):
        if width != current:
            page.set_viewport_size({"width": width, "height": 900})
        page_width = page.evaluate("document.documentElement.scrollWidth")
        if page_width > width:
            problems.append(f"{where} at {width} px: the page is {page_width} px wide and scrolls sideways")
        for violation in page.evaluate(AXE_RUN_PHONE if width == PHONE_WIDTH else AXE_RUN)["violations"]:
            if violation["impact"] in FAILING_IMPACTS:
                targets = [node["target"] for node in violation["nodes"]][:3]
                problems.append(
                    f"{where} at {width} px: axe {violation['id']} ({violation['impact']}):"
                    f" {violation['help']} — {targets}"
                )
    return problems


# Properties by which a style sheet can change the colour of text or of what is behind it.
COLOUR_PROPERTIES = {
    "color",
    "background",
    "background-color",
    "background-image",
    "fill",
    "opacity",
    "filter",
    "mix-blend-mode",
    "-webkit-text-fill-color",
}


def media_colours(css: str) -> set[tuple[str, str, str]]:
    """The (selector, property, value) of every colour declared inside an ``@media`` block of
    ``css`` (comments dropped, whitespace collapsed; a rule with several selectors gives one each)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    found = set()
    for match in re.finditer(r"@media[^{]*{", css):
        depth, start = 1, match.end()
        end = start
        while depth:
            depth += {"{": 1, "}": -1}.get(css[end], 0)
            end += 1
        for selectors, body in re.findall(r"([^{}]+){([^{}]*)}", css[start : end - 1]):
            for declaration in body.split(";"):
                name, _, value = declaration.partition(":")
                if name.strip().lower() in COLOUR_PROPERTIES:
                    for selector in selectors.split(","):
                        found.add((" ".join(selector.split()), name.strip().lower(), " ".join(value.split())))
    return found


def form_problems(page, base_url: str, where: str, allowed_methods, probed: dict) -> list[str]:
    """What is wrong with the page's forms: a submit button named like another of the form's
    controls, an action off the site, or one whose view refuses the form's method."""
    problems = []
    for form in page.evaluate(FORMS):
        which = f"{where}: form {form['label']!r}"
        for name in form["shadowing"]:
            problems.append(f"{which}: a submit button is named {name!r} like another control")
        action = urlsplit(form["action"])
        if f"{action.scheme}://{action.netloc}" != base_url:
            problems.append(f"{which}: posts off the site, to {form['action']}")
            continue
        if action.path not in probed:
            probed[action.path] = allowed_methods(action.path)
        allowed = probed[action.path]
        if allowed is None:
            problems.append(f"{which}: its action {action.path} is no view that declares its methods")
        elif form["method"].upper() not in allowed:
            problems.append(f"{which}: {form['method'].upper()} to {action.path}, which accepts {sorted(allowed)}")
    return problems
