# Preflight's container image (docs/deploy.md). One image for every process: the command is
# bin/start's subcommand (web, the default; worker; beat; migrate).
#
#   docker build -t preflight .
#
# BASE_IMAGE is plain Debian so that the same file builds from a registry's debian image or from
# one made locally with debootstrap (docs/deploy.md, "Tested how").
ARG BASE_IMAGE=debian:bookworm-slim

# --- builder: compiles whatever has no wheel, into wheels, and installs them in a venv ---------
FROM ${BASE_IMAGE} AS builder
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python3-dev build-essential \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
# The runtime part of requirements.txt: everything above its "# Tests" line.
RUN sed '/^# Tests/,$d' /tmp/requirements.txt > /tmp/runtime.txt \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip wheel --no-cache-dir --wheel-dir /wheels -r /tmp/runtime.txt \
 && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels -r /tmp/runtime.txt

# --- the image: Python, WeasyPrint's libraries, the app; no compilers -------------------------
FROM ${BASE_IMAGE}
# Pango (with HarfBuzz's subsetter and fontconfig) is what WeasyPrint draws with. The fonts the
# reports and pages use are the project's own (reports/static/reports/fonts, web/static/web/fonts),
# loaded through @font-face, so no system font is needed.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 preflight \
 && useradd --system --uid 10001 --gid preflight --home-dir /app --no-create-home --shell /usr/sbin/nologin preflight \
 && install -d -o preflight -g preflight /var/lib/preflight /var/lib/preflight/anchors
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHON=/opt/venv/bin/python \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STATIC_ROOT=/app/staticfiles \
    COLLECTSTATIC_ON_START=0 \
    CELERY_BEAT_SCHEDULE_FILE=/var/lib/preflight/celerybeat-schedule \
    PORT=8000 \
    XDG_CACHE_HOME=/tmp/.cache
WORKDIR /app
# The code belongs to root: the app's user reads it and cannot change it.
COPY . /app
# Static files are collected (hashed, compressed) once, here; the keys only let settings load
# with DEBUG off and are thrown away with this step.
RUN DEBUG=0 SITE_URL=https://build.invalid SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
        LEDGER_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(40))')" \
        python manage.py collectstatic --noinput --verbosity 0 \
 && python -m compileall -q /app
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["bin/start"]
CMD ["web"]
