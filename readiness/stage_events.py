"""Signals about stage changes, for the apps beside ``approvals``.

The stage gate lives in ``approvals``; what happens after a stage is entered lives in
``operations``, and neither imports the other (DESIGN.md). The gate sends these signals inside its
transaction; receivers that raise undo the change with it."""

from django.dispatch import Signal

# Sent by ``approvals.services.gate.stage_rollback`` after the launch is saved on the earlier stage,
# with ``launch``, ``actor``, ``from_stage``, ``to_stage``, ``reason``, ``at`` (when) and the
# optional facts the caller gave: ``duration`` (how long the rollback took) and ``incident_id``
# (the incident that caused it). ``operations`` records each one as a rollback execution.
stage_rolled_back = Signal()
