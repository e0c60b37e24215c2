"""Signing in on the product's own pages: anonymous visitors are sent to sign in and come back where
they were going, repeated failures are throttled, sign-out is a POST, passwords change in place."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def user():
    user = UserFactory(username="pam", first_name="Pam", last_name="Okafor")
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(client, username: str, password: str, next_url: str = ""):
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("web:sign-in"), data, REMOTE_ADDR="10.0.0.1")


@pytest.mark.parametrize("path", ["/", "/launches/anything/", "/password/"])
def test_anonymous_visitors_are_sent_to_sign_in_with_where_they_were_going(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.url == f"{reverse('web:sign-in')}?next={path}"


def test_signing_in_returns_to_where_the_visitor_was_going(client, user):
    response = sign_in(client, "pam", PASSWORD, next_url="/launches/assistant/")
    assert response.status_code == 302
    assert response.url == "/launches/assistant/"
    assert client.get("/").status_code == 200


def test_signing_in_never_redirects_off_site(client, user):
    response = sign_in(client, "pam", PASSWORD, next_url="https://evil.example/steal")
    assert response.status_code == 302
    assert response.url == reverse("web:portfolio")


def test_a_wrong_password_is_refused_with_a_message_and_no_session(client, user):
    response = sign_in(client, "pam", "wrong")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get("/").status_code == 302


def test_repeated_failures_lock_the_client_out_even_with_the_right_password(client, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "pam", "wrong").status_code == 200
    locked = sign_in(client, "pam", "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "Try again in 15 minutes" in locked.content.decode()
    assert sign_in(client, "pam", PASSWORD).status_code == 429
    assert client.get("/").status_code == 302


def test_a_success_resets_the_count_of_failures_from_that_client(client, user, settings):
    other = UserFactory(username="lena")
    other.set_password(PASSWORD)
    other.save()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "pam", "wrong")
    assert sign_in(client, "pam", PASSWORD).status_code == 302  # resets pam's count
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "pam", "wrong").status_code == 200
    assert sign_in(client, "lena", PASSWORD).status_code == 302


def test_the_sign_in_page_lists_the_demo_logins_only_with_debug_on(client, settings):
    settings.DEBUG = True
    page = client.get(reverse("web:sign-in")).content.decode()
    assert "Demo logins" in page
    assert "preflight-demo" in page
    assert "<code>eve</code>" in page

    settings.DEBUG = False
    page = client.get(reverse("web:sign-in")).content.decode()
    assert "Demo logins" not in page
    assert "preflight-demo" not in page


def test_sign_out_is_a_post_and_ends_the_session(client, user):
    client.force_login(user)
    assert client.get(reverse("web:sign-out")).status_code == 405
    response = client.post(reverse("web:sign-out"))
    assert response.status_code == 302
    assert response.url == reverse("web:sign-in")
    assert client.get("/").status_code == 302


def test_changing_the_password_needs_the_old_one_and_keeps_the_session(client, user):
    client.force_login(user)
    url = reverse("web:password-change")
    refused = client.post(
        url, {"old_password": "wrong", "new_password1": "a-new-long-pass-42", "new_password2": "a-new-long-pass-42"}
    )
    assert refused.status_code == 200
    assert "Your old password was entered incorrectly" in refused.content.decode()

    done = client.post(
        url, {"old_password": PASSWORD, "new_password1": "a-new-long-pass-42", "new_password2": "a-new-long-pass-42"}
    )
    assert done.status_code == 302
    assert done.url == reverse("web:password-change-done")
    user.refresh_from_db()
    assert user.check_password("a-new-long-pass-42")
    assert client.get("/").status_code == 200


def test_a_weak_new_password_is_refused_naming_why(client, user):
    client.force_login(user)
    response = client.post(
        reverse("web:password-change"), {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"}
    )
    assert response.status_code == 200
    assert "This password is too short" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
