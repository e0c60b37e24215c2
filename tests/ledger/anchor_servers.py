"""A real S3-compatible server for the anchor tests: moto's server mode (``moto[server]``, a test
requirement), started on a free port of 18400-18499 and stopped by the fixture that started it."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import boto3

PORTS = range(18400, 18500)
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "anchor-test", "AWS_SECRET_ACCESS_KEY": "anchor-test-secret"}
REGION = "us-east-1"


def free_port() -> int:
    """A port of the range nobody listens on (random, so parallel test workers rarely collide)."""
    for port in random.sample(PORTS, len(PORTS)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18400-18499")


class MotoServer:
    def __init__(self, port: int, log: Path) -> None:
        binary = shutil.which("moto_server") or str(Path(__file__).resolve().parents[2] / ".venv/bin/moto_server")
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.process.returncode}; see {log}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto_server did not listen on {port} within 30 s; see {log}") from None
                time.sleep(0.1)

    def client(self):
        return boto3.client("s3", endpoint_url=self.url, region_name=REGION)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
