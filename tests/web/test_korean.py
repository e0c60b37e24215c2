"""Korean all the way down: choice labels, checklist titles and reasons, service errors and dates
speak Korean on a Korean page; each person's chosen language follows them to any browser; and what
is recorded (snapshots, fingerprints, ledger payloads, history reasons) is the same English whatever
language the page that wrote it spoke."""

import json
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from approvals.models import SignoffDecision, SignoffRequest
from approvals.snapshot import fingerprint, launch_snapshot
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from raci.choices import AreaKind
from raci.models import LanguagePreference
from raci.selectors import preferred_language
from raci.services import area_omission_record, language_set, launch_stakeholder_clear
from readiness.checklist import with_checklist_facts
from readiness.models import DataAsset, Launch, RolloutStage
from readiness.services import fact_add, fact_version, launch_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HANGUL = re.compile(r"[\uac00-\ud7a3]")
KOREAN_DATE = re.compile(r"\d{4}년 \d{1,2}월 \d{1,2}일")


def korean_get(client, path: str) -> str:
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 200
    return response.content.decode()


# --- pages in Korean --------------------------------------------------------------------------------


def test_the_launch_page_in_korean_shows_korean_labels_checklist_titles_and_reasons(client, launch):
    client.force_login(launch.owner)
    page = korean_get(client, reverse("web:launch", args=[launch.slug]))

    assert '<html lang="ko">' in page
    assert "위험도 중간" in page  # the risk tier's choice label, "Medium risk"
    assert "이해관계자 승인 완료" in page  # item 1's title, "Stakeholders have approved"
    assert "법무 승인이 요청되지 않았습니다" in page  # its reason, "Legal sign-off has not been requested"
    assert "데이터 자산" in page  # a fact kind's name, "data asset"
    assert "피드백 채널" in page  # a fact section's heading, "Feedback channels"
    english_texts = (
        "Stakeholders have approved",
        "sign-off has not been requested",
        "Medium risk",
        "Feedback channels",
    )
    for english in english_texts:
        assert english not in page


def test_the_portfolio_s_sort_choices_follow_the_language_of_each_request(client, launch):
    client.force_login(launch.owner)
    korean = korean_get(client, reverse("web:portfolio"))
    assert "목표일 (내림차순)" in korean and "(descending)" not in korean
    english = client.get(reverse("web:portfolio"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Target date (descending)" in english


def test_the_same_page_stays_english_for_an_english_browser(client, launch):
    client.force_login(launch.owner)
    page = client.get(reverse("web:launch", args=[launch.slug]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Stakeholders have approved" in page
    assert "Legal sign-off has not been requested" in page
    assert not HANGUL.search(page.replace("한국어", ""))  # the language switcher names Korean in Korean


def test_a_refused_fact_in_korean_names_the_service_error_in_korean(client, launch):
    """Lowering the PII asset's class is the privacy Accountable's act: the fact service refuses
    the owner, and the form shows why, in Korean."""
    asset = DataAsset.objects.get(launch=launch, name="Support tickets")
    client.force_login(launch.owner)
    response = client.post(
        reverse("web:fact-change", args=[launch.slug, "dataasset", asset.pk]),
        {
            "name": asset.name,
            "classification": "internal",
            "access_level": asset.access_level,
            "masked_in_logs": "on",
            "retention_days": asset.retention_days,
            "last_audit_at": asset.last_audit_at.isoformat(),
            "audit_interval_days": asset.audit_interval_days,
            "seen_version": fact_version(asset),
        },
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "개인정보 보호 책임자(A)(정책 영역)만 등급을 낮출 수 있습니다." in page
    assert "only the Accountable for privacy" not in page
    assert DataAsset.objects.get(pk=asset.pk).classification == "personal"


def test_a_refused_model_value_in_korean_is_named_in_korean(client, launch):
    slo = launch.slos.get(indicator="success_rate")
    client.force_login(launch.owner)
    response = client.post(
        reverse("web:fact-change", args=[launch.slug, "slo", slo.pk]),
        {
            "target": "150",
            "alert_threshold": "99",
            "dashboard_link": slo.dashboard_link,
            "seen_version": fact_version(slo),
        },
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert response.status_code == 200
    assert "성공률(%)은(는) 퍼센트이므로 최대 100입니다." in response.content.decode()


def test_the_gate_refuses_in_korean_naming_the_item_and_its_reason(client, launch):
    client.force_login(launch.owner)
    response = client.post(reverse("web:advance", args=[launch.slug]), HTTP_ACCEPT_LANGUAGE="ko")
    page = response.content.decode()
    assert page.count("게이트가 거부했습니다. 이 출시는 아직 Internal 단계에 들어갈 수 없습니다.") == 1
    assert "법무 승인이 요청되지 않았습니다" in page and "해결하기" in page
    assert Launch.objects.get(pk=launch.pk).current_stage is None


def test_dates_on_a_korean_page_are_written_the_korean_way(client, launch):
    client.force_login(launch.owner)
    page = korean_get(client, reverse("web:history", args=[launch.slug]))
    assert KOREAN_DATE.search(page)
    # What happened to each row is Korean; why (a recorded change reason) stays as it was written.
    assert '<span class="muted">생성됨</span>' in page and '<span class="muted">Created</span>' not in page
    english = client.get(reverse("web:history", args=[launch.slug]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert not KOREAN_DATE.search(english)


# --- a language each person picks and keeps ----------------------------------------------------------


def choose(client, language: str):
    return client.post(reverse("set_language"), {"language": language, "next": reverse("web:portfolio")})


def test_a_person_who_chose_korean_gets_korean_in_another_browser_after_signing_in(client, launch):
    client.force_login(launch.owner)
    response = choose(client, "ko")
    assert response.status_code == 302
    assert LanguagePreference.objects.get(user=launch.owner).language == "ko"

    other_browser = Client()
    assert settings.LANGUAGE_COOKIE_NAME not in other_browser.cookies
    sign_in = other_browser.get(reverse("web:sign-in"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sign in to Preflight" in sign_in  # nobody is signed in yet: the browser decides
    launch.owner.set_password("correct-horse-battery")
    launch.owner.save()
    signed_in = other_browser.post(
        reverse("web:sign-in"),
        {"username": launch.owner.username, "password": "correct-horse-battery"},
        REMOTE_ADDR="10.0.0.9",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert signed_in.status_code == 302
    page = other_browser.get(reverse("web:portfolio"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="ko">' in page
    assert "포트폴리오" in page

    # Choosing English again is kept too, and wins over a browser asking for Korean.
    choose(other_browser, "en")
    third = Client()
    third.force_login(launch.owner)
    assert '<html lang="en">' in third.get(reverse("web:portfolio"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()


def test_an_anonymous_browser_asking_for_korean_gets_korean_and_saves_nothing(client):
    assert '<html lang="ko">' in korean_get(client, reverse("web:sign-in"))
    response = choose(client, "ko")
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ko"
    assert not LanguagePreference.objects.exists()


def test_a_person_who_never_chose_follows_the_browser(client, launch):
    client.force_login(launch.owner)
    assert '<html lang="ko">' in korean_get(client, reverse("web:portfolio"))
    english = client.get(reverse("web:portfolio"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in english
    assert preferred_language(launch.owner) is None


def test_an_unknown_language_is_refused_and_nothing_is_saved(client, launch):
    client.force_login(launch.owner)
    response = choose(client, "xx")
    assert response.status_code == 400
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert not LanguagePreference.objects.filter(user=launch.owner).exists()
    assert client.get(reverse("set_language")).status_code == 405  # a choice is posted, never linked


def test_the_service_keeps_one_choice_per_person_and_refuses_the_rest(launch):
    language_set(actor=launch.owner, language="ko")
    language_set(actor=launch.owner, language="en")
    assert list(LanguagePreference.objects.filter(user=launch.owner).values_list("language", flat=True)) == ["en"]
    with pytest.raises(ValidationError) as refused:
        language_set(actor=launch.owner, language="fr")
    assert "language" in refused.value.message_dict
    with pytest.raises(ValidationError):
        language_set(actor=launch.owner, language=None)
    inactive = UserFactory(is_active=False)
    with pytest.raises(PermissionDenied):
        language_set(actor=inactive, language="ko")
    assert preferred_language(launch.owner) == "en"


def test_a_sign_off_mail_speaks_the_recipient_s_language(launch, django_capture_on_commit_callbacks):
    """Mail goes out after commit, in each recipient's own language (else the site's)."""
    from approvals.services import signoffs_request

    stage = launch.stages.get(name="Internal")
    with django_capture_on_commit_callbacks() as delivery:
        requests = signoffs_request(actor=launch.owner, launch=launch, stage=stage, functions=["legal", "ml"])
    legal = next(request for request in requests if request.function == "legal").addressees.get()
    language_set(actor=legal, language="ko")
    for deliver in delivery:
        deliver()
    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert subjects[legal.email] == "[Preflight] Support assistant: Internal 단계 법무 승인 요청"
    others = [subject for address, subject in subjects.items() if address != legal.email]
    assert others and all(subject.endswith("ML sign-off for Internal") for subject in others)


# --- what is recorded does not depend on the language --------------------------------------------------


def test_a_snapshot_and_its_fingerprint_are_the_same_in_korean_and_in_english(launch):
    owner = launch.owner
    blank = launch_create(actor=owner, name="Notes", slug="notes")
    stage = fact_add(
        actor=owner,
        launch=blank,
        model=RolloutStage,
        values={"name": "Internal", "kind": "internal", "order": 1, "exposure_percent": Decimal("5")},
    )
    area_omission_record(actor=owner, launch=blank, kind=AreaKind.USER_EXPERIENCE, reason="No user interface.")
    facts = with_checklist_facts(Launch.objects.filter(pk=blank.pk)).get()

    with translation.override("ko"):
        korean = launch_snapshot(facts, stage)
    with translation.override("en"):
        english = launch_snapshot(facts, stage)
    assert korean == english
    assert fingerprint(korean) == fingerprint(english)
    assert english["areas left out"] == {"User experience and fallbacks": "No user interface."}


def test_decisions_and_ledger_entries_made_on_korean_pages_record_english(client, launch):
    client.force_login(launch.owner)
    response = client.post(reverse("web:request-signoffs", args=[launch.slug]), HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 302
    signoff = SignoffRequest.objects.filter(launch=launch, function="legal").get()
    addressee = signoff.addressees.get()
    client.force_login(addressee)
    decide_page = client.get(reverse("web:decide", args=[signoff.pk]), HTTP_ACCEPT_LANGUAGE="ko")
    shown = decide_page.context["form"]
    # The facts being approved are named in Korean; the snapshot behind them stays English.
    assert "위험 등급" in decide_page.content.decode() and "risk tier" not in decide_page.content.decode()
    response = client.post(
        reverse("web:decide", args=[signoff.pk]),
        {"outcome": "approve", "fingerprint": shown.initial["fingerprint"]},
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert response.status_code == 302
    with translation.override("ko"):
        slot = launch.stakeholder_slots.get(function="legal")
        launch_stakeholder_clear(actor=launch.owner, slot=slot, seen_version=fact_version(slot))
        area_omission_record(
            actor=launch.owner,
            launch=launch_create(actor=launch.owner, name="Bare", slug="bare"),
            kind=AreaKind.POLICY,
            reason="Nothing to police.",
        )

    decision = SignoffDecision.objects.get(request=signoff)
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    with translation.override("en"):
        english = launch_snapshot(facts, facts.stages.get(pk=signoff.stage_id))
    assert decision.snapshot == json.loads(json.dumps(english, default=str))
    assert decision.fingerprint == fingerprint(english)

    entries = list(LedgerEntry.objects.order_by("sequence"))
    assert {entry.event for entry in entries} >= {LedgerEvent.REQUESTED, LedgerEvent.DECIDED, LedgerEvent.AREA_OMITTED}
    assert not HANGUL.search(json.dumps([entry.payload for entry in entries], ensure_ascii=False))
    reasons = [
        reason
        for model in apps.get_models()
        if model._meta.model_name.startswith("historical") and hasattr(model, "history_change_reason")
        for reason in model.objects.exclude(history_change_reason=None).values_list("history_change_reason", flat=True)
    ]
    assert {"Approve", "Left out 'Policy and guardrails'", "Legal slot emptied"} <= set(reasons)
    assert not [reason for reason in reasons if HANGUL.search(reason)]
    assert verify().ok
