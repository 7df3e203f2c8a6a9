"""stack.py: the TTL scheduler role's ARN as stack_info finds it (which call each case makes, and the ARN),
and a check-mode planned id recognised in one place."""
from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import PLANNED_ID, admin_iam_arn, find_scheduler_role_arn, is_planned

ROLE = "osworld-ttl-scheduler-us-east-1"
OWNED_ARN = f"arn:aws:iam::123456789012:role/{ROLE}"


class FakeAWS:
    """Answers the two calls find_scheduler_role_arn may make, and records them."""

    def __init__(self, role: dict[str, Any] | None = None, caller_arn: str = "arn:aws:sts::123456789012:assumed-role/ops/me") -> None:
        self.role = role
        self.caller_arn = caller_arn
        self.calls: list[str] = []

    def call(self, service: str, operation: str, *, missing_ok: bool = False, **kwargs: Any) -> Any:
        self.calls.append(f"{service}:{operation}")
        if operation == "get_role":
            assert kwargs == {"RoleName": ROLE} and missing_ok
            return {"Role": self.role} if self.role else None
        return {"Arn": self.caller_arn, "Account": self.caller_arn.split(":")[4]}


@pytest.mark.parametrize(
    ("caller_arn", "expected"),
    [
        ("arn:aws:sts::123456789012:assumed-role/ops/me", "arn:aws:iam::123456789012:role/r"),
        ("arn:aws-cn:iam::210987654321:user/me", "arn:aws-cn:iam::210987654321:role/r"),
        ("arn:aws-us-gov:iam::111122223333:root", "arn:aws-us-gov:iam::111122223333:role/r"),
    ],
)
def test_admin_arn_takes_the_partition_from_the_caller(caller_arn: str, expected: str) -> None:
    assert admin_iam_arn(caller_arn, caller_arn.split(":")[4], "role/r") == expected


def test_admin_instance_profile_arn() -> None:
    assert admin_iam_arn("arn:aws:iam::123456789012:user/me", "123456789012", "instance-profile/p") == "arn:aws:iam::123456789012:instance-profile/p"


def test_an_owned_role_is_found_with_one_get_role_even_without_ttl() -> None:
    aws = FakeAWS({"Arn": OWNED_ARN, "Tags": [{"Key": "osworld:managed-by", "Value": "osworld.aws"}]})
    assert find_scheduler_role_arn(aws, ROLE, manage_iam=True, enable_ttl=False) == OWNED_ARN  # type: ignore[arg-type]
    assert aws.calls == ["iam:get_role"]


@pytest.mark.parametrize("role", [None, {"Arn": OWNED_ARN}, {"Arn": OWNED_ARN, "Tags": [{"Key": "osworld:managed-by", "Value": "someone"}]}])
def test_a_missing_or_foreign_role_gives_no_arn(role: dict[str, Any] | None) -> None:
    aws = FakeAWS(role)
    assert find_scheduler_role_arn(aws, ROLE, manage_iam=True, enable_ttl=True) == ""  # type: ignore[arg-type]
    assert aws.calls == ["iam:get_role"]


def test_an_administrators_role_is_built_from_the_caller_with_no_iam_call() -> None:
    aws = FakeAWS(caller_arn="arn:aws:sts::123456789012:assumed-role/ops/me")
    assert find_scheduler_role_arn(aws, ROLE, manage_iam=False, enable_ttl=True) == OWNED_ARN  # type: ignore[arg-type]
    assert aws.calls == ["sts:get_caller_identity"]


def test_no_ttl_and_no_managed_iam_makes_no_call() -> None:
    aws = FakeAWS()
    assert find_scheduler_role_arn(aws, ROLE, manage_iam=False, enable_ttl=False) == ""  # type: ignore[arg-type]
    assert aws.calls == []


def test_is_planned_is_true_when_any_id_is_only_planned() -> None:
    assert is_planned(PLANNED_ID)
    assert is_planned("subnet-0123456789abcdef0", PLANNED_ID)
    assert not is_planned("subnet-0123456789abcdef0", "sg-0123456789abcdef0")
    assert not is_planned(None, "")
    assert not is_planned()
