"""What reports tell people, in words (``notifications.events``), registered when the app starts."""

from django.utils.translation import gettext as _

from notifications.events import register

from .choices import ReportEvent


@register(ReportEvent.READY)
def _ready(payload: dict) -> list[str]:
    if payload.get("launch"):
        return [_("Your report on %(launch)s is ready to download.") % payload]
    return [_("Your portfolio report is ready to download.")]
