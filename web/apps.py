from django.apps import AppConfig


class WebConfig(AppConfig):
    """The product's own pages, on top of the domain's services and selectors."""

    name = "web"
    verbose_name = "Web"
