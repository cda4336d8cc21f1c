"""``python -m federation_gateway`` as `make run` starts it: ready, JWKS, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from cryptography.fernet import Fernet

from sen1_stack.broker import free_port

pytestmark = pytest.mark.integration


def test_the_process_serves_its_jwks_and_stops_on_sigterm(pg_dsn: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "POSTGRES_DSN": pg_dsn,
        "SEN1_SECRET_KEY": Fernet.generate_key().decode(),
        "FEDERATION_GATEWAY_HTTP_PORT": str(port),
        "FEDERATION_GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    proc = subprocess.Popen([sys.executable, "-m", "federation_gateway"], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    jwks = httpx.get(f"http://127.0.0.1:{port}/.well-known/jwks.json")
                    if jwks.status_code == 200:
                        break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "gateway not ready in 30 s"
            time.sleep(0.2)
        (key,) = jwks.json()["keys"]
        assert (key["kty"], key["crv"]) == ("OKP", "Ed25519")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
