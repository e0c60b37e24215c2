from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Sign-offs and approvals"

    def ready(self) -> None:
        # Registers checklist item 1 and the waivers, and the access sign-off requests grant.
        from readiness.access import register_access_rule
        from readiness.recording import install_recorder

        from . import checklist_items, ledger, signals  # noqa: F401

        register_access_rule(signals.SignoffAccess())
        install_recorder(ledger.append)
