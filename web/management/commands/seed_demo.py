"""`manage.py seed_demo`: a realistic demo portfolio. Safe to run again: existing rows are kept.

It lives in `web`, an interface, because it uses every domain app: launches, RACI, sign-offs and
the operating record (incidents, failure reviews, rollbacks, SLI actuals)."""

import datetime
import math
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from approvals.choices import DecisionOutcome
from approvals.recertification import recertify
from approvals.services import signoff_decide, signoffs_request, stage_advance, stage_rollback
from ledger.chain import occurred
from operations.models import SliSource
from operations.services import (
    Measurement,
    action_item_complete,
    failure_count_record,
    failure_review_record,
    incident_report,
    postmortem_record,
    review_action_complete,
    sli_record,
)
from raci.choices import AreaKind, Role, TeamFunction
from raci.models import LaunchStakeholder, ResponsibilityArea, Stakeholder, Team
from raci.services import (
    area_omission_record,
    eval_run_accept,
    launch_stakeholder_fill,
    quality_bar_agree,
    raci_assign,
    slo_agree,
)
from readiness.access import access_synced_once
from readiness.choices import AccessLevel, Classification, FeedbackKind, ReviewCadence, RiskTier, SloIndicator
from readiness.history import save_with_history
from readiness.models import DataAsset, EvalRun, FeedbackChannel, Launch, RollbackPlan, Runbook
from readiness.recording import record_facts
from readiness.services import (
    fact_add,
    fact_change,
    fact_confirm,
    fact_remove,
    fact_version,
    launch_change,
    launch_create_from_template,
)

DEMO_PASSWORD = "preflight-demo"


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    title: str
    team: str
    function: str
    role: str  # how the person uses Preflight, printed with the login


PEOPLE = (
    Person(
        "pam",
        "Pam",
        "Okafor",
        "Product manager",
        "Assistants product",
        TeamFunction.PRODUCT,
        "product manager (launch owner)",
    ),
    Person(
        "priya", "Priya", "Raman", "Head of product", "Assistants product", TeamFunction.PRODUCT, "approver: product"
    ),
    Person("lena", "Lena", "Fischer", "Product counsel", "Legal", TeamFunction.LEGAL, "approver: legal"),
    Person(
        "chloe", "Chloe", "Dubois", "Compliance officer", "Compliance", TeamFunction.COMPLIANCE, "approver: compliance"
    ),
    Person("sam", "Sam", "Ito", "Security engineer", "Security", TeamFunction.SECURITY, "approver: security"),
    Person(
        "cora",
        "Cora",
        "Mendes",
        "Support lead",
        "Customer support",
        TeamFunction.CUSTOMER_SUPPORT,
        "approver: customer support",
    ),
    Person("bill", "Bill", "Novak", "General manager", "Business", TeamFunction.BUSINESS, "approver: business"),
    Person(
        "mia", "Mia", "Chen", "ML lead", "Applied ML", TeamFunction.ML, "approver: ML (Accountable for model quality)"
    ),
    Person(
        "raj", "Raj", "Patel", "ML engineer", "Applied ML", TeamFunction.ML, "engineer (Responsible for model quality)"
    ),
    Person("pat", "Pat", "Kowalski", "Platform lead", "Platform", TeamFunction.PLATFORM, "approver: platform"),
    Person("dana", "Dana", "Levi", "Data lead", "Data", TeamFunction.DATA, "approver: data"),
    Person("quinn", "Quinn", "Adeyemi", "QA engineer", "QA", TeamFunction.QA, "stakeholder (Informed)"),
    Person(
        "eve", "Eve", "Laurent", "VP Product", "Leadership", TeamFunction.EXECUTIVE, "executive (sees every launch)"
    ),
)
# Who leads each team: they may agree to lower their function's sign-off bar on a launch.
TEAM_LEADS = {
    "Assistants product": "priya",
    "Legal": "lena",
    "Compliance": "chloe",
    "Security": "sam",
    "Customer support": "cora",
    "Business": "bill",
    "Applied ML": "mia",
    "Platform": "pat",
    "Data": "dana",
    "QA": "quinn",
    "Leadership": "eve",
}
OUTSIDER = Person("otto", "Otto", "Berg", "Marketing", "", "", "outsider (sees nothing)")


class Command(BaseCommand):
    help = (
        "Load a realistic demo portfolio (idempotent) and print one login per role. Refuses to run with "
        "DEBUG off unless --force; forced, it creates no superuser."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load the demo data even with DEBUG off (then no superuser is created).",
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to load demo data with DEBUG off: it creates people with the known password "
                f"'{DEMO_PASSWORD}' and a superuser. Use --force to load it anyway, without a superuser."
            )
        strangers = not_of_the_demo()
        if strangers:
            raise CommandError(
                "Refusing to load demo data into a database that holds real people or teams: the demo would "
                f"put its people (known password '{DEMO_PASSWORD}') into real teams and real people into demo "
                f"roles. Not of the demo: {strangers}. Load the demo into an empty database."
            )
        with_superuser = settings.DEBUG
        if connection.vendor == "sqlite" and not connection.in_atomic_block:
            # The demo is built in one transaction, then its mail is delivered one message per
            # transaction (about 500): none of those commits needs to wait for the disk (a few ms
            # each). In WAL mode the file stays consistent; a power cut loses at most the last
            # commits, and running the command again finishes the demo. This connection only (and
            # SQLite refuses the change inside a transaction, e.g. when a test calls the command).
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous = NORMAL")
        with transaction.atomic():
            people = self._people(with_superuser=with_superuser)
            builder = DemoPortfolio(people)
            created = builder.build()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} new launches)."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for person in (*PEOPLE, OUTSIDER):
            self.stdout.write(f"  {person.username:<6} {person.role}")
        if with_superuser:
            self.stdout.write("  admin  superuser (Django admin)")
        else:
            self.stdout.write(
                self.style.WARNING(
                    "No superuser was created (DEBUG is off); create one with `manage.py createsuperuser`."
                )
            )

    def _people(self, *, with_superuser: bool) -> dict[str, Stakeholder]:
        User = get_user_model()
        # Hashed once for every demo login (about 0.3 s a hash): they all share the published password.
        password = make_password(DEMO_PASSWORD)
        if with_superuser:
            User.objects.get_or_create(
                username="admin",
                defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com", "password": password},
            )
        people = {}
        for person in (*PEOPLE, OUTSIDER):
            user, _created = User.objects.get_or_create(
                username=person.username,
                defaults={
                    "first_name": person.first_name,
                    "last_name": person.last_name,
                    "email": f"{person.username}@example.com",
                    "password": password,
                },
            )
            if not person.team:
                continue
            stakeholder = Stakeholder.objects.filter(user=user).first() or save_with_history(
                Stakeholder(user=user, title=person.title), actor=None, reason="Demo person"
            )
            team = Team.objects.filter(name=person.team).first() or save_with_history(
                Team(name=person.team, function=person.function), actor=None, reason="Demo team"
            )
            if not stakeholder.teams.filter(pk=team.pk).exists():
                stakeholder.teams.add(team)
                # Who serves a function is sealed in the ledger, as team_add_member does.
                record_facts(
                    actor=None,
                    launch=None,
                    rows=[Stakeholder.teams.through.objects.get(stakeholder=stakeholder, team=team)],
                )
            people[person.username] = stakeholder
        for team in Team.objects.filter(name__in=TEAM_LEADS, lead__isnull=True):
            team.lead = people[TEAM_LEADS[team.name]]
            save_with_history(team, actor=None, reason="Demo team lead")
        return people


def not_of_the_demo(limit: int = 5) -> str:
    """The people and teams (a few of each, by name) that the demo did not create: a user is the
    demo's only with a demo username and the demo's name and address, a team only with a demo name
    and function. Empty when the database holds nothing or only the demo."""
    demo_people = {p.username: (p.first_name, p.last_name, f"{p.username}@example.com") for p in (*PEOPLE, OUTSIDER)}
    demo_people["admin"] = ("", "", "admin@example.com")
    demo_teams = {p.team: p.function for p in PEOPLE}
    users = get_user_model().objects.values_list("username", "first_name", "last_name", "email").order_by("pk")
    people = [name for name, *who in users.iterator() if demo_people.get(name) != tuple(who)]
    teams = [
        name for name, function in Team.objects.values_list("name", "function") if demo_teams.get(name) != function
    ]
    found = []
    for kind, names in (("people", people), ("teams", teams)):
        if names:
            shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
            found.append(f"{kind} {shown}")
    return "; ".join(found)


class DemoPortfolio:
    """Builds each demo launch once, in a state that tells a story."""

    def __init__(self, people: dict[str, Stakeholder]) -> None:
        self.people = people
        self.pm = people["pam"].user
        self.today = timezone.localdate()

    def build(self) -> int:
        # Each story also shows the stricter rules passing on one launch and failing on another:
        # standard areas left out with a reason (meeting notes) or without (contract summariser);
        # response times in order and within limits (support) or not (sales); sensitive data kept
        # need-to-know (everywhere else) or open to all employees (contract summariser); a
        # confidential asset with every control (support) or never audited (code review); evidence
        # on the serving version, fresh, reviewed by people (support) or measuring another version
        # (sales), too old (contract summariser), too little reviewed (HR helpdesk); and personal
        # data needing legal and security at internal (approved for sales, pending for HR).
        stories = (
            ("meeting-notes", "Meeting notes summariser", RiskTier.MEDIUM, self._approvals_expired),
            ("support-assistant", "Support assistant", RiskTier.MEDIUM, self._waiting_for_executive),
            ("sales-email-drafter", "Sales email drafter", RiskTier.LOW, self._ready_for_internal),
            ("code-review-bot", "Code review bot", RiskTier.MEDIUM, self._rejected_and_blocked_on_evidence),
            ("contract-summariser", "Contract summariser", RiskTier.HIGH, self._stale_and_blocked_on_pii_and_raci),
            ("hr-helpdesk", "HR helpdesk assistant", RiskTier.LOW, self._internal_waiting_for_legal_and_security),
            ("billing-faq", "Billing FAQ assistant", RiskTier.MEDIUM, self._in_service_three_months),
        )
        created = 0
        # The contract summariser's PM has not yet entered a cost budget, nor confirmed the
        # template's proposals: its checklist says so.
        unconfirmed = {"contract-summariser"}
        # Stories that began before today: their events are dated when the story says they
        # happened (``_at``), in the history and the ledger.
        started = {"billing-faq": self._days_ago(100, 9)}
        for slug, name, tier, story in stories:
            if Launch.objects.filter(slug=slug).exists():
                continue
            budget = (
                {}
                if slug in unconfirmed
                else {"monthly_cost_budget": Decimal("8000"), "daily_cost_alert": Decimal("400")}
            )
            with self._at(started.get(slug)):
                launch = launch_create_from_template(
                    actor=self.pm,
                    template="genai-feature",
                    name=name,
                    slug=slug,
                    risk_tier=tier,
                    summary=f"{name}: a generative AI feature.",
                    target_date=self.today + datetime.timedelta(days=30),
                    **budget,
                )
                if slug not in unconfirmed:
                    self._confirm_template_values(launch)
            story(launch)
            created += 1
        # What the launches' pages show of their stages (operations health) is re-judged after the
        # demo's transaction commits; judged here too, so the demo holds it however it is run (a
        # test's transaction never commits).
        recertify()
        return created

    # Building blocks -------------------------------------------------------------------------

    def _add(self, launch: Launch, model, **values):
        return fact_add(actor=self.pm, launch=launch, model=model, values=values)

    def _change(self, fact, reason: str = "", **values):
        return fact_change(actor=self.pm, fact=fact, seen_version=fact_version(fact), values=values, reason=reason)

    def _confirm_template_values(self, launch: Launch) -> None:
        """The PM confirms the template's stage exposures and response times; the SLO targets are
        confirmed when operations agrees them (``_operations``)."""
        for fact in (*launch.stages.all(), *launch.severity_levels.all()):
            fact_confirm(actor=self.pm, fact=fact, seen_version=fact_version(fact))

    def _staff_raci(self, launch: Launch, *, skip_accountable_for: str | None = None) -> None:
        owners = {
            AreaKind.MODEL_QUALITY: ("mia", "raj"),
            AreaKind.INFRASTRUCTURE: ("pat", "pat"),
            AreaKind.DATA_RETRIEVAL: ("dana", "dana"),
            AreaKind.USER_EXPERIENCE: ("pam", "cora"),
            AreaKind.POLICY: ("lena", "sam"),
        }
        function_people = {"legal": "lena", "security": "sam", "customer_support": "cora", "business": "bill"}
        # The launch's grants are derived once for the whole staffing, not once per role (as a
        # service that adds many roles does): the owner staffing it needs none of them meanwhile.
        with access_synced_once():
            for area in ResponsibilityArea.objects.filter(launch=launch):
                accountable, responsible = owners[area.kind]
                if area.kind != skip_accountable_for:
                    raci_assign(area=area, stakeholder=self.people[accountable], role=Role.ACCOUNTABLE, actor=self.pm)
                raci_assign(area=area, stakeholder=self.people[responsible], role=Role.RESPONSIBLE, actor=self.pm)
                raci_assign(area=area, stakeholder=self.people["quinn"], role=Role.INFORMED, actor=self.pm)
            policy = ResponsibilityArea.objects.get(launch=launch, kind=AreaKind.POLICY)
            raci_assign(area=policy, stakeholder=self.people["cora"], role=Role.CONSULTED, actor=self.pm)
            for slot in LaunchStakeholder.objects.filter(launch=launch, stakeholder__isnull=True):
                person = self.people[function_people[slot.function]]
                launch_stakeholder_fill(slot=slot, stakeholder=person, actor=self.pm, seen_version=fact_version(slot))

    def _agree_quality_bar(
        self,
        launch: Launch,
        *,
        samples: int,
        failures: int,
        measured_version: str = "",
        days_ago: int = 1,
        human_reviewed: int | None = None,
        min_human_reviewed_share: str = "0",
    ) -> None:
        """Put a model/prompt version in service, agree the bar and record an evaluation run of the
        version in service (unless ``measured_version`` names another). The PM records the run, so
        it counts only once the ML Accountable accepts it, which she does."""
        launch_change(
            actor=self.pm,
            launch=launch,
            seen_version=fact_version(launch),
            values={"serving_version": "model-2026-10 + prompt v3"},
        )
        launch.refresh_from_db()
        bar = launch.quality_bars.get()
        if min_human_reviewed_share != "0":
            bar = self._change(bar, "Human review required", min_human_reviewed_share=Decimal(min_human_reviewed_share))
        quality_bar_agree(actor=self.people["mia"].user, bar=bar, seen_version=fact_version(bar))
        run = self._add(
            launch,
            EvalRun,
            quality_bar=bar,
            samples=samples,
            failures=failures,
            golden_set_name=f"{launch.slug}-golden",
            golden_set_version="v2",
            golden_set_owner=self.people["raj"].user,
            measured_version=measured_version or launch.serving_version,
            human_reviewed=min(samples, 200) if human_reviewed is None else human_reviewed,
            run_at=timezone.now() - datetime.timedelta(days=days_ago),
            link="https://evals.example.com/runs/latest",
        )
        eval_run_accept(actor=self.people["mia"].user, run=run, seen_version=fact_version(run))

    def _classify_data(
        self,
        launch: Launch,
        *,
        pii_controls: bool = True,
        pii_access: str = AccessLevel.RESTRICTED,
        audited_days_ago: int = 20,
        audit_interval_days: int = 90,
    ) -> None:
        self._add(
            launch,
            DataAsset,
            name="Help-centre articles",
            description="Published support articles used for retrieval.",
            classification=Classification.PUBLIC,
            access_level=AccessLevel.OPEN,
        )
        self._add(
            launch,
            DataAsset,
            name="Customer conversations",
            description="Chat transcripts including names and email addresses.",
            classification=Classification.PERSONAL,
            access_level=pii_access,
            masked_in_logs=pii_controls,
            retention_days=30 if pii_controls else None,
            audit_interval_days=audit_interval_days if pii_controls else None,
            last_audit_at=self.today - datetime.timedelta(days=audited_days_ago) if pii_controls else None,
        )

    def _confidential_asset(self, launch: Launch, name: str, description: str, *, audited: bool = True) -> None:
        self._add(
            launch,
            DataAsset,
            name=name,
            description=description,
            classification=Classification.CONFIDENTIAL,
            access_level=AccessLevel.NEED_TO_KNOW,
            masked_in_logs=True,
            retention_days=90 if audited else None,
            audit_interval_days=180,
            last_audit_at=self.today - datetime.timedelta(days=45) if audited else None,
        )

    def _leave_out_area(self, launch: Launch, kind: str, reason: str | None) -> None:
        """Take a standard area off the launch; with a reason, record why (ledgered)."""
        area = ResponsibilityArea.objects.get(launch=launch, kind=kind)
        fact_remove(actor=self.pm, fact=area, seen_version=fact_version(area), reason="Not needed for this launch")
        if reason:
            area_omission_record(actor=self.pm, launch=launch, kind=kind, reason=reason)

    def _operations(
        self, launch: Launch, *, rehearsed: bool = True, rehearsed_days_ago: int = 14, reviewed_days_ago: int = 7
    ) -> None:
        for slo in launch.slos.all():
            slo = self._change(slo, dashboard_link=f"https://grafana.example.com/d/{launch.slug}")
            # Operations' Accountable agrees the targets (confirming the template's proposals).
            slo_agree(actor=self.people["pat"].user, slo=slo, seen_version=fact_version(slo))
        self._add(
            launch,
            RollbackPlan,
            procedure="Turn the feature flag off; the previous prompt version is redeployed automatically.",
            one_click=True,
            last_rehearsed_at=self.today - datetime.timedelta(days=rehearsed_days_ago) if rehearsed else None,
            max_rehearsal_age_days=180,
        )
        self._add(
            launch,
            Runbook,
            link=f"https://wiki.example.com/runbooks/{launch.slug}",
            last_reviewed_at=self.today - datetime.timedelta(days=reviewed_days_ago),
            review_interval_days=180,
        )
        self._add(
            launch,
            FeedbackChannel,
            kind=FeedbackKind.NEGATIVE_FEEDBACK,
            description="Thumbs-down with a free-text reason.",
            review_cadence=ReviewCadence.WEEKLY,
        )

    def _request(self, launch: Launch, stage_name: str, *, now=None):
        stage = launch.stages.get(name=stage_name)
        return signoffs_request(
            actor=self.pm,
            launch=launch,
            stage=stage,
            due_date=timezone.localdate() + datetime.timedelta(days=7),
            message=f"Please review {launch.name} for {stage_name}.",
            now=now,
        )

    def _approve_all(self, launch: Launch, stage_name: str, *, except_functions=(), decisions=None, now=None) -> None:
        """Request the stage's sign-offs; addressees approve, except where ``decisions`` says otherwise."""
        decisions = decisions or {}
        with self._at(now):
            for request in self._request(launch, stage_name, now=now):
                if request.function in except_functions:
                    continue
                outcome, comment = decisions.get(request.function, (DecisionOutcome.APPROVE, "Looks good."))
                for addressee in list(request.addressees.all())[: request.approvals_required]:
                    signoff_decide(actor=addressee, signoff=request, outcome=outcome, comment=comment, now=now)

    def _advance(self, launch: Launch, stage_name: str, *, now=None) -> None:
        with self._at(now):
            stage_advance(actor=self.pm, launch=launch, stage=launch.stages.get(name=stage_name), now=now)

    @staticmethod
    def _at(moment: datetime.datetime | None):
        """What is recorded inside happened at ``moment`` (None: now). The ledger keeps the time of
        each append as well (``ledger.chain.occurred``)."""
        return occurred(min(moment, timezone.now())) if moment is not None else nullcontext()

    # Stories -----------------------------------------------------------------------------

    def _waiting_for_executive(self, launch: Launch) -> None:
        self._staff_raci(launch)
        self._agree_quality_bar(launch, samples=1200, failures=24, min_human_reviewed_share="0.1")
        self._classify_data(launch)
        self._confidential_asset(
            launch, "Escalation notes", "Internal notes agents add to escalated tickets.", audited=True
        )
        self._operations(launch)
        for stage_name in ("Internal", "Beta"):
            self._approve_all(launch, stage_name)
            self._advance(launch, stage_name)
        self._approve_all(launch, "Full", except_functions={TeamFunction.EXECUTIVE})

    def _ready_for_internal(self, launch: Launch) -> None:
        # Ready for internal (legal and security approved: it reads customer conversations), but
        # its evidence measured the previous prompt, and its severity policy promises a P1 answer in
        # 6 h and a P3 faster than a P2: neither gates internal, both would gate beta.
        self._staff_raci(launch)
        self._agree_quality_bar(launch, samples=150, failures=4, measured_version="model-2026-10 + prompt v2")
        self._classify_data(launch)
        for level, minutes in (("P1", 360), ("P2", 360), ("P3", 120)):
            self._change(launch.severity_levels.get(level=level), "Response time set", response_minutes=minutes)
        self._approve_all(launch, "Internal")

    def _rejected_and_blocked_on_evidence(self, launch: Launch) -> None:
        # 100 samples with 3 failures does not prove ≤ 5 %; the rollback was never rehearsed;
        # legal rejected the beta.
        self._staff_raci(launch)
        self._agree_quality_bar(launch, samples=100, failures=3)
        self._classify_data(launch)
        self._operations(launch, rehearsed=False)
        self._approve_all(launch, "Internal")
        self._advance(launch, "Internal")
        # Once internal, it was pointed at private repositories, which nobody has audited yet.
        self._confidential_asset(
            launch, "Private repositories", "Source code of the repositories under review.", audited=False
        )
        self._approve_all(
            launch,
            "Beta",
            decisions={
                TeamFunction.LEGAL: (
                    DecisionOutcome.REJECT,
                    "The beta terms do not disclose that answers are AI-generated.",
                ),
                TeamFunction.DATA: (DecisionOutcome.REQUEST_CHANGES, "Document the retention of code snippets."),
            },
        )

    def _stale_and_blocked_on_pii_and_raci(self, launch: Launch) -> None:
        # Internal was approved, then legal asked for a stricter bar: the approvals went stale.
        # Nobody is Accountable for data and retrieval, the user-experience area was dropped without
        # a word, the PII asset is open to all employees and has no controls, and the only
        # evaluation ran four months ago.
        self._leave_out_area(launch, AreaKind.USER_EXPERIENCE, reason=None)
        self._staff_raci(launch, skip_accountable_for=AreaKind.DATA_RETRIEVAL)
        self._agree_quality_bar(launch, samples=400, failures=8, days_ago=120)
        self._classify_data(launch, pii_controls=False, pii_access=AccessLevel.ALL_EMPLOYEES)
        self._approve_all(launch, "Internal")
        # Changing the bar clears its agreement (ledgered): the model Accountable must agree again.
        self._change(launch.quality_bars.get(), "Legal asked for a stricter bar", max_failure_rate=Decimal("0.02"))

    def _internal_waiting_for_legal_and_security(self, launch: Launch) -> None:
        # A low-risk internal launch would need only product's sign-off, but it reads employee
        # records: legal and security must approve internal too, and have not yet. Its bar asks
        # that people review a quarter of the evaluation; they reviewed a tenth.
        self._staff_raci(launch)
        self._agree_quality_bar(launch, samples=300, failures=3, human_reviewed=30, min_human_reviewed_share="0.25")
        self._add(
            launch,
            DataAsset,
            name="Employee records",
            description="Names, contracts and leave balances of employees asking the helpdesk.",
            classification=Classification.PERSONAL,
            access_level=AccessLevel.RESTRICTED,
            masked_in_logs=True,
            retention_days=30,
            audit_interval_days=90,
            last_audit_at=self.today - datetime.timedelta(days=10),
        )
        self._operations(launch)
        self._approve_all(launch, "Internal", except_functions={TeamFunction.LEGAL, TeamFunction.SECURITY})

    def _approvals_expired(self, launch: Launch) -> None:
        # The summariser reads the one transcript it is given and retrieves nothing, so the owner
        # recorded why it has no data-and-retrieval area.
        self._leave_out_area(
            launch,
            AreaKind.DATA_RETRIEVAL,
            reason="The summariser reads only the transcript of the meeting it is given; it retrieves nothing.",
        )
        self._staff_raci(launch)
        self._agree_quality_bar(launch, samples=2000, failures=40)
        self._classify_data(launch)
        self._operations(launch)
        # Decided long ago, so the approvals have since expired.
        long_ago = timezone.now() - datetime.timedelta(days=settings.SIGNOFF_MAX_AGE_DAYS + 30)
        # The gate judges as of then and refuses facts dated after it, so the PII audit it reads
        # is one from back then; the asset is audited again today.
        personal = launch.data_assets.get(classification=Classification.PERSONAL)
        personal = self._change(personal, "Audited", last_audit_at=long_ago.date() - datetime.timedelta(days=20))
        self._approve_all(launch, "Internal", now=long_ago)
        self._advance(launch, "Internal", now=long_ago)
        self._approve_all(launch, "Beta", now=long_ago)
        self._change(personal, "Audited", last_audit_at=self.today - datetime.timedelta(days=20))

    def _in_service_three_months(self, launch: Launch) -> None:
        """The launched product: in internal use 95 days ago, in beta 90 days ago, rolled back for a
        P1 incident that was answered late and re-admitted to beta after its fix, with a second,
        smaller incident since, a post-mortem, weekly failure reviews (the latest one missed), 90
        days of SLI actuals with its latency SLO breached this month, and evidence that has aged:
        its beta no longer holds."""
        days_ago = self._days_ago
        with self._at(days_ago(98)):
            self._staff_raci(launch)
            self._agree_quality_bar(launch, samples=1500, failures=30, days_ago=93)
            self._classify_data(launch, audited_days_ago=96, audit_interval_days=180)
            self._operations(launch, rehearsed_days_ago=97, reviewed_days_ago=97)
        for stage_name, when in (("Internal", days_ago(95)), ("Beta", days_ago(90))):
            self._approve_all(launch, stage_name, now=when)
            self._advance(launch, stage_name, now=when)
        self._operating_record(launch)
        self._sli_actuals(launch)
        self._approve_all(launch, "Full", except_functions={TeamFunction.EXECUTIVE})

    def _days_ago(self, days: int, hour: int = 10, minute: int = 0) -> datetime.datetime:
        moment = datetime.datetime.combine(self.today - datetime.timedelta(days=days), datetime.time(hour, minute))
        return timezone.make_aware(moment)

    def _operating_record(self, launch: Launch) -> None:
        days_ago = self._days_ago
        pat, raj, mia, cora = (self.people[name] for name in ("pat", "raj", "mia", "cora"))
        # P1, answered after 3 hours where the policy promises 1: the rollback mitigated it.
        with self._at(days_ago(31, 12, 10)):  # reported when it was acknowledged
            wrong_refunds = self._p1(launch, pat, raj)
        with self._at(days_ago(31, 12, 40)):
            self._roll_back_for(launch, wrong_refunds)
        with self._at(days_ago(29, 15)):
            self._postmortem(wrong_refunds, pat, raj)
        self._approve_all(launch, "Beta", now=days_ago(28))
        self._advance(launch, "Beta", now=days_ago(28))
        with self._at(days_ago(9, 8, 20)):
            self._p2(launch, pat)
        self._failure_reviews(launch, raj, mia, cora)

    def _p1(self, launch: Launch, pat, raj):
        days_ago = self._days_ago
        return incident_report(
            actor=pat.user,
            launch=launch,
            title="Quoted refund amounts from the wrong price list",
            severity="P1",
            user_impact="About 340 customers were told a refund larger than they were due.",
            detected_at=days_ago(31, 9, 5),
            acknowledged_at=days_ago(31, 12, 10),
            mitigated_at=days_ago(31, 12, 40),
            resolved_at=days_ago(30, 16),
            responders=[pat, raj],
        )

    def _roll_back_for(self, launch: Launch, wrong_refunds) -> None:
        days_ago = self._days_ago
        stage_rollback(
            actor=self.pm,
            launch=launch,
            stage=launch.stages.get(name="Internal"),
            reason="Refund answers quoted the wrong price list; back to internal use until the retrieval index is fixed.",
            duration=datetime.timedelta(minutes=25),
            incident_id=wrong_refunds.pk,
            now=days_ago(31, 12, 40),
        )

    def _postmortem(self, wrong_refunds, pat, raj) -> None:
        postmortem = postmortem_record(
            actor=pat.user,
            incident=wrong_refunds,
            summary="The nightly index job picked up last year's price list after a folder was renamed.",
            root_cause="The retrieval index had no check on the price list's effective date.",
            action_items=[
                {
                    "description": "Fail the index job when a price list is out of date",
                    "owner": pat,
                    "due_date": self.today - datetime.timedelta(days=20),
                },
                {
                    "description": "Add refund questions to the golden set",
                    "owner": raj,
                    "due_date": self.today + datetime.timedelta(days=10),
                },
            ],
        )
        action_item_complete(actor=pat.user, item=postmortem.action_items.order_by("due_date").first())

    def _p2(self, launch: Launch, pat) -> None:
        """P2, answered within its time."""
        days_ago = self._days_ago
        incident_report(
            actor=pat.user,
            launch=launch,
            title="Slow answers at the start of the billing cycle",
            severity="P2",
            user_impact="Answers took up to 20 seconds for two hours; nobody got a wrong answer.",
            detected_at=days_ago(9, 8, 0),
            acknowledged_at=days_ago(9, 8, 20),
            mitigated_at=days_ago(9, 9, 30),
            resolved_at=days_ago(9, 10, 0),
            responders=[pat],
        )

    def _failure_reviews(self, launch: Launch, raj, mia, cora) -> None:
        # Weekly failure reviews of negative feedback; the one due last week was not held.
        channel = launch.feedback_channels.get()
        for week in range(12, 0, -1):
            start = self.today - datetime.timedelta(days=7 * week)
            with self._at(self._days_ago(7 * week - 7, 9)):  # counted the morning after the week
                failure_count_record(
                    actor=raj.user,
                    channel=channel,
                    period_start=start,
                    period_end=start + datetime.timedelta(days=6),
                    cases=[14, 11, 17, 9, 12, 31, 26, 13, 10, 12, 15, 11][12 - week],
                )
        for week in range(12, 2, -1):
            held_on = self.today - datetime.timedelta(days=7 * week - 2)
            with self._at(self._days_ago(7 * week - 2, 14)):
                review = self._failure_review(channel, held_on, week, raj, mia, cora)
            for action in review.actions.all():
                with self._at(self._days_ago(7 * week - 7, 11)):
                    review_action_complete(actor=raj.user, action=action, done_on=held_on + datetime.timedelta(days=5))

    def _failure_review(self, channel, held_on, week: int, raj, mia, cora):
        return failure_review_record(
            actor=raj.user,
            channel=channel,
            held_on=held_on,
            attendees=[raj, mia, cora],
            decisions="Reviewed the week's thumbs-down answers; no new failure pattern."
            if week != 6
            else "Most complaints are the wrong refund amounts; add them to the golden set.",
            actions=[]
            if week != 6
            else [
                {
                    "description": "Label 50 refund conversations",
                    "owner": raj,
                    "due_on": held_on + datetime.timedelta(days=7),
                }
            ],
        )

    def _sli_actuals(self, launch: Launch) -> None:
        """90 days of daily values: the success rate meets its 99.5 % but for the P1's day; p95
        latency has crept past its 3 s target this month (the breached SLO), with the P2's spike;
        the daily cost stays under its alert limit and the month under its budget."""
        measurements = []
        for days in range(90, 0, -1):
            day = self.today - datetime.timedelta(days=days)
            wave = Decimal(str(round(math.sin(days / 3) * 40)))  # a weekly-ish ripple, the same every run
            success = Decimal("97.20") if days == 31 else Decimal("99.78") + wave / 1000
            latency = Decimal("2350") + (Decimal(40) * (30 - days) if days < 30 else 0) + wave * 3
            if days == 9:
                latency = Decimal("9100")
            cost = Decimal("215") + wave / 2
            measurements += [
                Measurement(day=day, indicator=SloIndicator.SUCCESS_RATE, value=success.quantize(Decimal("0.01"))),
                Measurement(day=day, indicator=SloIndicator.LATENCY_P95, value=latency.quantize(Decimal("1"))),
                Measurement(day=day, indicator=SloIndicator.COST_DAILY, value=cost.quantize(Decimal("0.01"))),
            ]
        sli_record(actor=self.pm, launch=launch, measurements=measurements, source=SliSource.COMMAND)
