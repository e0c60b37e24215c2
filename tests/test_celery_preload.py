"""A Celery worker imports the PDF renderer as it starts, so the first report it renders does not
pay for the import (config/celery.py)."""

import subprocess
import sys
from pathlib import Path

from celery.signals import worker_process_init, worker_ready

from config.celery import load_the_report_renderer

ROOT = Path(__file__).resolve().parent.parent


def test_the_renderer_is_loaded_when_a_worker_process_starts_whatever_its_pool():
    receivers = [receiver() for signal in (worker_process_init, worker_ready) for _, receiver in signal.receivers]
    assert receivers.count(load_the_report_renderer) == 2


def test_loading_it_imports_weasyprint_and_the_report_documents():
    code = (
        "import django, sys; django.setup(); from config.celery import load_the_report_renderer; "
        "assert 'weasyprint' not in sys.modules; load_the_report_renderer(); "
        "assert {'weasyprint', 'reports.rendering', 'reports.documents'} <= set(sys.modules); print('loaded')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "loaded", result.stderr
