"""Which language a page speaks: the signed-in person's own choice (kept by
``raci.services.language_set``, so it follows them to any browser), else the language cookie, else
the browser's Accept-Language (Django's LocaleMiddleware does those two).

The choice is copied into the session when a person signs in and when they choose, so applying it
costs no query per request."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from raci.selectors import preferred_language
from raci.services import language_set

SESSION_KEY = "preflight_language"


def _available(language) -> bool:
    return isinstance(language, str) and language in dict(settings.LANGUAGES)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The header's language switcher: refuses a language Preflight does not speak; keeps a
    signed-in person's choice for their next sign-in anywhere; then, as Django's own view, sets the
    cookie and returns to the page."""
    language = request.POST.get("language")
    if not _available(language):
        return HttpResponseBadRequest(_("Preflight does not speak that language."))
    if request.user.is_authenticated:
        try:
            language_set(actor=request.user, language=language)
        except ValidationError:
            return HttpResponseBadRequest(_("Preflight does not speak that language."))
        request.session[SESSION_KEY] = language
    return django_set_language(request)


class UserLanguageMiddleware:
    """After LocaleMiddleware: a signed-in person's own choice wins over cookie and browser."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if _available(language):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


def remember_language_at_sign_in(sender, request: HttpRequest, user, **kwargs) -> None:
    """On sign-in, from any browser, the person's chosen language applies to their session."""
    if request is None or not hasattr(request, "session"):
        return
    language = preferred_language(user)
    if _available(language):
        request.session[SESSION_KEY] = language
    else:
        request.session.pop(SESSION_KEY, None)


user_logged_in.connect(remember_language_at_sign_in, dispatch_uid="web.language.remember_language_at_sign_in")
