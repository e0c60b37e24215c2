"""The ledger before anything is appended is intact at the genesis hash, and an append outside the
service's transaction is refused. Apart from ``test_appends``: these need a ledger without the
launch that module builds once, and a transactional test would deny that module its shared
transaction (see ``module_transaction``)."""

import pytest

from ledger.chain import GENESIS_HASH, append
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from tests.factories import LaunchFactory
from tests.ledger.helpers import verify_ledger

pytestmark = pytest.mark.django_db


def test_an_empty_ledger_is_intact_at_the_genesis_hash(db):
    code, out, _ = verify_ledger()
    assert code == 0
    assert out.strip() == f"Ledger intact: 0 entries, head {GENESIS_HASH}."


@pytest.mark.django_db(transaction=True)
def test_appending_outside_a_transaction_is_refused():
    """Outside the service's transaction the head row could not be held until the entry is written."""
    launch = LaunchFactory()
    before = LedgerEntry.objects.count()
    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        append(event=LedgerEvent.REQUESTED, launch=launch, actor=launch.owner, payload={})
    assert LedgerEntry.objects.count() == before
