"""Admin for sign-off policies, requests, decisions and waivers.

The admin is a window onto the sign-off workflow, not a way around it. Everything the workflow
records — policies and their change requests, requests' state, decisions, delegations,
acknowledgements, notices and waiver decisions — is changed only through
``approvals.services``, which check who may act, write history and append to the ledger; here
those records are shown read-only:

Nothing here can be added, changed or deleted (the change pages stay viewable): a policy edited
here would skip the rule that the owner cannot lower their own bar, a request's message or due date
would change without the history naming the acting service, and the ledger that ``verify_ledger``
cross-checks would no longer match.

Guardian's per-object permission rows (SignoffRequestUserObjectPermission, ...GroupObjectPermission)
are deliberately not registered."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from readiness.admin import ReadOnlyAdminMixin, pretty_json

from .models import (
    Acknowledgement,
    InformedNotice,
    PolicyChange,
    SignoffComment,
    SignoffDecision,
    SignoffDelegation,
    SignoffRequest,
    SignoffRequirement,
    StagePolicy,
    StageStanding,
    Waiver,
)

_LAUNCH_SEARCH = ("launch__name", "launch__slug")


# --- policies -------------------------------------------------------------------------------------


class SignoffRequirementInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SignoffRequirement
    extra = 0
    fields = ("function", "approvals_required")
    can_delete = False


@admin.register(StagePolicy)
class StagePolicyAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("__str__", "launch", "stage", "consulted_must_acknowledge", "requirement_summary")
    list_filter = ("consulted_must_acknowledge", "stage__kind", "stage__launch__archived")
    list_select_related = ("stage__launch",)
    search_fields = ("stage__name", "stage__launch__name", "stage__launch__slug")
    autocomplete_fields = ("stage",)
    inlines = (SignoffRequirementInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[StagePolicy]:
        return super().get_queryset(request).prefetch_related("requirements")

    @admin.display(ordering="stage__launch__name")
    def launch(self, policy: StagePolicy):
        return policy.stage.launch

    @admin.display(description="requirements")
    def requirement_summary(self, policy: StagePolicy) -> str:
        return ", ".join(str(r) for r in policy.requirements.all() if r.approvals_required) or "none"


@admin.register(PolicyChange)
class PolicyChangeAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("__str__", "launch", "status", "requested_by", "decided_by", "decided_at")
    list_filter = ("status", "function")
    list_select_related = ("launch", "stage", "requested_by", "decided_by")
    search_fields = ("justification", "decision_comment", *_LAUNCH_SEARCH)


# --- requests -------------------------------------------------------------------------------------


class SignoffDecisionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SignoffDecision
    extra = 0
    fields = ("decided_at", "decided_by", "on_behalf_of", "outcome", "comment", "fingerprint", "superseded_at")
    readonly_fields = fields
    ordering = ("decided_at", "pk")
    show_change_link = True
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[SignoffDecision]:
        return super().get_queryset(request).select_related("decided_by", "on_behalf_of")


class SignoffDelegationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SignoffDelegation
    extra = 0
    fields = ("created_at", "delegator", "delegate", "reason")
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[SignoffDelegation]:
        return super().get_queryset(request).select_related("delegator", "delegate")


class SignoffCommentInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The conversation on the request, as posted (never edited)."""

    model = SignoffComment
    fk_name = "request"
    extra = 0
    fields = ("created_at", "author", "kind", "in_reply_to", "body")
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[SignoffComment]:
        return super().get_queryset(request).select_related("author", "in_reply_to__author", "request")


@admin.register(SignoffRequest)
class SignoffRequestAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("__str__", "launch", "stage", "function", "status", "requested_by", "due_date")
    list_filter = ("status", "function", "stage__kind", "launch__archived", "due_date")
    list_select_related = ("launch", "stage", "requested_by")
    search_fields = ("message", "stage__name", "requested_by__username", "addressees__username", *_LAUNCH_SEARCH)
    date_hierarchy = "created_at"
    fields = (
        "launch",
        "stage",
        "function",
        "approvals_required",
        "requested_by",
        "addressees",
        "status",
        "due_date",
        "message",
        "created_at",
        "closed_at",
    )
    inlines = (SignoffDecisionInline, SignoffDelegationInline, SignoffCommentInline)
    history_list_display = ("status",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SignoffRequest]:
        # __str__ reads the launch and the stage.
        return super().get_queryset(request).select_related("launch", "stage", "requested_by")


@admin.register(SignoffDecision)
class SignoffDecisionAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("__str__", "request", "decided_by", "on_behalf_of", "outcome", "decided_at", "is_current")
    list_filter = ("outcome", ("superseded_at", admin.EmptyFieldListFilter), "request__function")
    list_select_related = ("request__launch", "request__stage", "decided_by", "on_behalf_of")
    search_fields = (
        "comment",
        "fingerprint",
        "decided_by__username",
        "on_behalf_of__username",
        "request__launch__name",
        "request__launch__slug",
    )
    date_hierarchy = "decided_at"
    exclude = ("snapshot",)
    readonly_fields = ("snapshot_pretty",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SignoffDecision]:
        return (
            super()
            .get_queryset(request)
            .select_related("request__launch", "request__stage", "decided_by", "on_behalf_of")
        )

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # The raw snapshot is shown pretty-printed instead.
        return tuple(f for f in super().get_readonly_fields(request, obj) if f != "snapshot")

    @admin.display(description="current", boolean=True, ordering="superseded_at")
    def is_current(self, decision: SignoffDecision) -> bool:
        return decision.superseded_at is None

    @admin.display(description="snapshot")
    def snapshot_pretty(self, decision: SignoffDecision) -> str:
        return pretty_json(decision.snapshot)


# --- consultation and notices ---------------------------------------------------------------------


@admin.register(Acknowledgement)
class AcknowledgementAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("user", "launch", "stage", "requested_by", "created_at", "acknowledged_at")
    list_filter = (("acknowledged_at", admin.EmptyFieldListFilter), "launch__archived")
    list_select_related = ("launch", "stage", "user", "requested_by")
    search_fields = ("user__username", "user__first_name", "user__last_name", "comment", *_LAUNCH_SEARCH)
    # Acknowledging is the consulted person's own act, recorded in the ledger.
    readonly_fields = ("launch", "stage", "user", "requested_by", "created_at", "acknowledged_at", "comment")


@admin.register(InformedNotice)
class InformedNoticeAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("user", "launch", "stage", "created_at")
    list_filter = ("launch__archived",)
    list_select_related = ("launch", "stage", "user")
    search_fields = ("user__username", "user__first_name", "user__last_name", *_LAUNCH_SEARCH)


# --- waivers --------------------------------------------------------------------------------------


@admin.register(Waiver)
class WaiverAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("check_key", "launch", "stage", "status", "expires_on", "requested_by", "decided_by", "decided_at")
    list_filter = ("status", "check_key", "launch__archived")
    list_select_related = ("launch", "stage", "requested_by", "decided_by")
    search_fields = ("check_key", "justification", "decision_comment", *_LAUNCH_SEARCH)
    date_hierarchy = "expires_on"
    # Deciding (four eyes, the area's Accountable or an executive, ledgered) is waiver_decide's job,
    # and what was asked for is what was decided on.
    readonly_fields = (
        "launch",
        "stage",
        "check_key",
        "justification",
        "expires_on",
        "requested_by",
        "requested_at",
        "status",
        "decided_by",
        "decided_at",
        "decision_comment",
    )
    history_list_display = ("status",)


@admin.register(StageStanding)
class StageStandingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What the daily recertification last found; written only by ``approvals.recertification``."""

    list_display = ("launch", "stage", "holds", "since", "checked_at")
    list_filter = ("holds",)
    search_fields = _LAUNCH_SEARCH
    list_select_related = ("launch", "stage")
