"""Lists of people show names (with the function they serve), never usernames: the golden-set owner
of an evaluation run, as typed and as shown on the launch page."""

import pytest
from django.urls import reverse

from tests.builders import team_for
from tests.factories import EvalRunFactory, StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_golden_set_owner_list_names_people_and_their_function(client, launch):
    ml = StakeholderFactory(
        user=UserFactory(username="mchen7", first_name="Mia", last_name="Chen"), teams=[team_for("ml")]
    )
    UserFactory(username="nofn", first_name="", last_name="")  # no name: the username is all there is
    client.force_login(launch.owner)
    page = client.get(reverse("web:fact-add", args=[launch.slug, "evalrun"])).content.decode()
    assert f'<option value="{ml.user.pk}">Mia Chen (ML)</option>' in page
    assert ">mchen7<" not in page
    assert ">nofn<" in page


def test_the_launch_page_shows_the_golden_set_owner_by_name(client, launch):
    owner = UserFactory(username="gso42", first_name="Gus", last_name="Olsen")
    EvalRunFactory(quality_bar=launch.quality_bars.get(), golden_set_owner=owner, measured_version="prompt-v0")
    client.force_login(launch.owner)
    page = client.get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert "Gus Olsen" in page
    assert "gso42" not in page


def test_the_list_costs_the_same_queries_however_many_people_it_names(client, launch, django_assert_max_num_queries):
    client.force_login(launch.owner)
    url = reverse("web:fact-add", args=[launch.slug, "evalrun"])
    client.get(url)  # warm caches (content types, the session)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for n in range(15):
        StakeholderFactory(
            user=UserFactory(username=f"person{n}", first_name="Person", last_name=str(n)), teams=[team_for("legal")]
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url).content.decode()
    assert "Person 14 (Legal)" in page
