# This module util is PRIVATE to the collection. It may change without notice.
"""The guide's two security groups (env VMs and host), kept exact: missing rules restored,
extra rules removed, changed descriptions updated in place."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .aws import AWS
from .defaults import DEFAULT_ADMIN_CIDRS, DEFAULT_MONITOR_PORT, DEFAULT_WAIT_TIMEOUT
from .blockers import advice, delete_when_released, describe, instances_in_groups, is_client
from .errors import OSWorldError
from .instances import terminate, wait_for_state
from .options import Options, blank_is_none, extra_tags_option, option, resource_id, stack_option
from .rules import EGRESS, INGRESS, Rule, RuleDiff, apply_diff, diff_rules, ip_permissions, make_rule, rules_for_diff, rules_from_ip_permissions
from .stack import COMPONENT_ENV_SECURITY_GROUP, COMPONENT_HOST_SECURITY_GROUP, PLANNED_ID
from .tags import COMPONENT_KEY, SUBNET_KEY, stack_identity, stack_tags, tag_dict, tag_filters, tag_list, tag_specifications
from .validation import validate_cidrs, validate_internal_cidr, validate_port

# The guide's inbound rules: (port, audience, description). "admin" ports follow
# osworld_admin_cidrs; "internal" ports must never leave the VPC (5000 runs commands unauthenticated).
GUIDE_ENV_INGRESS: tuple[tuple[int, str, str], ...] = (
    (22, "admin", "SSH access"),
    (80, "internal", "HTTP traffic"),
    (5000, "internal", "OSWorld backend service"),
    (5910, "admin", "NoVNC visualization port"),
    (8006, "internal", "VNC service port"),
    (8080, "internal", "VLC service port"),
    (8081, "internal", "Additional service port"),
    (9222, "internal", "Chrome control port"),
)
EGRESS_DESCRIPTION = "Allow all outbound traffic"
# AWS gives every new group this egress rule (without a description).
AWS_DEFAULT_EGRESS = make_rule(EGRESS, "-1", None, None, "0.0.0.0/0")


@dataclass(frozen=True)
class GroupSpec:
    component: str
    name: str
    description: str
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    tags: Mapping[str, str]

    @property
    def rules(self) -> list[Rule]:
        return [*self.ingress, *self.egress]


@dataclass(frozen=True)
class GroupsOptions(Options):
    """The options of osworld.aws.security_groups. In check mode the network may itself be only
    planned by osworld.aws.network, so its planned id passes the id checks."""

    stack: str = stack_option()
    state: str = option("str", "present", choices=("present", "absent"))
    vpc_id: str | None = option("str", checks=[blank_is_none, resource_id("vpc", planned_ok=True)])
    subnet_id: str | None = option("str", checks=[blank_is_none, resource_id("subnet", planned_ok=True)])
    admin_cidrs: Sequence[str] = option("list", list(DEFAULT_ADMIN_CIDRS), elements="str", checks=[validate_cidrs])
    internal_cidr: str | None = option("str", checks=[blank_is_none, validate_internal_cidr])
    monitor_port: int = option("int", DEFAULT_MONITOR_PORT, checks=[validate_port])
    host_group: bool = option("bool", True)
    extra_tags: Mapping[str, Any] = extra_tags_option()
    terminate_client_vms: bool = option("bool", False)
    wait_timeout: int = option("int", DEFAULT_WAIT_TIMEOUT)

    def problems(self) -> list[str]:
        if self.state == "absent":
            return []
        return [f"{name} is required with state=present" for name in ("vpc_id", "subnet_id", "internal_cidr") if not getattr(self, name)]

    def present_ids(self) -> tuple[str, str, str]:
        """The VPC, subnet and internal CIDR that state=present needs (from_params has already
        refused a run without them, through problems())."""
        if not (self.vpc_id and self.subnet_id and self.internal_cidr):
            raise OSWorldError("; ".join(self.problems()))
        return self.vpc_id, self.subnet_id, self.internal_cidr

    def groups(self) -> list[GroupSpec]:
        """The groups of state=present: the env group, and the host's unless host_group is false."""
        subnet_id, internal_cidr = self.present_ids()[1:]
        specs = [env_group_spec(self.stack, self.admin_cidrs, internal_cidr, subnet_id, self.extra_tags)]
        if self.host_group:
            specs.append(host_group_spec(self.stack, self.admin_cidrs, self.monitor_port, self.extra_tags))
        return specs


def all_outbound() -> tuple[Rule, ...]:
    return (make_rule(EGRESS, "-1", None, None, "0.0.0.0/0", EGRESS_DESCRIPTION),)


def env_group_spec(
    stack: str, admin_cidrs: Sequence[str], internal_cidr: str, subnet_id: str, extra_tags: Mapping[str, Any]
) -> GroupSpec:
    ingress: list[Rule] = []
    for port, audience, description in GUIDE_ENV_INGRESS:
        sources = admin_cidrs if audience == "admin" else [internal_cidr]
        ingress.extend(make_rule(INGRESS, "tcp", port, port, source, description) for source in sources)
    tags = dict(stack_tags(stack, COMPONENT_ENV_SECURITY_GROUP, f"{stack}-env", extra_tags))
    tags[SUBNET_KEY] = subnet_id
    return GroupSpec(
        COMPONENT_ENV_SECURITY_GROUP,
        f"{stack}-env",
        "OSWorld environment VMs (osworld.aws)",
        tuple(ingress),
        all_outbound(),
        tags,
    )


def host_group_spec(stack: str, admin_cidrs: Sequence[str], monitor_port: int, extra_tags: Mapping[str, Any]) -> GroupSpec:
    ingress = [make_rule(INGRESS, "tcp", 22, 22, source, "SSH access") for source in admin_cidrs]
    ingress.extend(make_rule(INGRESS, "tcp", monitor_port, monitor_port, source, "OSWorld monitor") for source in admin_cidrs)
    return GroupSpec(
        COMPONENT_HOST_SECURITY_GROUP,
        f"{stack}-host",
        "OSWorld host machine (osworld.aws)",
        tuple(ingress),
        all_outbound(),
        stack_tags(stack, COMPONENT_HOST_SECURITY_GROUP, f"{stack}-host", extra_tags),
    )


def current_rules(group: Mapping[str, Any]) -> list[Rule]:
    return rules_from_ip_permissions(INGRESS, group.get("IpPermissions", [])) + rules_from_ip_permissions(
        EGRESS, group.get("IpPermissionsEgress", [])
    )


def missing_tags(current: Mapping[str, str], desired: Mapping[str, str]) -> dict[str, str]:
    """Tags to set; tags someone else added are left alone."""
    return {key: value for key, value in desired.items() if current.get(key) != value}


def group_state(rules: Iterable[Rule], tags: Mapping[str, str]) -> dict[str, Any]:
    return {"rules": rules_for_diff(rules), "tags": dict(sorted(tags.items()))}


def find_stack_groups(aws: AWS, stack: str) -> dict[str, dict[str, Any]]:
    wanted = tag_filters(stack_identity(stack))
    groups = aws.paginate("ec2", "describe_security_groups", "SecurityGroups[]", Filters=wanted)
    found: dict[str, dict[str, Any]] = {}
    for group in groups:
        component = tag_dict(group.get("Tags")).get(COMPONENT_KEY, "")
        if component in found:
            raise OSWorldError(
                f"Stack '{stack}' has two {component} groups ({found[component]['GroupId']}, {group['GroupId']}): "
                "delete the one you do not use"
            )
        found[component] = group
    return found


def ensure_groups(aws: AWS, vpc_id: str, stack: str, specs: Sequence[GroupSpec], check_mode: bool) -> dict[str, Any]:
    existing = find_stack_groups(aws, stack)
    elsewhere = sorted({group["VpcId"] for group in existing.values() if group["VpcId"] != vpc_id})
    if elsewhere:
        raise OSWorldError(
            f"Stack '{stack}' already has its security groups in {', '.join(elsewhere)}, not in {vpc_id}: "
            "run teardown.yml with osworld_teardown_network=true first, or pick another osworld_name_prefix"
        )
    result: dict[str, Any] = {"changed": False, "groups": {}, "diff": {"before": {}, "after": {}}}
    for spec in specs:
        group = existing.get(spec.component)
        outcome = _ensure_group(aws, vpc_id, spec, group, check_mode)
        result["groups"][spec.component] = outcome["group"]
        result["diff"]["before"][spec.component] = outcome["before"]
        result["diff"]["after"][spec.component] = outcome["after"]
        result["changed"] = result["changed"] or outcome["changed"]
    return result


def _ensure_group(
    aws: AWS, vpc_id: str, spec: GroupSpec, group: Mapping[str, Any] | None, check_mode: bool
) -> dict[str, Any]:
    created = group is None
    if group is None:
        before_rules: list[Rule] = []
        before_tags: dict[str, str] = {}
        rules_now = [AWS_DEFAULT_EGRESS]
        group_id = PLANNED_ID
        if not check_mode:
            group_id = aws.call(
                "ec2",
                "create_security_group",
                GroupName=spec.name,
                Description=spec.description,
                VpcId=vpc_id,
                TagSpecifications=tag_specifications(["security-group"], spec.tags),
            )["GroupId"]
        tags_now: dict[str, str] = dict(spec.tags)
    else:
        group_id = group["GroupId"]
        rules_now = current_rules(group)
        before_rules, before_tags = list(rules_now), tag_dict(group.get("Tags"))
        tags_now = before_tags
    diff = diff_rules(rules_now, spec.rules, purge=True)
    tags_to_set = missing_tags(tags_now, spec.tags)
    if not check_mode:
        _apply_rule_diff(aws, group_id, diff, wait_for_consistency=created)
        if tags_to_set:
            aws.call("ec2", "create_tags", Resources=[group_id], Tags=tag_list(tags_to_set))
    after_rules = apply_diff(rules_now, diff)
    after_tags = {**tags_now, **tags_to_set}
    return {
        "changed": created or diff.changed or bool(tags_to_set),
        "group": {
            "group_id": group_id,
            "group_name": spec.name,
            "vpc_id": vpc_id,
            "created": created,
            "rules": [rule.as_dict() for rule in after_rules],
            "tags": dict(sorted(after_tags.items())),
        },
        "before": group_state(before_rules, before_tags) if not created else {},
        "after": group_state(after_rules, after_tags),
    }


def _apply_rule_diff(aws: AWS, group_id: str, diff: RuleDiff, wait_for_consistency: bool) -> None:
    # Add before removing so a changed admin CIDR never leaves a moment without SSH.
    operations: tuple[tuple[str, str, Callable[[RuleDiff], list[Rule]]], ...] = (
        (INGRESS, "authorize_security_group_ingress", lambda d: d.to_add),
        (EGRESS, "authorize_security_group_egress", lambda d: d.to_add),
        (INGRESS, "revoke_security_group_ingress", lambda d: d.to_remove),
        (EGRESS, "revoke_security_group_egress", lambda d: d.to_remove),
        (INGRESS, "update_security_group_rule_descriptions_ingress", lambda d: d.to_describe),
        (EGRESS, "update_security_group_rule_descriptions_egress", lambda d: d.to_describe),
    )
    for direction, operation, pick in operations:
        rules = pick(diff.in_direction(direction))
        if rules:
            aws.call(
                "ec2",
                operation,
                wait_for_consistency=wait_for_consistency,
                GroupId=group_id,
                IpPermissions=ip_permissions(rules),
            )


def remove_groups(
    aws: AWS,
    stack: str,
    check_mode: bool,
    sleep: Callable[[float], None] = time.sleep,
    terminate_client_vms: bool = False,
    wait_timeout: int = DEFAULT_WAIT_TIMEOUT,
) -> dict[str, Any]:
    """Deletes the stack's groups once nothing is in them. What is still in them is named first
    (one DescribeInstances): the OSWorld client's own untagged VMs are terminated when asked,
    anything else stops the teardown with the instance ids and who launched them."""
    existing = find_stack_groups(aws, stack)
    groups = [(component, existing[component]) for component in (COMPONENT_HOST_SECURITY_GROUP, COMPONENT_ENV_SECURITY_GROUP) if component in existing]
    env_ids = {group["GroupId"] for component, group in groups if component == COMPONENT_ENV_SECURITY_GROUP}
    holding = instances_in_groups(aws, {group["GroupId"] for unused, group in groups}, {group["VpcId"] for unused, group in groups})
    live = [instance for instance in holding if instance.get("State", {}).get("Name") != "shutting-down"]
    client_ids = sorted(instance["InstanceId"] for instance in live if is_client(instance, env_ids)) if terminate_client_vms else []
    if client_ids and not check_mode:
        terminate(aws, client_ids)
        wait_for_state(aws, client_ids, "terminated", wait_timeout, sleep)
    blocking = [instance for instance in live if instance["InstanceId"] not in client_ids]
    # In check mode the fleet teardown before this one only planned its terminations.
    if blocking and not check_mode:
        names = ", ".join(f"{group['GroupId']} ({group['GroupName']})" for unused, group in groups)
        raise OSWorldError(
            f"Stack '{stack}': the security groups {names} still hold {describe(blocking, env_ids)}. Nothing was deleted; "
            f"{advice(blocking, env_ids)}, then run teardown again",
            blocking=[instance["InstanceId"] for instance in blocking],
        )
    removed = []
    for component, group in groups:
        if not check_mode:
            group_id = group["GroupId"]
            delete_when_released(
                aws, "delete_security_group", {"group_id": group_id}, "delete what uses it, then run teardown again", missing_ok=True, GroupId=group_id
            )
        removed.append({"group_id": group["GroupId"], "group_name": group["GroupName"], "component": component})
    before = {item["component"]: {"group_id": item["group_id"]} for item in removed}
    return {
        "changed": bool(removed or client_ids),
        "removed": removed,
        "client_vms_terminated": client_ids,
        "diff": {"before": before, "after": {}},
    }
