from django.apps import AppConfig


class RaciConfig(AppConfig):
    name = "raci"
    verbose_name = "People and responsibilities (RACI)"

    def ready(self) -> None:
        # Registers the RACI checklist items, the template step that creates areas and slots, the
        # access that RACI roles, slots and executive teams grant, the signals that keep it, and
        # the ledger's cross-checks of evaluation runs accepted and standard areas left out.
        from readiness.access import register_access_rule, register_portfolio_viewer

        from . import checklist_items, ledger_checks, services, signals  # noqa: F401
        from .selectors import is_executive

        register_access_rule(signals.RaciAccess())
        register_portfolio_viewer(is_executive)
        _register_sealed_facts()


def _register_sealed_facts() -> None:
    """Who serves a function (teams, their leads, their members, whose account a stakeholder is)
    and who answers for a launch (areas, RACI rows, filled slots) are sealed in the ledger whenever
    a service writes them (readiness.recording). Teams and memberships belong to no launch."""
    from readiness.recording import register_sealed_facts

    from .models import LaunchStakeholder, RaciAssignment, ResponsibilityArea, Stakeholder, Team

    register_sealed_facts(Team, launch=None)
    register_sealed_facts(Stakeholder, launch=None)
    register_sealed_facts(Stakeholder.teams.through, launch=None)
    register_sealed_facts(LaunchStakeholder, launch="launch")
    register_sealed_facts(ResponsibilityArea, launch="launch")
    register_sealed_facts(RaciAssignment, launch="area.launch")
