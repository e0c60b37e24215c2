"""The chasing's settings: read from the environment, defaults as documented, out-of-range values
refused at start with a message naming the variable; beat's daily job runs at REMINDER_HOUR."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.test_settings import settings_with


def test_the_chasing_defaults(monkeypatch):
    configured = settings_with(monkeypatch)
    assert (configured.REMINDER_ESCALATION_DAYS, configured.EXPIRY_WARNING_DAYS, configured.REMINDER_HOUR) == (2, 14, 7)
    assert configured.CELERY_BEAT_SCHEDULE["daily-reminders"]["schedule"].hour == {7}
    assert configured.CELERY_TIMEZONE == configured.TIME_ZONE


def test_the_chasing_comes_from_the_environment(monkeypatch):
    configured = settings_with(monkeypatch, REMINDER_ESCALATION_DAYS="5", EXPIRY_WARNING_DAYS="30", REMINDER_HOUR="18")
    assert (configured.REMINDER_ESCALATION_DAYS, configured.EXPIRY_WARNING_DAYS) == (5, 30)
    assert configured.CELERY_BEAT_SCHEDULE["daily-reminders"]["schedule"].hour == {18}


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("REMINDER_ESCALATION_DAYS", "0", "REMINDER_ESCALATION_DAYS must be an integer from 1 to 365, got 0"),
        ("REMINDER_ESCALATION_DAYS", "366", "REMINDER_ESCALATION_DAYS must be an integer from 1 to 365, got 366"),
        ("EXPIRY_WARNING_DAYS", "0", "EXPIRY_WARNING_DAYS must be an integer from 1 to 365, got 0"),
        ("REMINDER_HOUR", "24", "REMINDER_HOUR must be an integer from 0 to 23, got 24"),
        ("REMINDER_HOUR", "seven", "REMINDER_HOUR must be an integer, got 'seven'"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(monkeypatch, name, raw, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        settings_with(monkeypatch, **{name: raw})
