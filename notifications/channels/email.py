"""E-mail: a plain-text body and the same in HTML, each with the link to the page the notice is
about, from ``DEFAULT_FROM_EMAIL`` through Django's mail backend."""

from __future__ import annotations

from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from . import Channel, register

NAME = "email"


class Email(Channel):
    name = NAME
    label = _("E-mail")

    def reachable(self, people: list, preferences: dict) -> set[int]:
        return {person.pk for person in people if preferences[person.pk].email and person.email}

    def reason_not_to_send(self, message, preference) -> str:
        if not preference.email:
            return "Not sent: the recipient turned e-mail off."
        if not message.recipient.email:
            return "Not sent: the recipient has no e-mail address."
        return ""

    def send(self, message, *, subject: str, lines: list[str], url: str) -> None:
        context = {"subject": subject, "lines": lines, "url": url}
        send_mail(
            subject=subject,
            message=render_to_string("notifications/email.txt", context),
            recipient_list=[message.recipient.email],
            html_message=render_to_string("notifications/email.html", context),
            headers={"Message-ID": message_id(message)},
        )


register(Email())


def send_mail(*, subject: str, message: str, recipient_list: list[str], html_message: str, headers: dict) -> None:
    """Django's ``send_mail`` (plain text with an HTML alternative, from DEFAULT_FROM_EMAIL), with
    headers, which that function does not take."""
    mail = EmailMultiAlternatives(subject=subject, body=message, to=recipient_list, headers=headers)
    mail.attach_alternative(html_message, "text/html")
    mail.send()


def message_id(message) -> str:
    """The same Message-ID however often the message is sent. Delivery is at-least-once: a worker
    killed after the mail server accepted a message but before its "sent" committed sends it again,
    and this lets mail servers and clients recognise the copy as the same message."""
    # DEFAULT_FROM_EMAIL may carry a name: "Preflight <preflight@example.com>".
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "preflight.invalid"
    return f"<preflight-outbox-{message.pk}-{message.created_at:%Y%m%d%H%M%S}@{domain}>"
