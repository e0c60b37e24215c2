"""Creating, changing and archiving launches; a template fills in proposals a person confirms."""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from ledger.events import LedgerEvent

from ..access import access_synced_once, require_change
from ..choices import SloIndicator
from ..history import save_with_history
from ..launch_templates import TEMPLATES
from ..models import SLO, Launch, QualityBar, RolloutStage, SeverityLevel
from ..recording import record
from ..validators import clean_text
from .facts import lock_launch, require_version

# What a person may change on the launch row itself. The slug never changes (the ledger names it);
# the risk tier changes through approvals.services; the stage only through the gate.
LAUNCH_FIELDS = ("name", "summary", "owner", "target_date", "serving_version")


def new_launch_slug(name: str) -> str:
    """A fresh slug for a launch named ``name``: its name as a slug plus a random suffix, always
    (``"Claims triage"`` → ``claims-triage-3f9a1c``). Slugs are unique across launches nobody may
    all see: a suffix added only on a clash, or a "taken" refusal, would tell a person that a launch
    they cannot see exists. Launch.slug.max_length is 80."""
    stem = slugify(name)[:60].strip("-") or "launch"
    while True:
        slug = f"{stem}-{secrets.token_hex(3)}"
        if not Launch.objects.filter(slug=slug).exists():  # 16.7 million suffixes per name
            return slug


@transaction.atomic
def launch_create(
    *,
    actor,
    name: str,
    slug: str,
    owner=None,
    summary: str = "",
    risk_tier: str = "medium",
    target_date: datetime.date | None = None,
) -> Launch:
    """Create an empty launch owned by ``owner`` (default: the actor), who may then view and change it."""
    launch = Launch(
        name=name, slug=slug, owner=owner or actor, summary=summary, risk_tier=risk_tier, target_date=target_date
    )
    save_with_history(launch, actor=actor, reason="Launch created")  # the owner's grants follow (readiness.signals)
    return launch


@transaction.atomic
@access_synced_once()
def launch_create_from_template(
    *,
    actor,
    template: str,
    name: str,
    slug: str,
    owner=None,
    summary: str = "",
    risk_tier: str = "medium",
    target_date: datetime.date | None = None,
    monthly_cost_budget: Decimal | None = None,
    daily_cost_alert: Decimal | None = None,
) -> Launch:
    """Create a launch with a template's stages, severity policy, SLOs, quality bars and whatever
    other apps contribute (responsibility areas, stakeholder slots). All or nothing.

    The template's stage exposures, SLO targets and alerts and severity response times are
    *proposed*: the checklist and the gate fail on them until a person confirms or changes them.
    The monthly cost budget and its daily alert are never proposed: give both (they are the
    actor's own numbers) or neither (then the launch has no cost SLO yet)."""
    try:
        spec = TEMPLATES[template]
    except KeyError:
        raise ValidationError(
            {
                "template": _("Unknown launch template '%(template)s'. Known: %(known)s.")
                % {"template": template, "known": ", ".join(sorted(TEMPLATES))}
            }
        ) from None
    if (monthly_cost_budget is None) != (daily_cost_alert is None):
        missing = "daily_cost_alert" if daily_cost_alert is None else "monthly_cost_budget"
        raise ValidationError({missing: _("Give the monthly cost budget and its daily alert together, or neither.")})
    if monthly_cost_budget is not None and monthly_cost_budget <= 0:
        raise ValidationError({"monthly_cost_budget": _("The monthly cost budget must be a positive amount.")})

    launch = launch_create(
        actor=actor, name=name, slug=slug, owner=owner, summary=summary, risk_tier=risk_tier, target_date=target_date
    )
    reason = f"Created from template '{spec.name}'"
    for order, stage in enumerate(spec.stages, start=1):
        save_with_history(
            RolloutStage(
                launch=launch,
                kind=stage.kind,
                name=stage.name,
                order=order,
                exposure_percent=stage.exposure_percent,
                proposed=["exposure_percent"],
            ),
            actor=actor,
            reason=reason,
        )
    for severity in spec.severity_levels:
        save_with_history(
            SeverityLevel(
                launch=launch,
                level=severity.level,
                definition=severity.definition,
                response_minutes=severity.response_minutes,
                notify=severity.notify,
                proposed=["response_minutes"],
            ),
            actor=actor,
            reason=reason,
        )
    for slo in spec.slos:
        save_with_history(
            SLO(
                launch=launch,
                indicator=slo.indicator,
                target=slo.target,
                alert_threshold=slo.alert_threshold,
                proposed=["target", "alert_threshold"],
            ),
            actor=actor,
            reason=reason,
        )
    if monthly_cost_budget is not None:
        save_with_history(
            SLO(
                launch=launch,
                indicator=SloIndicator.COST_MONTHLY,
                target=monthly_cost_budget,
                alert_threshold=daily_cost_alert,
            ),
            actor=actor,
            reason="Monthly cost budget and daily alert entered at creation",
        )
    for bar in spec.quality_bars:
        save_with_history(
            QualityBar(
                launch=launch,
                metric=bar.metric,
                failure_definition=bar.failure_definition,
                max_failure_rate=bar.max_failure_rate,
                min_samples=bar.min_samples,
            ),
            actor=actor,
            reason=reason,
        )
    for contributor in spec.contributors:
        contributor(launch=launch, template=spec, actor=actor)
    return launch


@transaction.atomic
def launch_change(*, actor, launch: Launch, seen_version: int, values: dict) -> Launch:
    """Change the launch's name, summary, owner, target date or serving version (the model/prompt
    version in service, which decides what evaluation counts as evidence), as of the version the
    caller saw.
    Handing the launch to another owner moves the change right with it (readiness.signals)."""
    unknown = sorted(set(values) - set(LAUNCH_FIELDS))
    if unknown:
        raise ValidationError(
            {
                name: _("A launch's %(field)s cannot be changed here.") % {"field": name.replace("_", " ")}
                for name in unknown
            }
        )
    launch = lock_launch(launch)
    require_change(actor, launch)
    if launch.archived:
        raise ValidationError(
            {"launch": _("Launch '%(slug)s' is archived; nothing about it can change.") % {"slug": launch.slug}}
        )
    require_version(launch, seen_version, what=_("Launch '%(slug)s'") % {"slug": launch.slug})
    changed = sorted(name for name, value in values.items() if getattr(launch, name) != value)
    if not changed:
        return launch
    previous_version = launch.serving_version
    for name in changed:
        setattr(launch, name, values[name])
    save_with_history(launch, actor=actor, reason=f"Changed {', '.join(n.replace('_', ' ') for n in changed)}")
    if "serving_version" in changed:
        _record_version_change(launch, actor, previous_version)
    return launch


def _record_version_change(launch: Launch, actor, previous: str) -> None:
    """A new model/prompt version in service is an event the gate reads: evidence measured on the
    old version stops counting (checklist item 12) and every approval given on the old version is
    stale (the serving version is in each sign-off's snapshot). Ledgered, so the version history is
    as tamper-evident as the approvals it invalidates."""
    stage = launch.current_stage
    record(
        event=LedgerEvent.VERSION_CHANGED,
        launch=launch,
        actor=actor,
        payload={"from": previous, "to": launch.serving_version, "stage": stage.name if stage else None},
        seal=[launch],
    )


@transaction.atomic
def launch_archive(*, actor, launch: Launch, seen_version: int, archived: bool = True, reason: str) -> Launch:
    """Archive the launch (its facts freeze, whatever door they come through) or reopen it."""
    reason = clean_text(
        reason, field="reason", required=_("Say why the launch is archived or reopened."), max_length=500
    )
    launch = lock_launch(launch)
    require_change(actor, launch)
    require_version(launch, seen_version, what=_("Launch '%(slug)s'") % {"slug": launch.slug})
    if launch.archived == archived:
        if archived:
            message = _("Launch '%(slug)s' is already archived.")
        else:
            message = _("Launch '%(slug)s' is already open.")
        raise ValidationError({"archived": message % {"slug": launch.slug}})
    launch.archived = archived
    return save_with_history(launch, actor=actor, reason=("Archived: " if archived else "Reopened: ") + reason)
