# This module util is PRIVATE to the collection. It may change without notice.
"""Input checks that need no AWS call; each failure names the variable to fix."""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from .errors import OSWorldError

REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
RESOURCE_ID_PATTERNS = {
    "subnet": re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$"),
    "vpc": re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$"),
    "sg": re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$"),
    "ami": re.compile(r"^ami-[0-9a-f]{8}([0-9a-f]{9})?$"),
}
SCREEN_SIZE_PATTERN = re.compile(r"^\d{3,5}x\d{3,5}$")
# Fleet names and the stack prefix: safe in tags, Names and Ansible group names.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
INSTANCE_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")
# The fleet name that means every fleet (teardown only).
ALL_FLEETS = "all"
# The fleet of a playbook run that names none.
DEFAULT_FLEET = "default"


def validate_region(value: str, variable: str) -> str:
    if not REGION_PATTERN.match(value or ""):
        raise OSWorldError(f"{variable}: '{value}' is not an AWS region name (expected e.g. us-east-1)")
    return value


def validate_resource_id(value: str, kind: str, variable: str) -> str:
    if not RESOURCE_ID_PATTERNS[kind].match(value or ""):
        raise OSWorldError(f"{variable}: '{value}' is not a well-formed {kind} id (expected {kind}-<8 or 17 hex digits>)")
    return value


def validate_cidr(value: str, variable: str) -> str:
    """Returns the CIDR in canonical form; host bits set are an error, not silently dropped."""
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except (TypeError, ValueError) as exc:
        raise OSWorldError(f"{variable}: '{value}' is not a valid CIDR block ({exc})") from exc


def validate_cidrs(values: Iterable[str], variable: str) -> list[str]:
    cidrs = [validate_cidr(value, variable) for value in values]
    if not cidrs:
        raise OSWorldError(f"{variable}: at least one CIDR block is required")
    return cidrs


def validate_port(value: int, variable: str) -> int:
    if not 1 <= int(value) <= 65535:
        raise OSWorldError(f"{variable}: {value} is not a TCP port (1-65535)")
    return int(value)


def validate_range(value: int, variable: str, low: int, high: int) -> int:
    if not low <= int(value) <= high:
        raise OSWorldError(f"{variable}: {value} is outside {low}-{high}")
    return int(value)


def validate_internal_cidr(value: str, variable: str) -> str:
    """Port 5000 runs arbitrary commands unauthenticated: the internal CIDR must stay private."""
    cidr = validate_cidr(value, variable)
    network = ipaddress.ip_network(cidr)
    if network.prefixlen == 0:
        raise OSWorldError(
            f"{variable}: {cidr} would expose the OSWorld backend (port 5000, unauthenticated remote "
            "execution) to the whole internet; use the VPC's CIDR"
        )
    if not network.is_private:
        raise OSWorldError(f"{variable}: {cidr} is not a private range; use the VPC's CIDR")
    return cidr


def validate_screen_size(value: str, variable: str) -> str:
    if not SCREEN_SIZE_PATTERN.match(value or ""):
        raise OSWorldError(f"{variable}: '{value}' is not a screen size like 1920x1080")
    return value
