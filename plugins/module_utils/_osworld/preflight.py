# This module util is PRIVATE to the collection. It may change without notice.
"""Preflight: everything that can be checked before a playbook creates anything.

Input checks are pure (no AWS call) and return findings; the AWS checks are read-only and few
(provision.yml's re-run budget counts every call), and those a fleet's scale-up runs too live in
checks.py. Every error names the variable to fix, in the
playbook's spelling (osworld_*), so a user reads one line and knows what to change.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from .aws import AWS
from .checks import (
    COMMON,
    ERROR,
    FLEET_INPUTS,
    HOST,
    HOST_INPUTS,
    IMAGE,
    IMAGE_MAP,
    INSTANCE_TYPE,
    KEY_PAIR,
    NETWORK,
    NETWORK_INPUTS,
    QUOTA,
    WARNING,
    Finding,
    Report,
    check_instance_type,
    check_key_pair,
    check_network,
    check_vcpu_quota,
    choose_subnet_zone,
    denied_as_finding,
    internal_reach_warning,
)
from .defaults import (
    DEFAULT_ADMIN_CIDRS,
    DEFAULT_INSTANCE_TYPE,
    DEFAULT_MONITOR_PORT,
    DEFAULT_NAME_PREFIX,
    DEFAULT_SUBNET_CIDR,
    DEFAULT_TTL_MINUTES,
    DEFAULT_VPC_CIDR,
    SECURITY_GROUP_ENV,
    SUBNET_ENV,
)
from .errors import OSWorldError
from .image_copy import CopySpec, check_copy
from .images import DEFAULT_SCREEN_SIZE, IMAGE_HOME_REGION, check_map, image_problem
from .keys import KeySpec
from .options import Options, blank_is_none, extra_tags_option, option
from .tags import RESERVED_PREFIX
from .validation import (
    ALL_FLEETS,
    DEFAULT_FLEET,
    INSTANCE_TYPE_PATTERN,
    NAME_PATTERN,
    REGION_PATTERN,
    validate_cidr,
    validate_internal_cidr,
    validate_port,
    validate_range,
    validate_resource_id,
)

# Input checks (no API call), then the AWS checks, each of which implies the inputs it reads.
INPUT_CHECKS = (COMMON, IMAGE_MAP, NETWORK_INPUTS, FLEET_INPUTS, HOST_INPUTS)
AWS_CHECKS = (IMAGE, NETWORK, INSTANCE_TYPE, KEY_PAIR, QUOTA, HOST)
ALL_CHECKS = INPUT_CHECKS + AWS_CHECKS
IMPLIED_INPUTS = {
    IMAGE: IMAGE_MAP,
    NETWORK: NETWORK_INPUTS,
    INSTANCE_TYPE: FLEET_INPUTS,
    KEY_PAIR: FLEET_INPUTS,
    QUOTA: FLEET_INPUTS,
    HOST: HOST_INPUTS,
}

# A guard against typos (5000 for 50), not an AWS limit: the vCPU quota check covers the real one.
MAX_ENV_COUNT = 1000
KEY_NAME_PATTERN = re.compile(r"^[\x20-\x7e]{1,255}$")
WHOLE_INTERNET = frozenset({"0.0.0.0/0", "::/0"})


@dataclass(frozen=True)
class PreflightInput(Options):
    """The playbook variables preflight reads (None or empty: not given), the options of
    osworld.aws.preflight but the host's (host_checks.HostInput). They are checked by
    check_inputs, into the report, in the playbook's spelling."""

    region: str
    checks: Sequence[str] = option("list", list(ALL_CHECKS), elements="str", choices=ALL_CHECKS)
    image_id_map: Mapping[str, Any] = option("dict", {})
    screen_size: str = option("str", DEFAULT_SCREEN_SIZE)
    instance_type: str = option("str", DEFAULT_INSTANCE_TYPE)
    key_name: str | None = option("str", checks=[blank_is_none])
    vpc_id: str | None = option("str", checks=[blank_is_none])
    subnet_id: str | None = option("str", checks=[blank_is_none])
    security_group_id: str | None = option("str", checks=[blank_is_none])
    vpc_cidr: str = option("str", DEFAULT_VPC_CIDR)
    subnet_cidr: str = option("str", DEFAULT_SUBNET_CIDR)
    availability_zone: str | None = option("str", checks=[blank_is_none])
    internal_cidr: str | None = option("str", checks=[blank_is_none])
    admin_cidrs: Sequence[str] = option("list", list(DEFAULT_ADMIN_CIDRS), elements="str")
    monitor_port: int = option("int", DEFAULT_MONITOR_PORT)
    name_prefix: str = option("str", DEFAULT_NAME_PREFIX)
    fleet: str = option("str", DEFAULT_FLEET)
    env_count: int = option("int", 0)
    ttl_minutes: int = option("int", DEFAULT_TTL_MINUTES)
    extra_tags: Mapping[str, Any] = extra_tags_option()
    image_copy: bool = option("bool", False)
    image_source_region: str = option("str", IMAGE_HOME_REGION)
    key_create: bool = option("bool", False, no_log=False)
    key_file: str | None = option("path", checks=[blank_is_none])
    key_public_file: str | None = option("path", checks=[blank_is_none])

    @property
    def adopts_network(self) -> bool:
        return bool(self.vpc_id or self.subnet_id)


def expand_checks(requested: Iterable[str]) -> list[str]:
    """The requested checks plus the input checks they depend on, in running order."""
    wanted = set(requested)
    unknown = sorted(wanted - set(ALL_CHECKS))
    if unknown:
        raise OSWorldError(f"osworld_preflight_checks: unknown check(s) {', '.join(unknown)} (known: {', '.join(ALL_CHECKS)})")
    if wanted:
        wanted.add(COMMON)
    wanted.update(IMPLIED_INPUTS[check] for check in AWS_CHECKS if check in wanted)
    return [check for check in ALL_CHECKS if check in wanted]


# Variables whose playbook default is read from the shell: OSWorld's guide tells users to export them.
ENVIRONMENT_DEFAULTS = (
    ("subnet_id", SUBNET_ENV, f"adopting {{value}} from {SUBNET_ENV}"),
    ("security_group_id", SECURITY_GROUP_ENV, f"using security group {{value}} from {SECURITY_GROUP_ENV}"),
)


def environment_notices(inputs: PreflightInput, environ: Mapping[str, str]) -> list[str]:
    """What the run takes from exported variables rather than from the playbook, so it is never silent."""
    notices = []
    for attribute, name, text in ENVIRONMENT_DEFAULTS:
        value = getattr(inputs, attribute)
        if value and environ.get(name) == value:
            notices.append(text.format(value=value))
    return notices


# ---------------------------------------------------------------------------------------------
# Input checks (pure)


def check_inputs(inputs: PreflightInput, checks: Sequence[str], known_regions: Iterable[str] = ()) -> Report:
    report = Report()
    if COMMON in checks:
        check_common(report, inputs, known_regions)
    # A malformed region would only add a second, confusing error about the map.
    if IMAGE_MAP in checks and REGION_PATTERN.match(inputs.region or ""):
        copy_from = inputs.image_source_region if inputs.image_copy else None
        checked = check_map(inputs.image_id_map, inputs.region, inputs.screen_size, copy_from)
        report.findings.extend(Finding(IMAGE_MAP, ERROR, variable, message) for variable, message in checked.errors)
        report.findings.extend(Finding(IMAGE_MAP, WARNING, variable, message) for variable, message in checked.warnings)
        if checked.image_id and not checked.errors:
            report.facts["image_id"] = checked.image_id
        if checked.copy_source_image_id and not checked.errors:
            report.facts["image_copy_source"] = {"region": inputs.image_source_region, "image_id": checked.copy_source_image_id}
    if NETWORK_INPUTS in checks:
        check_network_inputs(report, inputs)
    if FLEET_INPUTS in checks:
        check_fleet_inputs(report, inputs)
    return report


def check_common(report: Report, inputs: PreflightInput, known_regions: Iterable[str] = ()) -> None:
    region = inputs.region
    if not REGION_PATTERN.match(region or ""):
        report.error(COMMON, "osworld_region", f"osworld_region: '{region}' is not an AWS region name (expected e.g. us-east-1)")
    else:
        known = set(known_regions)
        if known and region not in known:
            report.warn(COMMON, "osworld_region", f"osworld_region: '{region}' is not a region this botocore knows; check the spelling")
    if not NAME_PATTERN.match(inputs.name_prefix or ""):
        report.error(
            COMMON,
            "osworld_name_prefix",
            f"osworld_name_prefix: '{inputs.name_prefix}' must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    check_resource_ids(report, inputs)
    check_extra_tags(report, inputs.extra_tags)


def check_extra_tags(report: Report, extra_tags: Mapping[str, Any]) -> None:
    if not isinstance(extra_tags, Mapping):
        report.error(COMMON, "osworld_extra_tags", "osworld_extra_tags: must be a mapping of tag keys to values")
        return
    for key, value in extra_tags.items():
        key = str(key)
        shown = f"osworld_extra_tags['{key}']"
        if key.startswith(RESERVED_PREFIX):
            report.warn(COMMON, "osworld_extra_tags", f"{shown}: keys starting with '{RESERVED_PREFIX}' are the collection's own and are ignored")
        elif key.lower().startswith("aws:"):
            report.error(COMMON, "osworld_extra_tags", f"{shown}: keys starting with 'aws:' are reserved by AWS")
        elif not 1 <= len(key) <= 128:
            report.error(COMMON, "osworld_extra_tags", f"{shown}: a tag key has 1-128 characters")
        elif value is None or isinstance(value, (Mapping, list)):
            report.error(COMMON, "osworld_extra_tags", f"{shown}: a tag value must be a string, not {type(value).__name__}")
        elif len(str(value)) > 256:
            report.error(COMMON, "osworld_extra_tags", f"{shown}: a tag value has at most 256 characters")
    # AWS allows 50 tags per resource; the collection's own take up to 8 of them.
    if len(extra_tags) > 42:
        report.error(COMMON, "osworld_extra_tags", f"osworld_extra_tags: {len(extra_tags)} tags, at most 42 fit beside the collection's own")


def check_resource_ids(report: Report, inputs: PreflightInput) -> None:
    for variable, value, kind in (
        ("osworld_vpc_id", inputs.vpc_id, "vpc"),
        ("osworld_subnet_id", inputs.subnet_id, "subnet"),
        ("osworld_security_group_id", inputs.security_group_id, "sg"),
    ):
        if value:
            report.guard(COMMON, variable, partial(validate_resource_id, value, kind, variable))


def check_network_inputs(report: Report, inputs: PreflightInput) -> None:
    internal = None
    if inputs.internal_cidr:
        internal = report.guard(NETWORK_INPUTS, "osworld_internal_cidr", lambda: validate_internal_cidr(str(inputs.internal_cidr), "osworld_internal_cidr"))
    if not inputs.adopts_network:
        check_dedicated_network(report, inputs, internal)
    check_admin_cidrs(report, inputs.admin_cidrs)
    port = report.guard(NETWORK_INPUTS, "osworld_monitor_port", lambda: validate_port(inputs.monitor_port, "osworld_monitor_port"))
    if port == 22:
        report.error(NETWORK_INPUTS, "osworld_monitor_port", "osworld_monitor_port: 22 is SSH on the host; pick another port (the guide's is 8080)")


def check_dedicated_network(report: Report, inputs: PreflightInput, internal_cidr: str | None) -> None:
    vpc = report.guard(NETWORK_INPUTS, "osworld_vpc_cidr", lambda: validate_cidr(inputs.vpc_cidr, "osworld_vpc_cidr"))
    subnet = report.guard(NETWORK_INPUTS, "osworld_subnet_cidr", lambda: validate_cidr(inputs.subnet_cidr, "osworld_subnet_cidr"))
    if inputs.availability_zone and not inputs.availability_zone.startswith(inputs.region):
        report.error(
            NETWORK_INPUTS,
            "osworld_availability_zone",
            f"osworld_availability_zone: {inputs.availability_zone} is not a zone of osworld_region {inputs.region}",
        )
    if vpc is None or subnet is None:
        return
    vpc_net, subnet_net = ipaddress.ip_network(vpc), ipaddress.ip_network(subnet)
    for variable, network in (("osworld_vpc_cidr", vpc_net), ("osworld_subnet_cidr", subnet_net)):
        if network.version != 4 or not 16 <= network.prefixlen <= 28:
            report.error(NETWORK_INPUTS, variable, f"{variable}: {network} must be an IPv4 block between /16 and /28 (an AWS limit)")
            return
    if not subnet_net.subnet_of(vpc_net):  # type: ignore[arg-type]
        report.error(NETWORK_INPUTS, "osworld_subnet_cidr", f"osworld_subnet_cidr: {subnet} is not inside osworld_vpc_cidr {vpc}")
    if internal_cidr is None:
        # Without osworld_internal_cidr the VPC's CIDR is the source of port 5000 and the other internal ports.
        report.guard(NETWORK_INPUTS, "osworld_vpc_cidr", lambda: validate_internal_cidr(vpc, "osworld_vpc_cidr"))
    elif not subnet_net.subnet_of(ipaddress.ip_network(internal_cidr)):  # type: ignore[arg-type]
        report.warn(NETWORK_INPUTS, "osworld_internal_cidr", internal_reach_warning(internal_cidr, subnet))


def check_admin_cidrs(report: Report, admin_cidrs: Sequence[str]) -> None:
    if isinstance(admin_cidrs, str) or not admin_cidrs:
        report.error(NETWORK_INPUTS, "osworld_admin_cidrs", "osworld_admin_cidrs: a list of at least one CIDR block is required")
        return
    cidrs = [report.guard(NETWORK_INPUTS, "osworld_admin_cidrs", partial(validate_cidr, value, "osworld_admin_cidrs")) for value in admin_cidrs]
    open_to_all = sorted(WHOLE_INTERNET.intersection(cidr for cidr in cidrs if cidr))
    if open_to_all:
        report.warn(
            NETWORK_INPUTS,
            "osworld_admin_cidrs",
            f"osworld_admin_cidrs contains {', '.join(open_to_all)}: SSH (22) and noVNC (5910) on every VM, and SSH and the "
            "monitor port on the host, are open to the whole internet; set it to your own address, e.g. ['203.0.113.7/32']",
        )


def check_fleet_inputs(report: Report, inputs: PreflightInput) -> None:
    fleet = inputs.fleet or ""
    if not NAME_PATTERN.match(fleet):
        report.error(FLEET_INPUTS, "osworld_fleet", f"osworld_fleet: '{fleet}' must be 1-63 letters, digits, '.', '_' or '-'")
    elif fleet == ALL_FLEETS and inputs.env_count > 0:
        report.error(FLEET_INPUTS, "osworld_fleet", "osworld_fleet: 'all' only tears down (teardown.yml: every fleet); name the fleet to launch VMs into")
    report.guard(FLEET_INPUTS, "osworld_env_count", lambda: validate_range(inputs.env_count, "osworld_env_count", 0, MAX_ENV_COUNT))
    if inputs.ttl_minutes < 0:
        report.error(FLEET_INPUTS, "osworld_ttl_minutes", f"osworld_ttl_minutes: {inputs.ttl_minutes} is negative (0 means already due for reaping)")
    if not INSTANCE_TYPE_PATTERN.match(inputs.instance_type or ""):
        report.error(FLEET_INPUTS, "osworld_instance_type", f"osworld_instance_type: '{inputs.instance_type}' is not an instance type like t3.medium")
    if inputs.key_name is not None and not KEY_NAME_PATTERN.match(inputs.key_name):
        report.error(FLEET_INPUTS, "osworld_key_name", "osworld_key_name: a key pair name has 1-255 printable ASCII characters")


# ---------------------------------------------------------------------------------------------
# AWS checks (read-only)


def check_aws(aws: AWS, inputs: PreflightInput, checks: Sequence[str], report: Report) -> Report:
    """Runs the AWS checks; the inputs must have passed. At most one call per check on the happy path."""
    zone = inputs.availability_zone if not inputs.adopts_network else None
    if IMAGE in checks and report.facts.get("image_id"):
        check_image(aws, inputs, str(report.facts["image_id"]), report)
    elif IMAGE in checks and report.facts.get("image_copy_source"):
        check_image_copy(aws, inputs, report)
    if NETWORK in checks and (inputs.adopts_network or inputs.security_group_id):
        zone = check_network(aws, report, inputs.subnet_id, inputs.security_group_id, inputs.vpc_id, inputs.internal_cidr) or zone
    if zone:
        report.facts["availability_zone"] = zone
    if INSTANCE_TYPE in checks:
        offered_zones = check_instance_type(aws, inputs.instance_type, zone, report)
        if offered_zones and not zone and not inputs.adopts_network:
            report.offered_zones = offered_zones
            report.facts["subnet_zone"] = choose_subnet_zone(offered_zones)
    if KEY_PAIR in checks and inputs.key_name:
        create = KeySpec(name=inputs.key_name, key_file=inputs.key_file, public_key_file=inputs.key_public_file) if inputs.key_create else None
        check_key_pair(aws, inputs.key_name, report, create)
    if QUOTA in checks:
        if inputs.env_count > 0:
            verdict = check_vcpu_quota(aws, report, inputs.instance_type, inputs.env_count, inputs.fleet)
            if verdict.skipped:
                report.skip(QUOTA, verdict.skipped)
        else:
            report.skip(QUOTA, "osworld_env_count is 0")
    return report


def check_image(aws: AWS, inputs: PreflightInput, image_id: str, report: Report) -> None:
    found = denied_as_finding(report, IMAGE, lambda: image_problem(aws, inputs.image_id_map, inputs.screen_size, image_id))
    if found is None:
        return
    problem, name = found
    if name:
        report.facts["image_name"] = name
    if problem:
        report.error(IMAGE, "osworld_image_id_map", problem)


def check_image_copy(aws: AWS, inputs: PreflightInput, report: Report) -> None:
    """osworld_image_copy: the stack's copy exists (1 call), or the source AMI can be copied (1 more)."""
    source = report.facts["image_copy_source"]
    spec = CopySpec(inputs.name_prefix, inputs.screen_size, str(source["region"]), str(source["image_id"]), inputs.extra_tags)
    found = denied_as_finding(report, IMAGE, lambda: check_copy(aws, AWS(replace(aws.params, region=spec.source_region)), spec))
    if found is None:
        return
    problem, facts = found
    report.facts.update(facts)
    if problem:
        report.error(IMAGE, "osworld_image_source_region" if "osworld_image_source_region" in problem else "osworld_image_id_map", problem)
