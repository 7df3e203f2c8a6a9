# This module util is PRIVATE to the collection. It may change without notice.
"""The stack's network: a dedicated VPC, subnet, internet gateway and default route, or an
adopted subnet in which nothing is created."""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .aws import AWS
from .blockers import delete_when_released
from .defaults import DEFAULT_SUBNET_CIDR, DEFAULT_VPC_CIDR
from .errors import AWSCallError, OSWorldError
from .options import Options, blank_is_none, extra_tags_option, option, resource_id, stack_option
from .stack import COMPONENT_INTERNET_GATEWAY, COMPONENT_ROUTE_TABLE, COMPONENT_SUBNET, COMPONENT_VPC, PLANNED_ID
from .tags import COMPONENT_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, STACK_KEY, filters, stack_tags, tag_dict, tag_filters, tag_specifications
from .validation import validate_cidr

DEFAULT_ROUTE = "0.0.0.0/0"
# The dedicated network's CIDRs (those of a default VPC and its first subnet).
IN_USE_ADVICE = "terminate what uses them (teardown.yml -e osworld_fleet=all, osworld_teardown_client_vms=true), then run teardown again"


@dataclass(frozen=True)
class NetworkSpec(Options):
    """The options of osworld.aws.network."""

    stack: str = stack_option()
    state: str = option("str", "present", choices=("present", "absent"))
    vpc_cidr: str = option("str", DEFAULT_VPC_CIDR, checks=[validate_cidr])
    subnet_cidr: str = option("str", DEFAULT_SUBNET_CIDR, checks=[validate_cidr])
    availability_zone: str | None = option("str")
    vpc_id: str | None = option("str", checks=[blank_is_none, resource_id("vpc")])
    subnet_id: str | None = option("str", checks=[blank_is_none, resource_id("subnet")])
    extra_tags: Mapping[str, Any] = extra_tags_option()

    @property
    def adopts(self) -> bool:
        return bool(self.vpc_id or self.subnet_id)

    def problems(self) -> list[str]:
        if self.state == "absent" or self.adopts:
            return []
        try:
            check_subnet_in_vpc(self.vpc_cidr, self.subnet_cidr)
        except OSWorldError as exc:
            return [exc.message]
        return []

    def tags(self, component: str) -> dict[str, str]:
        return stack_tags(self.stack, component, f"{self.stack}-{component}", self.extra_tags)


def check_subnet_in_vpc(vpc_cidr: str, subnet_cidr: str) -> None:
    vpc = ipaddress.ip_network(vpc_cidr)
    subnet = ipaddress.ip_network(subnet_cidr)
    if subnet.version != vpc.version or not subnet.subnet_of(vpc):  # type: ignore[arg-type]
        raise OSWorldError(f"subnet_cidr {subnet_cidr} is not inside vpc_cidr {vpc_cidr}")
    if not 16 <= subnet.prefixlen <= 28 or not 16 <= vpc.prefixlen <= 28:
        raise OSWorldError("vpc_cidr and subnet_cidr must be between /16 and /28 (an AWS limit)")


def network_result(
    vpc: Mapping[str, Any], subnet: Mapping[str, Any], adopted: bool, gateway_id: str | None, route_table_id: str | None
) -> dict[str, Any]:
    return {
        "vpc_id": vpc["VpcId"],
        "vpc_cidr": vpc["CidrBlock"],
        "subnet_id": subnet["SubnetId"],
        "subnet_cidr": subnet["CidrBlock"],
        "availability_zone": subnet.get("AvailabilityZone"),
        "internet_gateway_id": gateway_id,
        "route_table_id": route_table_id,
        "adopted": adopted,
    }


def adopt_network(aws: AWS, vpc_id: str | None, subnet_id: str | None) -> dict[str, Any]:
    """Validates an existing network and reports it; creates nothing."""
    if subnet_id:
        subnet = _one(aws, "describe_subnets", "Subnets", "subnet_id", subnet_id, SubnetIds=[subnet_id])
        if vpc_id and subnet["VpcId"] != vpc_id:
            raise OSWorldError(f"subnet_id {subnet_id} is in {subnet['VpcId']}, not in vpc_id {vpc_id}")
        vpc_id = subnet["VpcId"]
    if not vpc_id:
        raise OSWorldError("vpc_id or subnet_id is required to adopt a network")
    vpc = _one(aws, "describe_vpcs", "Vpcs", "vpc_id", vpc_id, VpcIds=[vpc_id])
    if not subnet_id:
        subnets = aws.paginate("ec2", "describe_subnets", "Subnets[]", Filters=filters(vpc_id=vpc_id))
        if not subnets:
            raise OSWorldError(f"vpc_id {vpc_id} has no subnet: create one or set subnet_id")
        # Deterministic: public subnets first, then by zone and id.
        subnet = sorted(subnets, key=lambda s: (not s.get("MapPublicIpOnLaunch"), s["AvailabilityZone"], s["SubnetId"]))[0]
    result = network_result(vpc, subnet, True, None, None)
    result.update(changed=False, diff={"before": _view(result), "after": _view(result)})
    return result


def ensure_network(aws: AWS, spec: NetworkSpec, check_mode: bool) -> dict[str, Any]:
    """The stack's dedicated network; `spec` is checked (NetworkSpec.from_params)."""
    created: list[str] = []
    vpc = _find_vpc(aws, spec.stack, check_mode, created)
    fresh = vpc is None
    if vpc is None:
        vpc = _create(aws, check_mode, created, COMPONENT_VPC, "create_vpc", "Vpc", {"VpcId": PLANNED_ID, "CidrBlock": spec.vpc_cidr},
                      CidrBlock=spec.vpc_cidr, TagSpecifications=tag_specifications(["vpc"], spec.tags(COMPONENT_VPC)))
    elif vpc["CidrBlock"] != spec.vpc_cidr:
        raise OSWorldError(
            f"vpc_cidr: stack '{spec.stack}' already has {vpc['VpcId']} with {vpc['CidrBlock']}, not {spec.vpc_cidr}; "
            "keep the old CIDR or tear the network down first"
        )
    vpc_id = vpc["VpcId"]
    subnet = None if fresh else _first_tagged(aws, "describe_subnets", "Subnets", vpc_id, spec.stack)
    if subnet is None:
        subnet_args: dict[str, Any] = {"VpcId": vpc_id, "CidrBlock": spec.subnet_cidr}
        if spec.availability_zone:
            subnet_args["AvailabilityZone"] = spec.availability_zone
        subnet = _create(aws, check_mode, created, COMPONENT_SUBNET, "create_subnet", "Subnet",
                         {"SubnetId": PLANNED_ID, "CidrBlock": spec.subnet_cidr, "AvailabilityZone": spec.availability_zone},
                         wait_for_consistency=True, TagSpecifications=tag_specifications(["subnet"], spec.tags(COMPONENT_SUBNET)),
                         **subnet_args)
    elif subnet["CidrBlock"] != spec.subnet_cidr:
        raise OSWorldError(
            f"subnet_cidr: stack '{spec.stack}' already has {subnet['SubnetId']} with {subnet['CidrBlock']}, not {spec.subnet_cidr}"
        )
    gateway_id = _ensure_gateway(aws, spec, vpc_id, fresh, check_mode, created)
    route_table_id = _ensure_route_table(aws, spec, vpc_id, subnet["SubnetId"], gateway_id, fresh, check_mode, created)
    result = network_result(vpc, subnet, False, gateway_id, route_table_id)
    before = {} if fresh else _view(result)
    result.update(changed=bool(created), created=created, diff={"before": before, "after": _view(result)})
    return result


def remove_network(aws: AWS, stack: str, check_mode: bool) -> dict[str, Any]:
    """Deletes the stack's tagged network pieces; anything untagged (an adopted network) stays.

    Gateways are found by their tags, attached or not, so one whose attach never happened is
    not left behind."""
    removed: list[str] = []
    vpcs = aws.paginate("ec2", "describe_vpcs", "Vpcs[]", Filters=_stack_filter(stack, COMPONENT_VPC))
    gateways = aws.paginate("ec2", "describe_internet_gateways", "InternetGateways[]", Filters=_stack_filter(stack, COMPONENT_INTERNET_GATEWAY))
    for gateway in gateways:
        gateway_id = gateway["InternetGatewayId"]
        if not check_mode:
            for attachment in gateway.get("Attachments", []):
                vpc_id = attachment["VpcId"]
                delete_when_released(aws, "detach_internet_gateway", {"vpc_id": vpc_id}, IN_USE_ADVICE, InternetGatewayId=gateway_id, VpcId=vpc_id)
            aws.call("ec2", "delete_internet_gateway", InternetGatewayId=gateway_id)
        removed.append(gateway_id)
    for vpc in vpcs:
        vpc_id = vpc["VpcId"]
        for table in aws.paginate("ec2", "describe_route_tables", "RouteTables[]", Filters=filters(vpc_id=vpc_id) + _stack_filter(stack)):
            if not check_mode:
                for association in table.get("Associations", []):
                    if not association.get("Main"):
                        aws.call("ec2", "disassociate_route_table", AssociationId=association["RouteTableAssociationId"])
                aws.call("ec2", "delete_route_table", RouteTableId=table["RouteTableId"])
            removed.append(table["RouteTableId"])
        for subnet in aws.paginate("ec2", "describe_subnets", "Subnets[]", Filters=filters(vpc_id=vpc_id) + _stack_filter(stack)):
            if not check_mode:
                delete_when_released(aws, "delete_subnet", {"vpc_id": vpc_id}, IN_USE_ADVICE, SubnetId=subnet["SubnetId"])
            removed.append(subnet["SubnetId"])
        if not check_mode:
            delete_when_released(aws, "delete_vpc", {"vpc_id": vpc_id}, IN_USE_ADVICE, VpcId=vpc_id)
        removed.append(vpc_id)
    return {"changed": bool(removed), "removed": removed, "diff": {"before": {"resources": sorted(removed)}, "after": {"resources": []}}}


def _ensure_gateway(aws: AWS, spec: NetworkSpec, vpc_id: str, fresh: bool, check_mode: bool, created: list[str]) -> str:
    """The VPC's gateway. Found by the stack's tags rather than by attachment, so a gateway whose
    attach never happened (a killed run) or a duplicate from a repeated create is seen too."""
    gateway_id = None
    if not fresh:
        ours = aws.paginate("ec2", "describe_internet_gateways", "InternetGateways[]", Filters=_stack_filter(spec.stack, COMPONENT_INTERNET_GATEWAY))
        attached = [gateway for gateway in ours if any(a.get("VpcId") == vpc_id for a in gateway.get("Attachments", []))]
        if not attached:
            # A VPC takes one gateway: one attached by hand is used, not replaced.
            attached = aws.paginate("ec2", "describe_internet_gateways", "InternetGateways[]", Filters=filters(**{"attachment.vpc-id": vpc_id}))
        if attached:
            gateway_id = str(attached[0]["InternetGatewayId"])
        elif ours:
            gateway_id = str(ours[0]["InternetGatewayId"])
            created.append(f"attachment {gateway_id} <-> {vpc_id}")
            if not check_mode:
                aws.call("ec2", "attach_internet_gateway", InternetGatewayId=gateway_id, VpcId=vpc_id)
        for gateway in ours:
            if gateway["InternetGatewayId"] != gateway_id and not gateway.get("Attachments"):
                created.append(f"duplicate {gateway['InternetGatewayId']} (removed)")
                if not check_mode:
                    aws.call("ec2", "delete_internet_gateway", InternetGatewayId=gateway["InternetGatewayId"])
    if gateway_id:
        return gateway_id
    gateway = _create(aws, check_mode, created, COMPONENT_INTERNET_GATEWAY, "create_internet_gateway", "InternetGateway",
                      {"InternetGatewayId": PLANNED_ID},
                      TagSpecifications=tag_specifications(["internet-gateway"], spec.tags(COMPONENT_INTERNET_GATEWAY)))
    gateway_id = str(gateway["InternetGatewayId"])
    if not check_mode:
        aws.call("ec2", "attach_internet_gateway", wait_for_consistency=True, InternetGatewayId=gateway_id, VpcId=vpc_id)
    return gateway_id


def _ensure_route_table(
    aws: AWS, spec: NetworkSpec, vpc_id: str, subnet_id: str, gateway_id: str, fresh: bool, check_mode: bool, created: list[str]
) -> str:
    table = None if fresh else _pick_route_table(aws, spec.stack, vpc_id, subnet_id, check_mode, created)
    if table is None:
        table = _create(aws, check_mode, created, COMPONENT_ROUTE_TABLE, "create_route_table", "RouteTable",
                        {"RouteTableId": PLANNED_ID, "Routes": [], "Associations": []},
                        wait_for_consistency=True, VpcId=vpc_id,
                        TagSpecifications=tag_specifications(["route-table"], spec.tags(COMPONENT_ROUTE_TABLE)))
    table_id = str(table["RouteTableId"])
    routes = {route.get("DestinationCidrBlock"): route for route in table.get("Routes", [])}
    default_route = routes.get(DEFAULT_ROUTE)
    if default_route is None:
        created.append(f"route {DEFAULT_ROUTE} -> {gateway_id}")
        if not check_mode:
            aws.call("ec2", "create_route", wait_for_consistency=True, RouteTableId=table_id,
                     DestinationCidrBlock=DEFAULT_ROUTE, GatewayId=gateway_id)
    elif default_route.get("GatewayId") != gateway_id or default_route.get("State") == "blackhole":
        created.append(f"route {DEFAULT_ROUTE} -> {gateway_id} (replaced)")
        if not check_mode:
            aws.call("ec2", "replace_route", RouteTableId=table_id, DestinationCidrBlock=DEFAULT_ROUTE, GatewayId=gateway_id)
    if not any(association.get("SubnetId") == subnet_id for association in table.get("Associations", [])):
        created.append(f"association {table_id} <-> {subnet_id}")
        if not check_mode:
            aws.call("ec2", "associate_route_table", wait_for_consistency=True, RouteTableId=table_id, SubnetId=subnet_id)
    return table_id


def _pick_route_table(
    aws: AWS, stack: str, vpc_id: str, subnet_id: str, check_mode: bool, created: list[str]
) -> dict[str, Any] | None:
    """The stack's route table: the one associated with the subnet if there are several (a
    repeated CreateRouteTable); the others are deleted."""
    tables = aws.paginate("ec2", "describe_route_tables", "RouteTables[]", Filters=filters(vpc_id=vpc_id) + _stack_filter(stack))
    if not tables:
        return None
    tables.sort(key=lambda table: (not any(a.get("SubnetId") == subnet_id for a in table.get("Associations", [])), table["RouteTableId"]))
    for extra in tables[1:]:
        created.append(f"duplicate {extra['RouteTableId']} (removed)")
        if not check_mode:
            for association in extra.get("Associations", []):
                aws.call("ec2", "disassociate_route_table", AssociationId=association["RouteTableAssociationId"])
            aws.call("ec2", "delete_route_table", RouteTableId=extra["RouteTableId"])
    return dict(tables[0])


def _create(
    aws: AWS, check_mode: bool, created: list[str], component: str, operation: str, key: str, planned: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    created.append(component)
    if check_mode:
        return planned
    return dict(aws.call("ec2", operation, **kwargs)[key])


def _find_vpc(aws: AWS, stack: str, check_mode: bool, removed: list[str]) -> dict[str, Any] | None:
    """The stack's VPC. CreateVpc has no idempotency token: when its answer was lost and botocore
    sent it again, a second, empty VPC exists; the re-run keeps the one in use and deletes the
    empty duplicates (it refuses to guess when more than one is in use)."""
    vpcs = aws.paginate("ec2", "describe_vpcs", "Vpcs[]", Filters=_stack_filter(stack, COMPONENT_VPC))
    if len(vpcs) <= 1:
        return vpcs[0] if vpcs else None
    vpc_ids = sorted(vpc["VpcId"] for vpc in vpcs)
    subnets = aws.paginate("ec2", "describe_subnets", "Subnets[]", Filters=filters(vpc_id=vpc_ids))
    in_use = sorted({subnet["VpcId"] for subnet in subnets})
    if len(in_use) > 1:
        raise OSWorldError(f"Stack '{stack}' has {len(in_use)} VPCs in use ({', '.join(in_use)}); delete the extra ones")
    keep = in_use[0] if in_use else vpc_ids[0]
    for vpc_id in vpc_ids:
        if vpc_id != keep:
            _remove_empty_vpc(aws, stack, vpc_id, check_mode)
            removed.append(f"duplicate {vpc_id} (removed)")
    return next(vpc for vpc in vpcs if vpc["VpcId"] == keep)


def _remove_empty_vpc(aws: AWS, stack: str, vpc_id: str, check_mode: bool) -> None:
    if check_mode:
        return
    for gateway in aws.paginate("ec2", "describe_internet_gateways", "InternetGateways[]", Filters=filters(**{"attachment.vpc-id": vpc_id})):
        aws.call("ec2", "detach_internet_gateway", InternetGatewayId=gateway["InternetGatewayId"], VpcId=vpc_id)
        if tag_dict(gateway.get("Tags")).get(STACK_KEY) == stack:
            aws.call("ec2", "delete_internet_gateway", InternetGatewayId=gateway["InternetGatewayId"])
    for table in aws.paginate("ec2", "describe_route_tables", "RouteTables[]", Filters=filters(vpc_id=vpc_id) + _stack_filter(stack)):
        aws.call("ec2", "delete_route_table", RouteTableId=table["RouteTableId"])
    aws.call("ec2", "delete_vpc", VpcId=vpc_id)


def _first_tagged(aws: AWS, operation: str, key: str, vpc_id: str, stack: str) -> dict[str, Any] | None:
    found = aws.paginate("ec2", operation, f"{key}[]", Filters=filters(vpc_id=vpc_id) + _stack_filter(stack))
    return found[0] if found else None


def _stack_filter(stack: str, component: str | None = None) -> list[dict[str, Any]]:
    wanted = {MANAGED_BY_KEY: MANAGED_BY_VALUE, STACK_KEY: stack}
    if component:
        wanted[COMPONENT_KEY] = component
    return tag_filters(wanted)


def _one(aws: AWS, operation: str, key: str, variable: str, resource_id: str, **kwargs: Any) -> dict[str, Any]:
    try:
        found = aws.call("ec2", operation, **kwargs)[key]
    except AWSCallError as exc:
        if exc.code.endswith(".NotFound") or exc.code.endswith(".Malformed"):
            raise OSWorldError(f"{variable}: {resource_id} does not exist in {aws.region} ({exc.code})") from exc
        raise
    return dict(found[0])


def _view(result: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("adopted", "availability_zone", "internet_gateway_id", "route_table_id", "subnet_cidr", "subnet_id", "vpc_cidr", "vpc_id")
    return {key: result.get(key) for key in keys}
