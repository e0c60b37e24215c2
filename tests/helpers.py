"""Assertions and request helpers shared by the test modules."""

from html.parser import HTMLParser
from urllib.parse import urlsplit

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


# --- forms, submitted as a browser submits them -----------------------------------------------


class _Control:
    def __init__(self, tag: str, attrs: dict):
        self.tag, self.attrs = tag, attrs
        self.name = attrs.get("name") or ""
        self.type = (attrs.get("type") or ("submit" if tag == "button" else "text")).lower()
        self.options: list[tuple[str, bool]] = []  # a select's (value, selected)
        self.text = ""  # a textarea's content, a button's label

    @property
    def is_button(self) -> bool:
        return (self.tag == "button" and self.type == "submit") or (
            self.tag == "input" and self.type in ("submit", "image")
        )


class _Form:
    def __init__(self, attrs: dict):
        self.attrs = attrs
        self.controls: list[_Control] = []

    def describe(self) -> str:
        return f"<form id={self.attrs.get('id')!r} action={self.attrs.get('action')!r}>"


class _FormParser(HTMLParser):
    """The forms of a page and their controls, as a browser reads them (controls outside a form
    that name it with ``form=`` included)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self.outside: list[_Control] = []
        self._form: _Form | None = None
        self._open: _Control | None = None  # the textarea, button or option being read
        self._select: _Control | None = None
        self._option: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {key: "" if value is None else value for key, value in attrs}
        if tag == "form":
            self._form = _Form(attrs)
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea", "button"):
            control = _Control(tag, attrs)
            if "form" in attrs:
                self.outside.append(control)
            elif self._form is not None:
                self._form.controls.append(control)
            if tag == "select":
                self._select = control
            elif tag in ("textarea", "button"):
                self._open = control
        elif tag == "option" and self._select is not None:
            self._option = [attrs.get("value"), "selected" in attrs, ""]

    def handle_data(self, data):
        if self._option is not None:
            self._option[2] += data
        elif self._open is not None:
            self._open.text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag in ("textarea", "button"):
            if self._open is not None and tag == "textarea" and self._open.text.startswith("\n"):
                self._open.text = self._open.text[1:]  # as the HTML parser drops it
            self._open = None
        elif tag == "option" and self._option is not None:
            value, selected, text = self._option
            self._select.options.append((text.strip() if value is None else value, selected))
            self._option = None
        elif tag == "select":
            self._select = None


def forms_of(html: str) -> list[_Form]:
    parser = _FormParser()
    parser.feed(html)
    by_id = {form.attrs.get("id"): form for form in parser.forms if form.attrs.get("id")}
    for control in parser.outside:
        if control.attrs["form"] in by_id:
            by_id[control.attrs["form"]].controls.append(control)
    return parser.forms


def _chosen_form(forms: list[_Form], which: str, page_path: str) -> _Form:
    """The one form ``which`` names: ``#id``, or the path it submits to (a form without an action
    submits to the page's own ``page_path``)."""
    if which.startswith("#"):
        matching = [form for form in forms if form.attrs.get("id") == which[1:]]
    else:
        matching = [form for form in forms if urlsplit(form.attrs.get("action") or page_path).path == which]
    assert len(matching) == 1, f"{len(matching)} forms match {which!r}; the page has " + ", ".join(
        form.describe() for form in forms
    )
    return matching[0]


def form_data(
    html: str, which: str, *, page_path: str = "", button: str | None = None, **fields
) -> tuple[_Form, list[tuple[str, str]]]:
    """The form ``which`` of ``html`` and the pairs a browser would send from it once a person has
    set ``fields`` (by control name) and clicked ``button`` (a submit button's label, or by default
    the first, as pressing Enter does). What no browser could send is refused: a name the form has
    no control for, a choice its select or radio buttons do not offer."""
    form = _chosen_form(forms_of(html), which, page_path)
    enabled = [control for control in form.controls if "disabled" not in control.attrs]
    names = {control.name for control in enabled if control.name and not control.is_button}
    unknown = set(fields) - names
    assert not unknown, f"{form.describe()} has no control named {sorted(unknown)} (it has {sorted(names)})"
    pairs: list[tuple[str, str]] = []
    for control in enabled:
        name = control.name
        if not name or control.is_button or control.type in ("reset", "button", "file"):
            continue
        given = fields.get(name)
        if control.tag == "select":
            offered = [value for value, _ in control.options]
            if name in fields:
                chosen = given if isinstance(given, list | tuple) else [given]
                chosen = [str(value) for value in chosen]
                assert set(chosen) <= set(offered), f"the select {name!r} offers {offered}, not {chosen}"
            else:
                chosen = [value for value, selected in control.options if selected]
                if not chosen and offered and "multiple" not in control.attrs:
                    chosen = offered[:1]
            pairs += [(name, value) for value in chosen]
        elif control.type in ("checkbox", "radio"):
            value = control.attrs.get("value", "on")
            if name in fields:
                if given is True or given is False:
                    checked = given
                else:
                    chosen = [str(v) for v in (given if isinstance(given, list | tuple) else [given])]
                    offered = [c.attrs.get("value", "on") for c in enabled if c.name == name]
                    assert set(chosen) <= set(offered), f"{name!r} offers {offered}, not {chosen}"
                    checked = value in chosen
            else:
                checked = "checked" in control.attrs
            if checked:
                pairs.append((name, value))
        elif control.tag == "textarea":
            pairs.append((name, str(given) if name in fields else control.text))
        else:
            pairs.append((name, str(given) if name in fields else control.attrs.get("value", "")))
    buttons = [control for control in enabled if control.is_button]
    assert buttons or button is None, f"{form.describe()} has no submit button"
    if buttons:
        if button is None:
            clicked = buttons[0]
        else:
            labelled = [b for b in buttons if button in (b.text.strip() or b.attrs.get("value", ""))]
            assert len(labelled) == 1, f"{len(labelled)} buttons of {form.describe()} read {button!r}"
            clicked = labelled[0]
        if clicked.name:
            pairs.append((clicked.name, clicked.attrs.get("value", "")))
    return form, pairs


def submit(client, response, which: str, *, button: str | None = None, follow: bool = False, **fields):
    """Submit the form ``which`` (``#id`` or the path it submits to) of the page ``response``
    showed, exactly as a browser would: its hidden inputs and defaults, ``fields`` set by name, and
    the clicked ``button``'s own name and value (see ``form_data``). The response to it."""
    page_path = response.request["PATH_INFO"]
    form, pairs = form_data(response.content.decode(), which, page_path=page_path, button=button, **fields)
    action = form.attrs.get("action") or page_path
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    if form.attrs.get("method", "get").lower() == "post":
        return client.post(action, data, follow=follow)
    return client.get(action, data, follow=follow)


def rendered_form(html: str) -> dict[str, str]:
    """What a browser sends from the page's one form that posts back to the page itself (a fact
    form), untouched: its defaults and hidden inputs, and its first submit button."""
    _form, pairs = form_data(html, "/this-page/", page_path="/this-page/")
    return dict(pairs)
