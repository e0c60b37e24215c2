"""The sign-off tests' people and launch (``tests/approvals/conftest.py``): the sign-off workflow's
notices are what most of these tests deliver."""

from tests.approvals.conftest import addressee, delegate, launch, legal_team, owner, shared_launch  # noqa: F401
