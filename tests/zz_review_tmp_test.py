import threading, time
import pytest
from django.db import connection
from approvals import ledger
from approvals.services import signoff_decide, signoffs_request
from approvals.models import SignoffRequest
from tests.builders import ready_launch

pytestmark = [pytest.mark.skipif(connection.vendor != "postgresql", reason="pg"),
              pytest.mark.django_db(transaction=True)]


def test_rerequest_deadlocks_against_a_decision(monkeypatch):
    launch = ready_launch()
    internal = launch.stages.get(name="Internal")
    reqs = {r.function: r for r in signoffs_request(actor=launch.owner, launch=launch, stage=internal)}
    ml = reqs["ml"]; ml_approver = ml.addressees.first()
    reached, release = threading.Event(), threading.Event()
    original = ledger.append

    def append(**kw):
        if threading.current_thread().name == "decider":
            reached.set(); release.wait(30)
        return original(**kw)
    monkeypatch.setattr(ledger, "append", append)
    out = {}

    def run(name, fn):
        try:
            out[name] = fn()
        except BaseException as e:  # noqa
            out[name] = e
        finally:
            connection.close()
    t2 = threading.Thread(name="decider", target=run, args=("decide", lambda: signoff_decide(
        actor=ml_approver, request=ml, outcome="approve")))
    t2.start(); assert reached.wait(30)
    t1 = threading.Thread(name="requester", target=run, args=("request", lambda: signoffs_request(
        actor=launch.owner, launch=launch, stage=internal)))
    t1.start(); time.sleep(1.5)   # requester now holds the ledger head and waits for the ML request row
    release.set(); t1.join(60); t2.join(60)
    print({k: (type(v).__name__, str(v)[:120]) for k, v in out.items()})
    assert not any("deadlock" in str(v) for v in out.values())
