"""Posting to a Slack incoming webhook with the standard library.

The webhook URLs are secrets (``settings.SLACK_WEBHOOKS``, from the environment only): they are
never logged nor stored, and an error names the HTTP status, not the URL."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.conf import settings


class SlackError(Exception):
    """The webhook did not take the message (an HTTP error, a redirect, a timeout, no connection)."""


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
