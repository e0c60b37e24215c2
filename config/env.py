"""Small typed readers for environment variables that fail loudly on a bad value."""

import ipaddress
import os
import re

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), got {raw!r}")


def env_int(name: str, default: int, *, min_value: int | None = None, max_value: int | None = None) -> int:
    """An integer, refused when it lies outside [min_value, max_value] (either bound optional)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        value = default
    else:
        try:
            value = int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if (min_value is not None and value < min_value) or (max_value is not None and value > max_value):
        raise ImproperlyConfigured(f"{name} must be {_describe_range(min_value, max_value)}, got {value}")
    return value


def _describe_range(min_value: int | None, max_value: int | None) -> str:
    if min_value is not None and max_value is not None:
        return f"an integer from {min_value} to {max_value}"
    if min_value is not None:
        return f"an integer of at least {min_value}"
    return f"an integer of at most {max_value}"


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses or networks (``10.0.0.5, 10.1.0.0/16, fd00::/8``); unset or empty: none."""
    networks = []
    for item in env_list(name, []):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list IP addresses or networks separated by commas, got {item!r}"
            ) from None
    return tuple(networks)


_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def env_header(name: str, default: tuple[str, str] | None) -> tuple[str, str] | None:
    """A request header and the value it must have, written ``Header-Name: value`` (e.g.
    ``X-Forwarded-Proto: https``), as Django's ``request.META`` key and value. An empty value
    turns it off (None)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not raw.strip():
        return None
    header, sep, value = raw.partition(":")
    header, value = header.strip(), value.strip()
    if not sep or not value or not _HEADER_NAME.fullmatch(header):
        raise ImproperlyConfigured(
            f"{name} must be 'Header-Name: value' (e.g. 'X-Forwarded-Proto: https') or empty to turn it off, got {raw!r}"
        )
    key = header.upper().replace("-", "_")
    return (key if key.startswith("HTTP_") else f"HTTP_{key}", value)


def env_url_map(name: str) -> dict[str, str]:
    """A JSON object mapping names to http(s) URLs, e.g. ``{"Legal": "https://hooks.slack.com/..."}``;
    unset or empty is ``{}``. The URLs may be secrets, so an error names the key, never the URL."""
    import json
    from urllib.parse import urlsplit

    raw = os.environ.get(name, "")
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise ImproperlyConfigured(
            f'{name} must be a JSON object, e.g. {{"Legal": "https://..."}}: {error.msg}'
        ) from None
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object mapping names to URLs, got a {type(value).__name__}")
    for key, url in value.items():
        if not key.strip():
            raise ImproperlyConfigured(f"{name} has an empty name")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImproperlyConfigured(f"{name}: the value for {key!r} must be an http(s) URL")
    return value


# --- the ledger anchor (ledger.anchors) ------------------------------------------------------------

_S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_SERVER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def env_anchor_sinks(name: str, default: str) -> list[str]:
    """Where the ledger's head is copied: comma-separated ``log``, ``file:/absolute/path`` (may
    hold ``{server}``) and ``s3://bucket/prefix/``; empty for none. Each is checked here, so a typo
    stops the server at start instead of losing anchors."""
    sinks = env_list(name, [item.strip() for item in default.split(",") if item.strip()])
    for sink in sinks:
        if sink == "log":
            continue
        if sink.startswith("file:"):
            if not sink[len("file:") :].startswith("/"):
                raise ImproperlyConfigured(f"{name}: a file sink needs an absolute path (file:/var/...), got {sink!r}")
            continue
        if sink.startswith("s3://"):
            bucket = sink[len("s3://") :].partition("/")[0]
            if not _S3_BUCKET.fullmatch(bucket):
                raise ImproperlyConfigured(f"{name}: {sink!r} does not name an S3 bucket (s3://bucket/prefix/)")
            continue
        raise ImproperlyConfigured(
            f"{name} lists 'log', 'file:/absolute/path' or 's3://bucket/prefix/', separated by commas; got {sink!r}"
        )
    return sinks


def env_server_id(name: str, default: str) -> str:
    """This server's name in anchor files and records: letters, digits, '.', '_' and '-'."""
    value = os.environ.get(name, "").strip() or default
    if not _SERVER_ID.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name} must be 1-63 letters, digits, '.', '_' or '-' (it names files), got {value!r}"
        )
    return value


def env_choice(name: str, choices: tuple[str, ...], default: str, *, upper: bool = False) -> str:
    """One of ``choices`` (compared in upper case with ``upper``, else lower case)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().upper() if upper else raw.strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


def env_http_url(name: str, default: str = "") -> str:
    """An absolute http(s) URL with a host and nothing after its path (no query, no fragment),
    without a trailing slash; unset or empty is ``default``."""
    from urllib.parse import urlsplit

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name} must be an http(s) URL such as https://preflight.example.com, got {raw!r}")
    return raw.rstrip("/")


def env_email(name: str, default: str) -> str:
    """An e-mail address, bare (``preflight@example.com``) or with a name
    (``Preflight <preflight@example.com>``)."""
    from email.utils import parseaddr

    from django.core.validators import validate_email

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    address = parseaddr(raw)[1]
    try:
        validate_email(address)
    except Exception:  # ValidationError, whose import would pull in more of Django here
        raise ImproperlyConfigured(
            f"{name} must be an e-mail address such as 'Preflight <preflight@example.com>', got {raw!r}"
        ) from None
    return raw
