"""Forms of the product's pages. They only collect input; the services decide and validate."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from approvals.choices import DecisionOutcome


class DateInput(forms.DateInput):
    input_type = "date"


class RequestSignoffsForm(forms.Form):
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DateInput)
    message = forms.CharField(
        label=_("Message to the approvers"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Decision"), choices=DecisionOutcome.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required to reject or to request changes."),
    )
    fingerprint = forms.CharField(widget=forms.HiddenInput)


class RollbackForm(forms.Form):
    stage = forms.TypedChoiceField(label=_("Roll back to"), coerce=int)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, stages=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [(stage.pk, stage.name) for stage in stages]


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's refusal on the form: on the field it names when the form has it, else on top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
