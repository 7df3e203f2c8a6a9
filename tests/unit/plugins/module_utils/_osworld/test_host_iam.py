"""host_iam.py: what a run would change, decided without AWS; the calls are the integration tests'."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.host_iam import (
    HOST_ROLE_DESCRIPTION,
    TTL_ROLE_DESCRIPTION,
    HostIAMSpec,
    after_view,
    foreign_problem,
    iam_names,
    profile_changes,
    read_document,
    role_changes,
    role_view,
    same_document,
    scheduler_documents,
    wanted_roles,
)
from ansible_collections.osworld.aws.plugins.module_utils._osworld.options import OptionsError

REPO = Path(__file__).resolve().parents[5]
POLICIES = REPO / "policies"
STATEMENT = {"Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "*"}


def spec(**options: Any) -> HostIAMSpec:
    files = {
        "host_policy_file": str(POLICIES / "host.json"),
        "ttl_scheduler_policy_file": str(POLICIES / "ttl-scheduler.json"),
        "ttl_scheduler_trust_file": str(POLICIES / "ttl-scheduler-trust.json"),
    }
    return HostIAMSpec.from_params({**files, **options})


def as_aws_role(wanted: Any, **changes: Any) -> dict[str, Any]:
    role = {
        "Arn": f"arn:aws:iam::123456789012:role/{wanted.name}",
        "Description": wanted.description,
        "AssumeRolePolicyDocument": json.loads(json.dumps(wanted.trust)),
        "Tags": [{"Key": key, "Value": value} for key, value in wanted.tags.items()],
    }
    role.update(changes)
    return role


def test_names_hold_the_region_and_the_roles_carry_the_shipped_documents() -> None:
    assert iam_names("osworld", "eu-west-1") == ("osworld-host-eu-west-1", "osworld-ttl-scheduler-eu-west-1")
    host, ttl = wanted_roles(spec(host_instance_profile=True, enable_ttl=True, extra_tags={"team": "a", "osworld:stack": "x"}), "eu-west-1")
    assert (host.name, host.description, host.policy_name) == ("osworld-host-eu-west-1", HOST_ROLE_DESCRIPTION, "osworld-host")
    assert host.trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert host.policy == json.loads((POLICIES / "host.json").read_text())
    assert (ttl.name, ttl.description) == ("osworld-ttl-scheduler-eu-west-1", TTL_ROLE_DESCRIPTION)
    assert ttl.trust == json.loads((POLICIES / "ttl-scheduler-trust.json").read_text())
    assert ttl.policy == json.loads((POLICIES / "ttl-scheduler.json").read_text())
    assert host.tags["osworld:stack"] == "osworld" and host.tags["team"] == "a" and host.tags["osworld:component"] == "host-role"
    assert wanted_roles(spec(), "eu-west-1") == []


def passed_roles(policy: dict[str, Any]) -> list[Any]:
    return [statement["Resource"] for statement in policy["Statement"] if statement["Action"] == "iam:PassRole"]


def test_the_host_of_any_stack_may_pass_its_own_scheduler_role_and_no_other() -> None:
    (default,) = wanted_roles(spec(host_instance_profile=True), "eu-west-1")
    (lab,) = wanted_roles(spec(host_instance_profile=True, stack="lab"), "eu-west-1")
    assert passed_roles(default.policy) == ["arn:aws:iam::*:role/osworld-ttl-scheduler-*"]
    assert passed_roles(lab.policy) == ["arn:aws:iam::*:role/lab-ttl-scheduler-*"]
    (ttl,) = wanted_roles(spec(enable_ttl=True, stack="lab"), "eu-west-1")
    assert ttl.name == "lab-ttl-scheduler-eu-west-1"
    # Only the role ARNs change; the rest of the shipped document is written as it is.
    others = [statement for statement in lab.policy["Statement"] if statement["Action"] != "iam:PassRole"]
    assert others == [statement for statement in default.policy["Statement"] if statement["Action"] != "iam:PassRole"]


def test_the_older_policy_form_carries_its_own_trust() -> None:
    trust = {"Statement": [{"Principal": {"Service": "scheduler.amazonaws.com"}}]}
    own_trust = {"Statement": [{"Principal": {"Service": "other"}}]}
    assert scheduler_documents({"Statement": [STATEMENT]}, trust) == (trust, {"Statement": [STATEMENT]})
    assert scheduler_documents({"permissions": {"Statement": [STATEMENT]}}, trust) == (trust, {"Statement": [STATEMENT]})
    assert scheduler_documents({"permissions": {}, "trust": own_trust}, trust) == (own_trust, {})


def test_policy_files_are_required_only_for_what_they_serve_and_bad_ones_name_their_option(tmp_path: Path) -> None:
    with pytest.raises(OptionsError) as raised:
        HostIAMSpec.from_params({"host_instance_profile": True, "enable_ttl": True})
    assert raised.value.problems == [
        "host_policy_file: required with host_instance_profile=true",
        "ttl_scheduler_policy_file: required with enable_ttl=true",
        "ttl_scheduler_trust_file: required with enable_ttl=true",
    ]
    assert HostIAMSpec.from_params({"enable_ttl": True, "manage_iam": False}).enable_ttl
    assert HostIAMSpec.from_params({"host_instance_profile": True, "state": "absent"}).state == "absent"
    (tmp_path / "list.json").write_text("[]")
    for path, text in ((tmp_path / "none.json", "cannot read"), (tmp_path / "list.json", "holds no JSON object")):
        with pytest.raises(OSWorldError, match=f"^host_policy_file: .*{text}"):
            read_document(str(path), "host_policy_file")


def test_equivalent_documents_are_the_same_whatever_their_spelling() -> None:
    listed = {"Version": "2012-10-17", "Statement": [{**STATEMENT, "Action": ["ec2:TerminateInstances"], "Resource": ["*"]}]}
    assert same_document({"Version": "2012-10-17", "Statement": STATEMENT}, listed)
    two = [{"Action": ["b", "a"], "Effect": "Allow"}, {"Action": "c", "Effect": "Deny"}]
    assert same_document({"Statement": two}, {"Statement": list(reversed(two))})
    assert not same_document({"Statement": [STATEMENT]}, {"Statement": [{**STATEMENT, "Effect": "Deny"}]})


def test_a_role_as_wanted_needs_nothing_and_each_difference_is_named() -> None:
    (ttl,) = wanted_roles(spec(enable_ttl=True), "us-east-1")
    role = as_aws_role(ttl)
    assert role_changes(None, None, ttl) == ["create"]
    assert role_changes(role, dict(ttl.policy), ttl) == []
    # Tags someone added stay; a wanted tag missing or changed is a change.
    assert role_changes({**role, "Tags": [*role["Tags"], {"Key": "team", "Value": "a"}]}, dict(ttl.policy), ttl) == []
    stale = as_aws_role(ttl, Description="old", AssumeRolePolicyDocument={"Statement": []}, Tags=[{"Key": "osworld:stack", "Value": "osworld"}])
    assert role_changes(stale, None, ttl) == ["trust", "description", "tags", "policy"]


def test_the_profile_holds_exactly_the_role_of_its_name() -> None:
    tags = {"osworld:stack": "osworld"}
    profile = {"Roles": [{"RoleName": "r"}], "Tags": [{"Key": "osworld:stack", "Value": "osworld"}]}
    assert profile_changes(None, "r", tags) == ["create"]
    assert profile_changes(profile, "r", tags) == []
    assert profile_changes({"Roles": [], "Tags": []}, "r", tags) == ["tags", "role"]
    assert profile_changes({**profile, "Roles": [{"RoleName": "other"}]}, "r", tags) == ["role"]


def test_the_diff_shows_only_real_differences_and_keeps_added_tags() -> None:
    (ttl,) = wanted_roles(spec(enable_ttl=True), "us-east-1")
    spelled_otherwise = {"Version": "2012-10-17", "Statement": {**ttl.policy["Statement"][0]}}
    before = role_view(as_aws_role(ttl, Tags=[{"Key": "team", "Value": "a"}]), spelled_otherwise)
    after = after_view(before, ttl)
    assert after["policy"] == spelled_otherwise and after["trust"] == before["trust"]
    assert after["tags"] == dict(sorted({"team": "a", **ttl.tags}.items()))
    assert list(after["tags"]) == sorted(after["tags"])
    assert role_view(None, None) is None
    assert after_view(None, ttl)["policy"] == dict(ttl.policy)


def test_a_foreign_piece_is_named_with_its_owner_and_what_to_change() -> None:
    message = foreign_problem("role", "osworld-host-us-east-1", {"osworld:stack": "other"}, "osworld")
    assert message.startswith("osworld_name_prefix: IAM role osworld-host-us-east-1 exists and was made by stack 'other', not by stack 'osworld'")
    assert "osworld_manage_iam: false" in message
    assert "made by someone else" in foreign_problem("instance profile", "p", {}, "osworld")


def test_a_host_role_made_by_an_earlier_version_needs_no_change() -> None:
    """Until host_iam, amazon.aws.iam_role made the role from roles/host/files/ec2-trust.json."""
    earlier_trust = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "OSWorldHostIsAnEC2Instance", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    (host,) = wanted_roles(spec(host_instance_profile=True), "us-east-1")
    assert role_changes(as_aws_role(host, AssumeRolePolicyDocument=earlier_trust), dict(host.policy), host) == []
