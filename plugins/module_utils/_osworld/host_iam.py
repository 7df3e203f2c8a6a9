# This module util is PRIVATE to the collection. It may change without notice.
"""The host machine's IAM pieces: its role and instance profile, and the TTL scheduler role.

IAM names are account-wide, so they hold the region. A role or profile is changed or deleted only
when it carries the collection's tags for this stack; one of the same name made by anyone else
stops the run before any write, rather than being adopted (and later deleted by teardown).
With manage_iam false an administrator made the pieces: no IAM call at all, and their ARNs are
built from the caller's account.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .aws import AWS
from .errors import OSWorldError
from .options import Options, blank_is_none, extra_tags_option, option, stack_option
from .policies import for_stack
from .stack import admin_iam_arn
from .tags import STACK_KEY, is_stack_owned, stack_tags, tag_dict, tag_list

HOST_ROLE = "host"
COMPONENT_HOST_ROLE = "host-role"
COMPONENT_HOST_PROFILE = "host-instance-profile"
COMPONENT_TTL_ROLE = "ttl-scheduler-role"
HOST_POLICY_NAME = "osworld-host"
TTL_POLICY_NAME = "osworld-ttl-scheduler"
# The trust the host role has had since the collection's first release, Sid included: a stack made
# by an earlier version needs no change.
EC2_TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "OSWorldHostIsAnEC2Instance", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
HOST_ROLE_DESCRIPTION = "The OSWorld host machine's role (launches, describes and terminates OSWorld VMs)"
TTL_ROLE_DESCRIPTION = "Assumed by EventBridge Scheduler to terminate OSWorld VMs when their TTL ends"


def iam_names(stack: str, region: str) -> tuple[str, str]:
    """The host role (and its instance profile) and the TTL scheduler role."""
    return f"{stack}-host-{region}", f"{stack}-ttl-scheduler-{region}"


@dataclass(frozen=True)
class HostIAMSpec(Options):
    """The options of osworld.aws.host_iam."""

    stack: str = stack_option()
    host_instance_profile: bool = option("bool", False)
    host_policy_file: str | None = option("path", checks=[blank_is_none])
    enable_ttl: bool = option("bool", False)
    ttl_scheduler_policy_file: str | None = option("path", checks=[blank_is_none])
    ttl_scheduler_trust_file: str | None = option("path", checks=[blank_is_none])
    manage_iam: bool = option("bool", True)
    extra_tags: Mapping[str, Any] = extra_tags_option()
    state: str = option("str", "present", choices=("present", "absent"))

    def problems(self) -> list[str]:
        if self.state != "present" or not self.manage_iam:
            return []
        needed = (
            ("host_policy_file", self.host_policy_file, self.host_instance_profile, "host_instance_profile=true"),
            ("ttl_scheduler_policy_file", self.ttl_scheduler_policy_file, self.enable_ttl, "enable_ttl=true"),
            ("ttl_scheduler_trust_file", self.ttl_scheduler_trust_file, self.enable_ttl, "enable_ttl=true"),
        )
        return [f"{name}: required with {setting}" for name, value, used, setting in needed if used and not value]


@dataclass(frozen=True)
class WantedRole:
    """A role as the stack wants it: its trust, its one inline policy and its tags."""

    name: str
    description: str
    trust: Mapping[str, Any]
    policy_name: str
    policy: Mapping[str, Any]
    tags: Mapping[str, str]


def read_document(path: str, option_name: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as exc:
        raise OSWorldError(f"{option_name}: cannot read a JSON policy from {path} ({exc})") from exc
    if not isinstance(document, dict):
        raise OSWorldError(f"{option_name}: {path} holds no JSON object")
    return document


def scheduler_documents(policy: Mapping[str, Any], trust: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(trust, permissions) of the TTL scheduler role. A policy file of the older form, a dict with
    `trust` and `permissions`, still works: its own trust wins over the trust file."""
    if "permissions" in policy:
        return dict(policy.get("trust") or trust), dict(policy["permissions"])
    return dict(trust), dict(policy)


def wanted_roles(spec: HostIAMSpec, region: str) -> list[WantedRole]:
    host_name, ttl_name = iam_names(spec.stack, region)
    roles = []
    if spec.host_instance_profile:
        roles.append(
            WantedRole(
                host_name,
                HOST_ROLE_DESCRIPTION,
                EC2_TRUST,
                HOST_POLICY_NAME,
                for_stack(read_document(str(spec.host_policy_file), "host_policy_file"), spec.stack),
                stack_tags(spec.stack, COMPONENT_HOST_ROLE, host_name, spec.extra_tags, role=HOST_ROLE),
            )
        )
    if spec.enable_ttl:
        trust, permissions = scheduler_documents(
            read_document(str(spec.ttl_scheduler_policy_file), "ttl_scheduler_policy_file"),
            read_document(str(spec.ttl_scheduler_trust_file), "ttl_scheduler_trust_file"),
        )
        tags = stack_tags(spec.stack, COMPONENT_TTL_ROLE, ttl_name, spec.extra_tags, role=HOST_ROLE)
        roles.append(WantedRole(ttl_name, TTL_ROLE_DESCRIPTION, trust, TTL_POLICY_NAME, permissions, tags))
    return roles


def canonical(document: Any) -> Any:
    """A policy document in one spelling, so that two equivalent ones compare equal: a lone
    Statement, Action or Resource is the same as a list of one, and order does not matter."""
    if isinstance(document, Mapping):
        result = {}
        for key, value in document.items():
            if key in ("Statement", "Action", "NotAction", "Resource", "NotResource") and not isinstance(value, list):
                value = [value]
            result[key] = canonical(value)
        return result
    if isinstance(document, list):
        return sorted((canonical(item) for item in document), key=lambda item: json.dumps(item, sort_keys=True))
    return document


def same_document(one: Any, other: Any) -> bool:
    return bool(canonical(one) == canonical(other))


def missing_tags(current: Mapping[str, str], wanted: Mapping[str, str]) -> dict[str, str]:
    """The wanted tags a piece lacks or holds with another value; other tags stay (nothing is purged)."""
    return {key: value for key, value in wanted.items() if current.get(key) != value}


def foreign_problem(kind: str, name: str, tags: Mapping[str, str], stack: str) -> str:
    owner = tags.get(STACK_KEY)
    made_by = f"stack '{owner}'" if owner else "someone else"
    return (
        f"osworld_name_prefix: IAM {kind} {name} exists and was made by {made_by}, not by stack '{stack}': "
        "the collection never changes or deletes it. Pick another osworld_name_prefix, or have that "
        "piece serve as an administrator's with osworld_manage_iam: false (docs/iam.md)"
    )


def foreign_problems(pieces: list[tuple[str, str, Mapping[str, Any] | None]], stack: str) -> list[str]:
    """One problem for each piece found, as (kind, name, what IAM answered or None), that is not the
    stack's. Preflight's host check and host_iam apply this same rule to what they read."""
    return [
        foreign_problem(kind, name, tag_dict(found.get("Tags")), stack)
        for kind, name, found in pieces
        if found and not is_stack_owned(tag_dict(found.get("Tags")), stack)
    ]


def role_view(role: Mapping[str, Any] | None, policy: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if role is None:
        return None
    return {
        "description": role.get("Description", ""),
        "trust": role.get("AssumeRolePolicyDocument"),
        "policy": policy,
        "tags": dict(sorted(tag_dict(role.get("Tags")).items())),
    }


def profile_view(profile: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if profile is None:
        return None
    return {"roles": [role["RoleName"] for role in profile.get("Roles", [])], "tags": dict(sorted(tag_dict(profile.get("Tags")).items()))}


def wanted_view(role: WantedRole) -> dict[str, Any]:
    return {"description": role.description, "trust": dict(role.trust), "policy": dict(role.policy), "tags": dict(sorted(role.tags.items()))}


def role_changes(existing: Mapping[str, Any] | None, policy: Mapping[str, Any] | None, wanted: WantedRole) -> list[str]:
    """What a run would do to one role: ["create"], or those of trust, description, tags and policy that differ."""
    if existing is None:
        return ["create"]
    changes = []
    if not same_document(existing.get("AssumeRolePolicyDocument"), wanted.trust):
        changes.append("trust")
    if existing.get("Description", "") != wanted.description:
        changes.append("description")
    if missing_tags(tag_dict(existing.get("Tags")), wanted.tags):
        changes.append("tags")
    if policy is None or not same_document(policy, wanted.policy):
        changes.append("policy")
    return changes


def profile_changes(profile: Mapping[str, Any] | None, role_name: str, tags: Mapping[str, str]) -> list[str]:
    """["create"], or "tags" and "role" (the profile holds another role, or none) as they differ."""
    if profile is None:
        return ["create"]
    changes = []
    if missing_tags(tag_dict(profile.get("Tags")), tags):
        changes.append("tags")
    if [role.get("RoleName") for role in profile.get("Roles", [])] != [role_name]:
        changes.append("role")
    return changes


def after_view(before: Mapping[str, Any] | None, wanted: WantedRole) -> dict[str, Any]:
    """The role after the run: the wanted documents (in their current spelling when equivalent) and
    the current tags plus the wanted ones."""
    after = wanted_view(wanted)
    if before:
        for key in ("trust", "policy"):
            if same_document(before[key], after[key]):
                after[key] = before[key]
        after["tags"] = dict(sorted({**before["tags"], **wanted.tags}.items()))
    return after


def read_role(aws: AWS, name: str) -> dict[str, Any] | None:
    found = aws.call("iam", "get_role", RoleName=name, missing_ok=True)
    return dict(found["Role"]) if found else None


def read_profile(aws: AWS, name: str) -> dict[str, Any] | None:
    found = aws.call("iam", "get_instance_profile", InstanceProfileName=name, missing_ok=True)
    return dict(found["InstanceProfile"]) if found else None


def read_inline_policy(aws: AWS, role: str, policy_name: str) -> dict[str, Any] | None:
    found = aws.call("iam", "get_role_policy", RoleName=role, PolicyName=policy_name, missing_ok=True)
    return dict(found["PolicyDocument"]) if found else None


def apply_role(aws: AWS, wanted: WantedRole, existing: Mapping[str, Any] | None, changes: list[str]) -> str:
    """Makes the role as wanted; returns its ARN."""
    if "create" in changes:
        made = aws.call(
            "iam",
            "create_role",
            RoleName=wanted.name,
            Description=wanted.description,
            AssumeRolePolicyDocument=json.dumps(wanted.trust),
            Tags=tag_list(wanted.tags),
        )
        arn = str(made["Role"]["Arn"])
    else:
        arn = str((existing or {})["Arn"])
    if "trust" in changes:
        aws.call("iam", "update_assume_role_policy", RoleName=wanted.name, PolicyDocument=json.dumps(wanted.trust))
    if "description" in changes:
        aws.call("iam", "update_role", RoleName=wanted.name, Description=wanted.description)
    if "tags" in changes:
        missing = missing_tags(tag_dict((existing or {}).get("Tags")), wanted.tags)
        aws.call("iam", "tag_role", RoleName=wanted.name, Tags=tag_list(missing))
    if "create" in changes or "policy" in changes:
        aws.call(
            "iam",
            "put_role_policy",
            RoleName=wanted.name,
            PolicyName=wanted.policy_name,
            PolicyDocument=json.dumps(wanted.policy),
            wait_for_consistency=True,
        )
    return arn


def apply_profile(aws: AWS, name: str, profile: Mapping[str, Any] | None, tags: Mapping[str, str], changes: list[str]) -> str:
    """Makes instance profile `name` exist, tagged, holding the role of the same name; returns its ARN."""
    if profile is None:
        profile = aws.call("iam", "create_instance_profile", InstanceProfileName=name, Tags=tag_list(tags))["InstanceProfile"]
    elif "tags" in changes:
        aws.call("iam", "tag_instance_profile", InstanceProfileName=name, Tags=tag_list(missing_tags(tag_dict(profile.get("Tags")), tags)))
    if "create" in changes or "role" in changes:
        for held in profile.get("Roles", []):
            aws.call("iam", "remove_role_from_instance_profile", InstanceProfileName=name, RoleName=held["RoleName"])
        aws.call("iam", "add_role_to_instance_profile", InstanceProfileName=name, RoleName=name, wait_for_consistency=True)
    return str(profile["Arn"])


def ensure_host_iam(aws: AWS, spec: HostIAMSpec, check_mode: bool) -> dict[str, Any]:
    """The stack's roles (and the host's profile) exist as wanted afterwards. Reads first (a GetRole
    and a GetRolePolicy a role, a GetInstanceProfile), then writes only what differs."""
    if not spec.manage_iam:
        return administrator_arns(aws, spec)
    roles = wanted_roles(spec, aws.region)
    host_name = iam_names(spec.stack, aws.region)[0]
    existing = {role.name: read_role(aws, role.name) for role in roles}
    profile = read_profile(aws, host_name) if spec.host_instance_profile else None
    foreign = foreign_problems([("role", name, role) for name, role in existing.items()] + [("instance profile", host_name, profile)], spec.stack)
    if foreign:
        raise OSWorldError("; ".join(foreign))
    result: dict[str, Any] = {"changed": False, "host_role_arn": "", "host_instance_profile_arn": "", "scheduler_role_arn": ""}
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for role in roles:
        current = existing[role.name]
        policy = read_inline_policy(aws, role.name, role.policy_name) if current else None
        changes = role_changes(current, policy, role)
        before[role.name] = role_view(current, policy)
        after[role.name] = after_view(before[role.name], role)
        arn = apply_role(aws, role, current, changes) if changes and not check_mode else str((current or {}).get("Arn", ""))
        result["changed"] |= bool(changes)
        result["scheduler_role_arn" if role.policy_name == TTL_POLICY_NAME else "host_role_arn"] = arn
    if spec.host_instance_profile:
        tags = stack_tags(spec.stack, COMPONENT_HOST_PROFILE, host_name, spec.extra_tags, role=HOST_ROLE)
        changes = profile_changes(profile, host_name, tags)
        profile_key = f"instance-profile/{host_name}"
        before[profile_key] = profile_view(profile)
        after[profile_key] = {"roles": [host_name], "tags": dict(sorted({**(before[profile_key] or {}).get("tags", {}), **tags}.items()))}
        arn = apply_profile(aws, host_name, profile, tags, changes) if changes and not check_mode else str((profile or {}).get("Arn", ""))
        result["changed"] |= bool(changes)
        result["host_instance_profile_arn"] = arn
    result["diff"] = {"before": dict(sorted(before.items())), "after": dict(sorted(after.items()))}
    return result


def administrator_arns(aws: AWS, spec: HostIAMSpec) -> dict[str, Any]:
    """manage_iam false: the administrator's pieces, by ARN from the caller's account (one STS
    GetCallerIdentity, which needs no permission); no IAM call, which the operator may not be allowed."""
    result: dict[str, Any] = {"changed": False, "host_role_arn": "", "host_instance_profile_arn": "", "scheduler_role_arn": ""}
    if not (spec.host_instance_profile or spec.enable_ttl):
        return result
    caller = aws.call("sts", "get_caller_identity")
    host_name, ttl_name = iam_names(spec.stack, aws.region)
    if spec.host_instance_profile:
        result["host_role_arn"] = admin_iam_arn(caller["Arn"], caller["Account"], f"role/{host_name}")
        result["host_instance_profile_arn"] = admin_iam_arn(caller["Arn"], caller["Account"], f"instance-profile/{host_name}")
    if spec.enable_ttl:
        result["scheduler_role_arn"] = admin_iam_arn(caller["Arn"], caller["Account"], f"role/{ttl_name}")
    return result


def remove_host_iam(aws: AWS, spec: HostIAMSpec, check_mode: bool) -> dict[str, Any]:
    """Deletes the stack's profile and roles (with their inline policies) when they carry the
    collection's tags for this stack; anything else of those names is left and listed in `kept`."""
    if not spec.manage_iam:
        return {"changed": False, "deleted": [], "kept": []}
    host_name, ttl_name = iam_names(spec.stack, aws.region)
    roles = [("role", name, read_role(aws, name)) for name in (host_name, ttl_name)]
    # The profile is made after its role and deleted before it, and IAM refuses to delete a role
    # that a profile holds: without the host role there is no profile of the stack's to read.
    profile = read_profile(aws, host_name) if roles[0][2] else None
    pieces = [("instance-profile", host_name, profile), *roles]
    deleted = [f"{kind}/{name}" for kind, name, found in pieces if found and is_stack_owned(tag_dict(found.get("Tags")), spec.stack)]
    kept = [f"{kind}/{name}" for kind, name, found in pieces if found and f"{kind}/{name}" not in deleted]
    for kind, name, found in pieces:
        if check_mode or f"{kind}/{name}" not in deleted:
            continue
        if kind == "instance-profile":
            delete_profile(aws, name, found)
        else:
            delete_role(aws, name)
    return {
        "changed": bool(deleted),
        "deleted": deleted,
        "kept": kept,
        "diff": {"before": {piece: "present" for piece in sorted(deleted)}, "after": {}},
    }


def delete_profile(aws: AWS, name: str, profile: Mapping[str, Any] | None) -> None:
    for held in (profile or {}).get("Roles", []):
        aws.call("iam", "remove_role_from_instance_profile", InstanceProfileName=name, RoleName=held["RoleName"], missing_ok=True)
    aws.call("iam", "delete_instance_profile", InstanceProfileName=name, missing_ok=True)


def delete_role(aws: AWS, name: str) -> None:
    """The role's inline policies first (IAM refuses to delete a role that has any); a managed
    policy someone attached, or another profile holding it, makes IAM refuse with DeleteConflict."""
    for policy_name in aws.paginate("iam", "list_role_policies", "PolicyNames", RoleName=name):
        aws.call("iam", "delete_role_policy", RoleName=name, PolicyName=policy_name, missing_ok=True)
    aws.call("iam", "delete_role", RoleName=name, missing_ok=True)
