"""parliament, the IAM policy linter, over policy documents; every finding it may leave is explained here.

This file is the one place a parliament finding is accepted. Each accepted finding names its
reason and a check that it is what the reason says (so a new, real finding of the same kind
still fails). tests/unit/test_policies.py runs it over policies/ and over the documents
playbooks/policies.yml writes for another region.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import parliament
from parliament import analyze_policy_string, enhance_finding, is_arn_strictly_valid, override_config

# The checks parliament ships with plus its community auditors (privilege escalation,
# permissions management, credentials exposure, sensitive access, ...), whose finding types
# parliament's command line registers this way.
override_config(str(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml"))


def listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def statements_granting(policy: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in policy["Statement"] if s.get("Effect") == "Allow" and action.lower() in {a.lower() for a in listed(s.get("Action", []))}]


def split_across_statements(policy: dict[str, Any], finding: Any) -> bool:
    """RESOURCE_MISMATCH, a known false positive: parliament wants every resource type an action needs
    in each statement that grants it. The policies grant one action's resource types in several
    statements on purpose, so that each carries its own condition (RunInstances: the instance
    must be tagged at launch, the security group must already be ours, the public AMI can't be).
    Accepted only when some other statement of the same policy grants the action on the missing type.
    """
    for missing in finding.detail:
        action, required = missing["action"], missing["required_format"]
        # parliament's own test: the type name matters only for S3 (not used here).
        resource_type = required.split(":", 5)[-1].split("/")[0]
        covered = any(
            is_arn_strictly_valid(resource_type, required, resource)
            for statement in statements_granting(policy, action)
            for resource in listed(statement.get("Resource", []))
            if resource != "*"
        )
        if not covered:
            return False
    return True


def trust_policy(policy: dict[str, Any], finding: Any) -> bool:
    """MALFORMED "neither Resource nor NotResource" on a role's trust policy: parliament reads identity
    policies only, and a trust policy names a Principal instead of a Resource by design. The trust
    documents are validated as trust policies instead (tests/unit/test_policies.py)."""
    return finding.detail == "Statement contains neither Resource nor NotResource" and all(
        "Principal" in s and listed(s["Action"]) == ["sts:AssumeRole"] for s in policy["Statement"]
    )


def name_scoped_iam(policy: dict[str, Any], finding: Any) -> bool:
    """PERMISSIONS_MANAGEMENT_ACTIONS on operator.json: provision creates the host's role and instance
    profile and the TTL scheduler role (docs/iam.md, "The IAM statement is an escalation path").
    Accepted only while every such action is granted on the collection's own role names."""
    for action in finding.location["actions"]:
        for statement in statements_granting(policy, action):
            for arn in listed(statement["Resource"]):
                if not arn.startswith("arn:aws:iam::*:") or not arn.split(":", 5)[5].split("/", 1)[1].startswith("osworld-"):
                    return False
    return True


def pass_role_to_one_service(policy: dict[str, Any], finding: Any) -> bool:
    """PRIVILEGE_ESCALATION CreateEC2WithExistingIP (iam:PassRole with ec2:RunInstances): parliament
    combines actions without their resources and conditions. host.json passes only the TTL
    scheduler role, and only to scheduler.amazonaws.com, so it can give an instance no role at
    all (a false positive); operator.json passes only the host's role, and only to EC2, which is
    what launching the host with its instance profile needs (docs/iam.md)."""
    if finding.location.get("type") != "CreateEC2WithExistingIP":
        return False
    for statement in statements_granting(policy, "iam:PassRole"):
        if "iam:PassedToService" not in statement.get("Condition", {}).get("StringEquals", {}):
            return False
        if not all(arn.split(":", 5)[5].startswith("role/osworld-") for arn in listed(statement["Resource"])):
            return False
    return True


@dataclass(frozen=True)
class Accepted:
    issue: str
    files: str  # fnmatch pattern of the policy file's name
    holds: Callable[[dict[str, Any], Any], bool]


ACCEPTED = (
    Accepted("RESOURCE_MISMATCH", "*.json", split_across_statements),
    Accepted("MALFORMED", "*-trust.json", trust_policy),
    Accepted("PERMISSIONS_MANAGEMENT_ACTIONS", "operator.json", name_scoped_iam),
    Accepted("PERMISSIONS_MANAGEMENT_ACTIONS", "host.json", name_scoped_iam),
    Accepted("PRIVILEGE_ESCALATION", "operator.json", pass_role_to_one_service),
    Accepted("PRIVILEGE_ESCALATION", "host.json", pass_role_to_one_service),
)


def findings(path: Path) -> list[Any]:
    """Every parliament finding on the document at path, at every severity (INFO included)."""
    policy = analyze_policy_string(path.read_text(), filepath=str(path), include_community_auditors=True)
    return [enhance_finding(finding) for finding in policy.findings]


def unexplained(path: Path) -> list[str]:
    """The findings on path that ACCEPTED does not explain, one line each."""
    policy = json.loads(path.read_text())
    left = []
    for finding in findings(path):
        if any(a.issue == finding.issue and fnmatch(path.name, a.files) and a.holds(policy, finding) for a in ACCEPTED):
            continue
        left.append(f"{path.name}: {finding.severity} {finding.issue} {finding.detail} {finding.location}")
    return left
