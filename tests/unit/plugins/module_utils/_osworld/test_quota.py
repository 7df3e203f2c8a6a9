"""The vCPU quota check's pure parts: which quota a type counts against, and the verdict's numbers."""
from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.quota import (
    ERROR,
    KNOWN_TYPE_VCPUS,
    STANDARD_VCPU_QUOTA,
    WARNING,
    quota_verdict,
    vcpu_quota_for,
    vcpus_in_use,
)


@pytest.mark.parametrize(
    ("instance_type", "code"),
    [
        ("t3.medium", STANDARD_VCPU_QUOTA),
        ("m7i-flex.large", STANDARD_VCPU_QUOTA),
        ("im4gn.large", STANDARD_VCPU_QUOTA),
        ("z1d.large", STANDARD_VCPU_QUOTA),
        ("g5.xlarge", "L-DB2E81BA"),
        ("vt1.3xlarge", "L-DB2E81BA"),
        ("p4d.24xlarge", "L-417A185B"),
        ("x2idn.16xlarge", "L-7295265B"),
        ("inf2.xlarge", "L-1945791B"),
        ("f1.2xlarge", "L-74FC7D96"),
        ("dl1.24xlarge", None),
        ("mac1.metal", None),
        ("u-6tb1.metal", None),
    ],
)
def test_vcpu_quota_by_family(instance_type: str, code: str | None) -> None:
    quota = vcpu_quota_for(instance_type)
    assert (quota[0] if quota else None) == code


def verdict(count: int, in_use: int = 0, quota: float = 64) -> Any:
    return quota_verdict("osworld_env_count", "t3.medium", count, 2, in_use, quota, STANDARD_VCPU_QUOTA, "Standard", "us-east-1")


def test_quota_verdict_levels() -> None:
    assert verdict(10).level is None
    assert verdict(30).level == WARNING
    error = verdict(40)
    assert error.level == ERROR and error.variable == "osworld_env_count"
    assert error.message.startswith("osworld_env_count: 40 x t3.medium need 80 vCPUs")
    assert "L-1216C47A" in error.message


def test_what_runs_counts_against_the_quota_and_the_message_names_both_numbers() -> None:
    error = verdict(10, in_use=50)
    assert error.level == ERROR
    assert "is 64 and running instances already use 50, leaving 14" in error.message
    assert error.facts == {"vcpus_needed": 20, "vcpus_in_use": 50, "vcpu_quota": 64, "vcpus_available": 14}
    assert verdict(2, in_use=70).facts["vcpus_available"] == 0


def instance(instance_type: str, fleet: str | None = None, cores: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"InstanceType": instance_type}
    if fleet:
        item["Tags"] = [
            {"Key": "osworld:managed-by", "Value": "osworld.aws"},
            {"Key": "osworld:role", "Value": "env"},
            {"Key": "osworld:fleet", "Value": fleet},
        ]
    if cores:
        item["CpuOptions"] = {"CoreCount": cores, "ThreadsPerCore": 2}
    return item


def test_in_use_counts_the_quotas_families_and_not_the_fleet_being_scaled() -> None:
    running = [instance("t3.medium"), instance("m5.xlarge", cores=2), instance("g5.xlarge"), instance("t3.medium", fleet="default")]
    vcpus = {"t3.medium": 2, "g5.xlarge": 4}
    assert vcpus_in_use(running, STANDARD_VCPU_QUOTA, vcpus, exclude_fleet="default") == 2 + 4
    assert vcpus_in_use(running, STANDARD_VCPU_QUOTA, vcpus, exclude_fleet=None) == 2 + 4 + 2
    assert vcpus_in_use(running, STANDARD_VCPU_QUOTA, vcpus, exclude_fleet="other") == 2 + 4 + 2


def test_the_known_vcpus_are_those_of_the_ec2_catalogue() -> None:
    """KNOWN_TYPE_VCPUS saves a DescribeInstanceTypes; moto ships AWS's instance type catalogue to hold it to."""
    from moto.ec2.models.instance_types import INSTANCE_TYPES

    catalogue = {name: INSTANCE_TYPES[name]["VCpuInfo"]["DefaultVCpus"] for name in KNOWN_TYPE_VCPUS if name in INSTANCE_TYPES}
    assert catalogue == KNOWN_TYPE_VCPUS
