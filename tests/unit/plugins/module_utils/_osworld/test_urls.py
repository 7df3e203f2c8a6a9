"""urls.py: one form of the VMs' URLs, and the wait for their backends (probed at /platform)."""
from __future__ import annotations

import http.server
import threading

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.urls import backend_url, http_probe, vnc_url, wait_for_backends
from tests.support.scripted_aws import FakeClock


def test_urls_only_for_known_addresses() -> None:
    assert vnc_url("203.0.113.9") == "http://203.0.113.9:5910/vnc.html"
    assert backend_url("10.0.0.5") == "http://10.0.0.5:5000"
    assert vnc_url(None) is None and backend_url("") is None


def test_backend_wait_probes_platform_until_ready_or_timeout() -> None:
    seen: list[str] = []
    ready_after = {"http://10.0.0.4:5000": 1, "http://10.0.0.5:5000": 3}

    def probe(url: str, timeout: float) -> bool:
        seen.append(url)
        base = url.removesuffix("/platform")
        ready_after[base] -= 1
        return ready_after[base] <= 0

    clock = FakeClock()
    wait_for_backends(list(ready_after), 60, probe, clock.sleep, clock, interval=5)
    assert all(url.endswith("/platform") for url in seen)
    assert len(seen) == 4 and clock.sleeps == [5, 5]

    clock = FakeClock()
    with pytest.raises(OSWorldError, match="backend not answering after 7 s on http://10.0.0.9:5000"):
        wait_for_backends(["http://10.0.0.9:5000"], 7, lambda url, timeout: False, clock.sleep, clock, interval=5)


def test_http_probe_is_true_only_for_an_answering_backend() -> None:
    class Platform(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200 if self.path == "/platform" else 404)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"Linux")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Platform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert http_probe(f"{base}/platform", 2) is True
        assert http_probe(f"{base}/other", 2) is False
    finally:
        server.shutdown()
        server.server_close()
    assert http_probe(f"{base}/platform", 1) is False
