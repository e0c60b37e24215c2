"""Form fields choosing rows by id, for every form of the project (pages and admin).

A posted id far outside the id column's range (``99999999999999999999999``) is not one of the
choices: it answers the field's "not one of the available choices" error, never reaching the
database, where SQLite raises OverflowError and PostgreSQL may answer "out of range" (a 500).

Shares (failure rates, confidence, exposure) are typed and shown in percent by ``PercentField``,
whether the model stores a fraction or the percent itself."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext


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


class PercentField(forms.Field):
    """A share typed and shown in percent ("5", "2.5 %", "99.5"), whatever the model stores.

    ``fraction=True``: the model stores a fraction (0.05), which the form shows as 5 and stores
    back as 0.05; otherwise the model stores the percent itself. The bounds are percent, and
    ``below_maximum`` leaves the maximum out (a failure rate of 100 % is no bar at all).
    ``above_minimum`` leaves the minimum out (a confidence of 0 % proves nothing). Errors say
    what to type in the reader's words, never the storage's digits."""

    widget = forms.TextInput

    def __init__(
        self,
        *,
        fraction: bool,
        decimal_places: int,
        minimum: Decimal = Decimal(0),
        maximum: Decimal = Decimal(100),
        above_minimum: bool = False,
        below_maximum: bool = False,
        **kwargs,
    ) -> None:
        self.fraction = fraction
        self.decimal_places = decimal_places  # of the percent as typed
        self.minimum, self.maximum = minimum, maximum
        self.above_minimum, self.below_maximum = above_minimum, below_maximum
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "class": "percent"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            shown = Decimal(str(value)) * 100 if self.fraction else Decimal(str(value))
            return _plain(shown)
        return value

    def range_message(self) -> str:
        bounds = {"min": _plain(self.minimum), "max": _plain(self.maximum)}
        if self.above_minimum and self.below_maximum:
            return _("Enter a percentage above %(min)s %% and below %(max)s %%.") % bounds
        if self.below_maximum:
            return _("Enter a percentage from %(min)s %% up to, not including, %(max)s %%.") % bounds
        if self.above_minimum:
            return _("Enter a percentage above %(min)s %% and at most %(max)s %%.") % bounds
        return _("Enter a percentage between %(min)s %% and %(max)s %%.") % bounds

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip().removesuffix("%").strip()
        if "," in text:
            raise ValidationError(_("Use a point for decimals, e.g. 2.5 %."), code="comma")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValidationError(_("Enter a percentage as a number, e.g. 5 for 5 %."), code="invalid") from None
        if not number.is_finite():
            raise ValidationError(_("Enter a percentage as a number, e.g. 5 for 5 %."), code="invalid")
        too_low = number < self.minimum or (self.above_minimum and number == self.minimum)
        too_high = number > self.maximum or (self.below_maximum and number == self.maximum)
        if too_low or too_high:
            raise ValidationError(self.range_message(), code="range")
        if -number.normalize().as_tuple().exponent > self.decimal_places:
            raise ValidationError(
                ngettext(
                    "Enter at most %(places)s decimal place, e.g. %(example)s %%.",
                    "Enter at most %(places)s decimal places, e.g. %(example)s %%.",
                    self.decimal_places,
                )
                % {"places": self.decimal_places, "example": _plain(Decimal("2.5") if self.decimal_places else 5)},
                code="places",
            )
        return number / 100 if self.fraction else number


def _plain(number) -> str:
    """A percent without trailing zeros or exponent: 5, 2.5, 99.5, 0.125."""
    return format(Decimal(number).normalize(), "f")


def percent_formfield(model_field, **kwargs) -> PercentField | None:
    """The percent form field for a model field that stores a share, or None for other fields:
    the fractions of a quality bar and the percent of a stage's exposure."""
    spec = PERCENT_FIELDS.get((model_field.model._meta.label, model_field.name))
    if spec is None:
        return None
    stored_places = model_field.decimal_places
    fraction = spec.get("fraction", False)
    return PercentField(
        fraction=fraction,
        decimal_places=max(stored_places - 2, 0) if fraction else stored_places,
        above_minimum=spec.get("above_minimum", False),
        below_maximum=spec.get("below_maximum", False),
        label=spec["label"],
        help_text=spec["help_text"],
        required=not model_field.blank,
        initial=model_field.default if model_field.has_default() else None,
        **kwargs,
    )


PERCENT_FIELDS = {
    ("readiness.QualityBar", "max_failure_rate"): {
        "fraction": True,
        "below_maximum": True,
        "label": gettext_lazy("Max failure rate (%)"),
        "help_text": gettext_lazy("The agreed maximum share of failures, in percent: 5 means at most 5 in 100."),
    },
    ("readiness.QualityBar", "confidence_level"): {
        "fraction": True,
        "above_minimum": True,
        "below_maximum": True,
        "label": gettext_lazy("Confidence level (%)"),
        "help_text": gettext_lazy("How sure the evidence check must be, in percent, e.g. 95."),
    },
    ("readiness.QualityBar", "min_human_reviewed_share"): {
        "fraction": True,
        "label": gettext_lazy("Min human-reviewed share (%)"),
        "help_text": gettext_lazy(
            "Share of an evaluation's samples a person must have reviewed, in percent, e.g. 10. 0: no human review required."
        ),
    },
    ("readiness.RolloutStage", "exposure_percent"): {
        "label": gettext_lazy("Exposure (%)"),
        "help_text": gettext_lazy("Share of the target users exposed at this stage, in percent, 0–100."),
    },
}


class MetricKeyField(forms.CharField):
    """A quality bar's metric typed as people name it ("Wrong amounts"); the key stored and read by
    the checklist is derived from it ("wrong_amounts"). A key already used by another bar of the
    same launch (``taken``, a queryset of the launch's other bars) is refused by name."""

    def __init__(self, *, taken=None, **kwargs) -> None:
        self.taken = taken
        kwargs.setdefault("max_length", 80)
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        if text in self.empty_values:
            return text
        key = metric_key(text)
        if not key:
            raise ValidationError(_("Name the metric with Latin letters or digits, e.g. Wrong amounts."), code="no_key")
        if self.taken is not None and self.taken.filter(metric=key).exists():
            raise ValidationError(
                _("This launch already has a quality bar for “%(key)s”; name this metric differently."),
                code="taken",
                params={"key": key},
            )
        return key


def metric_key(name: str) -> str:
    """The metric key of a name: "Wrong amounts" is wrong_amounts, "PII leak (logs)" pii_leak_logs;
    a key typed as such (wrong_answers, wrong-answers) stays what it is. Latin letters and digits
    only (accents dropped), at most 80 characters."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9_-]+", "_", ascii_name).strip("_-")[:80].strip("_-")
