from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """In-app notices, the outbox and its channels, how each person wants to be told, and the
    registry of events the apps above tell people about (``notifications.events``)."""

    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Each channel module registers its channel; the outbox registers its own event (a
        # message that could not be delivered).
        from . import channels, outbox  # noqa: F401

        channels.discover()
