"""Model fields that carry the shared validators (``validators.py``) for every app.

They differ from Django's fields only in Python-side validation, which ``full_clean()`` (services,
admin, forms) applies. Their ``deconstruct()`` names the plain Django field, so adding or changing a
validator needs no migration: a migration per validator change would re-render every model's state
once per field and slow every test database's creation by seconds."""

from __future__ import annotations

from django.core.validators import MaxLengthValidator
from django.db import models

from .validators import COMMENT_MAX_LENGTH, NAME_VALIDATORS, no_null_characters, not_in_future


class _PlainInMigrations:
    django_path: str

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, self.django_path, args, kwargs


class NameField(_PlainInMigrations, models.CharField):
    """A name that may reach a mail subject, a file name or a heading: one line, no NUL."""

    django_path = "django.db.models.CharField"
    default_validators = NAME_VALIDATORS


class LimitedTextField(_PlainInMigrations, models.TextField):
    """Free text of at most ``max_chars`` characters (``COMMENT_MAX_LENGTH`` unless said), no NUL."""

    django_path = "django.db.models.TextField"

    def __init__(self, *args, max_chars: int = COMMENT_MAX_LENGTH, **kwargs) -> None:
        self.max_chars = max_chars
        self.default_validators = [no_null_characters, MaxLengthValidator(max_chars)]
        super().__init__(*args, **kwargs)


class SafeURLField(_PlainInMigrations, models.URLField):
    """A URL without NUL characters (Django's URLValidator lets one through in the path)."""

    django_path = "django.db.models.URLField"
    default_validators = [*models.URLField.default_validators, no_null_characters]


class FactDateField(_PlainInMigrations, models.DateField):
    """The date something happened (an audit, a rehearsal, a review): not after today."""

    django_path = "django.db.models.DateField"
    default_validators = [not_in_future]


class FactDateTimeField(_PlainInMigrations, models.DateTimeField):
    """The moment something happened (a run, an agreement): not after now."""

    django_path = "django.db.models.DateTimeField"
    default_validators = [not_in_future]
