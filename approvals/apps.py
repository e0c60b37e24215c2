from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Sign-offs and approvals"

    def ready(self) -> None:
        from . import checklist_items  # noqa: F401
