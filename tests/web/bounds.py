"""Query bounds shared by the page tests, so a section added to a page is budgeted in one place.

The launch page reads a fixed number of queries however large the launch (``test_launch_scale``
proves the count is the same for a small and a demo-sized launch; the waivers, RACI and operations
tests prove it for their rows). Measured in the richest test world: 37, counted with every section
(verdict, checklist, sign-offs, waivers, people, facts, incidents, failure reviews, SLO actuals,
undelivered notifications, reports); a new section raises it here, with a note.

+1: when an approval lapsed, whether its approver was asked again (``approvals.selectors``, one
query for every lapsed approval of the stage)."""

LAUNCH_PAGE_QUERIES = 39
