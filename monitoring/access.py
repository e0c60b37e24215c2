"""Who may read ``/metrics``: a client whose address is in ``METRICS_ALLOWED_IPS`` (loopback only
by default), or one presenting ``Authorization: Bearer <METRICS_TOKEN>``. The address is the one
sign-in throttling uses (``config.client_ip``, named by ``AXES_CLIENT_IP_CALLABLE``): ``X-Forwarded-For`` counts only on a request from
``TRUSTED_PROXIES``, so nobody talking to the app directly can claim an allowed address."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string


def _allowed_address(request: HttpRequest) -> bool:
    try:
        # The client's address as sign-in throttling reads it (config.client_ip, through the setting).
        address = ipaddress.ip_address(import_string(settings.AXES_CLIENT_IP_CALLABLE)(request) or "")
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:  # ::ffff:127.0.0.1 is 127.0.0.1
        address = address.ipv4_mapped
    return any(address in network for network in settings.METRICS_ALLOWED_IPS)


def _right_token(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def may_read_metrics(request: HttpRequest) -> bool:
    return _allowed_address(request) or _right_token(request)
