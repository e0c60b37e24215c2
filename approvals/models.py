"""Sign-off policies, requests, decisions and waivers (the ledger they append to is ``ledger``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from raci.choices import TeamFunction
from readiness.choices import RiskTier
from readiness.fields import LimitedTextField
from readiness.models import Launch, RolloutStage
from readiness.validators import is_future

from .choices import (
    CLOSED_STATUSES,
    UNWAIVABLE_CHECKS,
    DecisionOutcome,
    MessageKind,
    PolicyChangeStatus,
    RequestStatus,
    WaiverStatus,
    unwaivable_reason,
)


class StagePolicy(models.Model):
    """Who must approve entering one stage of one launch.

    A stage without a policy uses the risk-tier defaults; editing creates the policy from those
    defaults first, so what the launch asks for is always written down."""

    stage = models.OneToOneField(
        RolloutStage, on_delete=models.CASCADE, verbose_name=_("stage"), related_name="signoff_policy"
    )
    consulted_must_acknowledge = models.BooleanField(
        verbose_name=_("consulted must acknowledge"),
        default=False,
        help_text=_("Entering the stage waits until every Consulted person has acknowledged."),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("stage sign-off policy")
        verbose_name_plural = _("stage sign-off policies")

    def __str__(self) -> str:
        return f"Sign-off policy for {self.stage.launch} — {self.stage.name}"


class SignoffRequirement(models.Model):
    policy = models.ForeignKey(
        StagePolicy, on_delete=models.CASCADE, verbose_name=_("policy"), related_name="requirements"
    )
    function = models.CharField(verbose_name=_("function"), max_length=20, choices=TeamFunction.choices)
    approvals_required = models.PositiveSmallIntegerField(
        verbose_name=_("approvals required"),
        default=1,
        validators=[MaxValueValidator(5)],
        help_text=_("How many people of this function must approve; 0 means not required."),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("sign-off requirement")
        ordering = ["policy", "function"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "function"], name="requirement_function_once_per_policy"),
            models.CheckConstraint(condition=Q(approvals_required__lte=5), name="requirement_at_most_five"),
        ]

    def __str__(self) -> str:
        return f"{self.get_function_display()} × {self.approvals_required}"


class SignoffRequest(models.Model):
    """One sign-off a stage needs, from one function, addressed to named people."""

    launch = models.ForeignKey(
        Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="signoff_requests"
    )
    stage = models.ForeignKey(
        RolloutStage, on_delete=models.CASCADE, verbose_name=_("stage"), related_name="signoff_requests"
    )
    function = models.CharField(verbose_name=_("function"), max_length=20, choices=TeamFunction.choices)
    approvals_required = models.PositiveSmallIntegerField(
        verbose_name=_("approvals required"), default=1, validators=[MinValueValidator(1)]
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("requested by"), related_name="+"
    )
    addressees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("addressees"), related_name="signoff_requests_addressed"
    )
    due_date = models.DateField(verbose_name=_("due date"), null=True, blank=True)
    message = LimitedTextField(verbose_name=_("message"), blank=True)
    status = models.CharField(
        verbose_name=_("status"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    closed_at = models.DateTimeField(verbose_name=_("closed at"), null=True, blank=True)
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        verbose_name=_("replaces"),
        null=True,
        blank=True,
        related_name="replaced_by",
        help_text=_("The request for the same sign-off this one superseded; its decisions stay on record."),
    )
    # The messages asking for this sign-off still in (or sent from) the outbox; deleted with it.
    outbox_messages = GenericRelation(
        "notifications.OutboxMessage", content_type_field="subject_type", object_id_field="subject_id"
    )

    history = HistoricalRecords(m2m_fields=[addressees])

    class Meta:
        verbose_name = _("sign-off request")
        ordering = ["launch", "stage__order", "function", "-created_at"]
        permissions = [("decide_signoffrequest", "Can decide this sign-off request")]
        constraints = [
            models.UniqueConstraint(
                fields=["launch", "stage", "function"],
                condition=~Q(status__in=sorted(CLOSED_STATUSES)),
                name="one_open_request_per_stage_and_function",
            ),
            models.CheckConstraint(condition=Q(approvals_required__gte=1), name="request_needs_an_approval"),
        ]

    def __str__(self) -> str:
        return f"{self.launch} → {self.stage.name}: {self.get_function_display()} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("web:decide", args=[self.pk])

    def clean(self) -> None:
        if self.stage_id and self.launch_id and self.stage.launch_id != self.launch_id:
            raise ValidationError({"stage": _("The stage must belong to the launch.")})

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    def current_decisions(self) -> list[SignoffDecision]:
        """Decisions not superseded; uses the prefetch cache when present."""
        return [d for d in self.decisions.all() if d.superseded_at is None]


class SignoffRequestUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(SignoffRequest, on_delete=models.CASCADE, verbose_name=_("content object"))


class SignoffRequestGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(SignoffRequest, on_delete=models.CASCADE, verbose_name=_("content object"))


class SignoffDelegation(models.Model):
    """An addressee hands their decision to another member of the same team."""

    request = models.ForeignKey(
        SignoffRequest, on_delete=models.CASCADE, verbose_name=_("request"), related_name="delegations"
    )
    delegator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("delegator"), related_name="+"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("delegate"), related_name="+"
    )
    reason = LimitedTextField(verbose_name=_("reason"), blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("sign-off delegation")
        ordering = ["request", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "delegator"], name="one_delegation_per_addressee"),
            models.UniqueConstraint(fields=["request", "delegate"], name="one_delegation_per_delegate"),
            models.CheckConstraint(condition=~Q(delegator=models.F("delegate")), name="delegate_is_someone_else"),
        ]

    def __str__(self) -> str:
        return f"{self.delegator} → {self.delegate} on {self.request}"


class SignoffDecision(models.Model):
    """An addressee's decision, with the facts it was given on. Never edited: a newer decision
    for the same addressee supersedes it."""

    # PROTECT: a launch or request with recorded decisions cannot be deleted (archive it instead).
    request = models.ForeignKey(
        SignoffRequest, on_delete=models.PROTECT, verbose_name=_("request"), related_name="decisions"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("decided by"), related_name="+"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        verbose_name=_("on behalf of"),
        related_name="+",
        help_text=_("The addressee this decision counts for: the decider, or who delegated to them."),
    )
    outcome = models.CharField(verbose_name=_("outcome"), max_length=20, choices=DecisionOutcome.choices)
    comment = LimitedTextField(verbose_name=_("comment"), blank=True)
    fingerprint = models.CharField(
        verbose_name=_("fingerprint"), max_length=64, help_text=_("SHA-256 of the snapshot.")
    )
    snapshot = models.JSONField(
        verbose_name=_("snapshot"), help_text=_("Canonical snapshot of the launch facts this decision covers.")
    )
    decided_at = models.DateTimeField(verbose_name=_("decided at"), default=timezone.now)
    superseded_at = models.DateTimeField(verbose_name=_("superseded at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("sign-off decision")
        ordering = ["request", "decided_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "on_behalf_of"],
                condition=Q(superseded_at__isnull=True),
                name="one_current_decision_per_addressee",
            ),
            models.CheckConstraint(
                condition=Q(outcome=DecisionOutcome.APPROVE) | ~Q(comment=""),
                name="rejection_and_change_request_need_a_comment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} by {self.decided_by} on {self.request}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and set(kwargs.get("update_fields") or ()) != {"superseded_at"}:
            raise ValidationError(_("A decision is never edited; record a new decision instead."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Decisions are permanent records and cannot be deleted."))

    def clean(self) -> None:
        errors = {}
        if self.outcome != DecisionOutcome.APPROVE and not self.comment.strip():
            errors["comment"] = _("A comment is required to %(outcome)s.") % {
                "outcome": self.get_outcome_display().lower()
            }
        if self.decided_at is not None and is_future(self.decided_at):
            errors["decided_at"] = _("A decision cannot be dated in the future.")
        if errors:
            raise ValidationError(errors)


class SignoffComment(models.Model):
    """A message in the conversation on a sign-off request: a comment, a question to the launch
    owner, a reply, or the comment of a rejection or change request (``decision``), which opens
    it. Never edited or deleted; ``token`` (from the form that posted it) makes a resubmitted
    form record it once."""

    request = models.ForeignKey(
        SignoffRequest, on_delete=models.PROTECT, verbose_name=_("request"), related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("author"), related_name="+"
    )
    kind = models.CharField(verbose_name=_("kind"), max_length=10, choices=MessageKind.choices)
    in_reply_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        verbose_name=_("in reply to"),
        null=True,
        blank=True,
        related_name="replies",
    )
    decision = models.OneToOneField(
        SignoffDecision,
        on_delete=models.PROTECT,
        verbose_name=_("decision"),
        null=True,
        blank=True,
        related_name="message",
    )
    body = LimitedTextField(verbose_name=_("message"))
    token = models.CharField(verbose_name=_("form token"), max_length=40, blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("sign-off message")
        ordering = ["request", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "author", "token"], condition=~Q(token=""), name="one_message_per_form_token"
            ),
            models.CheckConstraint(condition=~Q(body=""), name="a_message_has_text"),
            models.CheckConstraint(
                condition=Q(kind=MessageKind.REPLY, in_reply_to__isnull=False)
                | (~Q(kind=MessageKind.REPLY) & Q(in_reply_to__isnull=True)),
                name="only_replies_answer_a_message",
            ),
            models.CheckConstraint(
                condition=Q(kind=MessageKind.DECISION, decision__isnull=False)
                | (~Q(kind=MessageKind.DECISION) & Q(decision__isnull=True)),
                name="decision_messages_name_their_decision",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.author} on {self.request}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValidationError(_("A message is never edited; post a new one instead."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Messages are part of the record and cannot be deleted."))


class Acknowledgement(models.Model):
    """A Consulted person is asked to acknowledge a stage; they may comment."""

    launch = models.ForeignKey(
        Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="acknowledgements"
    )
    stage = models.ForeignKey(
        RolloutStage, on_delete=models.CASCADE, verbose_name=_("stage"), related_name="acknowledgements"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("user"), related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("requested by"), related_name="+"
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    acknowledged_at = models.DateTimeField(verbose_name=_("acknowledged at"), null=True, blank=True)
    comment = LimitedTextField(verbose_name=_("comment"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("acknowledgement")
        verbose_name_plural = _("acknowledgements")
        ordering = ["launch", "stage__order", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "user"], name="one_acknowledgement_per_person_and_stage"),
        ]

    def __str__(self) -> str:
        state = "acknowledged" if self.acknowledged_at else "awaiting acknowledgement"
        return f"{self.user} on {self.stage}: {state}"

    def get_absolute_url(self) -> str:
        """Acknowledgements are given from the person's sign-off inbox."""
        return reverse("web:inbox")


class InformedNotice(models.Model):
    """Records that an Informed person was told a stage's sign-offs were requested."""

    launch = models.ForeignKey(
        Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="informed_notices"
    )
    stage = models.ForeignKey(
        RolloutStage, on_delete=models.CASCADE, verbose_name=_("stage"), related_name="informed_notices"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("user"), related_name="+"
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("informed notice")
        verbose_name_plural = _("informed notices")
        ordering = ["launch", "stage__order", "user__username"]
        constraints = [models.UniqueConstraint(fields=["stage", "user"], name="one_notice_per_person_and_stage")]

    def __str__(self) -> str:
        return f"{self.user} informed of {self.stage}"


class Waiver(models.Model):
    """A failing checklist item accepted for one stage until a date, with a justification."""

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="waivers")
    stage = models.ForeignKey(RolloutStage, on_delete=models.CASCADE, verbose_name=_("stage"), related_name="waivers")
    check_key = models.CharField(verbose_name=_("check key"), max_length=40)
    justification = LimitedTextField(verbose_name=_("justification"))
    expires_on = models.DateField(verbose_name=_("expires on"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("requested by"), related_name="+"
    )
    requested_at = models.DateTimeField(verbose_name=_("requested at"), default=timezone.now)
    status = models.CharField(
        verbose_name=_("status"), max_length=10, choices=WaiverStatus.choices, default=WaiverStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(verbose_name=_("decided at"), null=True, blank=True)
    decision_comment = LimitedTextField(verbose_name=_("decision comment"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("waiver")
        verbose_name_plural = _("waivers")
        ordering = ["launch", "stage__order", "check_key"]
        constraints = [
            # One request waits per item and stage. That no approved waiver is still in force
            # when another is asked for depends on the date, so the service checks it.
            models.UniqueConstraint(
                fields=["stage", "check_key"],
                condition=Q(status=WaiverStatus.PENDING),
                name="one_pending_waiver_per_stage_and_item",
            ),
            models.CheckConstraint(
                condition=~Q(decided_by=models.F("requested_by")), name="waiver_not_decided_by_requester"
            ),
        ]

    def __str__(self) -> str:
        return f"Waiver of {self.check_key} for {self.stage} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("web:waiver-decide", args=[self.pk])

    def clean(self) -> None:
        from readiness.checklist import registry

        errors = {}
        if self.check_key in UNWAIVABLE_CHECKS:
            errors["check_key"] = unwaivable_reason(self.check_key)
        elif self.check_key and self.check_key not in registry:
            errors["check_key"] = _("Unknown checklist item '%(key)s'.") % {"key": self.check_key}
        if not self.justification.strip():
            errors["justification"] = _("A waiver needs a justification.")
        if self.stage_id and self.launch_id and self.stage.launch_id != self.launch_id:
            errors["stage"] = _("The stage must belong to the launch.")
        if errors:
            raise ValidationError(errors)

    def is_in_force(self, today) -> bool:
        """Approved and not yet expired on ``today``: the one rule the checklist applies."""
        return self.status == WaiverStatus.APPROVED and self.expires_on >= today


class PolicyChange(models.Model):
    """A request to lower the sign-off bar of a launch: a requirement below its risk-tier default
    (0 removes a function), or a lower risk tier. An executive or the function's lead decides it,
    never whoever asked nor the launch's owner; approving applies it."""

    launch = models.ForeignKey(
        Launch, on_delete=models.CASCADE, verbose_name=_("launch"), related_name="policy_changes"
    )
    stage = models.ForeignKey(
        RolloutStage,
        on_delete=models.CASCADE,
        verbose_name=_("stage"),
        null=True,
        blank=True,
        related_name="policy_changes",
    )
    function = models.CharField(verbose_name=_("function"), max_length=20, choices=TeamFunction.choices, blank=True)
    approvals_required = models.PositiveSmallIntegerField(
        verbose_name=_("approvals required"), null=True, blank=True, validators=[MaxValueValidator(5)]
    )
    risk_tier = models.CharField(verbose_name=_("risk tier"), max_length=10, choices=RiskTier.choices, blank=True)
    justification = LimitedTextField(verbose_name=_("justification"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("requested by"), related_name="+"
    )
    requested_at = models.DateTimeField(verbose_name=_("requested at"), default=timezone.now)
    status = models.CharField(
        verbose_name=_("status"), max_length=10, choices=PolicyChangeStatus.choices, default=PolicyChangeStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(verbose_name=_("decided at"), null=True, blank=True)
    decision_comment = LimitedTextField(verbose_name=_("decision comment"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("policy change")
        verbose_name_plural = _("policy changes")
        ordering = ["launch", "-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(stage__isnull=False, approvals_required__isnull=False, risk_tier="") & ~Q(function=""))
                | Q(stage__isnull=True, function="", approvals_required__isnull=True) & ~Q(risk_tier=""),
                name="policy_change_is_a_requirement_or_a_risk_tier",
            ),
            models.CheckConstraint(
                condition=~Q(decided_by=models.F("requested_by")), name="policy_change_not_decided_by_requester"
            ),
            models.UniqueConstraint(
                fields=["stage", "function"],
                condition=Q(status=PolicyChangeStatus.PENDING, stage__isnull=False),
                name="one_pending_requirement_change",
            ),
            models.UniqueConstraint(
                fields=["launch"],
                condition=Q(status=PolicyChangeStatus.PENDING, stage__isnull=True),
                name="one_pending_risk_tier_change",
            ),
        ]

    def __str__(self) -> str:
        if self.risk_tier:
            return f"{self.launch}: risk tier → {self.get_risk_tier_display()} ({self.get_status_display()})"
        return (
            f"{self.launch} → {self.stage.name}: {self.get_function_display()} × {self.approvals_required} "
            f"({self.get_status_display()})"
        )

    def get_absolute_url(self) -> str:
        return reverse("web:decide-policy-change", args=[self.launch.slug, self.pk])


class StageStanding(models.Model):
    """Whether the stage a launch is in still holds, as the daily recertification last found it
    (``approvals.recertification``): kept so that the portfolio and the reports read one row per
    launch instead of evaluating a thousand checklists. Derived data, like
    ``readiness.LaunchEvaluation``: every change between holding and not holding is in the ledger
    (``STAGE_LAPSED`` / ``STAGE_RESTORED``), which is the record; this row is only the latest."""

    launch = models.OneToOneField(
        Launch, on_delete=models.CASCADE, verbose_name=_("launch"), primary_key=True, related_name="stage_standing"
    )
    stage = models.ForeignKey(RolloutStage, on_delete=models.CASCADE, verbose_name=_("stage"), related_name="+")
    holds = models.BooleanField(verbose_name=_("holds"))
    reasons = models.JSONField(
        verbose_name=_("reasons"),
        default=list,
        blank=True,
        help_text=_("Keys of the checklist items of the stage that no longer pass, in checklist order."),
    )
    since = models.DateTimeField(
        verbose_name=_("since"), help_text=_("When the recertification first found the stage in this state.")
    )
    checked_at = models.DateTimeField(verbose_name=_("checked at"))

    class Meta:
        verbose_name = _("stage standing")
        verbose_name_plural = _("stage standings")

    def __str__(self) -> str:
        state = "holds" if self.holds else f"no longer holds ({', '.join(self.reasons)})"
        return f"{self.launch_id} in stage {self.stage_id}: {state}"
