"""The fault drill's judgement (scripts/fault_drill.py), and the drill itself on request.

CI runs ``scripts/fault_drill.py --short`` after the test suites (.ci/run); here it runs only when
asked (PREFLIGHT_FAULT_DRILL=1), so that neither pass of ``make test`` runs it again. The judgement
of what the clients saw is tested always: a drill that cannot tell a loss or a stray 500 is no
drill."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.integration.test_database_outage import BASE_DIR, drill


def phase(fault: str, attempts, successes: int, rows: tuple[int, int], kind: str = "decide"):
    tally = drill.Tally(attempts=list(attempts), successes=successes)
    client = drill.Client(kind, "someone", "/x/", {})
    return drill.Phase(
        fault, [client], fault_window=(10.0, 20.0), tallies=[tally], rows_before=[rows[0]], rows_after=[rows[1]]
    )


def test_a_503_with_retry_after_during_the_database_outage_is_honest():
    row = drill.judge(phase("postgres", [(12.0, 503, True), (21.0, 302, False)], 1, (4, 5)), per_request=3)
    assert (row["503s"], row["other 5xx"], row["lost"], row["doubled"]) == (1, 0, 0, 0)


def test_a_503_without_retry_after_or_outside_the_outage_is_not():
    attempts = [(12.0, 503, False), (30.0, 503, True), (12.0, 500, True)]
    assert drill.judge(phase("postgres", attempts, 0, (0, 0)), per_request=3)["other 5xx"] == 3
    assert drill.judge(phase("redis", [(12.0, 503, True)], 0, (0, 0)), per_request=3)["other 5xx"] == 1


def test_a_success_not_recorded_is_lost_and_a_resubmission_recorded_twice_is_doubled():
    assert drill.judge(phase("redis", [(1.0, 302, False)] * 3, 3, (0, 2)), per_request=3)["lost"] == 1
    assert drill.judge(phase("redis", [(1.0, 302, False)] * 2, 2, (0, 3)), per_request=3)["doubled"] == 1
    # A request action records one request per function asked.
    row = drill.judge(phase("redis", [(1.0, 302, False)] * 2, 2, (6, 12), kind="request"), per_request=3)
    assert (row["lost"], row["doubled"]) == (0, 0)


def test_a_dropped_connection_counts_as_an_error_not_a_5xx():
    row = drill.judge(phase("gunicorn", [(12.0, "RemoteDisconnected", False), (13.0, 302, False)], 1, (0, 1)), 3)
    assert (row["other errors"], row["other 5xx"], row["successes"]) == (1, 0, 1)


@pytest.mark.skipif(
    os.environ.get("PREFLIGHT_FAULT_DRILL") != "1",
    reason="the drill runs in .ci/run after the suites; PREFLIGHT_FAULT_DRILL=1 runs it here",
)
def test_the_short_drill_loses_nothing_and_answers_honestly():
    done = subprocess.run(
        [sys.executable, "scripts/fault_drill.py", "--short"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
