"""The shipped IAM policies, checked statically: what moto cannot evaluate (resources, conditions).

tests/integration/test_iam.py proves the operator's action list is sufficient by running every
playbook as a user holding it; here: every file a plain IAM document, parliament (the IAM policy
linter) leaves no finding that tests/support/policy_lint.py does not explain, no wildcard action,
every action real, every mutating action scoped by region and by the collection's tag (or
documented why not), size limits.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from moto.iam.policy_validation import IAMPolicyDocumentValidator, IAMTrustPolicyDocumentValidator

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.policies import for_regions, for_stack
from tests.support.policy_lint import unexplained

POLICIES = Path(__file__).resolve().parents[2] / "policies"
BOTOCORE_SERVICE = {"ec2": "ec2", "iam": "iam", "servicequotas": "service-quotas", "scheduler": "scheduler"}
# Permissions that guard a parameter of another call rather than an API operation of their own.
PERMISSION_ONLY = {"iam:PassRole"}
READ_PREFIXES = ("Describe", "Get", "List")
MANAGED = {"aws:ResourceTag/osworld:managed-by": "osworld.aws"}
REQUEST_MANAGED = {"aws:RequestTag/osworld:managed-by": "osworld.aws"}
# The one mutating statement that cannot be scoped by the collection's tag: OSWorld's client
# launches untagged VMs, and IAM cannot see an instance's security group (docs/iam.md).
UNTAGGED_REAP_SID = "ReapUntaggedClientVMs"
# What each create call makes (and must tag at creation).
CREATED = {
    "ec2:CreateInternetGateway": {"internet-gateway"},
    "ec2:CreateRouteTable": {"route-table"},
    "ec2:CreateSecurityGroup": {"security-group"},
    "ec2:CreateSubnet": {"subnet"},
    "ec2:CreateVpc": {"vpc"},
    "ec2:RunInstances": {"instance", "volume"},
    "ec2:CopyImage": {"image"},
    "ec2:CreateKeyPair": {"key-pair"},
    "ec2:ImportKeyPair": {"key-pair"},
}
# IAM's limits on policy size (characters, whitespace excluded).
MANAGED_POLICY_LIMIT = 6144
ROLE_INLINE_LIMIT = 10240


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((POLICIES / name).read_text()))


# Trust policies (who may assume a role) beside the permission policies (what it may do).
TRUST_SUFFIX = "-trust.json"
SHIPPED = sorted(path.name for path in POLICIES.glob("*.json"))


def documents() -> Iterator[tuple[str, dict[str, Any]]]:
    """The permission policies (every shipped file but the trust policies)."""
    for name in SHIPPED:
        if not name.endswith(TRUST_SUFFIX):
            yield name, load(name)


def listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return list(policy["Statement"])


def is_read(action: str) -> bool:
    return action.split(":", 1)[1].startswith(READ_PREFIXES)


def string_equals(statement: dict[str, Any]) -> dict[str, Any]:
    return dict(statement.get("Condition", {}).get("StringEquals", {}))


@pytest.mark.parametrize(("name", "policy"), list(documents()), ids=[name for name, _policy in documents()])
def test_documents_are_valid_policies_without_wildcard_actions(name: str, policy: dict[str, Any]) -> None:
    IAMPolicyDocumentValidator(json.dumps(policy)).validate()
    assert policy["Version"] == "2012-10-17"
    sids = [statement["Sid"] for statement in statements(policy)]
    assert len(sids) == len(set(sids)), f"{name}: duplicate Sid"
    for statement in statements(policy):
        assert statement["Effect"] == "Allow", f"{name}: a Deny would also block what moto cannot scope"
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in listed(statement["Action"]):
            assert "*" not in action, f"{name}: wildcard action {action}"


@pytest.mark.parametrize(("name", "policy"), list(documents()), ids=[name for name, _policy in documents()])
def test_every_action_is_a_real_api_operation(name: str, policy: dict[str, Any]) -> None:
    session = botocore.session.get_session()
    for statement in statements(policy):
        for action in listed(statement["Action"]):
            if action in PERMISSION_ONLY:
                continue
            prefix, operation = action.split(":", 1)
            assert operation in session.get_service_model(BOTOCORE_SERVICE[prefix]).operation_names, f"{name}: {action}"


@pytest.mark.parametrize(("name", "policy"), list(documents()), ids=[name for name, _policy in documents()])
def test_resource_star_only_for_reads(name: str, policy: dict[str, Any]) -> None:
    for statement in statements(policy):
        if "*" in listed(statement["Resource"]):
            assert all(is_read(action) for action in listed(statement["Action"])), f"{name}: {statement['Sid']}"


def test_operator_mutations_are_scoped_to_the_region() -> None:
    for statement in statements(load("operator.json")):
        actions = listed(statement["Action"])
        if all(is_read(action) for action in actions) or all(action.startswith("iam:") for action in actions):
            continue
        assert string_equals(statement).get("aws:RequestedRegion"), statement["Sid"]


def test_operator_changes_and_deletes_only_what_carries_the_collections_tag() -> None:
    for statement in statements(load("operator.json")):
        destructive = [
            action
            for action in listed(statement["Action"])
            if action.startswith("ec2:") and not is_read(action) and not action.startswith(("ec2:Create", "ec2:RunInstances")) and action not in CREATED
        ]
        if not destructive or statement["Sid"] == UNTAGGED_REAP_SID:
            continue
        assert MANAGED.items() <= string_equals(statement).items(), statement["Sid"]


def test_the_untagged_reap_statement_is_limited_to_untagged_instances() -> None:
    (statement,) = [s for s in statements(load("operator.json")) if s["Sid"] == UNTAGGED_REAP_SID]
    assert listed(statement["Action"]) == ["ec2:TerminateInstances"]
    assert statement["Condition"]["Null"] == {"aws:ResourceTag/osworld:managed-by": "true"}


def resource_types(statement: dict[str, Any]) -> set[str]:
    return {arn.split(":", 5)[5].split("/")[0] for arn in listed(statement["Resource"])}


def test_operator_creates_resources_only_tagged_at_creation() -> None:
    covered: set[tuple[str, str]] = set()
    for statement in statements(load("operator.json")):
        for action in set(listed(statement["Action"])) & set(CREATED):
            made_here = CREATED[action] & resource_types(statement)
            if made_here:
                assert REQUEST_MANAGED.items() <= string_equals(statement).items(), statement["Sid"]
                covered.update((action, kind) for kind in made_here)
            if action in ("ec2:CreateSubnet", "ec2:CreateRouteTable") and "vpc" in resource_types(statement) - made_here:
                assert MANAGED.items() <= string_equals(statement).items(), f"{statement['Sid']}: only inside the collection's VPC"
    assert covered == {(action, kind) for action, kinds in CREATED.items() for kind in kinds}


def test_create_tags_only_while_creating_or_on_the_collections_resources() -> None:
    for statement in statements(load("operator.json")):
        if "ec2:CreateTags" not in listed(statement["Action"]):
            continue
        conditions = string_equals(statement)
        assert "ec2:CreateAction" in conditions or MANAGED.items() <= conditions.items(), statement["Sid"]


def test_iam_statements_name_only_the_collections_roles() -> None:
    for name in ("operator.json", "host.json"):
        for statement in statements(load(name)):
            if not any(action.startswith("iam:") for action in listed(statement["Action"])):
                continue
            for arn in listed(statement["Resource"]):
                assert arn.split(":", 5)[5].split("/", 1)[1].startswith("osworld-"), f"{name}: {arn}"
            if "iam:PassRole" in listed(statement["Action"]):
                assert "iam:PassedToService" in string_equals(statement), f"{name}: {statement['Sid']}"


def test_host_launches_only_into_the_env_group_and_never_terminates_a_host() -> None:
    host = {statement["Sid"]: statement for statement in statements(load("host.json"))}
    group = host["LaunchIntoTheOSWorldEnvSecurityGroupOnly"]
    assert listed(group["Resource"]) == ["arn:aws:ec2:*:*:security-group/*"]
    assert string_equals(group)["aws:ResourceTag/osworld:component"] == "env-security-group"
    other_launch = host["LaunchOSWorldVMs"]
    assert not any("security-group" in arn for arn in listed(other_launch["Resource"]))
    terminate = host["TerminateVMsButNeverAHost"]
    assert terminate["Condition"] == {"StringNotEquals": {"aws:ResourceTag/osworld:role": "host"}}


def test_the_files_are_the_ones_docs_and_the_host_role_name() -> None:
    assert {"operator.json", "host.json", "ttl-scheduler.json", "ttl-scheduler-trust.json"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_file_is_one_plain_iam_document(name: str) -> None:
    """What `aws iam create-policy --policy-document file://...` and policy linters read as is."""
    policy = load(name)
    assert set(policy) == {"Version", "Statement"}, f"{name}: {sorted(policy)}"
    assert policy["Version"] == "2012-10-17"
    assert isinstance(policy["Statement"], list) and policy["Statement"]


@pytest.mark.parametrize("name", SHIPPED)
def test_parliament_leaves_no_unexplained_finding(name: str) -> None:
    assert unexplained(POLICIES / name) == []


def test_an_explained_finding_still_catches_a_real_gap(tmp_path: Path) -> None:
    """The split-statements explanation holds only while another statement grants the missing type."""
    operator = load("operator.json")
    for statement in statements(operator):
        if "ec2:RunInstances" in listed(statement["Action"]):
            statement["Resource"] = [arn for arn in listed(statement["Resource"]) if "::image/" not in arn]
    gap = tmp_path / "operator.json"
    gap.write_text(json.dumps(operator, indent=2))
    left = unexplained(gap)
    assert left and all("RESOURCE_MISMATCH" in line and "image" in line for line in left), left


def test_ttl_scheduler_trust_and_permissions() -> None:
    trust = load("ttl-scheduler-trust.json")
    IAMTrustPolicyDocumentValidator(json.dumps(trust)).validate()
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"} and statement["Action"] == "sts:AssumeRole"
    actions = {action for s in statements(load("ttl-scheduler.json")) for action in listed(s["Action"])}
    assert actions == {"ec2:TerminateInstances"}


@pytest.mark.parametrize(("name", "limit"), [("operator.json", MANAGED_POLICY_LIMIT), ("host.json", ROLE_INLINE_LIMIT)])
def test_policies_fit_iams_size_limits(name: str, limit: int) -> None:
    compact = json.dumps(load(name), separators=(",", ":"))
    assert len(compact) <= limit, f"{name}: {len(compact)} characters"


def test_operator_action_count_is_known() -> None:
    """A change to the operator's permissions is a deliberate act: update docs/iam.md with it."""
    actions = {action for s in statements(load("operator.json")) for action in listed(s["Action"])}
    documented = (POLICIES.parent / "docs" / "iam.md").read_text()
    assert f"{len(actions)} actions" in documented


def test_image_copies_and_key_pairs_are_tagged_at_creation_and_removed_only_when_tagged() -> None:
    """osworld_image_copy and osworld_key_create: what they make carries the tag from its first moment
    (CopyImage tags the image and its snapshots), and what they delete must carry it."""
    operator = statements(load("operator.json"))
    tagging = [s for s in operator if "ec2:CreateTags" in listed(s["Action"]) and "ec2:CreateAction" in string_equals(s)]
    created_by = {action for s in tagging for action in listed(string_equals(s)["ec2:CreateAction"])}
    assert {"CopyImage", "CreateKeyPair", "ImportKeyPair"} <= created_by
    assert {"image", "snapshot", "key-pair"} <= {kind for s in tagging for kind in resource_types(s)}
    for action, kind in (("ec2:DeregisterImage", "image"), ("ec2:DeleteSnapshot", "snapshot"), ("ec2:DeleteKeyPair", "key-pair")):
        (statement,) = [s for s in operator if action in listed(s["Action"])]
        assert kind in resource_types(statement), action
        assert MANAGED.items() <= string_equals(statement).items(), action
        assert string_equals(statement).get("aws:RequestedRegion"), action


def test_for_regions_sets_only_the_region_conditions() -> None:
    operator = load("operator.json")
    made = for_regions(operator, "eu-west-1")
    assert made != operator and load("operator.json") == operator
    for before, after in zip(statements(operator), statements(made)):
        if "aws:RequestedRegion" in string_equals(before):
            assert string_equals(after)["aws:RequestedRegion"] == "eu-west-1"
            assert {**string_equals(after), "aws:RequestedRegion": "us-east-1"} == string_equals(before)
        else:
            assert after == before
    assert for_regions(load("host.json"), ["eu-west-1", "us-east-1"]) == load("host.json")
    several = for_regions(operator, ["eu-west-1", "eu-central-1", "eu-west-1"])
    assert {str(string_equals(s).get("aws:RequestedRegion")) for s in statements(several)} - {"None"} == {"['eu-west-1', 'eu-central-1']"}


@pytest.mark.parametrize(("regions", "named"), [([], "at least one region"), (["eu-west-1", "mars-1"], "'mars-1'"), ("", "''")])
def test_for_regions_names_every_bad_region(regions: list[str] | str, named: str) -> None:
    with pytest.raises(OSWorldError) as raised:
        for_regions(load("operator.json"), regions)
    assert raised.value.message.startswith("osworld_policy_regions: ") and named in raised.value.message


def test_for_stack_renames_only_the_default_stacks_role_arns() -> None:
    operator = load("operator.json")
    made = for_stack(operator, "lab")
    before = [resource for statement in statements(operator) for resource in listed(statement["Resource"])]
    after = [resource for statement in statements(made) for resource in listed(statement["Resource"])]
    renamed = [(old, new) for old, new in zip(before, after) if old != new]
    assert renamed and all(old.startswith("arn:aws:iam::*:role/osworld-") and new == old.replace("role/osworld-", "role/lab-") for old, new in renamed)
    assert for_stack(operator, "osworld") == operator and load("operator.json") == operator
