"""Every state change of the sign-off workflow, one module per subject. Each function takes the
acting user, runs in one transaction, checks who may act, locks what it changes, writes history
and appends to the ledger.

Errors: ``Http404`` for a launch the actor may not know of, ``PermissionDenied`` for a known but
forbidden action, ``ValidationError`` (naming what is wrong) for a refused state change or bad input.

Locks are always taken in the order launch → requests (by pk) → decisions → ledger head, and
only on the row itself (``of=("self",)``): on PostgreSQL a plain ``select_for_update`` also locks
every joined row (including joins added by default orderings), which would take the launch row
after a request row and deadlock against the stage gate. The launch row is locked ``FOR NO KEY
UPDATE`` (``no_key=True``): rows that point at the launch (ledger entries, grants) take a key-share
lock on it when they are written, which a plain ``FOR UPDATE`` would block — a decision holding its
request would then wait for the gate holding the launch, and the gate for the request.
"""

from .conversation import may_post, signoff_comment
from .decisions import acknowledge, signoff_decide, signoff_delegate
from .gate import GateRefused, stage_advance, stage_rollback
from .policy import (
    launch_set_risk_tier,
    policy_change_decide,
    policy_change_request,
    policy_set_consultation,
    policy_set_requirement,
)
from .requests import signoff_withdraw, signoffs_request
from .waivers import MAX_WAIVER_DAYS, waiver_decide, waiver_request

__all__ = [
    "MAX_WAIVER_DAYS",
    "GateRefused",
    "acknowledge",
    "launch_set_risk_tier",
    "may_post",
    "policy_change_decide",
    "policy_change_request",
    "policy_set_consultation",
    "policy_set_requirement",
    "signoff_comment",
    "signoff_decide",
    "signoff_delegate",
    "signoff_withdraw",
    "signoffs_request",
    "stage_advance",
    "stage_rollback",
    "waiver_decide",
    "waiver_request",
]
