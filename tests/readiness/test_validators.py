"""The shared validators, and that every name and text field of the governance models carries them:
names are a single line, texts have a documented limit, nothing holds a NUL byte, and the dates of
facts cannot lie in the future."""

import datetime

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from readiness.validators import COMMENT_MAX_LENGTH, LONG_TEXT_MAX_LENGTH, not_in_future, single_line

# Every name-like field: it ends up in mail subjects, file names or report headings.
NAME_FIELDS = [
    ("readiness.Launch", "name"),
    ("readiness.RolloutStage", "name"),
    ("readiness.EvalRun", "golden_set_name"),
    ("readiness.EvalRun", "golden_set_version"),
    ("readiness.DataAsset", "name"),
    ("raci.Team", "name"),
    ("raci.Stakeholder", "title"),
    ("raci.ResponsibilityArea", "name"),
]
LONG_TEXT_FIELDS = [("readiness.RollbackPlan", "procedure"), ("readiness.Runbook", "content")]
# Moments and dates of facts that have happened.
FACT_DATETIMES = [("readiness.EvalRun", "run_at"), ("readiness.QualityBar", "agreed_at")]
FACT_DATES = [
    ("readiness.DataAsset", "last_audit_at"),
    ("readiness.RollbackPlan", "last_rehearsed_at"),
    ("readiness.Runbook", "last_reviewed_at"),
]
GOVERNANCE_APPS = ("readiness", "raci", "approvals")
# Text fields nobody types into (machine-written), exempt from the limits; name each one and why.
MACHINE_TEXT_FIELDS: set[tuple[str, str]] = set()


def field(label: str, name: str) -> models.Field:
    return apps.get_model(label)._meta.get_field(name)


def refusal(label: str, name: str, value) -> list[str]:
    """The messages the field's validators give for ``value`` (empty when it is accepted)."""
    try:
        field(label, name).run_validators(value)
    except ValidationError as error:
        return error.messages
    return []


def text_fields() -> list[tuple[str, str]]:
    """Every TextField of the governance models, not their history copies."""
    return [
        (model._meta.label, f.name)
        for app in GOVERNANCE_APPS
        for model in apps.get_app_config(app).get_models()
        if not model.__name__.startswith("Historical")
        for f in model._meta.get_fields()
        if isinstance(f, models.TextField) and (model._meta.label, f.name) not in MACHINE_TEXT_FIELDS
    ]


# The validators themselves ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "Support\nassistant",
        "Support\rassistant",
        "Tab\tseparated",
        "Line\u2028separator",
        "bell\x07",
        "invoice\u202efdp.exe",
    ],
)
def test_single_line_refuses_line_breaks_control_characters_and_bidi_overrides(value):
    with pytest.raises(ValidationError) as refused:
        single_line(value)
    assert refused.value.code == "single_line"
    assert refused.value.messages[0].startswith("Enter a single line")


@pytest.mark.parametrize("value", ["Support assistant", "지원 도우미", "Émile's bot — v2 (beta)", "a" * 200])
def test_single_line_accepts_ordinary_names_in_any_script(value):
    single_line(value)


def test_a_datetime_a_few_minutes_ahead_is_clock_skew_but_ten_minutes_is_the_future():
    not_in_future(timezone.now() + datetime.timedelta(minutes=4))
    with pytest.raises(ValidationError) as refused:
        not_in_future(timezone.now() + datetime.timedelta(minutes=10))
    assert "is in the future; record only what has already happened" in refused.value.messages[0]


def test_a_date_tomorrow_is_a_time_zone_ahead_but_the_day_after_is_the_future():
    not_in_future(timezone.localdate() + datetime.timedelta(days=1))
    with pytest.raises(ValidationError):
        not_in_future(timezone.localdate() + datetime.timedelta(days=2))


# Every field carries them -------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "name"), NAME_FIELDS)
def test_a_name_with_a_line_break_or_a_nul_byte_is_refused(label, name):
    assert any("single line" in m for m in refusal(label, name, "Beta\r\nBcc: everyone@example.com"))
    assert refusal(label, name, "Be\x00ta") == ["Null characters are not allowed."]
    assert refusal(label, name, "Beta 2") == []


def test_every_text_field_refuses_a_nul_byte_and_text_over_its_documented_limit():
    fields = text_fields()
    assert ("approvals.SignoffDecision", "comment") in fields and len(fields) >= 13
    for label, name in fields:
        limit = LONG_TEXT_MAX_LENGTH if (label, name) in LONG_TEXT_FIELDS else COMMENT_MAX_LENGTH
        assert refusal(label, name, "Looks\x00 fine") == ["Null characters are not allowed."], (label, name)
        assert refusal(label, name, "x" * limit) == [], (label, name)
        assert any(f"at most {limit} characters" in m for m in refusal(label, name, "x" * 20_000_000)), (label, name)


@pytest.mark.parametrize(("label", "name"), FACT_DATETIMES)
def test_a_fact_cannot_be_dated_after_now(label, name):
    assert refusal(label, name, datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC))
    assert refusal(label, name, timezone.now()) == []


@pytest.mark.parametrize(("label", "name"), FACT_DATES)
def test_a_fact_cannot_be_dated_after_today(label, name):
    assert refusal(label, name, datetime.date(2099, 1, 1))
    assert refusal(label, name, timezone.localdate()) == []


@pytest.mark.django_db
def test_an_evaluation_run_records_when_it_was_recorded_and_that_cannot_be_edited():
    from readiness.models import EvalRun
    from tests.factories import EvalRunFactory

    before = timezone.now()
    run = EvalRunFactory(run_at=before - datetime.timedelta(days=3))
    assert before <= run.recorded_at <= timezone.now()
    assert not EvalRun._meta.get_field("recorded_at").editable


@pytest.mark.django_db
def test_a_service_saving_a_run_dated_2099_or_a_runbook_reviewed_in_2099_is_refused():
    from readiness.history import save_with_history
    from tests.factories import EvalRunFactory, LaunchFactory, QualityBarFactory, RunbookFactory, UserFactory

    actor = UserFactory()
    run = EvalRunFactory.build(
        quality_bar=QualityBarFactory(), run_at=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC)
    )
    with pytest.raises(ValidationError) as refused:
        save_with_history(run, actor=actor, reason="Evaluation recorded")
    assert list(refused.value.message_dict) == ["run_at"]

    runbook = RunbookFactory.build(launch=LaunchFactory(), last_reviewed_at=datetime.date(2099, 1, 1))
    with pytest.raises(ValidationError) as refused:
        save_with_history(runbook, actor=actor, reason="Runbook reviewed")
    assert list(refused.value.message_dict) == ["last_reviewed_at"]
