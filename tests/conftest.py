import functools
import gc
import os
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from django.utils import translation

from tests.factories import UserFactory


def pytest_configure(config):
    """On SQLite (the default), build the test database straight from the models: the migrations
    hold nothing SQLite runs but the schema, which ``make test`` proves complete with
    ``makemigrations --check``. On PostgreSQL the migrations run, triggers and all."""
    if not os.environ.get("DATABASE_URL"):
        config.option.nomigrations = True
    # The ORM allocates many short-lived objects and few cycles: with CPython's default thresholds
    # the cyclic collector runs every 700 net allocations, and its full passes walk everything the
    # project imported. Freezing what is loaded by now and collecting less often saves about a
    # tenth of the suite's CPU for a few tens of MB per worker.
    gc.freeze()
    gc.set_threshold(200_000, 50, 1000)


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """PBKDF2 is deliberately slow; tests hash dozens of demo passwords. Session-wide, so that the
    worlds built once per module (outside any test's ``settings``) hash quickly too."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(scope="session", autouse=True)
def static_files_listed_once():
    """Django's test client builds the middleware afresh for each client, so for nearly every test,
    and WhiteNoise's then lists and stats every static file the finders know (with DEBUG off, as
    tests run; a deployment builds it once per process): about a twentieth of the CPU of a module of
    page tests. The files do not change during a run, so each listing is made once per set of the
    settings it depends on and the files it found are given to later middlewares as they are."""
    from whitenoise.middleware import WhiteNoiseMiddleware

    original = WhiteNoiseMiddleware.add_files_from_finders
    listed: dict[tuple, dict] = {}

    def add_files_from_finders(self):
        key = (
            self.static_prefix,
            self.max_age,  # DEBUG's, unless set
            tuple((name, repr(getattr(settings, name))) for name in dir(settings) if name.startswith("WHITENOISE_")),
            tuple(settings.INSTALLED_APPS),
            tuple(map(str, getattr(settings, "STATICFILES_DIRS", ()))),
            tuple(settings.STATICFILES_FINDERS),
        )
        if key not in listed:
            before = dict(self.files)
            original(self)
            listed[key] = {url: file for url, file in self.files.items() if before.get(url) is not file}
        for url, file in listed[key].items():
            self.files.setdefault(url, file)

    WhiteNoiseMiddleware.add_files_from_finders = add_files_from_finders
    yield
    WhiteNoiseMiddleware.add_files_from_finders = original


@pytest.fixture(scope="module", autouse=True)
def english_for_each_module():
    """Tests run in English. A request leaves its language active in the thread, and labels are
    lazy: without this a Korean page in one module would name the next module's world in Korean."""
    translation.activate(settings.LANGUAGE_CODE)
    yield


@pytest.fixture(autouse=True)
def english_for_each_test():
    translation.activate(settings.LANGUAGE_CODE)
    yield


def _transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or "transactional_db" in item.fixturenames


@pytest.fixture(scope="module")
def module_transaction(request, django_db_setup, django_db_blocker):
    """A transaction open for the whole module, rolled back at its end; yields True. A module-scoped
    fixture that depends on it builds its world once, inside it; each test then runs in a savepoint
    of its own and reads the world back from the database (like ``setUpTestData``).

    A module with transactional tests (``transaction=True``, threads, a live server) gets no such
    transaction (it yields False): those tests run right after the others of their module (pytest-
    django puts them last, and xdist's ``--dist loadfile`` keeps a module together), and must not
    find a transaction open. Its world fixtures then build afresh for each test."""
    if any(_transactional(item) for item in request.session.items if item.module is request.module):
        yield False
        return
    # In English, whatever an earlier test of the module left active: a world's names are made
    # from lazy labels (``team_for``), and a Korean page leaves its language in the thread.
    translation.activate(settings.LANGUAGE_CODE)
    with django_db_blocker.unblock(), transaction.atomic():
        yield True
        transaction.set_rollback(True)


@pytest.fixture(scope="class")
def class_savepoint(request, module_transaction, django_db_blocker):
    """A savepoint of the module's transaction (see ``module_transaction``) around the tests of one
    class, rolled back after its last test: a class-scoped fixture that depends on it writes the
    state the class's tests start from once, and each test, in a savepoint of its own inside it,
    reads that state back. Only for tests in a class, in a module without transactional tests."""
    assert request.cls is not None, "a class savepoint outside a class would outlive the test"
    assert module_transaction, "a module with transactional tests has no module transaction to nest in"
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def pm(db):
    return UserFactory(username="pam", first_name="Pam", last_name="Manager")


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture(scope="session", autouse=True)
def flush_past_the_ledger_guards():
    """On PostgreSQL, triggers refuse TRUNCATE of the sign-off record, which is how Django empties
    the database after a transactional test. The tests' flush (and only theirs) lifts the guards for
    its own statement, as the tables' owner, and puts them back in the same transaction."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    from tests.helpers import record_guards

    guarded = record_guards()
    lift = [f"ALTER TABLE {table} DISABLE TRIGGER {name}" for table, names in guarded.items() for name in names]
    restore = [
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}" for table, names in guarded.items() for name in names
    ]
    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        original(self, [*lift, *sql_list, *restore])

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = original


_PROJECT = Path(__file__).resolve().parent.parent
_TESTS = _PROJECT / "tests"
_THIS_FILE = Path(__file__).resolve()


@functools.cache
def _whose(filename: str) -> str | None:
    """``"tests"``, ``"this file"`` (this conftest) or ``"app"`` for a file of this project; None
    for anything else (the standard library, the virtualenv). Cached: every save of a sealed model
    walks the stack."""
    path = Path(filename)
    if not path.is_relative_to(_PROJECT) or ".venv" in path.parts:
        return None
    if path == _THIS_FILE:
        return "this file"
    return "tests" if path.is_relative_to(_TESTS) else "app"


def _saved_by_a_test() -> bool:
    """The nearest caller in this project's own files is test code (a test, a factory, a builder),
    not the application: a service that saved a sealed fact without recording it must still fail
    ``verify_ledger`` in the tests, as it would in production."""
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        whose = _whose(code.co_filename)
        # A model's own save(), not its caller.
        own_save = code.co_name == "save" and code.co_filename.endswith(f"{os.sep}models.py")
        this_hook = whose == "this file" and code.co_name == "record"
        if whose is not None and not this_hook and not own_save:
            return whose != "app"
        frame = frame.f_back
    return False


@pytest.fixture(scope="session", autouse=True)
def direct_saves_stand_for_services():
    """A test that sets up a fact with a plain ``save()`` (a factory, ``fact.save()``) stands for a
    service writing it: the row is recorded in the ledger as ``save_with_history`` would
    (readiness.recording's sealed facts). ``QuerySet.update``, raw SQL and deletes are not: those
    are how the tampering tests rewrite rows behind the services' back."""
    from django.db import transaction
    from django.db.models.signals import post_save

    from readiness.recording import record_facts, sealed
    from tests.factories import pending_seals

    def record(sender, instance, raw=False, **kwargs):
        spec = sealed(sender)
        if raw or spec is None or getattr(instance, "_change_reason", None) is not None:
            return  # not sealed, or save_with_history records it itself
        if not _saved_by_a_test():
            return  # the project's own code must record what it saves: never cover for it here
        pending = pending_seals()
        if pending is not None:  # a builder records its rows together (tests.factories.recorded_together)
            pending[sender, instance.pk] = instance
            return
        with transaction.atomic():
            record_facts(actor=None, launch=spec.launch_of(instance), rows=[instance])

    post_save.connect(record, dispatch_uid="tests_direct_saves_stand_for_services")
    yield
    post_save.disconnect(dispatch_uid="tests_direct_saves_stand_for_services")


@pytest.fixture(autouse=True)
def broker_pause_forgotten():
    """A test that refused a broker connection leaves no pause behind for the next (postcommit)."""
    from readiness.postcommit import broker_pause_reset

    broker_pause_reset()
    yield
    broker_pause_reset()
