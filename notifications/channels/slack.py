"""Slack: a post to the incoming webhook of one of the recipient's teams, with the standard library.

The webhook URLs are secrets (``settings.SLACK_WEBHOOKS``, team name → URL, from the environment
only): they are never logged nor stored, and an error names the HTTP status, not the URL. A team
channel may hold people who do not see the launch, so a post names no launch, no stage, nobody
else and nothing anyone wrote: only whom it is for and a link to their notices, where the rest
waits behind the sign-in."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from raci.models import Team
from readiness.people import person_name

from .. import pages
from . import Channel, register

NAME = "slack"


class SlackError(Exception):
    """The webhook did not take the message (an HTTP error, a redirect, a timeout, no connection)."""


class Slack(Channel):
    name = NAME
    label = gettext_lazy("Slack")

    def reachable(self, people: list, preferences: dict) -> set[int]:
        teams = team_names(person for person in people if preferences[person.pk].slack)
        return {user_id for user_id, names in teams.items() if names}

    def reason_not_to_send(self, message, preference) -> str:
        if not preference.slack:
            return "Not sent: the recipient turned Slack off."
        if webhook_of(message.recipient) is None:
            return "Not sent: none of the recipient's teams has a Slack webhook any more."
        return ""

    def send(self, message, *, subject: str, lines: list[str], url: str) -> None:
        """Only whom it is for and a link to their notices (not ``url``: the page's address can
        carry the launch's name). Escaped, so a person's name cannot mention or link anyone."""
        webhook = webhook_of(message.recipient)
        if webhook is None:  # removed between the check and now: fail, the next attempt drops it
            raise SlackError("no Slack webhook for the recipient's teams")
        text = _("%(person)s: you have a new notice in Preflight.") % {"person": person_name(message.recipient)}
        notices = pages.absolute_url(pages.page_path(pages.NOTICES))
        post(webhook, "\n".join(escape(part) for part in (text, notices)))


register(Slack())


def team_names(users: Iterable) -> dict[int, list[str]]:
    """For each of ``users`` (by id) the names of their teams that have a Slack webhook, sorted;
    one query, none when no webhook is configured."""
    webhooks = settings.SLACK_WEBHOOKS
    found: dict[int, list[str]] = defaultdict(list)
    users = [user.pk for user in users]
    if not webhooks or not users:
        return found
    rows = (
        Team.objects.filter(name__in=list(webhooks), members__user__in=users)
        .values_list("members__user_id", "name")
        .order_by("name")
    )
    for user_id, name in rows:
        found[user_id].append(name)
    return found


def webhook_of(recipient) -> str | None:
    """The webhook of the first of ``recipient``'s teams that still has one configured."""
    names = team_names([recipient]).get(recipient.pk, [])
    return next((settings.SLACK_WEBHOOKS[name] for name in names if name in settings.SLACK_WEBHOOKS), None)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook answers, it does not send us elsewhere: a redirect is a failure, never followed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise SlackError(f"the webhook answered with a redirect (HTTP {code})")


_opener = urllib.request.build_opener(_NoRedirects)


def escape(text: str) -> str:
    """Slack reads ``<...>`` as links and mentions (``<!channel>`` pings everyone) and ``&`` as
    an entity: user text is escaped the way Slack asks, so it is shown, never acted on."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def post(url: str, text: str) -> None:
    """POST ``{"text": text}`` to ``url``; raises ``SlackError`` unless it answers 2xx in time."""
    body = json.dumps({"text": text}).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with _opener.open(request, timeout=settings.SLACK_TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise SlackError(f"the webhook answered HTTP {error.code}") from None
    except urllib.error.URLError as error:
        raise SlackError(f"the webhook could not be reached: {error.reason}") from None
    except TimeoutError:
        raise SlackError(f"the webhook did not answer within {settings.SLACK_TIMEOUT_SECONDS} seconds") from None
    if not 200 <= status < 300:
        raise SlackError(f"the webhook answered HTTP {status}")
