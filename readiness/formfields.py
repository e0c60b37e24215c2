"""Form fields choosing rows by id, for every form of the project (pages and admin).

A posted id far outside the id column's range (``99999999999999999999999``) is not one of the
choices: it answers the field's "not one of the available choices" error, never reaching the
database, where SQLite raises OverflowError and PostgreSQL may answer "out of range" (a 500)."""

from __future__ import annotations

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db import connections, models


def _out_of_range(queryset, key: str, value) -> bool:
    field = queryset.model._meta.get_field(key) if key != "pk" else queryset.model._meta.pk
    if not isinstance(field, models.IntegerField | models.AutoField):
        return False
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return False  # not a number at all: Django's own "not a valid value" error follows
    low, high = connections[queryset.db].ops.integer_field_range(field.get_internal_type())
    return (low is not None and number < low) or (high is not None and number > high)


class RowChoiceField(forms.ModelChoiceField):
    def to_python(self, value):
        if value not in self.empty_values and _out_of_range(self.queryset, self.to_field_name or "pk", value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value})
        return super().to_python(value)


class RowsChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        key = self.to_field_name or "pk"
        for each in value if isinstance(value, list | tuple | set | frozenset) else ():
            if _out_of_range(self.queryset, key, each):
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": each}
                )
        return super()._check_values(value)


class InRangeAutocompleteSelect(AutocompleteSelect):
    """The admin's autocomplete shows the posted choice again by querying for it: not an id out of range."""

    def optgroups(self, name, value, attr=None):
        queryset = self.choices.queryset
        key = self.field.remote_field.field_name
        value = [each for each in value if each in ("", None) or not _out_of_range(queryset, key, each)]
        return super().optgroups(name, value, attr)
