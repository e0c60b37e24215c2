"""A database outage answers 503 with Retry-After and the app's own page, and a form sent again
once the database is back records once (issue 21, point 6).

Production settings (DEBUG off) under gunicorn, on a PostgreSQL cluster of the test's own (ports
18520–18522), stopped mid-test: never the machine's server. The services come from
``scripts/fault_drill.py``. Skipped, with the reason, without PostgreSQL's server binaries or
gunicorn; with PREFLIGHT_REQUIRE_FAULTS=1 (set by .ci/run) that fails instead. It runs in the
PostgreSQL pass only: it needs nothing of the test database, and once is enough."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]
PORT = 18520

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="runs once, in the PostgreSQL pass"),
]


def load_drill():
    spec = importlib.util.spec_from_file_location("fault_drill", BASE_DIR / "scripts" / "fault_drill.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fault_drill"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


drill = load_drill()


def require_services() -> None:
    missing = drill.binaries_missing()
    if importlib.util.find_spec("gunicorn") is None:
        missing.append("gunicorn")
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed (Debian: postgresql, redis-server; pip: gunicorn)"
    if os.environ.get("PREFLIGHT_REQUIRE_FAULTS") == "1":
        pytest.fail(f"The fault tests are required (PREFLIGHT_REQUIRE_FAULTS=1) but cannot run: {reason}.")
    pytest.skip(reason)


@pytest.fixture
def site():
    """Gunicorn (2 workers) on a fresh cluster, migrated, with one approver and their request."""
    require_services()
    root = Path(tempfile.mkdtemp(prefix="preflight-outage-"))
    root.chmod(0o755)
    postgres = drill.Postgres(root, PORT)
    web = None
    try:
        postgres.init()
        postgres.start()
        url = postgres.create_database("preflight_outage")
        env = drill.app_environment(url, "", PORT + 2, root / "static")
        drill.collect_static(env)
        env.pop("CELERY_BROKER_URL")  # tasks in-process: this test is about the database
        env["DATABASE_RETRY_AFTER_SECONDS"] = "7"
        assert drill.manage(env, "migrate", "--noinput", "-v0").returncode == 0
        made = drill.manage(env, "shell", "-c", SEED)
        assert made.returncode == 0, made.stderr[-3000:]
        decide_url = made.stdout.strip().splitlines()[-1]
        web = drill.gunicorn(root, PORT + 2, 2, env)
        web.start()
        drill.wait_for_port(PORT + 2)
        yield postgres, env, decide_url
    finally:
        if web is not None:
            web.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


SEED = f"""
from approvals.services import signoffs_request
from tests.builders import ready_launch
launch = ready_launch()
(request,) = signoffs_request(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), functions=["ml"])
approver = request.addressees.get()
approver.username = "approver"
approver.set_password("{drill.PASSWORD}")
approver.save()
print(f"/signoffs/{{request.pk}}/")
"""


def count_decisions(env) -> int:
    done = drill.manage(
        env, "shell", "-c", "from approvals.models import SignoffDecision; print(SignoffDecision.objects.count())"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.strip().splitlines()[-1])


def test_a_stopped_database_answers_503_with_retry_after_and_a_resubmission_records_once(site):
    from tests.helpers import form_data

    postgres, env, decide_url = site
    browser = drill.Browser(PORT + 2)
    browser.sign_in("approver")
    status, _headers, html = browser.request("GET", decide_url)
    assert status == 200
    _form, pairs = form_data(html, decide_url, page_path=decide_url, outcome="approve")

    postgres.stop()
    for method, data in (("GET", None), ("GET", None), ("POST", pairs)):  # both workers' connections
        status, headers, page = browser.request(method, decide_url if method == "POST" else "/", data)
        assert status == 503, (method, status, page[:500])
        assert headers["Retry-After"] == "7"
        assert "Preflight cannot reach its database" in page  # the app's own page, without the database

    postgres.start()
    deadline = time.monotonic() + 30
    while True:  # the same form again, as the page asked, until the database answers
        status, headers, _ = browser.request("POST", decide_url, pairs)
        if status != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status == 302
    status, headers, _ = browser.request("POST", decide_url, pairs)  # and once more: answered alike
    assert status == 302 and headers.get("Idempotent-Replayed") == "true"
    assert count_decisions(env) == 1
