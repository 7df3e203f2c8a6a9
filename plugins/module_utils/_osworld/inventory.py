# This module util is PRIVATE to the collection. It may change without notice.
"""The osworld.aws.ec2 inventory: which VMs are OSWorld's, and their hosts, groups and variables.

An OSWorld VM is either tagged by the collection (`osworld:managed-by=osworld.aws`), or was
launched by the OSWorld client itself, with no tags, into an OSWorld env security group.

Per region the scan costs a handful of list calls and nothing per host:
1. DescribeSecurityGroups: the env security groups (by the collection's tags, plus any named
   in the configuration), which also give their VPCs;
2. DescribeInstances in those VPCs (one page per 1,000 instances), classified client-side;
   the client's VMs are found through `SecurityGroups` and `NetworkInterfaces[].Groups`;
3. DescribeVpcs, then DescribeInstances by the collection's tag in every other VPC, so a
   tagged VM outside the env VPCs is listed too.
Without any env security group in a region, step 2 is DescribeInstances by the tag alone.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .aws import AWS
from .errors import OSWorldError
from .stack import find_env_security_groups
from .client_vms import LAUNCHED_BY_CLIENT, LAUNCHED_BY_COLLECTION, is_client_vm, security_group_ids
from .tags import EXPIRES_AT_KEY, FLEET_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, ROLE_ENV, ROLE_HOST, ROLE_KEY, tag_dict, tag_filters
from .timestamps import iso_utc
from .urls import backend_url, vnc_url

DEFAULT_STATES = ("pending", "running")
PAGE_SIZE = 1000  # DescribeInstances' largest page
FILTER_VALUES_LIMIT = 200  # values per EC2 filter
MAX_WORKERS = 16
CACHE_FORMAT = 1

GROUP_ENVS = "osworld_envs"
GROUP_HOSTS = "osworld_hosts"
FLEET_GROUP_PREFIX = "fleet_"
REGION_GROUP_PREFIX = "region_"

_UNSAFE_GROUP_CHARACTERS = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class Query:
    """What to list in every region."""

    states: tuple[str, ...] = DEFAULT_STATES
    env_security_group_ids: tuple[str, ...] = ()


@dataclass
class RegionScan:
    """One region's raw answer: its env security groups and the candidate instances."""

    region: str
    env_group_ids: frozenset[str]
    instances: list[dict[str, Any]]


@dataclass(frozen=True)
class Host:
    """An inventory host: its groups, its host variables, and the further details that only
    compose/groups/keyed_groups see (publishing them all would slow every run down)."""

    name: str
    groups: tuple[str, ...]
    variables: dict[str, Any]
    details: dict[str, Any]

    def template_variables(self) -> dict[str, Any]:
        return {**self.details, **self.variables}

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "groups": list(self.groups), "vars": self.variables, "details": self.details}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Host:
        return cls(
            str(data["name"]), tuple(str(group) for group in data["groups"]), dict(data["vars"]), dict(data["details"])
        )


class InventoryError(OSWorldError):
    """A region that could not be listed; the message is one line and names the region."""

    def __init__(self, region: str, reason: str) -> None:
        one_line = " ".join(reason.split())
        super().__init__(f"region {region}: {one_line}", region=region)
        self.region = region


# Classification and host building: pure functions over DescribeInstances items.


def safe_group_name(name: str) -> str:
    """Dashes (and anything else Ansible rejects in a group name) become underscores."""
    return _UNSAFE_GROUP_CHARACTERS.sub("_", name)


def launched_by(instance: Mapping[str, Any], tags: Mapping[str, str], env_group_ids: frozenset[str] | set[str]) -> str | None:
    """Who launched an OSWorld VM, or None for a VM that is not OSWorld's."""
    if tags.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE:
        return LAUNCHED_BY_COLLECTION
    if env_group_ids and is_client_vm(instance, tags, env_group_ids):
        return LAUNCHED_BY_CLIENT
    return None


def build_host(
    instance: Mapping[str, Any],
    region: str,
    env_group_ids: frozenset[str] | set[str],
    use_public_ip: bool = False,
) -> Host | None:
    """The inventory host of an OSWorld VM, None for any other instance."""
    tags = tag_dict(instance.get("Tags"))
    source = launched_by(instance, tags, env_group_ids)
    if source is None:
        return None
    instance_id = str(instance["InstanceId"])
    private_ip = instance.get("PrivateIpAddress") or None
    public_ip = instance.get("PublicIpAddress") or None
    if source == LAUNCHED_BY_CLIENT:
        role: str | None = ROLE_ENV
        fleet = None
    else:
        role = tags.get(ROLE_KEY)
        fleet = tags.get(FLEET_KEY)
    variables: dict[str, Any] = {
        "osworld_instance_id": instance_id,
        "osworld_region": region,
        "osworld_role": role,
        "osworld_fleet": fleet,
        "osworld_launched_by": source,
        "osworld_state": (instance.get("State") or {}).get("Name"),
        "osworld_private_ip": private_ip,
        "osworld_public_ip": public_ip,
        "osworld_vnc_url": vnc_url(public_ip),
        "osworld_backend_url": backend_url(private_ip),
        "osworld_expires_at": tags.get(EXPIRES_AT_KEY),
        "osworld_launch_time": iso_utc(instance.get("LaunchTime")),
        "osworld_instance_type": instance.get("InstanceType"),
    }
    address = (public_ip or private_ip) if use_public_ip else (private_ip or public_ip)
    if address:
        variables["ansible_host"] = address
    groups = [safe_group_name(f"{REGION_GROUP_PREFIX}{region}")]
    if role == ROLE_ENV:
        groups.append(GROUP_ENVS)
    elif role == ROLE_HOST:
        groups.append(GROUP_HOSTS)
    if fleet:
        groups.append(safe_group_name(f"{FLEET_GROUP_PREFIX}{fleet}"))
    details: dict[str, Any] = {
        "osworld_tags": tags,
        "osworld_image_id": instance.get("ImageId"),
        "osworld_vpc_id": instance.get("VpcId"),
        "osworld_subnet_id": instance.get("SubnetId"),
        "osworld_availability_zone": (instance.get("Placement") or {}).get("AvailabilityZone"),
        "osworld_security_group_ids": sorted(security_group_ids(instance)),
    }
    return Host(instance_id, tuple(groups), variables, details)


def build_hosts(scans: Iterable[RegionScan], use_public_ip: bool = False) -> list[Host]:
    """Every OSWorld VM of the scans, once each, sorted by instance id."""
    hosts: dict[str, Host] = {}
    for scan in scans:
        for instance in scan.instances:
            host = build_host(instance, scan.region, scan.env_group_ids, use_public_ip)
            if host is not None and host.name not in hosts:
                hosts[host.name] = host
    return [hosts[name] for name in sorted(hosts)]


def group_members(hosts: Iterable[Host]) -> dict[str, list[str]]:
    """Group name -> host names, both sorted (what `ansible-inventory --list` shows)."""
    members: dict[str, list[str]] = {}
    for host in hosts:
        for group in host.groups:
            members.setdefault(group, []).append(host.name)
    return {group: sorted(members[group]) for group in sorted(members)}


# The AWS side: the list calls of one region, and all regions at once.


def _chunks(values: Sequence[str], size: int = FILTER_VALUES_LIMIT) -> list[list[str]]:
    return [list(values[start : start + size]) for start in range(0, len(values), size)]


def instance_filters(states: Sequence[str], vpc_ids: Sequence[str] = (), tagged: bool = False) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = [{"Name": "instance-state-name", "Values": list(states)}]
    if vpc_ids:
        result.append({"Name": "vpc-id", "Values": list(vpc_ids)})
    if tagged:
        result.extend(tag_filters({MANAGED_BY_KEY: MANAGED_BY_VALUE}))
    return result


def describe_instances(aws: AWS, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = aws.paginate(
        "ec2", "describe_instances", "Reservations[].Instances[]", Filters=filters, PaginationConfig={"PageSize": PAGE_SIZE}
    )
    return result


def env_security_groups(aws: AWS, named_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The collection's env security groups plus those named (looked up by filter: ids of
    another region are simply absent, not an error)."""
    groups = {group["GroupId"]: group for group in find_env_security_groups(aws)}
    if named_ids:
        for chunk in _chunks(sorted(set(named_ids))):
            for group in aws.paginate(
                "ec2", "describe_security_groups", "SecurityGroups[]", Filters=[{"Name": "group-id", "Values": chunk}]
            ):
                groups[group["GroupId"]] = group
    return [groups[group_id] for group_id in sorted(groups)]


def scan_region(aws: AWS, query: Query) -> RegionScan:
    """The region's env security groups and every instance that may be an OSWorld VM."""
    groups = env_security_groups(aws, query.env_security_group_ids)
    env_group_ids = frozenset(group["GroupId"] for group in groups)
    env_vpc_ids = sorted({group["VpcId"] for group in groups if group.get("VpcId")})
    states = list(query.states)
    if not env_vpc_ids:
        instances = describe_instances(aws, instance_filters(states, tagged=True))
        return RegionScan(aws.region, env_group_ids, instances)
    instances = []
    for chunk in _chunks(env_vpc_ids):
        instances.extend(describe_instances(aws, instance_filters(states, vpc_ids=chunk)))
    if "terminated" in states:
        # A terminated instance may no longer name its VPC: look for the tag everywhere.
        instances.extend(describe_instances(aws, instance_filters(states, tagged=True)))
    else:
        all_vpc_ids: list[str] = aws.paginate("ec2", "describe_vpcs", "Vpcs[].VpcId")
        other_vpc_ids = sorted(set(all_vpc_ids) - set(env_vpc_ids))
        for chunk in _chunks(other_vpc_ids):
            instances.extend(describe_instances(aws, instance_filters(states, vpc_ids=chunk, tagged=True)))
    return RegionScan(aws.region, env_group_ids, instances)


def scan_regions(connect: Callable[[str], AWS], regions: Sequence[str], query: Query) -> list[RegionScan]:
    """Scans the regions concurrently; the first failing region (in the given order) is raised."""

    def scan(region: str) -> RegionScan:
        try:
            return scan_region(connect(region), query)
        except OSWorldError as exc:
            raise InventoryError(region, exc.message) from exc

    if len(regions) == 1:
        return [scan(regions[0])]
    with ThreadPoolExecutor(max_workers=min(len(regions), MAX_WORKERS)) as pool:
        futures = [pool.submit(scan, region) for region in regions]
    # Every region has finished here; result() raises the first failure in region order.
    return [future.result() for future in futures]


def access_key_of(aws: AWS) -> str | None:
    """The access key id in use, resolved locally (no API call); names the account in cache keys."""
    try:
        return aws.caller_access_key()
    except Exception as exc:  # botocore's credential providers raise many kinds of errors
        raise InventoryError(aws.region, f"cannot resolve AWS credentials: {exc}") from exc


def cache_identity(
    access_key: str | None,
    profile: str | None,
    endpoint_url: str | None,
    regions: Sequence[str],
    query: Query,
    use_public_ip: bool,
) -> str:
    """A digest of everything the cached hosts depend on: two accounts never share an entry."""
    identity = {
        "format": CACHE_FORMAT,
        "access_key": access_key,
        "profile": profile,
        "endpoint_url": endpoint_url,
        "regions": list(regions),
        "states": sorted(query.states),
        "env_security_group_ids": sorted(query.env_security_group_ids),
        "use_public_ip": use_public_ip,
    }
    encoded = json.dumps(identity, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]
