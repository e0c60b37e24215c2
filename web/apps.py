from django.apps import AppConfig
from django.urls import reverse

from notifications.pages import INBOX, NOTICES, install_page


class WebConfig(AppConfig):
    """The product's own pages, on top of the domain's services and selectors."""

    name = "web"
    verbose_name = "Web"

    def ready(self) -> None:
        # Connects the sign-in signal that applies a person's chosen language (web.language), and
        # tells notifications where a person's notices and waiting work are (notifications.pages).
        from . import language  # noqa: F401

        install_page(NOTICES, lambda: reverse("web:notifications"))
        install_page(INBOX, lambda: reverse("web:inbox"))
