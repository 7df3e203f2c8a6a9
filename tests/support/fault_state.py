"""Reads the emulator's state back with boto3: what the collection owns, to prove nothing leaked."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

MANAGED = [{"Name": "tag:osworld:managed-by", "Values": ["osworld.aws"]}]
LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]


def tag_dict(tags: Iterable[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or ()}


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


def live_instances(ec2: Any) -> list[dict[str, Any]]:
    """Every instance not terminated, tagged or not (a duplicate VM is a leak whatever its tags)."""
    pages = ec2.get_paginator("describe_instances").paginate(Filters=[{"Name": "instance-state-name", "Values": LIVE_STATES}])
    return [instance for page in pages for reservation in page["Reservations"] for instance in reservation["Instances"]]


def fleet_instances(ec2: Any, fleet: str) -> list[dict[str, Any]]:
    return [i for i in live_instances(ec2) if tag_dict(i.get("Tags")).get("osworld:fleet") == fleet]


def nothing_created(ec2: Any) -> bool:
    resources = managed_resources(ec2)
    return all(not ids for ids in resources.values()) and not live_instances(ec2)
