"""Assertions and request helpers shared by the test modules."""

from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

# --- model invariants -------------------------------------------------------------------------


def validation_messages(obj) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as excinfo:
        obj.full_clean()
    return excinfo.value.message_dict


def assert_invalid(obj, field: str, *fragments: str) -> None:
    """full_clean() refuses ``obj`` with an error on ``field`` whose text contains every fragment."""
    messages = validation_messages(obj)
    assert field in messages, f"expected an error on {field!r}, got {messages!r}"
    text = " ".join(messages[field])
    for fragment in fragments:
        assert fragment.lower() in text.lower(), f"{fragment!r} not in {messages[field]!r}"


def assert_refused_by_database(obj) -> None:
    """Saving ``obj`` without validation raises IntegrityError and leaves no row behind."""
    model = type(obj)
    before = model.objects.count()
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            obj.save()
    assert model.objects.count() == before


def assert_rejected_everywhere(obj, field: str, *fragments: str) -> None:
    assert_invalid(obj, field, *fragments)
    assert_refused_by_database(obj)


# --- the admin --------------------------------------------------------------------------------


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_errors(response) -> dict:
    assert response.status_code == 200, "an invalid form is shown again, not redirected"
    return response.context["adminform"].form.errors


def post_data_from(response) -> dict:
    """The POST body a browser would send back for an admin change form as rendered: the main
    form and every inline formset, management forms included."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for field in form:
            value = field.value()
            if value is None:
                value = ""
            if isinstance(value, bool):
                if value:
                    data[field.html_name] = "on"
                continue
            if isinstance(value, list):
                value = [str(v) for v in value]
            data[field.html_name] = value
    return data


# --- access ---------------------------------------------------------------------------------------


def give_view(user, launch):
    """Let ``user`` view ``launch`` the only way anyone does: through a role (here Informed on an
    area, created if the launch has none)."""
    from raci.choices import Role
    from raci.models import RaciAssignment, ResponsibilityArea, Stakeholder
    from tests.factories import seal

    stakeholder, created = Stakeholder.objects.get_or_create(user=user)
    if created:
        seal(stakeholder)
    area = launch.areas.first()
    if area is None:
        area = ResponsibilityArea.objects.create(launch=launch, name="General")
        seal(area)
    assignment, created = RaciAssignment.objects.get_or_create(area=area, stakeholder=stakeholder, role=Role.INFORMED)
    if created:
        seal(assignment)  # as raci_assign records it in the ledger
    return user


def archive(launch):
    """Archive ``launch`` through the service its owner uses (so the ledger records it)."""
    from readiness.services import fact_version, launch_archive

    archived = launch_archive(actor=launch.owner, launch=launch, seen_version=fact_version(launch), reason="Shelved")
    launch.archived = archived.archived
    return launch


def read_back(world: dict) -> dict:
    """``world`` (names to model instances, built once per module) with each instance read afresh
    from the database, for one test: what an earlier test changed in memory does not reach it, and
    what it changed in the database was rolled back with its savepoint."""
    return {name: type(obj)._default_manager.get(pk=obj.pk) for name, obj in world.items()}


def record_guards() -> dict[str, tuple[str, ...]]:
    """The PostgreSQL triggers that guard the sign-off record, by table, as the migrations of a
    fresh database install them: the ledger's tables (``ledger`` 0001) and the decisions
    (``approvals``' squashed migration)."""
    from importlib import import_module

    return {
        **import_module("ledger.migrations.0001_initial").GUARDED,
        **import_module("approvals.migrations.0001_squashed_0024_move_ledger_out").GUARDED,
    }


# --- what a browser submits ---------------------------------------------------------------------


class _Form(HTMLParser):
    """The named fields of the page's fact form (the one holding ``seen_version`` or the Save button)
    in document order, as a browser would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[list[str]] = []
        self.in_form = False
        self._textarea: list[str] | None = None
        self._select: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method") == "post" and attrs.get("action") is None:
            self.in_form, self.fields = True, []
        elif not self.in_form:
            return
        elif tag == "input" and attrs.get("name") and attrs.get("type") != "checkbox":
            self.fields.append([attrs["name"], attrs.get("value", "")])
        elif tag == "input" and attrs.get("type") == "checkbox" and "checked" in attrs:
            self.fields.append([attrs["name"], attrs.get("value", "on")])
        elif tag == "textarea":
            self._textarea = [attrs["name"], ""]
            self.fields.append(self._textarea)
        elif tag == "select":
            self._select = [attrs["name"], ""]
            self.fields.append(self._select)
        elif tag == "option" and self._select is not None and "selected" in attrs:
            self._select[1] = attrs.get("value", "")
        elif tag == "button" and attrs.get("name"):
            self.fields.append([attrs["name"], attrs.get("value", "")])

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form" and self.in_form:
            self.in_form = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def rendered_form(html: str) -> dict[str, str]:
    parser = _Form()
    parser.feed(html)
    return dict(parser.fields)
