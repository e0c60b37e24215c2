"""Preflight under load: product managers, approvers and an executive (issue 21, point 7).

Each simulated person signs in with a demo login (``seed_demo``; password ``preflight-demo``, or
``PREFLIGHT_LOAD_PASSWORD``) and then works as they would:

- a **PM** (``pam``): the portfolio, a launch page, now and then a report PDF asked for and polled
  until it is ready;
- an **approver** (``mia``, ``pat``, ``dana``, ``priya``, ``lena``, ``sam``, ``cora``, ``bill``):
  My sign-offs, a sign-off's decision page, and a decision posted (approve, with a comment);
- an **executive** (``eve``): the portfolio, a launch page, My sign-offs, a decision, a report.

"PDF ready" is reported as its own line (type ``PDF``): from the request's POST to the poll that
finds it ready. What each person opens is found on the pages themselves (links to launches and to
sign-offs), so the file runs against any install that holds the demo's people.

Safety: it refuses a host that is not loopback (127.0.0.1, ::1, localhost), and a run without
``--run-time``: ``locust -f scripts/locustfile.py --headless -u 50 -r 10 --run-time 60s
--host http://127.0.0.1:8000``. ``scripts/bench_load.py`` runs it against its own server.
"""

from __future__ import annotations

import ipaddress
import os
import random
import re
import time
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task
from locust.exception import StopUser

PASSWORD = os.environ.get("PREFLIGHT_LOAD_PASSWORD", "preflight-demo")
APPROVERS = ["mia", "pat", "dana", "priya", "lena", "sam", "cora", "bill"]
PDF_READY_WITHIN_SECONDS = 60.0
POLL_EVERY_SECONDS = 0.5

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
LAUNCH_LINK = re.compile(r'href="(/launches/(?!new/)[a-z0-9-]+/)"')  # a launch, not "new launch"
SIGNOFF_LINK = re.compile(r'href="(/signoffs/\d+/)"')
REPORT_READY = 'class="verdict ready"'
REPORT_FAILED = 'class="verdict blocked"'


def is_loopback(url: str | None) -> bool:
    """Whether ``url`` names this machine: only loopback is ever put under load."""
    host = urlsplit(url or "").hostname
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(host: str | None, run_time) -> str | None:
    """Why this run may not start, or None."""
    if not is_loopback(host):
        return f"Refused: {host or 'no host'} is not loopback; this load test runs against 127.0.0.1 or ::1 only."
    if not run_time:
        return "Refused: give --run-time (e.g. --run-time 60s): a load test here is always bounded in time."
    return None


@events.init.add_listener
def _refuse_unsafe_runs(environment, **_kwargs):
    options = environment.parsed_options
    if options is None:  # used as a library (tests): the caller checks ``refusal`` itself
        return
    reason = refusal(options.host or environment.host, options.run_time)
    if reason:
        raise SystemExit(reason)


class PreflightUser(HttpUser):
    abstract = True
    wait_time = between(0.5, 2.0)
    usernames: list[str] = []

    def on_start(self) -> None:
        if not is_loopback(self.host):
            raise StopUser()
        self.username = random.choice(self.usernames)
        page = self.client.get("/sign-in/", name="sign-in page")
        token = CSRF_INPUT.search(page.text)
        response = self.client.post(
            "/sign-in/",
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1) if token else ""},
            name="sign-in (POST)",
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise StopUser()
        self.launches: list[str] = []
        self.signoffs: list[str] = []

    # What each person does ----------------------------------------------------------------------

    def portfolio(self) -> None:
        response = self.client.get("/", name="portfolio")
        self.launches = LAUNCH_LINK.findall(response.text) or self.launches

    def launch_page(self) -> None:
        if not self.launches:
            self.portfolio()
        if self.launches:
            self.client.get(random.choice(self.launches), name="launch page")

    def inbox(self) -> None:
        response = self.client.get("/signoffs/", name="inbox")
        self.signoffs = SIGNOFF_LINK.findall(response.text)

    def decide(self) -> None:
        if not self.signoffs:
            self.inbox()
        if not self.signoffs:
            return
        path = random.choice(self.signoffs)
        page = self.client.get(path, name="decision page")
        fields = dict(HIDDEN_INPUT.findall(page.text))
        if "fingerprint" not in fields:  # not (or no longer) theirs to decide
            self.signoffs.remove(path)
            return
        fields.update({"outcome": "approve", "comment": "Reviewed under load."})
        with self.client.post(path, fields, name="decision (POST)", allow_redirects=False, catch_response=True) as r:
            if r.status_code != 302:
                r.failure(f"decision answered {r.status_code}")

    def report(self) -> None:
        if not self.launches:
            self.portfolio()
        if not self.launches:
            return
        launch = random.choice(self.launches)
        page = self.client.get(launch, name="launch page")
        token = CSRF_INPUT.search(page.text)
        started = time.perf_counter()
        response = self.client.post(
            f"{launch}reports/",
            {"kind": "launch", "csrfmiddlewaretoken": token.group(1) if token else ""},
            name="report (POST)",
            allow_redirects=False,
        )
        status_url = response.headers.get("Location", "")
        if response.status_code != 302 or not status_url:
            self._pdf(started, f"report request answered {response.status_code}")
            return
        while time.perf_counter() - started < PDF_READY_WITHIN_SECONDS:
            status = self.client.get(status_url, name="report status (poll)", headers={"HX-Request": "true"})
            if REPORT_READY in status.text:
                self._pdf(started)
                return
            if REPORT_FAILED in status.text:
                self._pdf(started, "the report failed or stalled")
                return
            time.sleep(POLL_EVERY_SECONDS)
        self._pdf(started, f"not ready within {PDF_READY_WITHIN_SECONDS:.0f} s")

    def _pdf(self, started: float, failure: str | None = None) -> None:
        self.environment.events.request.fire(
            request_type="PDF",
            name="PDF ready (request to ready)",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=RuntimeError(failure) if failure else None,
            context={},
        )


class ProductManager(PreflightUser):
    weight = 2
    usernames = ["pam"]

    @task(3)
    def see_portfolio(self) -> None:
        self.portfolio()

    @task(3)
    def see_launch(self) -> None:
        self.launch_page()

    @task(1)
    def ask_for_a_report(self) -> None:
        self.report()


class Approver(PreflightUser):
    weight = 5
    usernames = APPROVERS

    @task(2)
    def see_inbox(self) -> None:
        self.inbox()

    @task(2)
    def decide_a_signoff(self) -> None:
        self.decide()

    @task(1)
    def see_launch(self) -> None:
        self.launch_page()


class Executive(PreflightUser):
    weight = 1
    usernames = ["eve"]

    @task(2)
    def see_portfolio(self) -> None:
        self.portfolio()

    @task(2)
    def see_launch(self) -> None:
        self.launch_page()

    @task(1)
    def see_inbox(self) -> None:
        self.inbox()

    @task(1)
    def decide_a_signoff(self) -> None:
        self.decide()

    @task(1)
    def ask_for_a_report(self) -> None:
        self.report()
