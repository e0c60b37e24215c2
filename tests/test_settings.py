"""Settings come from the environment and refuse to start on an unsafe or unreadable configuration.

Each case loads the settings in a fresh interpreter, since settings are read once per process."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

LOAD_SETTINGS = "import django; django.setup(); from django.conf import settings; print('DEBUG', settings.DEBUG)"


def load_settings(**overrides: str | None) -> subprocess.CompletedProcess:
    """Run django.setup() in a subprocess with the current environment plus ``overrides``;
    an override of None removes the variable."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.pop("PYTHONSAFEPATH", None)  # `-c` must be able to import from the working directory
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-c", LOAD_SETTINGS],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_off_without_a_secret_key_refuses_to_start():
    result = load_settings(DEBUG="0", SECRET_KEY=None)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_debug_off_with_an_empty_secret_key_refuses_to_start():
    result = load_settings(DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_off_with_a_secret_key_starts():
    result = load_settings(
        DEBUG="0",
        SECRET_KEY="a-long-random-test-secret-key-0123456789-abcdefghij",
        LEDGER_KEY="a-ledger-key-for-tests-0123456789abcdef",
    )
    assert result.returncode == 0, result.stderr
    assert "DEBUG False" in result.stdout


def test_debug_on_without_a_secret_key_starts_with_the_development_key():
    result = load_settings(DEBUG="1", SECRET_KEY=None)
    assert result.returncode == 0, result.stderr
    assert "DEBUG True" in result.stdout


def test_an_unreadable_debug_value_refuses_to_start_and_names_debug():
    result = load_settings(DEBUG="maybe", SECRET_KEY="a-long-random-test-secret-key-0123456789-abcdefghij")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DEBUG must be a boolean" in result.stderr
    assert "'maybe'" in result.stderr


def test_manage_py_check_passes_with_debug_off_and_a_secret_key():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "a-long-random-test-secret-key-0123456789-abcdefghij",
        "LEDGER_KEY": "a-ledger-key-for-tests-0123456789abcdef",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)  # manage.py picks config.settings itself
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
