"""The ledger's anchors (ledger.anchors, docs/ledger-anchor.md): the head copied after each commit to
the sinks the operator chose — a log line, a file per server, a key per head on a real S3-compatible
server (moto, started here) — merged by ``verify_ledger --anchors``; and a sink that fails never
turns a committed action into an error: it is logged, remembered, and mended by the periodic task."""

from __future__ import annotations

import gzip
import json
import logging
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse

from approvals.models import SignoffDecision
from config.env import env_anchor_sinks, env_http_url, env_server_id
from ledger.anchors import anchor_status
from ledger.chain import append
from ledger.events import LedgerEvent
from ledger.models import AnchorStatus, LedgerEntry, LedgerHead
from ledger.tasks import anchor_ledger_head
from tests.builders import launch_at, ready_launch, request_for
from tests.ledger.anchor_servers import CREDENTIALS, REGION, MotoServer, free_port
from tests.ledger.helpers import verify_ledger
from tests.ledger.test_tampering import past_the_triggers


def head() -> tuple[int, str]:
    row = LedgerHead.objects.get(pk=1)
    return row.sequence, row.entry_hash


def anchor_command(*args: str) -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("anchor_ledger_head", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, err.getvalue()
    except CommandError as error:
        return error.returncode, str(error)
    return 0, out.getvalue()


@pytest.fixture
def sinks(settings):
    """Set the sinks (LEDGER_ANCHOR) for the test; nothing else anchors."""
    settings.LEDGER_ANCHOR_FILE = ""

    def use(*specs: str) -> None:
        settings.LEDGER_ANCHOR = list(specs)

    use()
    return use


@pytest.fixture
def s3_env(monkeypatch, settings):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return settings


@pytest.fixture
def moto(tmp_path, s3_env):
    """Starts moto's S3 server on a port of our range (``start()``; ``start(port)`` on that one)."""
    started = []

    def start(port: int | None = None) -> MotoServer:
        server = MotoServer(port or free_port(), tmp_path / f"moto-{len(started)}.log")
        started.append(server)
        s3_env.LEDGER_ANCHOR_S3_ENDPOINT_URL = server.url
        return server

    yield start
    for server in started:
        server.stop()


# --- the file sink: one file per server ---------------------------------------------------------


@pytest.mark.django_db
def test_each_commit_anchors_its_newest_head_in_this_server_s_own_file(
    sinks, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.SERVER_ID = "web-1"
    sinks(f"file:{tmp_path}/anchor-{{server}}.log")
    with django_capture_on_commit_callbacks(execute=True):
        launch_at("Internal", slug="anchored")
    lines = (tmp_path / "anchor-web-1.log").read_text().splitlines()
    sequence, entry_hash = head()
    assert lines[-1] == f"{sequence} {entry_hash}"
    # One line per transaction, not per entry: the newest head covers the entries before it.
    assert 1 < len(lines) < LedgerEntry.objects.count()
    assert verify_ledger("--anchors", str(tmp_path / "anchor-web-1.log"))[0] == 0

    last = LedgerEntry.objects.order_by("-sequence").first()
    with past_the_triggers():
        LedgerEntry.objects.filter(pk=last.pk)._raw_delete(connection.alias)
        LedgerHead.objects.filter(pk=1).update(sequence=last.sequence - 1, entry_hash=last.previous_hash)
    code, _, err = verify_ledger("--anchors", str(tmp_path))
    assert code == 1
    assert f"anchored entry #{last.sequence}" in err


@pytest.mark.django_db
def test_the_files_of_several_servers_are_merged_from_their_folder(
    sinks, settings, tmp_path, django_capture_on_commit_callbacks
):
    sinks(f"file:{tmp_path}/anchors/anchor-{{server}}.log")
    (tmp_path / "anchors").mkdir()
    launch = ready_launch(slug="two-servers")
    for server, function in (("web-1", "legal"), ("web-2", "security")):
        settings.SERVER_ID = server
        with django_capture_on_commit_callbacks(execute=True):
            request_for(launch, launch.owner, function)
    files = sorted(path.name for path in (tmp_path / "anchors").iterdir())
    assert files == ["anchor-web-1.log", "anchor-web-2.log"]
    code, out, _ = verify_ledger("--anchors", str(tmp_path / "anchors"))
    assert code == 0
    assert f"2 checked, the newest #{head()[0]}" in out
    # The same sources named twice, and as files and folder together, are deduplicated.
    code, out, _ = verify_ledger("--anchors", str(tmp_path / "anchors"), str(tmp_path / "anchors/anchor-web-1.log"))
    assert (code, "2 checked" in out) == (0, True)


def test_a_legacy_anchor_file_is_one_more_file_sink(sinks, settings, tmp_path):
    from ledger.anchors import configured_sinks

    sinks("log")
    settings.LEDGER_ANCHOR_FILE = str(tmp_path / "legacy.txt")
    assert [sink.spec for sink in configured_sinks()] == ["log", f"file:{tmp_path}/legacy.txt"]


# --- the log sink: a line the log pipeline keeps, plain or JSON -----------------------------------


@pytest.mark.django_db
def test_the_log_line_is_read_back_from_a_plain_log_and_from_json_records(
    sinks, settings, tmp_path, caplog, django_capture_on_commit_callbacks
):
    settings.SERVER_ID = "web-3"
    sinks("log")
    with caplog.at_level(logging.INFO, logger="preflight.ledger.anchor"):
        with django_capture_on_commit_callbacks(execute=True):
            ready_launch(slug="logged")
    records = [r for r in caplog.records if r.name == "preflight.ledger.anchor"]
    sequence, entry_hash = head()
    assert records[-1].levelno == logging.INFO
    assert records[-1].getMessage() == f"ledger anchor seq={sequence} hash={entry_hash} server=web-3"

    plain = tmp_path / "app.log"
    plain.write_text(
        "INFO django.server GET / 200\n"
        + "".join(f"{r.levelname} {r.name} {r.getMessage()}\n" for r in records)
        + "WARNING something else entirely\n"
    )
    as_json = tmp_path / "app.json.log.gz"
    with gzip.open(as_json, "wt") as file:
        for record in records:
            file.write(json.dumps({"level": record.levelname, "logger": record.name, "message": record.getMessage()}))
            file.write("\n")
    for source in (plain, as_json):
        code, out, _ = verify_ledger("--anchors", str(source))
        assert code == 0, source
        assert f"the newest #{sequence}" in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("12 not-a-hash\n", "expected 'SEQUENCE HASH'"),
        ("", "holds no ledger anchor"),
        ("INFO nothing about the ledger\n", "expected 'SEQUENCE HASH'"),
    ],
)
def test_a_source_that_is_not_anchors_is_refused_not_skipped(tmp_path, content, problem):
    source = tmp_path / "anchors.txt"
    source.write_text(content)
    with pytest.raises(CommandError, match=problem) as refused:
        call_command("verify_ledger", "--anchors", str(source))
    assert refused.value.returncode == 2


@pytest.mark.django_db
def test_a_missing_source_is_refused(tmp_path):
    with pytest.raises(CommandError, match="cannot read") as refused:
        call_command("verify_ledger", "--anchors", str(tmp_path / "nowhere.log"))
    assert refused.value.returncode == 2


# --- the object store: a key per head on a real S3-compatible server -------------------------------


@pytest.mark.django_db
def test_each_head_is_a_key_in_the_object_store_and_verify_reads_the_prefix(
    sinks, moto, django_capture_on_commit_callbacks
):
    server = moto()
    server.client().create_bucket(Bucket="preflight-anchors")
    sinks("s3://preflight-anchors/prod/ledger")
    with django_capture_on_commit_callbacks(execute=True):
        ready_launch(slug="in-the-bucket")
    sequence, entry_hash = head()
    listed = server.client().list_objects_v2(Bucket="preflight-anchors")["Contents"]
    keys = [item["Key"] for item in listed]
    assert f"prod/ledger/{sequence:012d}-{entry_hash}" in keys
    assert all(key.startswith("prod/ledger/") for key in keys)
    body = server.client().get_object(Bucket="preflight-anchors", Key=f"prod/ledger/{sequence:012d}-{entry_hash}")
    assert body["Body"].read().decode() == f"{sequence} {entry_hash}\n"
    code, out, _ = verify_ledger("--anchors", "s3://preflight-anchors/prod/ledger/")
    assert (code, f"the newest #{sequence}" in out) == (0, True)

    server.client().put_object(Bucket="preflight-anchors", Key="prod/ledger/README", Body=b"hello")
    with pytest.raises(CommandError, match="is not an anchor") as refused:
        call_command("verify_ledger", "--anchors", "s3://preflight-anchors/prod/ledger/")
    assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="holds no ledger anchor"):
        call_command("verify_ledger", "--anchors", "s3://preflight-anchors/elsewhere/")


# --- a sink that fails: the action succeeds, the failure is logged and mended -----------------------


def decide_through_the_page(client, signoff) -> int:
    addressee = signoff.addressees.get()
    client.force_login(addressee)
    shown = client.get(reverse("web:decide", args=[signoff.pk])).context["form"].initial["fingerprint"]
    return client.post(reverse("web:decide", args=[signoff.pk]), {"outcome": "approve", "fingerprint": shown})


def assert_failure_reported_then_mended(client, caplog, signoff, mend, sources: list[str]) -> None:
    with caplog.at_level(logging.INFO, logger="preflight.ledger.anchor"):
        response = decide_through_the_page(client, signoff)
    assert response.status_code == 302  # the decision committed, and says so
    assert SignoffDecision.objects.filter(request=signoff).count() == 1
    assert LedgerEntry.objects.filter(event=LedgerEvent.DECIDED, payload__request=signoff.pk).count() == 1
    failures = [r for r in caplog.records if r.name == "preflight.ledger.anchor" and r.levelno == logging.ERROR]
    assert failures and "ledger anchor FAILED" in failures[0].getMessage()
    state = anchor_status()
    assert state.behind and state.failing_since is not None and state.lag > 0
    assert anchor_command()[0] == 1  # still failing: the command says so

    mend()
    assert anchor_ledger_head.delay().get()["written"] is True
    state = anchor_status()
    assert (state.lag, state.failing_since, state.last_error) == (0, None, "")
    assert state.anchored_sequence == head()[0]
    code, out, _ = verify_ledger("--anchors", *sources)
    assert (code, f"the newest #{head()[0]}" in out) == (0, True)
    assert anchor_ledger_head.delay().get()["written"] is False  # nothing behind: nothing written


@pytest.mark.django_db(transaction=True)
def test_an_unwritable_anchor_file_never_fails_a_decision_and_is_mended_when_writable(
    client, sinks, settings, tmp_path, caplog
):
    launch = ready_launch(slug="unwritable")
    signoff = request_for(launch, launch.owner, "legal")
    # Where the folder should be is a file (a read-only mode would not stop root, who runs CI).
    (tmp_path / "anchors").write_text("not a folder")
    settings.SERVER_ID = "web-1"
    sinks("log", f"file:{tmp_path}/anchors/anchor-{{server}}.log")

    def mend():
        (tmp_path / "anchors").unlink()
        (tmp_path / "anchors").mkdir()

    assert_failure_reported_then_mended(client, caplog, signoff, mend, [str(tmp_path / "anchors")])
    assert AnchorStatus.objects.get().last_error == ""


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_object_store_never_fails_a_decision_and_is_mended_when_back(
    client, sinks, moto, s3_env, caplog
):
    launch = ready_launch(slug="store-down")
    signoff = request_for(launch, launch.owner, "legal")
    port = free_port()  # nothing listens there yet: connections are refused
    s3_env.LEDGER_ANCHOR_S3_ENDPOINT_URL = f"http://127.0.0.1:{port}"
    sinks("s3://anchors/preflight/")

    def mend():
        moto(port).client().create_bucket(Bucket="anchors")

    assert_failure_reported_then_mended(client, caplog, signoff, mend, ["s3://anchors/preflight/"])


# --- the command, the scope of one transaction, the settings ---------------------------------------


@pytest.mark.django_db
def test_the_command_writes_only_when_behind_unless_forced(sinks, tmp_path, django_capture_on_commit_callbacks):
    assert anchor_command() == (2, "No anchor sink is configured: set LEDGER_ANCHOR (docs/ledger-anchor.md).")
    with django_capture_on_commit_callbacks(execute=False):
        ready_launch(slug="never-anchored")  # as if the server died between the commit and the write
    anchors = tmp_path / "anchors.txt"
    sinks(f"file:{anchors}")
    code, out = anchor_command()
    sequence, entry_hash = head()
    assert (code, out.strip()) == (0, f"Anchored head #{sequence} to file:{anchors}.")
    assert anchors.read_text() == f"{sequence} {entry_hash}\n"
    code, out = anchor_command()
    assert (code, out.startswith(f"Nothing to do: head #{sequence} is anchored")) == (0, True)
    assert anchor_command("--force")[0] == 0
    assert anchors.read_text().count(f"{sequence} {entry_hash}") == 2


@pytest.mark.django_db
def test_a_head_rolled_back_with_its_savepoint_is_never_anchored(sinks, tmp_path, django_capture_on_commit_callbacks):
    anchors = tmp_path / "anchors.txt"
    sinks(f"file:{anchors}")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        kept = append(event=LedgerEvent.FACT_RECORDED, launch=None, actor=None, payload={"facts": []})
        try:
            with transaction.atomic():
                append(event=LedgerEvent.FACT_RECORDED, launch=None, actor=None, payload={"facts": []})
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert anchors.read_text() == f"{kept.sequence} {kept.entry_hash}\n"
    assert head() == (kept.sequence, kept.entry_hash)


@pytest.mark.parametrize(
    "value",
    ["file:relative/path", "s3://", "s3://UPPER/x", "ftp://host/x", "logs", "log,,file"],
)
def test_a_malformed_sink_stops_the_server_at_start(monkeypatch, value):
    monkeypatch.setenv("LEDGER_ANCHOR", value)
    with pytest.raises(ImproperlyConfigured, match="LEDGER_ANCHOR"):
        env_anchor_sinks("LEDGER_ANCHOR", "")


def test_well_formed_sinks_and_the_defaults_are_read(monkeypatch):
    monkeypatch.setenv("LEDGER_ANCHOR", " log, file:/var/lib/preflight/anchor-{server}.log ,s3://bucket-1/p/")
    assert env_anchor_sinks("LEDGER_ANCHOR", "") == [
        "log",
        "file:/var/lib/preflight/anchor-{server}.log",
        "s3://bucket-1/p/",
    ]
    monkeypatch.delenv("LEDGER_ANCHOR")
    assert env_anchor_sinks("LEDGER_ANCHOR", "log") == ["log"]
    assert env_anchor_sinks("LEDGER_ANCHOR", "") == []


@pytest.mark.parametrize("value", ["web 1", "../etc", "x" * 64])
def test_a_server_id_that_cannot_name_a_file_is_refused(monkeypatch, value):
    monkeypatch.setenv("SERVER_ID", value)
    with pytest.raises(ImproperlyConfigured, match="SERVER_ID"):
        env_server_id("SERVER_ID", "host")


def test_the_server_id_defaults_to_the_host_and_the_endpoint_must_be_http(monkeypatch):
    monkeypatch.delenv("SERVER_ID", raising=False)
    assert env_server_id("SERVER_ID", "web-7.example") == "web-7.example"
    monkeypatch.setenv("LEDGER_ANCHOR_S3_ENDPOINT_URL", "minio:9000")
    with pytest.raises(ImproperlyConfigured, match="LEDGER_ANCHOR_S3_ENDPOINT_URL"):
        env_http_url("LEDGER_ANCHOR_S3_ENDPOINT_URL")
    monkeypatch.setenv("LEDGER_ANCHOR_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    assert env_http_url("LEDGER_ANCHOR_S3_ENDPOINT_URL") == "http://127.0.0.1:9000"
