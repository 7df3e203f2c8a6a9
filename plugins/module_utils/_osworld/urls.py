# This module util is PRIVATE to the collection. It may change without notice.
"""How a person and the OSWorld client reach a VM: noVNC from outside, the backend inside the VPC."""
from __future__ import annotations

VNC_PORT = 5910
BACKEND_PORT = 5000


def vnc_url(public_ip: str | None) -> str | None:
    return f"http://{public_ip}:{VNC_PORT}/vnc.html" if public_ip else None


def backend_url(private_ip: str | None) -> str | None:
    return f"http://{private_ip}:{BACKEND_PORT}" if private_ip else None
