"""The launch page's SLO actuals: charts and numbers for everyone who may see the launch; the
record, upload and Prometheus forms only for those the services allow (403 for viewers, 404 for
outsiders); refused input shows the reason and saves nothing; user text is escaped."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from operations.models import PrometheusPull, PrometheusSource, SliActual, SliSource
from operations.services import Measurement, prometheus_source_set, sli_record
from raci.choices import AreaKind, Role
from readiness.models import Launch
from tests.builders import ready_launch
from tests.factories import UserFactory
from tests.web.bounds import LAUNCH_PAGE_QUERIES

pytestmark = pytest.mark.django_db

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """A ready launch as if in Internal, built once per module."""
    launch = ready_launch()
    Launch.objects.filter(pk=launch.pk).update(current_stage=launch.stages.get(name="Internal"))
    return launch.pk


def person(launch, kind, role):
    return launch.areas.get(kind=kind).assignments.get(role=role).stakeholder.user


def page(client, user, launch):
    client.force_login(user)
    response = client.get(reverse("web:launch", args=[launch.slug]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_owner_sees_charts_numbers_and_every_form(client, launch):
    sli_record(
        actor=launch.owner,
        launch=launch,
        measurements=[Measurement(day=YESTERDAY, indicator="success_rate", value=Decimal("98.5"))],
        source=SliSource.FORM,
    )
    html = page(client, launch.owner, launch)
    assert 'id="slo-actuals"' in html and "slo-chart" in html
    assert "Success rate (%) ≥ 99.5" in html and "98.5 %" in html
    assert "is breached" in html  # the month averages below target
    assert reverse("web:sli-record", args=[launch.slug]) in html
    assert reverse("web:sli-upload", args=[launch.slug]) in html
    assert reverse("web:sli-prometheus", args=[launch.slug]) in html


def test_a_viewer_sees_the_numbers_but_no_form_and_is_refused_posting(client, launch):
    legal = person(launch, AreaKind.POLICY, Role.ACCOUNTABLE)
    html = page(client, legal, launch)
    assert 'id="slo-actuals"' in html
    assert reverse("web:sli-record", args=[launch.slug]) not in html
    assert reverse("web:sli-prometheus", args=[launch.slug]) not in html
    for name in ("sli-record", "sli-upload", "sli-prometheus"):
        response = client.post(reverse(f"web:{name}", args=[launch.slug]), {"day": YESTERDAY, "success_rate": "99"})
        assert response.status_code == 403, name
    assert not SliActual.objects.exists() and not PrometheusSource.objects.exists()


def test_an_outsider_gets_404(client, launch):
    client.force_login(UserFactory())
    for name in ("sli-record", "sli-upload", "sli-prometheus"):
        assert client.get(reverse(f"web:{name}", args=[launch.slug])).status_code == 404


def test_the_responsible_for_operations_records_a_day_from_the_form(client, launch):
    operations = person(launch, AreaKind.INFRASTRUCTURE, Role.RESPONSIBLE)
    html = page(client, operations, launch)
    assert reverse("web:sli-record", args=[launch.slug]) in html
    assert reverse("web:sli-prometheus", args=[launch.slug]) not in html
    response = client.post(
        reverse("web:sli-record", args=[launch.slug]),
        {"day": YESTERDAY.isoformat(), "success_rate": "99.9", "latency_p95": "1500", "cost_daily": ""},
    )
    assert response.status_code == 302 and response.url.endswith("#slo-actuals")
    assert dict(SliActual.objects.values_list("indicator", "value")) == {
        "success_rate": Decimal("99.9"),
        "latency_p95": Decimal("1500"),
    }
    assert {a.recorded_by for a in SliActual.objects.all()} == {operations}


def test_a_refused_value_is_shown_and_nothing_is_saved(client, launch):
    client.force_login(launch.owner)
    response = client.post(
        reverse("web:sli-record", args=[launch.slug]),
        {"day": YESTERDAY.isoformat(), "success_rate": "101", "latency_p95": "1500"},
    )
    assert response.status_code == 200
    assert "enter a percentage between 0 % and 100 %" in response.content.decode()
    assert not SliActual.objects.exists()


def test_a_csv_upload_records_all_rows_or_names_the_bad_line(client, launch):
    client.force_login(launch.owner)
    url = reverse("web:sli-upload", args=[launch.slug])
    bad = f"date,indicator,value\n{YESTERDAY},success_rate,99.9\n{YESTERDAY},latency_p95,slow\n"
    response = client.post(url, {"file": SimpleUploadedFile("sli.csv", bad.encode())})
    assert response.status_code == 200
    assert "Line 3, column value: &#x27;slow&#x27; is not a number." in response.content.decode()
    assert not SliActual.objects.exists()
    good = f"date,indicator,value\n{YESTERDAY},success_rate,99.9\n{YESTERDAY},cost,120\n"
    response = client.post(url, {"file": SimpleUploadedFile("sli.csv", good.encode())})
    assert response.status_code == 302
    assert SliActual.objects.count() == 2


def test_the_prometheus_form_refuses_a_host_outside_the_allowed_list(client, launch, settings):
    settings.PROMETHEUS_ALLOWED_HOSTS = ["prometheus.internal"]
    client.force_login(launch.owner)
    url = reverse("web:sli-prometheus", args=[launch.slug])
    response = client.post(url, {"base_url": "http://169.254.169.254/", "query_success_rate": "up"})
    assert response.status_code == 200
    assert "is not among the Prometheus servers" in response.content.decode()
    assert not PrometheusSource.objects.exists()
    response = client.post(url, {"base_url": "http://prometheus.internal:9090", "query_success_rate": "100 * up"})
    assert response.status_code == 302
    assert PrometheusSource.objects.get().queries == {"success_rate": "100 * up"}


def test_pull_errors_are_shown_to_the_owner_escaped(client, launch, settings):
    settings.PROMETHEUS_ALLOWED_HOSTS = ["prometheus.internal"]
    source = prometheus_source_set(
        actor=launch.owner, launch=launch, base_url="http://prometheus.internal", queries={"success_rate": "up"}
    )
    PrometheusPull.objects.create(source=source, status="failed", errors=["<script>alert(1)</script>"])
    html = page(client, launch.owner, launch)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html


def test_the_page_with_actuals_stays_within_the_query_bound(client, launch, django_assert_max_num_queries):
    days = [YESTERDAY - datetime.timedelta(days=n) for n in range(60)]
    sli_record(
        actor=launch.owner,
        launch=launch,
        measurements=[
            Measurement(day=day, indicator=indicator, value=Decimal(value))
            for day in days
            for indicator, value in (("success_rate", "99.9"), ("latency_p95", "1200"), ("cost_daily", "90"))
        ],
        source=SliSource.COMMAND,
    )
    client.force_login(launch.owner)
    with django_assert_max_num_queries(LAUNCH_PAGE_QUERIES):
        assert client.get(reverse("web:launch", args=[launch.slug])).status_code == 200


def test_a_viewer_s_page_costs_no_more_queries_for_the_section(client, launch, django_assert_max_num_queries):
    """Who may record is read from the RACI the checklist already prefetched."""
    legal = person(launch, AreaKind.POLICY, Role.ACCOUNTABLE)
    client.force_login(legal)
    with django_assert_max_num_queries(LAUNCH_PAGE_QUERIES):
        assert client.get(reverse("web:launch", args=[launch.slug])).status_code == 200


def test_an_upload_over_the_row_limit_is_refused_naming_it_and_the_form_says_the_limit(client, launch, settings):
    settings.SLI_UPLOAD_MAX_ROWS = 3
    client.force_login(launch.owner)
    url = reverse("web:sli-upload", args=[launch.slug])
    assert "at most 3 rows" in client.get(url).content.decode()
    rows = "".join(f"{YESTERDAY - datetime.timedelta(days=n)},latency_p95,{900 + n}\n" for n in range(4))
    response = client.post(url, {"file": SimpleUploadedFile("sli.csv", f"date,indicator,value\n{rows}".encode())})
    assert response.status_code == 200
    assert "The file has more than 3 rows, the most one upload takes (SLI_UPLOAD_MAX_ROWS); split it." in (
        response.content.decode()
    )
    assert not SliActual.objects.exists()


def test_uploading_the_same_file_again_records_nothing_and_says_so(client, launch):
    client.force_login(launch.owner)
    url = reverse("web:sli-upload", args=[launch.slug])
    good = f"date,indicator,value\n{YESTERDAY},success_rate,99.9\n{YESTERDAY},cost,120\n"
    assert client.post(url, {"file": SimpleUploadedFile("sli.csv", good.encode())}).status_code == 302
    history = SliActual.history.count()
    response = client.post(url, {"file": SimpleUploadedFile("sli.csv", good.encode())}, follow=True)
    assert "0 SLI value(s) recorded; 2 already held the same value and were left alone." in response.content.decode()
    assert SliActual.history.count() == history


# --- a CSV cell longer than the csv module's limit --------------------------------------------


def test_a_huge_csv_cell_uploaded_is_refused_on_the_form(client, launch):
    client.force_login(launch.owner)
    body = ("date,indicator,value\n2026-11-02,success_rate," + "9" * 200_000 + "\n").encode()
    response = client.post(
        reverse("web:sli-upload", args=[launch.slug]),
        {"file": SimpleUploadedFile("values.csv", body, content_type="text/csv")},
    )
    assert response.status_code == 200 and "Line 2" in response.content.decode()
    assert not SliActual.objects.exists()
