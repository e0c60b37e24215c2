"""SLACK_WEBHOOKS: a JSON object mapping a team's name to its incoming-webhook URL, read from the
environment when the settings load; anything else refuses to start, naming the variable and the
team, never the (secret) URL."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_url_map
from tests.test_settings import settings_with

HOOK = "https://hooks.slack.com/services/T000/B000/secret-token"


def test_the_webhooks_are_read_from_the_environment_when_settings_load(monkeypatch):
    module = settings_with(
        monkeypatch, SLACK_WEBHOOKS=f'{{"Legal": "{HOOK}", "ML team": "http://127.0.0.1:8080/hook"}}'
    )
    assert module.SLACK_WEBHOOKS == {"Legal": HOOK, "ML team": "http://127.0.0.1:8080/hook"}


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_unset_or_empty_means_no_slack(monkeypatch, raw):
    assert settings_with(monkeypatch, SLACK_WEBHOOKS=raw).SLACK_WEBHOOKS == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("Legal=https://hooks.slack.com/x", "SLACK_WEBHOOKS must be a JSON object"),
        (f'["{HOOK}"]', "SLACK_WEBHOOKS must be a JSON object mapping names to URLs, got a list"),
        ('{"Legal": "ftp://hooks.slack.com/services/secret-token"}', "the value for 'Legal' must be an http(s) URL"),
        ('{"Legal": "hooks.slack.com/services/secret-token"}', "the value for 'Legal' must be an http(s) URL"),
        ('{"Legal": 42}', "the value for 'Legal' must be an http(s) URL"),
        ('{"Legal": "https:///secret-token"}', "the value for 'Legal' must be an http(s) URL"),
        (f'{{" ": "{HOOK}"}}', "SLACK_WEBHOOKS has an empty name"),
    ],
)
def test_anything_else_refuses_to_start_without_printing_the_secret(monkeypatch, raw, message):
    monkeypatch.setenv("SLACK_WEBHOOKS", raw)
    with pytest.raises(ImproperlyConfigured) as refused:
        env_url_map("SLACK_WEBHOOKS")
    assert message in str(refused.value)
    assert "secret-token" not in str(refused.value)
    with pytest.raises(ImproperlyConfigured, match="SLACK_WEBHOOKS"):
        settings_with(monkeypatch, SLACK_WEBHOOKS=raw)
