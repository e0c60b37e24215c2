"""The product's pages. Views read through the domain's selectors and change state only through its
services; every page checks the object permission on the server (an outsider gets 404)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from approvals.choices import PolicyChangeStatus
from approvals.models import PolicyChange
from approvals.recertification import stage_health
from approvals.selectors import stage_signoffs, version_changes
from approvals.services.policy import may_decide_policy_change
from notifications.selectors import undelivered_messages
from operations.access import may_respond
from operations.selectors import failure_reviews_of, launch_incidents
from presentation.facts import fact_sections
from presentation.launch import launch_as_shown
from presentation.portfolio import portfolio_summary, with_signoff_counts
from readiness.access import CHANGE_LAUNCH, get_launch_for, visible_launches
from readiness.checklist import evaluate, evaluate_many
from readiness.models import Launch
from readiness.services import launch_create, launch_create_from_template
from readiness.services.launches import new_launch_slug

from .filters import PortfolioFilter
from .forms import BLANK, NewLaunchForm, RequestSignoffsForm, add_service_errors
from .launches import launch_guide
from .operations import slo_actuals_section
from .page_cache import cached_page
from .raci import raci_grid
from .standing import Standing
from .waivers import launch_waivers

PAGE_SIZE = 25


class SignInView(auth_views.LoginView):
    """Sign in on the product's own page; with DEBUG on it lists the demo logins of ``seed_demo``."""

    template_name = "web/sign_in.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.DEBUG:
            from web.management.commands.seed_demo import DEMO_PASSWORD, OUTSIDER, PEOPLE

            context["demo_logins"] = [(person.username, person.role) for person in (*PEOPLE, OUTSIDER)]
            context["demo_password"] = DEMO_PASSWORD
        return context


@require_GET
@login_required
@cached_page
def portfolio(request: HttpRequest) -> HttpResponse:
    """Every launch the user may see, filtered, sorted and paginated; only the shown page is evaluated."""
    today = timezone.localdate()
    visible = visible_launches(request.user)
    owners = get_user_model().objects.filter(pk__in=visible.values("owner_id")).order_by("first_name", "last_name")
    launches = with_signoff_counts(visible.select_related("owner", "current_stage", "stage_standing"), today)
    filters = PortfolioFilter(request.GET, queryset=launches, owners=owners)
    rows = filters.qs if filters.is_valid() else launches.filter(archived=False)
    if not (request.GET.get("ordering")):
        rows = rows.order_by("name", "pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = {launch.pk: launch for launch in page.object_list}
    readiness = {r.launch.pk: r for r in evaluate_many(Launch.objects.filter(pk__in=shown))}
    entries = [(launch, Standing.of(readiness[launch.pk]), stage_health(launch)) for launch in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/portfolio.html",
        {
            "filters": filters,
            "page": page,
            "entries": entries,
            "query": query.urlencode(),
            "today": today,
            **portfolio_summary(visible, today),
        },
    )


@require_GET
@login_required
@cached_page
def launch_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The launch's verdict for its next stage, its checklist and its rollout."""
    launch = get_launch_for(request.user, slug)
    facts = launch_as_shown(launch.pk)
    now = timezone.now()
    readiness = evaluate(facts, now=now)
    health = stage_health(facts)
    signoffs = stage_signoffs(facts, readiness.stage, now=now) if readiness.stage else []
    is_owner = request.user.pk == facts.owner_id or request.user.has_perm(CHANGE_LAUNCH, facts)
    sections = fact_sections(facts, request.user)
    return render(
        request,
        "web/launch.html",
        {
            "launch": facts,
            "verdict": Standing.of(readiness),
            "health": health,
            "versions": version_changes(facts),
            "stages": facts.ordered_stages(),
            "signoffs": signoffs,
            "may_change": is_owner and not facts.archived,
            "is_owner": is_owner,
            "policy_changes": _pending_policy_changes(facts, request.user),
            "request_form": RequestSignoffsForm(),
            "fact_sections": sections,
            **launch_guide(
                request.user, facts, readiness, signoffs, sections, may_change=is_owner and not facts.archived
            ),
            "raci": raci_grid(facts, editable=is_owner and not facts.archived),
            "failure_reviews": failure_reviews_of(facts),
            "may_operate": may_respond(request.user, facts),
            "today": timezone.localdate(now),
            # Only for who may change the launch (one query): who was not reached, and why.
            "undelivered": undelivered_messages(facts) if is_owner else [],
            **launch_waivers(request.user, facts, readiness, may_change=is_owner and not facts.archived),
            "incidents": launch_incidents(launch=facts, now=now),
            "may_report_incident": not facts.archived and may_respond(request.user, facts),
            **slo_actuals_section(request.user, facts, may_change=is_owner and not facts.archived),
        },
    )


def _pending_policy_changes(launch: Launch, user) -> list[tuple[PolicyChange, bool]]:
    """Requests to lower the launch's bar that wait for a decision, each with whether ``user`` may decide it."""
    pending = PolicyChange.objects.filter(launch=launch, status=PolicyChangeStatus.PENDING).select_related(
        "stage", "requested_by", "launch"
    )
    return [(change, may_decide_policy_change(user, change)) for change in pending]


@require_http_methods(["GET", "POST"])
@login_required
def new_launch(request: HttpRequest) -> HttpResponse:
    """Anyone signed in may start a launch; they own it."""
    form = NewLaunchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        common = {
            "actor": request.user,
            "name": data["name"],
            "slug": new_launch_slug(data["name"]),
            "summary": data["summary"],
            "risk_tier": data["risk_tier"],
            "target_date": data["target_date"],
        }
        try:
            if data["template"] == BLANK:
                launch = launch_create(**common)
            else:
                launch = launch_create_from_template(
                    **common,
                    template=data["template"],
                    monthly_cost_budget=data["monthly_cost_budget"],
                    daily_cost_alert=data["daily_cost_alert"],
                )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Launch “%(name)s” created.") % {"name": launch.name})
            return redirect("web:launch", slug=launch.slug)
    return render(request, "web/new_launch.html", {"form": form})
