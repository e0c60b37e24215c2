"""The portfolio's filters (django-filter): what a PM or an executive narrows a page of launches by."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from approvals.recertification import HEALTH_CHOICES, filter_by_health
from raci.models import Team
from readiness.choices import RiskTier, StageKind
from readiness.models import Launch, Verdict

PLANNING = "planning"
ARCHIVED, ALL = "archived", "all"


ORDERING_FIELDS = (("name", "name"), ("target_date", "target_date"), ("updated_at", "updated"))
ORDERING_LABELS = {"name": _("Name"), "target_date": _("Target date"), "updated_at": _("Last change")}


class PortfolioFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    stage = django_filters.ChoiceFilter(
        method="in_stage",
        label=_("Current stage"),
        choices=[(PLANNING, _("In planning")), *StageKind.choices],
        empty_label=_("Any stage"),
    )
    verdict = django_filters.ChoiceFilter(
        field_name="evaluation__verdict",
        label=_("Verdict"),
        choices=Verdict.choices,
        empty_label=_("Any verdict"),
    )
    health = django_filters.ChoiceFilter(
        method="by_health",
        label=_("Operations health"),
        choices=HEALTH_CHOICES,
        empty_label=_("Any health"),
    )
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.order_by("name"),
        method="with_team",
        label=_("Team"),
        empty_label=_("Any team"),
    )
    risk_tier = django_filters.ChoiceFilter(choices=RiskTier.choices, label=_("Risk tier"), empty_label=_("Any tier"))
    owner = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.none(), label=_("Owner"), empty_label=_("Anyone")
    )
    show = django_filters.ChoiceFilter(
        method="by_state",
        label=_("Show"),
        choices=[(ARCHIVED, _("Archived launches")), (ALL, _("All launches"))],
        empty_label=_("Open launches"),
    )
    ordering = django_filters.OrderingFilter(
        fields=ORDERING_FIELDS,
        field_labels=ORDERING_LABELS,
        label=_("Sort by"),
        empty_label=_("Name"),
    )

    class Meta:
        model = Launch
        fields = ["q", "stage", "verdict", "health", "team", "risk_tier", "owner", "show"]

    def __init__(self, *args, owners: QuerySet | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # django-filter words its sort choices once, when the class is made: word them again in
        # the language of this request.
        ordering = self.filters["ordering"]
        ordering.descending_fmt = _("%s (descending)")
        ordering.extra["choices"] = ordering.build_choices(dict(ORDERING_FIELDS), ORDERING_LABELS)
        if owners is not None:
            self.filters["owner"].queryset = owners

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value) | Q(summary__icontains=value))

    @property
    def qs(self) -> QuerySet:
        # Open launches unless asked otherwise, also when the "show" field is left empty.
        queryset = super().qs
        return queryset if self.form.cleaned_data.get("show") else queryset.filter(archived=False)

    def by_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(archived=True) if value == ARCHIVED else queryset

    def with_team(self, queryset: QuerySet, name: str, value: Team) -> QuerySet:
        """Launches on which a member of the team holds a RACI role or a stakeholder slot."""
        return queryset.filter(
            Q(areas__assignments__stakeholder__teams=value) | Q(stakeholder_slots__stakeholder__teams=value)
        ).distinct()

    def by_health(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """By what the last recertification (after a change, or the daily run) found of the stage each launch is in."""
        return filter_by_health(queryset, value)

    def in_stage(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == PLANNING:
            return queryset.filter(current_stage__isnull=True)
        return queryset.filter(current_stage__kind=value)


# -- a launch's history ----------------------------------------------------------------------------

LEDGER_KIND = "ledger"


class HistoryFilter(django_filters.FilterSet):
    """What a launch's history is narrowed by: the kind of change (a kind of fact, or the sign-off
    ledger), who made it, and a range of days. Each filter is applied to every history table (the
    history rows' ``history_user`` and ``history_date``) by ``web.history``; the form validates."""

    kind = django_filters.ChoiceFilter(label=_("Kind of change"), empty_label=_("Every kind"), method="keep")
    person = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.none(), label=_("Person"), empty_label=_("Anyone"), method="keep"
    )
    since = django_filters.DateFilter(label=_("From"), method="keep", widget=forms.DateInput(attrs={"type": "date"}))
    until = django_filters.DateFilter(label=_("To"), method="keep", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, kinds: list[tuple[str, str]], people: QuerySet, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters["kind"].extra["choices"] = kinds
        self.filters["person"].queryset = people

    def keep(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset  # applied per history table by web.history

    def is_valid(self) -> bool:
        if not super().is_valid():
            return False
        since, until = self.form.cleaned_data.get("since"), self.form.cleaned_data.get("until")
        if since and until and since > until:
            self.form.add_error("until", _("The end of the range is before its start."))
            return False
        return True
