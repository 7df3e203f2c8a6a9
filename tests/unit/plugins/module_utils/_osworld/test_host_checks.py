"""host_checks.py: the host's input checks, each naming its variable, all listed at once."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.checks import ERROR, Report
from ansible_collections.osworld.aws.plugins.module_utils._osworld.host_checks import HostInput, check_host_inputs


def host_errors(host: HostInput, prefix: str = "osworld") -> list[tuple[str, str]]:
    report = Report()
    check_host_inputs(report, host, prefix, "us-east-1")
    return [(finding.variable, finding.message) for finding in report.findings if finding.level == ERROR]


def test_good_host_inputs_pass_and_an_expiry_is_computed_only_with_a_ttl(tmp_path: Path) -> None:
    policy = tmp_path / "p.json"
    policy.write_text("{}")
    host = HostInput(launch=True, policy_file=str(policy), ttl_scheduler_policy_file=str(policy), enable_ttl=True)
    report = Report()
    check_host_inputs(report, host, "osworld", "us-east-1")
    assert report.findings == [] and "host_expires_at" not in report.facts
    check_host_inputs(report, HostInput(launch=True, policy_file=str(policy), ttl_minutes=60), "osworld", "us-east-1")
    assert report.facts["host_expires_at"].endswith("Z")


@pytest.mark.parametrize(
    ("host", "prefix", "variable"),
    [
        (HostInput(launch=True, ami="ubuntu", instance_profile=False), "osworld", "osworld_host_ami"),
        (HostInput(launch=True, instance_type="large", instance_profile=False), "osworld", "osworld_host_instance_type"),
        (HostInput(launch=True, volume_size=4, instance_profile=False), "osworld", "osworld_host_volume_size"),
        (HostInput(launch=True, ttl_minutes=0, instance_profile=False), "osworld", "osworld_host_ttl_minutes"),
        (HostInput(enable_ttl=True, manage_iam=False), "p" * 41, "osworld_name_prefix"),
        (HostInput(launch=True, policy_file="/nonexistent.json"), "osworld", "osworld_host_policy_file"),
        (HostInput(enable_ttl=True, ttl_scheduler_policy_file=None), "osworld", "osworld_ttl_scheduler_policy_file"),
    ],
)
def test_each_bad_host_input_names_its_variable(host: HostInput, prefix: str, variable: str) -> None:
    assert [found for found, message in host_errors(host, prefix)] == [variable]


def test_every_host_problem_is_listed_at_once_and_manage_iam_false_needs_no_policy_file() -> None:
    bad = HostInput(launch=True, ami="x", instance_type="y", volume_size=1, policy_file="/nope")
    assert [variable for variable, message in host_errors(bad)] == [
        "osworld_host_ami",
        "osworld_host_instance_type",
        "osworld_host_volume_size",
        "osworld_host_policy_file",
    ]
    assert host_errors(HostInput(launch=True, policy_file="/nope", manage_iam=False)) == []
