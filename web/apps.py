from django.apps import AppConfig


class WebConfig(AppConfig):
    """The product's own pages, on top of the domain's services and selectors."""

    name = "web"
    verbose_name = "Web"

    def ready(self) -> None:
        # Connects the sign-in signal that applies a person's chosen language (web.language).
        from . import language  # noqa: F401
