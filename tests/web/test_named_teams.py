"""Need-to-know access names its teams: required when that access level is chosen, shown on the
launch page; other access levels need none."""

from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from presentation.facts import fact_sections
from readiness.choices import AccessLevel, Classification
from tests.factories import DataAssetFactory
from tests.helpers import rendered_form

pytestmark = pytest.mark.django_db


def add_asset(client, launch, **typed):
    url = reverse("web:fact-add", args=[launch.slug, "dataasset"])
    values = rendered_form(client.get(url).content.decode())
    values.update(typed)
    return client.post(url, urlencode(values), content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize(
    ("access", "teams", "valid"),
    [
        (AccessLevel.NEED_TO_KNOW, "", False),
        (AccessLevel.NEED_TO_KNOW, "   ", False),
        (AccessLevel.NEED_TO_KNOW, "Payments operations", True),
        (AccessLevel.RESTRICTED, "", True),
        (AccessLevel.ALL_EMPLOYEES, "", True),
    ],
)
def test_need_to_know_access_requires_named_teams(launch, access, teams, valid):
    asset = DataAssetFactory.build(
        launch=launch, classification=Classification.CONFIDENTIAL, access_level=access, named_teams=teams
    )
    if valid:
        asset.full_clean()
    else:
        with pytest.raises(ValidationError) as refused:
            asset.full_clean()
        assert refused.value.message_dict == {
            "named_teams": ["Name the teams that need to know: need-to-know access means named teams."]
        }


def test_the_form_refuses_need_to_know_without_teams_and_saves_nothing(client, launch):
    client.force_login(launch.owner)
    response = add_asset(
        client, launch, name="Invoices", classification="confidential", access_level="need_to_know", named_teams=""
    )
    assert response.status_code == 200
    assert response.context["form"].errors["named_teams"] == [
        "Name the teams that need to know: need-to-know access means named teams."
    ]
    assert not launch.data_assets.filter(name="Invoices").exists()


def test_named_teams_are_saved_and_shown_on_the_launch_page(client, launch):
    client.force_login(launch.owner)
    response = add_asset(
        client,
        launch,
        name="Invoices",
        classification="confidential",
        access_level="need_to_know",
        named_teams="Payments <ops> & Fraud",
    )
    assert response.status_code == 302
    assert launch.data_assets.get(name="Invoices").named_teams == "Payments <ops> & Fraud"
    page = client.get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert "named teams" in page
    assert "Payments &lt;ops&gt; &amp; Fraud" in page  # escaped


def test_the_report_s_read_model_lists_the_named_teams(launch):
    """Reports print the rows ``fact_sections`` gives them: the named teams are among the values."""
    DataAssetFactory(
        launch=launch,
        name="Invoices",
        classification=Classification.CONFIDENTIAL,
        access_level=AccessLevel.NEED_TO_KNOW,
        named_teams="Payments operations",
    )
    (assets,) = [section for section in fact_sections(launch) if section["name"] == "dataasset"]
    (row,) = [row for row in assets["rows"] if row["fact"].name == "Invoices"]
    assert ("named teams", "Payments operations") in row["values"]
