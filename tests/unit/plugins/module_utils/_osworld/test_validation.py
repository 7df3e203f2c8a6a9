"""validation.py: the no-call checks every module shares; each failure names the variable."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.validation import (
    validate_cidr,
    validate_cidrs,
    validate_internal_cidr,
    validate_port,
    validate_range,
    validate_region,
    validate_resource_id,
    validate_screen_size,
)

GOOD: list[tuple[Callable[..., Any], tuple[Any, ...], Any]] = [
    (validate_region, ("us-east-1", "v"), "us-east-1"),
    (validate_region, ("us-gov-west-1", "v"), "us-gov-west-1"),
    (validate_region, ("ap-southeast-5", "v"), "ap-southeast-5"),
    (validate_cidr, ("10.0.0.0/8", "v"), "10.0.0.0/8"),
    (validate_cidr, ("203.0.113.7", "v"), "203.0.113.7/32"),
    (validate_cidr, ("2001:db8::/32", "v"), "2001:db8::/32"),
    (validate_cidrs, (["10.0.0.0/8", "192.0.2.0/24"], "v"), ["10.0.0.0/8", "192.0.2.0/24"]),
    (validate_internal_cidr, ("172.31.0.0/16", "v"), "172.31.0.0/16"),
    (validate_internal_cidr, ("10.42.0.0/16", "v"), "10.42.0.0/16"),
    (validate_port, (1, "v"), 1),
    (validate_port, ("65535", "v"), 65535),
    (validate_range, (0, "v", 0, 10), 0),
    (validate_resource_id, ("subnet-0123456789abcdef0", "subnet", "v"), "subnet-0123456789abcdef0"),
    (validate_resource_id, ("vpc-01234567", "vpc", "v"), "vpc-01234567"),
    (validate_resource_id, ("ami-0d23263edb96951d8", "ami", "v"), "ami-0d23263edb96951d8"),
    (validate_screen_size, ("1920x1080", "v"), "1920x1080"),
]

BAD: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
    (validate_region, ("", "osworld_region")),
    (validate_region, ("us-east-1a", "osworld_region")),
    (validate_region, ("useast1", "osworld_region")),
    (validate_cidr, ("10.0.0.1/8", "osworld_vpc_cidr")),
    (validate_cidr, ("10.0.0.0/40", "osworld_vpc_cidr")),
    (validate_cidr, ("", "osworld_vpc_cidr")),
    (validate_cidrs, ([], "osworld_admin_cidrs")),
    (validate_cidrs, (["10.0.0.0/8", "nope"], "osworld_admin_cidrs")),
    (validate_internal_cidr, ("0.0.0.0/0", "osworld_internal_cidr")),
    (validate_internal_cidr, ("::/0", "osworld_internal_cidr")),
    (validate_internal_cidr, ("8.8.8.0/24", "osworld_internal_cidr")),
    (validate_internal_cidr, ("100.64.0.0/10", "osworld_internal_cidr")),
    (validate_port, (0, "osworld_monitor_port")),
    (validate_port, (65536, "osworld_monitor_port")),
    (validate_range, (11, "osworld_env_count", 0, 10)),
    (validate_resource_id, ("subnet-123", "subnet", "osworld_subnet_id")),
    (validate_resource_id, ("vpc-0123456789ABCDEF0", "vpc", "osworld_vpc_id")),
    (validate_resource_id, ("sg-0123456789abcdef0", "subnet", "osworld_subnet_id")),
    (validate_screen_size, ("1920", "osworld_screen_size")),
    (validate_screen_size, ("1920 x 1080", "osworld_screen_size")),
]


@pytest.mark.parametrize(("check", "args", "expected"), GOOD, ids=[f"{c.__name__}-{a[0]}" for c, a, _e in GOOD])
def test_good_values_come_back_canonical(check: Callable[..., Any], args: tuple[Any, ...], expected: Any) -> None:
    assert check(*args) == expected


@pytest.mark.parametrize(("check", "args"), BAD, ids=[f"{c.__name__}-{a[0]}" for c, a in BAD])
def test_bad_values_name_the_variable(check: Callable[..., Any], args: tuple[Any, ...]) -> None:
    variable = next(arg for arg in args if isinstance(arg, str) and arg.startswith("osworld_"))
    with pytest.raises(OSWorldError) as raised:
        check(*args)
    assert raised.value.message.startswith(f"{variable}:")


def test_internal_cidr_refusal_says_why() -> None:
    with pytest.raises(OSWorldError, match="5000, unauthenticated remote execution"):
        validate_internal_cidr("0.0.0.0/0", "osworld_internal_cidr")
