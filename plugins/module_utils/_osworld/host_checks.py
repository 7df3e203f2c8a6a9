# This module util is PRIVATE to the collection. It may change without notice.
"""Preflight of the host machine: its inputs (no call), then its AMI, its instance type in the
subnet's zone, and its IAM names (read-only): with osworld_manage_iam=false the roles an
administrator made must exist; otherwise a role or profile of those names must be the stack's.

Called by the preflight module beside preflight.py's checks, into the same Report (checks.py),
so that every problem of a provision run is listed at once.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .aws import AWS
from .checks import HOST, HOST_INPUTS, Report, check_instance_type, read_call
from .defaults import DEFAULT_HOST_AMI, DEFAULT_HOST_INSTANCE_TYPE, DEFAULT_HOST_VOLUME_GIB
from .errors import DENIED_CODES, AWSCallError
from .host_iam import foreign_problems, iam_names
from .options import Options, option
from .tags import expiry_after
from .timestamps import MAX_TTL_MINUTES
from .validation import INSTANCE_TYPE_PATTERN, RESOURCE_ID_PATTERNS

MIN_VOLUME_GIB = 8
IAM_NAME_LIMIT = 64


@dataclass(frozen=True)
class HostInput(Options):
    """The host role's variables that preflight reads (osworld_host_*), options of osworld.aws.preflight."""

    launch: bool = option("bool", False, name="host_launch")
    instance_type: str = option("str", DEFAULT_HOST_INSTANCE_TYPE, name="host_instance_type")
    ami: str = option("str", DEFAULT_HOST_AMI, name="host_ami")
    volume_size: int = option("int", DEFAULT_HOST_VOLUME_GIB, name="host_volume_size")
    instance_profile: bool = option("bool", True, name="host_instance_profile")
    policy_file: str | None = option("path", name="host_policy_file")
    enable_ttl: bool = option("bool", False)
    ttl_scheduler_policy_file: str | None = option("path")
    ttl_minutes: int | None = option("int", name="host_ttl_minutes")
    manage_iam: bool = option("bool", True)

    @property
    def needs_host_role(self) -> bool:
        return self.launch and self.instance_profile

    @property
    def needs_iam(self) -> bool:
        return self.needs_host_role or self.enable_ttl


def check_host_inputs(report: Report, host: HostInput, name_prefix: str, region: str) -> None:
    if host.launch:
        if not RESOURCE_ID_PATTERNS["ami"].match(host.ami or ""):
            report.error(
                HOST_INPUTS,
                "osworld_host_ami",
                f"osworld_host_ami: '{host.ami}' is not an AMI id (ami-<8 or 17 hex digits>); AMI ids differ per region",
            )
        if not INSTANCE_TYPE_PATTERN.match(host.instance_type or ""):
            report.error(
                HOST_INPUTS, "osworld_host_instance_type", f"osworld_host_instance_type: '{host.instance_type}' is not an instance type like t3.large"
            )
        if host.volume_size < MIN_VOLUME_GIB:
            report.error(
                HOST_INPUTS,
                "osworld_host_volume_size",
                f"osworld_host_volume_size: {host.volume_size} GiB is below the {MIN_VOLUME_GIB} GiB an Ubuntu root needs",
            )
    if host.ttl_minutes is not None and not 1 <= host.ttl_minutes <= MAX_TTL_MINUTES:
        report.error(
            HOST_INPUTS,
            "osworld_host_ttl_minutes",
            f"osworld_host_ttl_minutes: {host.ttl_minutes} is outside 1-{MAX_TTL_MINUTES} (leave it unset for a host that never expires)",
        )
    elif host.launch and host.ttl_minutes is not None:
        # Set at launch only: a re-run finds the host and leaves its expiry as it was.
        report.facts["host_expires_at"] = expiry_after(datetime.now(timezone.utc), host.ttl_minutes)
    if host.needs_iam:
        longest = max(iam_names(name_prefix, region), key=len)
        if len(longest) > IAM_NAME_LIMIT:
            report.error(
                HOST_INPUTS,
                "osworld_name_prefix",
                f"osworld_name_prefix: '{name_prefix}' is too long for the IAM role names "
                f"({longest} has {len(longest)} characters, IAM allows {IAM_NAME_LIMIT})",
            )
    if host.manage_iam:
        files = (
            ("osworld_host_policy_file", host.policy_file, host.needs_host_role),
            ("osworld_ttl_scheduler_policy_file", host.ttl_scheduler_policy_file, host.enable_ttl),
        )
        for variable, path, needed in files:
            if needed and not (path and os.path.isfile(path)):
                report.error(HOST_INPUTS, variable, f"{variable}: no policy file at {path}")


def check_host(aws: AWS, report: Report, host: HostInput, name_prefix: str, offered_zones: Sequence[str]) -> None:
    """The host AMI and instance type (only with osworld_host_launch), and the admin-made roles.

    `offered_zones` are the zones offering the env type when preflight picks the new subnet's
    zone (subnet_zone): the pick moves to a zone offering both types.
    """
    if host.launch:
        _check_host_ami(aws, report, host.ami)
        _check_host_type(aws, report, host.instance_type, offered_zones)
    if host.needs_iam and host.manage_iam:
        _check_roles_are_the_stacks(aws, report, host, name_prefix)
    elif host.needs_iam:
        _check_existing_roles(aws, report, host, name_prefix)


def _check_host_ami(aws: AWS, report: Report, ami: str) -> None:
    found = read_call(aws, report, HOST, "ec2", "describe_images", Filters=[{"Name": "image-id", "Values": [ami]}])
    if found is None:
        return
    images = [image for image in found.get("Images", []) if image.get("State") == "available"]
    if not images:
        report.error(
            HOST,
            "osworld_host_ami",
            f"osworld_host_ami: {ami} is not available in {aws.region}; pick the region's Ubuntu 22.04 AMI (AMI ids differ per region) or copy the image there",
        )
        return
    report.facts["host_root_device_name"] = images[0].get("RootDeviceName") or "/dev/sda1"


def _check_host_type(aws: AWS, report: Report, instance_type: str, offered_zones: Sequence[str]) -> None:
    chosen = report.facts.get("subnet_zone")
    zone = report.facts.get("availability_zone") or chosen
    if chosen and offered_zones:
        # The subnet does not exist yet: its zone may still move to one that offers both types.
        host_zones = check_instance_type(aws, instance_type, None, report, variable="osworld_host_instance_type", check=HOST)
        both = sorted(set(host_zones) & set(offered_zones))
        if host_zones and not both:
            report.error(
                HOST,
                "osworld_host_instance_type",
                f"osworld_host_instance_type: no zone of {aws.region} offers both {instance_type} ({', '.join(host_zones)}) and the env type "
                f"({', '.join(offered_zones)}); pick another host type",
            )
        elif both:
            report.facts["subnet_zone"] = min(both)
        return
    check_instance_type(aws, instance_type, str(zone) if zone else None, report, variable="osworld_host_instance_type", check=HOST)


def _check_roles_are_the_stacks(aws: AWS, report: Report, host: HostInput, name_prefix: str) -> None:
    """osworld_manage_iam=true: a role or profile of the stack's names that someone else made would
    be changed, then deleted by teardown; host_iam refuses it too, but here nothing exists yet."""
    host_name, ttl_name = iam_names(name_prefix, aws.region)
    wanted: list[tuple[str, str, str, str]] = []
    if host.needs_host_role:
        wanted += [("role", host_name, "get_role", "RoleName"), ("instance profile", host_name, "get_instance_profile", "InstanceProfileName")]
    if host.enable_ttl:
        wanted.append(("role", ttl_name, "get_role", "RoleName"))
    pieces = []
    for kind, name, operation, parameter in wanted:
        found = read_call(aws, report, HOST, "iam", operation, missing_ok=True, **{parameter: name})
        pieces.append((kind, name, (found or {}).get("Role" if kind == "role" else "InstanceProfile")))
    for problem in foreign_problems(pieces, name_prefix):
        report.error(HOST, "osworld_name_prefix", problem)


def _check_existing_roles(aws: AWS, report: Report, host: HostInput, name_prefix: str) -> None:
    """osworld_manage_iam=false: the roles must exist already; only read calls, and a denied read is a warning."""
    host_name, ttl_name = iam_names(name_prefix, aws.region)
    wanted: list[tuple[str, str, dict[str, Any]]] = []
    if host.needs_host_role:
        wanted.append(("get_instance_profile", f"instance profile {host_name}", {"InstanceProfileName": host_name}))
    if host.enable_ttl:
        wanted.append(("get_role", f"role {ttl_name}", {"RoleName": ttl_name}))
    for operation, what, kwargs in wanted:
        try:
            aws.call("iam", operation, **kwargs)
        except AWSCallError as exc:
            if exc.code in DENIED_CODES:
                report.warn(HOST, "osworld_manage_iam", f"osworld_manage_iam: could not check that the {what} exists ({exc.code}); it must")
            elif exc.code == "NoSuchEntity":
                report.error(
                    HOST,
                    "osworld_manage_iam",
                    f"osworld_manage_iam: false uses an existing {what}, and there is none: have an administrator create it "
                    "(docs/iam.md), or set osworld_manage_iam: true",
                )
            else:
                raise
