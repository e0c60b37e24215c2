"""Forms of the product's pages. They only collect input; the services decide and validate."""

import zoneinfo

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from approvals.choices import DecisionOutcome, MessageKind
from notifications.choices import DeliveryMode, OthersMode
from readiness.choices import RiskTier
from readiness.formfields import RowChoiceField
from readiness.launch_templates import TEMPLATES
from readiness.people import person_name


class DateInput(forms.DateInput):
    input_type = "date"


class RequestSignoffsForm(forms.Form):
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DateInput)
    message = forms.CharField(
        label=_("Message to the approvers"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


BLANK = "blank"


class NewLaunchForm(forms.Form):
    """A launch from a template (its stages, severity policy, SLOs and areas, with the template's
    numbers proposed for a person to confirm) or blank."""

    name = forms.CharField(label=_("Name"), max_length=200)
    summary = forms.CharField(label=_("Summary"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    risk_tier = forms.ChoiceField(label=_("Risk tier"), choices=RiskTier.choices, initial=RiskTier.MEDIUM)
    target_date = forms.DateField(label=_("Target date"), required=False, widget=DateInput)
    template = forms.ChoiceField(label=_("Start from"))
    monthly_cost_budget = forms.DecimalField(
        label=_("Monthly cost budget"), required=False, min_value=0, decimal_places=2, max_digits=14
    )
    daily_cost_alert = forms.DecimalField(
        label=_("Daily cost alert"), required=False, min_value=0, decimal_places=2, max_digits=14
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [
            *((key, template.name) for key, template in TEMPLATES.items()),
            (BLANK, _("A blank launch")),
        ]


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Decision"), choices=DecisionOutcome.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required to reject or to request changes."),
    )
    fingerprint = forms.CharField(widget=forms.HiddenInput)


class MessageForm(forms.Form):
    """A message in a sign-off's conversation: a comment or a question to the owner, or (with
    ``in_reply_to``) a reply. ``token``, fresh on each rendered form, records a resubmission once."""

    kind = forms.ChoiceField(
        label=_("Kind of message"),
        choices=[(MessageKind.COMMENT, _("Comment")), (MessageKind.QUESTION, _("Question to the launch owner"))],
        widget=forms.RadioSelect,
        initial=MessageKind.COMMENT,
    )
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}))
    in_reply_to = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    token = forms.CharField(widget=forms.HiddenInput, max_length=40)

    def __init__(self, *args, reply: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if reply:
            self.fields["kind"].choices = [(MessageKind.REPLY, _("Reply"))]
            self.fields["kind"].widget = forms.HiddenInput()
            self.fields["body"].label = _("Your reply")


class DelegateForm(forms.Form):
    """Hand one's decision to another active member of a team of the request's function."""

    delegate = RowChoiceField(label=_("Delegate to"), queryset=None)
    reason = forms.CharField(label=_("Why"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, signoff, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, stakeholder__teams__function=signoff.function)
            .exclude(pk__in=[user.pk, signoff.requested_by_id, signoff.launch.owner_id])
            .distinct()
            .order_by("first_name", "last_name")
        )
        self.fields["delegate"].label_from_instance = person_name


class RollbackForm(forms.Form):
    stage = forms.TypedChoiceField(label=_("Roll back to"), coerce=int)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    duration_minutes = forms.IntegerField(
        label=_("How long it took (minutes)"),
        required=False,
        min_value=0,
        max_value=60 * 24 * 30,
        help_text=_("From starting the rollback to users being on the earlier stage."),
    )
    incident = forms.TypedChoiceField(label=_("Caused by incident"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, stages=(), incidents=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [(stage.pk, stage.name) for stage in stages]
        self.fields["incident"].choices = [("", _("None"))] + [
            (incident.pk, f"{incident.severity} · {incident.title}") for incident in incidents
        ]


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's refusal on the form: on the field it names when the form has it, else on top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def _addressee_label(person) -> str:
    """A suggested person's name, and whom they stand in for when routing chose them for an
    approver out of office (``approvals.routing.standing_in``)."""
    name = person_name(person)
    away = getattr(person, "stands_in_for", None)
    if away is None:
        return name
    return gettext("%(person)s (standing in for %(away)s, out of office)") % {
        "person": name,
        "away": person_name(away),
    }


class ChooseAddresseesForm(RequestSignoffsForm):
    """The request with, per required function, whom to ask among the people routing suggests
    (every suggested person is ticked at first)."""

    def __init__(self, *args, suggestions=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.people: dict[str, dict[str, object]] = {}
        for suggestion in suggestions:
            if not suggestion.people:
                continue
            function = suggestion.requirement.function
            self.people[function] = {str(person.pk): person for person in suggestion.people}
            self.fields[f"addressees_{function}"] = forms.MultipleChoiceField(
                label=suggestion.requirement.function_label,
                choices=[(str(p.pk), _addressee_label(p)) for p in suggestion.people],
                initial=[str(p.pk) for p in suggestion.people],
                widget=forms.CheckboxSelectMultiple,
                error_messages={"required": _("Choose at least one person to ask.")},
            )

    def chosen(self) -> dict[str, list]:
        """{function: [user, ...]} as ticked, for ``signoffs_request(addressees=...)``."""
        return {
            function: [people[pk] for pk in self.cleaned_data[f"addressees_{function}"]]
            for function, people in self.people.items()
        }


class WaiverRequestForm(forms.Form):
    """A failing checklist item accepted for one stage until a date; the service decides."""

    check_key = forms.ChoiceField(label=_("Checklist item"))
    stage = forms.TypedChoiceField(label=_("For entering"), coerce=int)
    justification = forms.CharField(
        label=_("Justification"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Why the launch may go ahead without this item, and what makes up for it meanwhile."),
    )
    expires_on = forms.DateField(
        label=_("Expires on"), widget=DateInput, help_text=_("The waiver stops counting after this day.")
    )

    def __init__(self, *args, items=(), stages=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["check_key"].choices = [(item.key, f"{item.number}. {item.title}") for item in items]
        self.fields["stage"].choices = [(stage.pk, stage.name) for stage in stages]


class WaiverDecisionForm(forms.Form):
    APPROVE, REJECT = "approve", "reject"

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[(APPROVE, _("Approve the waiver")), (REJECT, _("Reject the waiver"))],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required to reject."),
    )


class TimeInput(forms.TimeInput):
    input_type = "time"


class NotificationSettingsForm(forms.Form):
    """How a person is told; the service checks the rules (both ends of quiet hours, a known zone)."""

    email = forms.BooleanField(label=_("By e-mail"), required=False)
    slack = forms.BooleanField(label=_("In Slack"), required=False)
    mode = forms.ChoiceField(label=_("Delivery"), choices=DeliveryMode.choices, widget=forms.RadioSelect)
    others = forms.ChoiceField(
        label=_("News of other people's launches"),
        choices=OthersMode.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Decisions and stage changes on launches you can see but do not own. What waits for you "
            "and news of your own launches are always told as chosen above."
        ),
    )
    quiet_from = forms.TimeField(label=_("Quiet from"), required=False, widget=TimeInput(format="%H:%M"))
    quiet_until = forms.TimeField(label=_("Quiet until"), required=False, widget=TimeInput(format="%H:%M"))
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        help_text=_("For quiet hours and the digest."),
    )

    def __init__(self, *args, site_zone: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [
            ("", _("The site's (%(zone)s)") % {"zone": site_zone}),
            *((zone, zone) for zone in sorted(zoneinfo.available_timezones())),
        ]


class OutOfOfficeForm(forms.Form):
    """Who stands in for the signed-in approver, from which day to which day."""

    delegate = RowChoiceField(
        label=_("Who stands in for you"),
        queryset=None,
        error_messages={"invalid_choice": _("Choose a colleague from one of your teams.")},
    )
    starts_on = forms.DateField(label=_("First day away"), widget=DateInput)
    ends_on = forms.DateField(label=_("Last day away"), widget=DateInput)
    reason = forms.CharField(label=_("Note (optional)"), required=False, max_length=500)

    def __init__(self, *args, people=(), functions=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = get_user_model().objects.filter(pk__in=[p.pk for p in people])
        if len(people) == 1:
            self.fields["delegate"].initial = people[0].pk
        functions = functions or {}

        def label(person) -> str:
            name = person_name(person)
            served = functions.get(person.pk)
            return f"{name} ({served})" if served else name

        self.fields["delegate"].label_from_instance = label
