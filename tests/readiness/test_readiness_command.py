import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from readiness.models import Launch
from tests.builders import advance_to, approve_signoffs, ready_launch
from tests.helpers import archive

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """A ready launch, slug ``assistant``, built once per module."""
    return ready_launch(slug="assistant").pk


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    """The module's launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=shared_launch)


def run(*args):
    """Run the command; return (exit code, stdout)."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("readiness", *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


@pytest.fixture(scope="class")
def approved_once(request, class_savepoint, shared_launch) -> None:
    """The sign-offs of the class's ``STAGE`` requested and approved, once for its tests (see
    ``class_savepoint``)."""
    approve_signoffs(Launch.objects.select_related("owner").get(pk=shared_launch), request.cls.STAGE)


@pytest.mark.usefixtures("approved_once")
class TestInternalApproved:
    """Internal's sign-offs approved: the launch may enter it."""

    STAGE = "Internal"

    def test_ready_launch_may_enter_its_next_stage_and_exits_0(self, launch):
        code, out = run("assistant")
        assert code == 0
        assert "checking entry to Internal" in out
        assert "READY: may enter Internal." in out
        assert "[PASS]  3. Responsibilities (RACI)" in out

    def test_stage_option_finds_the_stage_by_name_or_kind(self, launch):
        for stage in ("internal", "Internal", "INTERNAL"):
            code, out = run("assistant", "--stage", stage)
            assert code == 0
            assert "READY: may enter Internal." in out


@pytest.mark.usefixtures("approved_once")
class TestBetaApproved:
    """Beta's own checklist passes; only the order keeps the launch out of it."""

    STAGE = "Beta"

    def test_a_stage_that_is_not_the_next_one_exits_1_naming_the_next_stage(self, launch):
        code, out = run("assistant", "--stage", "beta")
        assert code == 1
        assert "Beta is not the next stage; stages are entered in order and the next one is Internal." in out
        assert "BLOCKED: may not enter Beta (1 blocking)." in out

    def test_what_if_evaluates_a_later_stage_on_its_checklist_alone(self, launch):
        code, out = run("assistant", "--stage", "beta", "--what-if")
        assert code == 0
        assert "checking entry to Beta as if it were the next stage (--what-if)" in out
        assert "READY: may enter Beta." in out

        launch.rollback_plan.delete()
        code, out = run("assistant", "--stage", "beta", "--what-if")
        assert code == 1
        assert "No rollback plan is recorded." in out
        assert "not the next stage" not in out


def test_blocked_launch_exits_1_and_names_what_blocks(launch):
    launch.data_assets.filter(name="Support tickets").update(masked_in_logs=False)
    approve_signoffs(launch, "Internal")
    code, out = run("assistant")
    assert code == 1
    assert "[FAIL]  6. PII policy" in out
    assert "PII asset 'Support tickets' is not masked in logs." in out
    assert "BLOCKED: may not enter Internal (1 blocking)." in out


def test_the_current_stage_is_not_the_next_one_either(launch):
    advance_to(launch, "Beta")
    code, out = run("assistant", "--stage", "beta")
    assert code == 1
    assert (
        "Beta is not the next stage: it is the current stage (the next one is Full); to go back, roll back instead."
        in out
    )


def test_the_command_answers_exactly_what_the_stage_gate_would_do(launch):
    from approvals.services import GateRefused, stage_advance

    launch = advance_to(launch, "Internal")
    approve_signoffs(launch, "Beta")
    for target in ("Internal", "Beta", "Full"):
        code, out = run("assistant", "--stage", target)
        with transaction.atomic():
            try:
                stage_advance(actor=launch.owner, launch=launch, stage=launch.stages.get(name=target))
                gate_allows = True
            except GateRefused as refused:
                gate_allows = False
                for line in refused.messages:  # the command prints every reason the gate gives
                    assert line.removeprefix(f"May not enter {target}: ").split(": ")[-1] in out
            transaction.set_rollback(True)  # only asking
        assert (code == 0) == gate_allows, target
        assert gate_allows == (target == "Beta"), target


def test_json_output_is_machine_readable(launch):
    launch.rollback_plan.delete()
    approve_signoffs(launch, "Full")
    code, out = run("assistant", "--stage", "full", "--what-if", "--json")
    data = json.loads(out)
    assert code == 1
    assert data["launch"] == "assistant" and data["stage"] == "Full" and data["may_enter"] is False
    assert data["what_if"] is True
    assert data["blockers"] == ["rollback_plan"]
    assert data["refusals"] == []
    item = next(item for item in data["items"] if item["key"] == "rollback_plan")
    assert item == {
        "key": "rollback_plan",
        "number": 9,
        "title": "Rollback procedure",
        "status": "fail",
        "gating": True,
        "reasons": ["No rollback plan is recorded."],
    }


def test_archived_launch_may_not_enter_any_stage(launch):
    archive(launch)
    code, out = run("assistant")
    assert code == 1
    assert "The launch is archived." in out


def test_json_output_names_the_refusals_outside_the_checklist(launch):
    code, out = run("assistant", "--stage", "full", "--json")
    data = json.loads(out)
    assert code == 1
    assert data["may_enter"] is False and data["what_if"] is False
    assert data["refusals"] == ["Full is not the next stage; stages are entered in order and the next one is Internal."]


def test_at_the_final_stage_there_is_no_stage_to_enter_and_what_if_rechecks_the_final_stage(launch):
    advance_to(launch, "Full")
    code, out = run("assistant")
    assert code == 1
    assert "now in Full; there is no stage to enter" in out
    assert "The launch is in its final stage, Full: there is no stage to enter." in out
    assert "BLOCKED: there is no stage to enter." in out

    code, out = run("assistant", "--what-if")
    assert code == 0
    assert "now in Full; checking entry to Full as if it were the next stage (--what-if)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("missing",), "Unknown launch 'missing'."),
        (
            ("assistant", "--stage", "gamma"),
            "Launch 'assistant' has no stage 'gamma'. Its stages: Internal, Beta, Full.",
        ),
    ],
)
def test_unknown_launch_or_stage_exits_2_with_a_clear_message(launch, args, message):
    with pytest.raises(CommandError) as error:
        call_command("readiness", *args)
    assert error.value.returncode == 2
    assert str(error.value) == message


def sqlite_database_with_every_table(path) -> None:
    """Create a SQLite database file at ``path`` with a table for every model, built from the models
    as the SQLite test database is. (Running ``manage.py migrate`` in a second process to get there
    took most of this module's time; the migrations are proven by ``makemigrations --check`` and the
    PostgreSQL pass.)"""
    from django.apps import apps
    from django.db.utils import ConnectionHandler

    connection = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}})["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")  # a scratch file: no waiting for the disk on each statement
        # Not atomic: the schema editor's transaction would be opened on connections["default"], the test database.
        with connection.schema_editor(atomic=False) as editor:
            for model in apps.get_models():
                if model._meta.managed and not model._meta.proxy:
                    editor.create_model(model)
    finally:
        connection.close()


def test_unknown_launch_exits_2_from_the_shell(tmp_path):
    """The real process exit status, as a pipeline sees it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    database = tmp_path / "db.sqlite3"
    sqlite_database_with_every_table(database)
    env = os.environ | {"DATABASE_URL": f"sqlite:///{database}"}
    manage = [sys.executable, "manage.py"]
    result = subprocess.run([*manage, "readiness", "no-such-launch"], cwd=root, capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "Unknown launch 'no-such-launch'." in result.stderr
