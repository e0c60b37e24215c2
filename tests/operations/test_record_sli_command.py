"""`manage.py record_sli SLUG FILE.csv`: all rows or none, errors naming line and column."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from operations.models import SliActual
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def yesterday(days=1) -> str:
    return (timezone.localdate() - datetime.timedelta(days=days)).isoformat()


def write(tmp_path, text: str):
    path = tmp_path / "sli.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_it_records_every_row_and_prints_them(launch, tmp_path, capsys):
    path = write(
        tmp_path,
        f"date,indicator,value\n{yesterday()},success_rate,99.61\n{yesterday()},latency_p95,1840\n"
        f"{yesterday(2)},cost,312.4\n",
    )
    call_command("record_sli", launch.slug, path)
    out = capsys.readouterr().out
    assert "Recorded 3 value(s)" in out and "cost_daily" in out and "99.61" in out
    assert set(SliActual.objects.values_list("indicator", "source")) == {
        ("success_rate", "command"),
        ("latency_p95", "command"),
        ("cost_daily", "command"),
    }
    assert SliActual.objects.first().recorded_by == launch.owner


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2026-13-01,success_rate,99", "Line 3, column date"),
        ("{day},uptime,99", "Line 3, column indicator"),
        ("{day},latency_p95,fast", "Line 3, column value"),
        ("{day},success_rate,120", "Line 3: value: Success rate (%): enter a percentage between 0 % and 100 %"),
        ("{day},success_rate", "Line 3: expected 3 columns"),
    ],
)
def test_one_bad_row_saves_nothing_and_names_its_line_and_column(launch, tmp_path, row, message):
    path = write(tmp_path, f"date,indicator,value\n{yesterday()},latency_p95,1200\n{row.format(day=yesterday())}\n")
    with pytest.raises(CommandError) as failed:
        call_command("record_sli", launch.slug, path)
    assert message in str(failed.value)
    assert "nothing recorded" in str(failed.value)
    assert not SliActual.objects.exists()


def test_a_wrong_header_is_refused(launch, tmp_path):
    with pytest.raises(CommandError, match="header must be exactly date,indicator,value"):
        call_command("record_sli", launch.slug, write(tmp_path, "day,sli,value\n"))


def test_someone_not_allowed_is_refused(launch, tmp_path):
    stranger = UserFactory(username="mallory")
    path = write(tmp_path, f"date,indicator,value\n{yesterday()},success_rate,99\n")
    with pytest.raises(CommandError, match="mallory may not record"):
        call_command("record_sli", launch.slug, path, "--as", "mallory")
    assert stranger and not SliActual.objects.exists()


def test_an_unknown_launch_is_an_error(db, tmp_path):
    with pytest.raises(CommandError, match="Unknown launch"):
        call_command("record_sli", "nope", write(tmp_path, "date,indicator,value\n"))


def test_the_command_exits_non_zero(launch, tmp_path):
    """Run as a process would: a CommandError is exit status 1."""
    path = write(tmp_path, "date,indicator,value\nbad,success_rate,1\n")
    with pytest.raises(SystemExit) as exited:
        from django.core.management import ManagementUtility

        ManagementUtility(["manage.py", "record_sli", launch.slug, path]).execute()
    assert exited.value.code == 1
