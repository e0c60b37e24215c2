"""Optional error tracking: Sentry, or any service speaking its protocol, when ``SENTRY_DSN`` is set.

Unhandled errors of views and Celery tasks are sent with the request id of config.logs as a tag,
never personal data: ``send_default_pii`` stays off, so no user names, addresses, cookies or
request bodies leave the server, and neither do the local variables of the failing frames."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


def init_sentry(*, dsn: str, environment: str, release: str | None, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.utils import BadDsn, Dsn

    try:
        Dsn(dsn)
    except BadDsn as error:
        raise ImproperlyConfigured(f"SENTRY_DSN is not a valid DSN ({error}); leave it unset to send nothing") from None
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        send_default_pii=False,
        # Request bodies are never sent: send_default_pii alone still attaches form fields (a
        # decision's comment, a reason, names) up to about 10 KB.
        max_request_body_size="never",
        # Frames' local variables may hold anything a view handled (form data, addresses): not sent.
        include_local_variables=False,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=_tag_with_log_context,
    )


def _tag_with_log_context(event: dict, hint: dict) -> dict:
    """Tag the event with the request or task it happened in, so it is found in the logs."""
    from .logs import current

    tags = event.setdefault("tags", {})
    for name, value in current().items():
        if name != "user_id":  # personal data stays on the server
            tags.setdefault(name, str(value))
    return event
