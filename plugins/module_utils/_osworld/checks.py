# This module util is PRIVATE to the collection. It may change without notice.
"""The read-only AWS checks that preflight and a fleet's scale-up share, and the report they fill.

Each check adds findings to a Report instead of raising, so that one run lists every problem
at once; a missing read permission becomes a finding that names the IAM action to grant. At most
one call per check on the happy path (provision.yml's re-run budget counts every call).
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .aws import AWS
from .errors import DENIED_CODES, AWSCallError, OSWorldError, iam_action
from .keys import KeySpec, creation_problem
from .quota import ERROR, WARNING, QuotaVerdict, check_quota

# The checks' names, as findings and osworld_preflight_checks spell them: input checks (no API
# call), then the AWS checks. preflight.py orders them and says which inputs each AWS check reads.
COMMON = "common"
IMAGE_MAP = "image_map"
NETWORK_INPUTS = "network_inputs"
FLEET_INPUTS = "fleet_inputs"
IMAGE = "image"
NETWORK = "network"
INSTANCE_TYPE = "instance_type"
KEY_PAIR = "key_pair"
QUOTA = "quota"
# The host machine's checks live in host_checks.py; their names are here with the others'.
HOST_INPUTS = "host_inputs"
HOST = "host"


@dataclass(frozen=True)
class Finding:
    check: str
    level: str
    variable: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Report:
    """What the checks found; `facts` carries what later roles can reuse (the AMI, the zone)."""

    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    # Zones offering the env type, when preflight picks the zone of a subnet still to be created.
    offered_zones: list[str] = field(default_factory=list)
    # What the run takes from the environment rather than from a variable, said out loud.
    notices: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.level == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.level == WARNING]

    def error(self, check: str, variable: str, message: str) -> None:
        self.findings.append(Finding(check, ERROR, variable, message))

    def warn(self, check: str, variable: str, message: str) -> None:
        self.findings.append(Finding(check, WARNING, variable, message))

    def skip(self, check: str, reason: str) -> None:
        self.skipped.append({"check": check, "reason": reason})

    def guard(self, check: str, variable: str, validate: Callable[[], Any]) -> Any:
        """Runs one validation function; its OSWorldError becomes an error finding."""
        try:
            return validate()
        except OSWorldError as exc:
            self.error(check, variable, exc.message)
            return None


def failure_message(errors: Sequence[Finding]) -> str:
    if len(errors) == 1:
        return f"Preflight: {errors[0].message}"
    listed = "; ".join(f"({number}) {finding.message}" for number, finding in enumerate(errors, 1))
    return f"Preflight found {len(errors)} problems, nothing was created: {listed}"


def read_call(aws: AWS, report: Report, check: str, service: str, operation: str, **kwargs: Any) -> Any:
    """One read call; a missing permission becomes a finding that names the IAM action to grant (None returned)."""
    return denied_as_finding(report, check, lambda: aws.call(service, operation, **kwargs), service)


def denied_as_finding(report: Report, check: str, lookup: Callable[[], Any], service: str = "ec2") -> Any:
    """Runs a read-only lookup; a missing permission becomes a finding naming the IAM action (None returned)."""
    try:
        return lookup()
    except AWSCallError as exc:
        if exc.code not in DENIED_CODES:
            raise
        action = iam_action(service, exc.operation)
        report.error(check, action, f"the AWS identity may not call {action} ({exc.code}: {exc.aws_message}); grant it (see policies/operator.json)")
        return None


def internal_reach_warning(internal_cidr: str, subnet_cidr: str) -> str:
    return (
        f"osworld_internal_cidr: {internal_cidr} does not contain the subnet {subnet_cidr}: the host in that subnet "
        "cannot reach the VMs' backend (5000), VNC, Chrome and VLC ports"
    )


def check_network(
    aws: AWS,
    report: Report,
    subnet_id: str | None,
    security_group_id: str | None,
    vpc_id: str | None = None,
    internal_cidr: str | None = None,
    known_group_vpc_id: str | None = None,
) -> str | None:
    """The adopted subnet (or VPC) and the given security group exist and share a VPC; returns the subnet's zone.

    known_group_vpc_id: the group's VPC, when a lookup by the stack's tags has just read the group;
    it is then not described again (a fleet's launch finds its group that way).
    """
    zone, network_vpc_id = None, vpc_id
    if subnet_id:
        subnets = _describe_or_missing(aws, report, "describe_subnets", "Subnets", "osworld_subnet_id", subnet_id, SubnetIds=[subnet_id])
        if subnets:
            subnet = subnets[0]
            if vpc_id and subnet.get("VpcId") != vpc_id:
                report.error(NETWORK, "osworld_subnet_id", f"osworld_subnet_id: {subnet_id} is in {subnet.get('VpcId')}, not in osworld_vpc_id {vpc_id}")
            network_vpc_id = subnet.get("VpcId")
            report.facts["vpc_id"] = network_vpc_id
            report.facts["subnet_cidr"] = subnet.get("CidrBlock")
            if internal_cidr and subnet.get("CidrBlock"):
                internal, cidr = ipaddress.ip_network(internal_cidr), ipaddress.ip_network(subnet["CidrBlock"])
                if not cidr.subnet_of(internal):  # type: ignore[arg-type]
                    report.warn(NETWORK, "osworld_internal_cidr", internal_reach_warning(str(internal), str(cidr)))
            zone = str(subnet["AvailabilityZone"]) if subnet.get("AvailabilityZone") else None
    elif vpc_id:
        _describe_or_missing(aws, report, "describe_vpcs", "Vpcs", "osworld_vpc_id", vpc_id, VpcIds=[vpc_id])
    if security_group_id and known_group_vpc_id:
        check_same_vpc(report, security_group_id, known_group_vpc_id, network_vpc_id, subnet_id)
    elif security_group_id:
        check_security_group(aws, report, security_group_id, network_vpc_id, subnet_id)
    return zone


def check_security_group(aws: AWS, report: Report, group_id: str, vpc_id: str | None, subnet_id: str | None) -> None:
    """The env security group exists and is in the subnet's VPC (RunInstances refuses a group of another VPC)."""
    groups = _describe_or_missing(aws, report, "describe_security_groups", "SecurityGroups", "osworld_security_group_id", group_id, GroupIds=[group_id])
    if groups:
        check_same_vpc(report, group_id, groups[0].get("VpcId"), vpc_id, subnet_id)


def check_same_vpc(report: Report, group_id: str, group_vpc_id: str | None, vpc_id: str | None, subnet_id: str | None) -> None:
    if vpc_id and group_vpc_id != vpc_id:
        where = f"osworld_subnet_id {subnet_id} is" if subnet_id else "osworld_vpc_id is"
        report.error(
            NETWORK,
            "osworld_security_group_id",
            f"osworld_security_group_id: {group_id} is in {group_vpc_id}, but {where} in {vpc_id}: "
            "a VM's security groups must be in its subnet's VPC",
        )


def _describe_or_missing(
    aws: AWS, report: Report, operation: str, key: str, variable: str, resource_id: str, **kwargs: Any
) -> list[dict[str, Any]]:
    try:
        found = read_call(aws, report, NETWORK, "ec2", operation, **kwargs)
    except AWSCallError as exc:
        if not exc.code.endswith((".NotFound", ".Malformed")):
            raise
        found = {key: []}
    items = list((found or {}).get(key, []))
    if found is not None and not items:
        report.error(NETWORK, variable, f"{variable}: {resource_id} does not exist in {aws.region}")
    return items


def check_instance_type(
    aws: AWS, instance_type: str, zone: str | None, report: Report, variable: str = "osworld_instance_type", check: str = INSTANCE_TYPE
) -> list[str]:
    """Errors unless the type is offered in the zone, or, with no zone, somewhere in the region.

    With no zone, returns the zones that offer the type, found by the one call a region-wide
    check would make: a subnet created without a zone goes wherever AWS puts it, and us-east-1e
    has no t3.
    """
    if zone:
        in_zone = [{"Name": "location", "Values": [zone]}, {"Name": "instance-type", "Values": [instance_type]}]
        offered = _offerings(aws, report, "availability-zone", in_zone, check)
        if offered is None or offered:
            return []
    found = _offerings(aws, report, "availability-zone", [{"Name": "instance-type", "Values": [instance_type]}], check)
    if found is None:
        return []
    zones = sorted({str(offer["Location"]) for offer in found})
    if zones and not zone:
        return zones
    report.error(check, variable, instance_type_message(instance_type, aws.region, zone, zones, variable))
    return []


def choose_subnet_zone(offered_zones: Sequence[str]) -> str:
    """The first zone by name, so every run picks the same one."""
    return min(offered_zones)


def _offerings(
    aws: AWS, report: Report, location_type: str, filters: list[dict[str, Any]], check: str = INSTANCE_TYPE
) -> list[dict[str, Any]] | None:
    found = read_call(aws, report, check, "ec2", "describe_instance_type_offerings", LocationType=location_type, Filters=filters)
    return None if found is None else list(found.get("InstanceTypeOfferings", []))


def instance_type_message(instance_type: str, region: str, zone: str | None, zones: Sequence[str], variable: str = "osworld_instance_type") -> str:
    if not zone:
        return f"{variable}: {instance_type} is not offered in {region}; check the spelling or pick another type"
    if zones:
        return (
            f"{variable}: {instance_type} is not offered in {zone} (the subnet's zone) but is in {', '.join(zones)}: "
            "pick another type, or a subnet (osworld_subnet_id / osworld_availability_zone) in one of those zones"
        )
    return f"{variable}: {instance_type} is not offered in {zone} nor anywhere in {region}; check the spelling or pick another type"


def check_key_pair(aws: AWS, key_name: str, report: Report, create: KeySpec | None = None) -> None:
    """The key pair exists; given how to create it (osworld_key_create), a missing one can be made without overwriting a file."""
    try:
        found = read_call(aws, report, KEY_PAIR, "ec2", "describe_key_pairs", KeyNames=[key_name])
    except AWSCallError as exc:
        if exc.code != "InvalidKeyPair.NotFound":
            raise
        found = {"KeyPairs": []}
    if found is None or found.get("KeyPairs"):
        return
    if create is not None:
        problem = creation_problem(create, aws.region)
        if problem:
            report.error(KEY_PAIR, *problem)
        else:
            report.facts["key_pair_planned"] = key_name
        return
    report.error(
        KEY_PAIR,
        "osworld_key_name",
        f"osworld_key_name: key pair '{key_name}' does not exist in {aws.region}; set osworld_key_create: true to create it "
        f"(or import it: aws ec2 import-key-pair --region {aws.region} --key-name {key_name} ...), or leave osworld_key_name empty",
    )


def check_vcpu_quota(aws: AWS, report: Report, instance_type: str, count: int, fleet: str) -> QuotaVerdict:
    """The quota minus what runs must hold the fleet's count; its own VMs do not count (a target, not an addition)."""
    verdict = check_quota(aws, instance_type, count, "osworld_env_count", exclude_fleet=fleet)
    if verdict.level:
        report.findings.append(Finding(QUOTA, verdict.level, verdict.variable, verdict.message))
    report.facts.update(verdict.facts)
    return verdict
