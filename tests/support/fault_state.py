"""Reads the emulator's state back with boto3: what the collection owns, to prove nothing leaked."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

MANAGED = [{"Name": "tag:osworld:managed-by", "Values": ["osworld.aws"]}]
LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]


def tag_dict(tags: Iterable[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or ()}


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    """A described resource's tags as a dict (none: empty)."""
    return tag_dict(resource.get("Tags"))


def managed_resources(ec2: Any) -> dict[str, list[str]]:
    """Ids of every collection-tagged network piece and group, by kind (sorted, for exact comparison)."""
    listings: dict[str, Callable[[], list[str]]] = {
        "vpcs": lambda: [v["VpcId"] for v in ec2.describe_vpcs(Filters=MANAGED)["Vpcs"]],
        "subnets": lambda: [s["SubnetId"] for s in ec2.describe_subnets(Filters=MANAGED)["Subnets"]],
        "internet_gateways": lambda: [g["InternetGatewayId"] for g in ec2.describe_internet_gateways(Filters=MANAGED)["InternetGateways"]],
        "route_tables": lambda: [t["RouteTableId"] for t in ec2.describe_route_tables(Filters=MANAGED)["RouteTables"]],
        "security_groups": lambda: [g["GroupId"] for g in ec2.describe_security_groups(Filters=MANAGED)["SecurityGroups"]],
    }
    return {kind: sorted(listing()) for kind, listing in listings.items()}


def instance_states(ec2: Any) -> dict[str, str]:
    """Every instance's state by id, terminated ones included (moto keeps them listed)."""
    pages = ec2.get_paginator("describe_instances").paginate()
    return {instance["InstanceId"]: instance["State"]["Name"] for instance in pages.search("Reservations[].Instances[]")}


def live_instances(ec2: Any) -> list[dict[str, Any]]:
    """Every instance not terminated, tagged or not (a duplicate VM is a leak whatever its tags)."""
    pages = ec2.get_paginator("describe_instances").paginate(Filters=[{"Name": "instance-state-name", "Values": LIVE_STATES}])
    return [instance for page in pages for reservation in page["Reservations"] for instance in reservation["Instances"]]


def fleet_instances(ec2: Any, fleet: str) -> list[dict[str, Any]]:
    return [i for i in live_instances(ec2) if tag_dict(i.get("Tags")).get("osworld:fleet") == fleet]


def image_copies(ec2: Any) -> list[dict[str, Any]]:
    """The AMI copies the collection made in the client's region."""
    return list(ec2.describe_images(Owners=["self"], Filters=MANAGED)["Images"])


def tagged_leftovers(ec2: Any) -> dict[str, list[str]]:
    """Everything carrying the collection's tag in the client's region, by kind (images, snapshots and
    key pairs too); empty when a teardown left nothing."""
    left: dict[str, list[str]] = dict(managed_resources(ec2))
    left["images"] = [image["ImageId"] for image in image_copies(ec2)]
    left["snapshots"] = [s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"], Filters=MANAGED)["Snapshots"]]
    left["key_pairs"] = [k["KeyName"] for k in ec2.describe_key_pairs(Filters=MANAGED)["KeyPairs"]]
    left["instances"] = [i["InstanceId"] for i in live_instances(ec2)]
    return {kind: ids for kind, ids in left.items() if ids}


def nothing_created(ec2: Any) -> bool:
    resources = managed_resources(ec2)
    return all(not ids for ids in resources.values()) and not live_instances(ec2)


# The guide's inbound rules of the env security group: port -> (audience, description).
GUIDE_ENV_INBOUND = {
    22: ("admin", "SSH access"),
    80: ("internal", "HTTP traffic"),
    5000: ("internal", "OSWorld backend service"),
    5910: ("admin", "NoVNC visualization port"),
    8006: ("internal", "VNC service port"),
    8080: ("internal", "VLC service port"),
    8081: ("internal", "Additional service port"),
    9222: ("internal", "Chrome control port"),
}
ALL_OUTBOUND = [("-1", None, "0.0.0.0/0", "Allow all outbound traffic")]


def rules(permissions: Iterable[dict[str, Any]]) -> list[tuple[str, int | None, str, str | None]]:
    """(protocol, port, source, description) per source, sorted: exact comparison, duplicates visible."""
    found = []
    for permission in permissions:
        for source in permission.get("IpRanges", []):
            found.append((permission["IpProtocol"], permission.get("FromPort"), source["CidrIp"], source.get("Description")))
        for source in permission.get("Ipv6Ranges", []):
            found.append((permission["IpProtocol"], permission.get("FromPort"), source["CidrIpv6"], source.get("Description")))
    return sorted(found, key=lambda rule: (rule[0], rule[1] or 0, rule[2], rule[3] or ""))


def expected_env_inbound(admin_cidrs: Iterable[str], internal_cidr: str) -> list[tuple[str, int | None, str, str | None]]:
    admin = list(admin_cidrs)
    expected = []
    for port, (audience, description) in GUIDE_ENV_INBOUND.items():
        for source in admin if audience == "admin" else [internal_cidr]:
            expected.append(("tcp", port, source, description))
    return sorted(expected, key=lambda rule: (rule[0], rule[1] or 0, rule[2], rule[3] or ""))


def expected_host_inbound(admin_cidrs: Iterable[str], monitor_port: int = 8080) -> list[tuple[str, int | None, str, str | None]]:
    expected = [("tcp", 22, source, "SSH access") for source in admin_cidrs]
    expected += [("tcp", monitor_port, source, "OSWorld monitor") for source in admin_cidrs]
    return sorted(expected, key=lambda rule: (rule[0], rule[1] or 0, rule[2], rule[3] or ""))


def stack_groups(ec2: Any) -> dict[str, list[dict[str, Any]]]:
    """The collection's security groups by component; a list, so a duplicate group shows."""
    found: dict[str, list[dict[str, Any]]] = {}
    for group in ec2.describe_security_groups(Filters=MANAGED)["SecurityGroups"]:
        found.setdefault(tag_dict(group.get("Tags")).get("osworld:component", ""), []).append(group)
    return found


def assert_exact_stack(ec2: Any, admin_cidrs: Iterable[str] = ("0.0.0.0/0",), vpc_cidr: str = "172.31.0.0/16") -> None:
    """One of each network piece, one env and one host group, each with exactly the guide's rules."""
    admin = list(admin_cidrs)
    resources = managed_resources(ec2)
    assert {kind: len(ids) for kind, ids in resources.items()} == {
        "vpcs": 1, "subnets": 1, "internet_gateways": 1, "route_tables": 1, "security_groups": 2,
    }, resources
    groups = stack_groups(ec2)
    assert sorted(groups) == ["env-security-group", "host-security-group"]
    (env,), (host,) = groups["env-security-group"], groups["host-security-group"]
    assert rules(env["IpPermissions"]) == expected_env_inbound(admin, vpc_cidr)
    assert rules(host["IpPermissions"]) == expected_host_inbound(admin)
    assert rules(env["IpPermissionsEgress"]) == ALL_OUTBOUND
    assert rules(host["IpPermissionsEgress"]) == ALL_OUTBOUND
