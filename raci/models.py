"""Teams, people and who is Responsible, Accountable, Consulted and Informed for each area."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from readiness.fields import LimitedTextField, NameField
from readiness.i18n import join_or
from readiness.models import FrozenWithArchivedLaunch, Launch
from readiness.people import person_name

from .choices import AREA_FUNCTIONS, STANDARD_AREA_CONCERNS, AreaKind, Role, TeamFunction


class Team(models.Model):
    """A team serving one function. Membership decides who may sign off for the function, so it is
    managed by people holding ``raci.manage_teams`` (never by a launch owner) through the services."""

    name = NameField(verbose_name=_("name"), max_length=120, unique=True)
    function = models.CharField(verbose_name=_("function"), max_length=20, choices=TeamFunction.choices)
    lead = models.ForeignKey(
        "Stakeholder",
        on_delete=models.PROTECT,
        verbose_name=_("lead"),
        null=True,
        blank=True,
        related_name="led_teams",
        help_text=_("The function's lead may approve lowering the sign-off bar for their function."),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        permissions = [("manage_teams", "Can manage team members and leads")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_function_display()})"

    def clean(self) -> None:
        if self.lead_id and (self.pk is None or not self.members.filter(pk=self.lead_id).exists()):
            raise ValidationError({"lead": _("The lead must be a member of the team.")})


class Stakeholder(models.Model):
    """A person who takes part in launches: their user account, teams and title."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("user"), related_name="stakeholder"
    )
    teams = models.ManyToManyField(Team, verbose_name=_("teams"), related_name="members", blank=True)
    title = NameField(verbose_name=_("title"), max_length=120, blank=True)
    executive = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        verbose_name=_("executive"),
        null=True,
        blank=True,
        related_name="direct_reports",
        help_text=_(
            "The executive an overdue sign-off on this person's launches is escalated to; empty: the leads of "
            "the executive teams. Set by team administrators, never by the person themselves."
        ),
    )

    history = HistoricalRecords(m2m_fields=[teams])

    class Meta:
        verbose_name = _("stakeholder")
        verbose_name_plural = _("stakeholders")
        ordering = ["user__last_name", "user__first_name", "user__username"]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs) -> None:
        self.refuse_another_user()
        super().save(*args, **kwargs)
        self._stored_user_id = self.user_id

    @property
    def display_name(self) -> str:
        return person_name(self.user)

    @classmethod
    def from_db(cls, db, field_names, values):
        stakeholder = super().from_db(db, field_names, values)
        stakeholder._stored_user_id = stakeholder.__dict__.get("user_id")
        return stakeholder

    def refresh_from_db(self, *args, **kwargs) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._stored_user_id = self.__dict__.get("user_id")

    def refuse_another_user(self) -> None:
        """A stakeholder row is one person's identity (teams, executive standing, roles): moving it
        to another account would hand that account all of it, past the membership services."""
        if self.pk is None:
            return
        stored = getattr(self, "_stored_user_id", None)
        if stored is None:  # built by hand or loaded without the user: ask the database
            stored = Stakeholder.objects.filter(pk=self.pk).values_list("user_id", flat=True).first()
        if stored is not None and stored != self.user_id:
            raise ValidationError(
                {
                    "user": _(
                        "A stakeholder's user account never changes. Add a stakeholder for the other account "
                        "and let a team administrator give it its teams."
                    )
                }
            )

    def clean(self) -> None:
        self.refuse_another_user()
        if self.executive_id is None:
            return
        if self.executive_id == self.pk:
            raise ValidationError({"executive": _("Nobody is their own executive.")})
        if not serves(self.executive, TeamFunction.EXECUTIVE):
            raise ValidationError(
                {
                    "executive": _("%(person)s is not in an executive team, so escalations cannot go to them.")
                    % {"person": self.executive.display_name}
                }
            )

    @property
    def is_reachable(self) -> bool:
        """A deactivated account cannot be paged or asked to approve."""
        return self.user.is_active


class LaunchStakeholder(FrozenWithArchivedLaunch, models.Model):
    """A team function a launch needs, filled with a person or still waiting for one."""

    launch = models.ForeignKey(
        Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="stakeholder_slots"
    )
    function = models.CharField(verbose_name=_("function"), max_length=20, choices=TeamFunction.choices)
    stakeholder = models.ForeignKey(
        Stakeholder,
        on_delete=models.PROTECT,
        verbose_name=_("stakeholder"),
        null=True,
        blank=True,
        related_name="launch_slots",
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("launch stakeholder")
        verbose_name_plural = _("launch stakeholders")
        ordering = ["launch", "function"]
        constraints = [
            models.UniqueConstraint(
                fields=["launch", "function", "stakeholder"], name="launch_stakeholder_unique_person_per_function"
            ),
            models.UniqueConstraint(
                fields=["launch", "function"],
                condition=Q(stakeholder__isnull=True),
                name="launch_stakeholder_one_open_slot_per_function",
                violation_error_message=_("This launch already has an open slot for this function; fill it instead."),
            ),
        ]

    def __str__(self) -> str:
        who = self.stakeholder.display_name if self.stakeholder_id else "waiting to be filled"
        return f"{self.get_function_display()}: {who}"

    def clean(self) -> None:
        if self.stakeholder_id and self.function and not serves(self.stakeholder, self.function):
            raise ValidationError(
                {
                    "stakeholder": _(
                        "%(person)s is not in any %(function)s team, so they cannot fill this slot. "
                        "Team administrators manage who serves a function."
                    )
                    % {"person": self.stakeholder.display_name, "function": self.get_function_display()}
                }
            )


class ResponsibilityArea(FrozenWithArchivedLaunch, models.Model):
    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="areas")
    kind = models.CharField(verbose_name=_("kind"), max_length=20, choices=AreaKind.choices, default=AreaKind.CUSTOM)
    name = NameField(verbose_name=_("name"), max_length=120)
    concerns = models.JSONField(
        verbose_name=_("concerns"),
        default=list,
        blank=True,
        help_text=_('Concern keys this area owns, e.g. ["accuracy", "availability"].'),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("responsibility area")
        verbose_name_plural = _("responsibility areas")
        ordering = ["launch", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "name"], name="area_name_unique_per_launch"),
            models.UniqueConstraint(
                fields=["launch", "kind"],
                condition=~Q(kind=AreaKind.CUSTOM),
                name="area_standard_kind_once_per_launch",
                violation_error_message=_(
                    "This launch already has an area of this kind; add a custom area for anything else."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.concerns, list) or not all(isinstance(c, str) and c for c in self.concerns):
            raise ValidationError({"concerns": 'Give a list of concern keys, e.g. ["accuracy", "latency"].'})

    def people(self, role: str) -> list[Stakeholder]:
        """Stakeholders holding `role` on this area; uses the prefetch cache when present."""
        return [a.stakeholder for a in self.assignments.all() if a.role == role]


class AreaOmission(FrozenWithArchivedLaunch, models.Model):
    """Why a launch does without one of the five standard responsibility areas. Without one, a
    missing standard area fails "Responsibilities (RACI)"; with one, the checklist quotes it and who wrote it.
    Recorded and withdrawn only through the services, which append both to the ledger."""

    launch = models.ForeignKey(
        Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="area_omissions"
    )
    kind = models.CharField(
        verbose_name=_("kind"), max_length=20, choices=[(kind, AreaKind(kind).label) for kind in STANDARD_AREA_CONCERNS]
    )
    reason = LimitedTextField(
        verbose_name=_("reason"), help_text=_("Why this launch needs no such area, in words a reviewer can check.")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("recorded by"), related_name="+"
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("area omission")
        verbose_name_plural = _("area omissions")
        ordering = ["launch", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["launch", "kind"],
                name="area_omission_once_per_launch_and_kind",
                violation_error_message=_("This launch already records why this standard area is left out."),
            ),
            models.CheckConstraint(
                condition=Q(kind__in=list(STANDARD_AREA_CONCERNS)), name="area_omission_of_a_standard_kind"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="area_omission_has_a_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} left out"

    def clean(self) -> None:
        if not self.launch_id or not self.kind:
            return
        area = ResponsibilityArea.objects.filter(launch_id=self.launch_id, kind=self.kind).first()
        if area is not None:
            raise ValidationError(
                {
                    "kind": _("This launch has the area '%(area)s'; only a standard area it does without is left out.")
                    % {"area": area.name}
                }
            )


class RaciAssignment(FrozenWithArchivedLaunch, models.Model):
    launch_lookup = "area__launch"

    area = models.ForeignKey(
        ResponsibilityArea, on_delete=models.CASCADE, verbose_name=_("area"), related_name="assignments"
    )
    stakeholder = models.ForeignKey(
        Stakeholder, on_delete=models.PROTECT, verbose_name=_("stakeholder"), related_name="assignments"
    )
    role = models.CharField(verbose_name=_("role"), max_length=1, choices=Role.choices)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("RACI assignment")
        ordering = ["area", "role"]
        constraints = [
            models.UniqueConstraint(fields=["area", "stakeholder", "role"], name="raci_one_role_per_person_and_area"),
        ]

    def __str__(self) -> str:
        return f"{self.area}: {self.stakeholder} ({self.role})"

    def clean(self) -> None:
        if self.role != Role.ACCOUNTABLE or not self.area_id or not self.stakeholder_id:
            return
        functions = AREA_FUNCTIONS.get(self.area.kind)
        if functions and not any(serves(self.stakeholder, function) for function in functions):
            labels = join_or(sorted(str(TeamFunction(f).label) for f in functions))
            raise ValidationError(
                {
                    "stakeholder": _(
                        "%(person)s is not in any %(functions)s team, so they cannot be "
                        "Accountable for '%(area)s', whose decisions need that function."
                    )
                    % {"person": self.stakeholder.display_name, "functions": labels, "area": self.area.name}
                }
            )


def serves(stakeholder: Stakeholder, function: str) -> bool:
    """An active member of a team of ``function``: the only way a person serves a function."""
    return stakeholder.user.is_active and stakeholder.teams.filter(function=function).exists()


class LanguagePreference(models.Model):
    """The language a person chose for their pages and mails (one of ``settings.LANGUAGES``); kept
    with the person, so it follows them to any browser they sign in from. Set only through
    ``raci.services.language_set``. Without one, a person's browser decides."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        verbose_name=_("user"),
        related_name="language_preference",
    )
    language = models.CharField(verbose_name=_("language"), max_length=10, choices=settings.LANGUAGES)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("language preference")
        verbose_name_plural = _("language preferences")

    def __str__(self) -> str:
        return f"{self.user}: {self.language}"
