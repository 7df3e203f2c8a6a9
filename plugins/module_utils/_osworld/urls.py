# This module util is PRIVATE to the collection. It may change without notice.
"""How a person and the OSWorld client reach a VM: noVNC from outside, the backend inside the VPC,
and whether that backend answers yet."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.urls import open_url

from .errors import OSWorldError
from .instances import POLL_INTERVAL, Clock, Sleep

VNC_PORT = 5910
BACKEND_PORT = 5000
BACKEND_PROBE_TIMEOUT = 5.0
BACKEND_WORKERS = 32

Probe = Callable[[str, float], bool]


def vnc_url(public_ip: str | None) -> str | None:
    return f"http://{public_ip}:{VNC_PORT}/vnc.html" if public_ip else None


def backend_url(private_ip: str | None) -> str | None:
    return f"http://{private_ip}:{BACKEND_PORT}" if private_ip else None


def http_probe(url: str, timeout: float) -> bool:
    try:
        with open_url(url, method="GET", timeout=timeout, validate_certs=False, use_proxy=False) as response:
            return bool(200 <= response.status < 300)
    except Exception:  # pylint: disable=broad-exception-caught
        # Refused, reset, timed out, an HTTP error status: all mean "not ready yet".
        return False


def wait_for_backends(
    urls: Sequence[str],
    timeout: float,
    probe: Probe = http_probe,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    interval: float = POLL_INTERVAL,
) -> None:
    """GET <backend>/platform on every VM, in parallel, until each answers or `timeout` passes."""
    deadline = clock() + timeout
    pending = sorted(set(urls))
    while pending:
        per_request = max(0.1, min(BACKEND_PROBE_TIMEOUT, deadline - clock()))
        with ThreadPoolExecutor(max_workers=min(BACKEND_WORKERS, len(pending))) as pool:
            answers = list(pool.map(lambda url: probe(f"{url}/platform", per_request), pending))
        pending = [url for url, ready in zip(pending, answers) if not ready]
        if not pending:
            return
        remaining = deadline - clock()
        if remaining <= 0:
            raise OSWorldError(
                f"OSWorld backend not answering after {int(timeout)} s on {', '.join(pending[:10])}: the playbook must run "
                "inside the VPC (port 5000 is open to the VPC only); raise backend_timeout or set wait_for_backend=false",
                not_ready=pending,
            )
        sleep(min(interval, remaining))
