"""Unit tests of the osworld.aws.ec2 inventory logic, from a recorded DescribeInstances page.

`fixtures/inventory_pages.json` is moto's answer for a small account (see
`fixtures/record_inventory_pages.py`): an OSWorld stack with fleets `alpha` and `beta-2`, a host,
a VM the OSWorld client launched itself (security group on its network interface, no tags), and
unrelated instances around it. `FakeAWS` answers the plugin's list calls from that page, applying
the EC2 filters the scan sends, and records every call.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import AWSCallError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.inventory import (
    GROUP_ENVS,
    GROUP_HOSTS,
    PAGE_SIZE,
    Host,
    InventoryError,
    Query,
    RegionScan,
    access_key_of,
    build_host,
    build_hosts,
    cache_identity,
    group_members,
    safe_group_name,
    scan_region,
    scan_regions,
)
from ansible_collections.osworld.aws.plugins.module_utils._osworld.timestamps import iso_utc
from ansible_collections.osworld.aws.plugins.module_utils._osworld.client_vms import is_untagged, security_group_ids
from tests.support.fault_state import tags_of

FIXTURE = json.loads((Path(__file__).resolve().parents[3] / "fixtures" / "inventory_pages.json").read_text())
REGION = FIXTURE["region"]
ID_OF = {name: instance_id for instance_id, name in FIXTURE["names"].items()}
INSTANCES: list[dict[str, Any]] = [
    instance for reservation in FIXTURE["describe_instances"]["Reservations"] for instance in reservation["Instances"]
]
SECURITY_GROUPS: list[dict[str, Any]] = FIXTURE["security_groups"]


def group_id(name: str) -> str:
    return next(group["GroupId"] for group in SECURITY_GROUPS if group["GroupName"] == name)


ENV_SG = group_id("osworld-env")
HOST_SG = group_id("osworld-host")
OTHER_SG = group_id("team-b")
OSWORLD_VPC = next(group["VpcId"] for group in SECURITY_GROUPS if group["GroupId"] == ENV_SG)
RUNNING_OSWORLD = {"alpha-1", "alpha-2", "beta-1", "host", "no-role", "client", "aws-tags-only"}


def names(hosts: list[Host]) -> set[str]:
    return {FIXTURE["names"][host.name] for host in hosts}


def instance(name: str) -> dict[str, Any]:
    return copy.deepcopy(next(item for item in INSTANCES if item["InstanceId"] == ID_OF[name]))


def _matches(item: dict[str, Any], name: str, values: list[str]) -> bool:
    if name.startswith("tag:"):
        return tags_of(item).get(name[4:]) in values
    if name == "instance-state-name":
        return item["State"]["Name"] in values
    if name in ("vpc-id", "group-id"):
        return item.get("VpcId" if name == "vpc-id" else "GroupId") in values
    raise AssertionError(f"FakeAWS does not know the filter {name}")


class FakeAWS:
    """Answers the scan's list calls from the recorded page, filters applied; records the calls."""

    def __init__(self, region: str = REGION, instances: list[dict[str, Any]] | None = None, fail: AWSCallError | None = None) -> None:
        self.region = region
        self.instances = INSTANCES if instances is None else instances
        self.fail = fail
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def paginate(self, service: str, operation: str, result_key: str, **kwargs: Any) -> list[Any]:
        assert service == "ec2"
        self.calls.append((operation, kwargs))
        if self.fail:
            raise self.fail
        filters = kwargs.get("Filters", [])

        def selected(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [item for item in items if all(_matches(item, f["Name"], f["Values"]) for f in filters)]

        if operation == "describe_security_groups":
            return selected(SECURITY_GROUPS)
        if operation == "describe_instances":
            assert result_key == "Reservations[].Instances[]"
            return copy.deepcopy(selected(self.instances))
        if operation == "describe_vpcs":
            assert result_key == "Vpcs[].VpcId"
            return list(FIXTURE["vpcs"])
        raise AssertionError(f"unexpected call {operation}")

    def operations(self) -> list[str]:
        return [operation for operation, _kwargs in self.calls]

    def instance_queries(self) -> list[dict[str, list[str]]]:
        return [
            {f["Name"]: f["Values"] for f in kwargs["Filters"]} for operation, kwargs in self.calls if operation == "describe_instances"
        ]


def scan(fake: FakeAWS, query: Query | None = None) -> RegionScan:
    return scan_region(fake, query or Query())  # type: ignore[arg-type]


# Classification


def test_lists_tagged_vms_and_the_clients_untagged_vm_and_nothing_else() -> None:
    hosts = build_hosts([scan(FakeAWS())])

    assert names(hosts) == RUNNING_OSWORLD
    assert [host.name for host in hosts] == sorted(host.name for host in hosts)


def test_the_client_vm_is_found_through_its_network_interface_groups() -> None:
    client = instance("client")
    assert client["SecurityGroups"] == []  # launched the OSWorld client's way

    assert security_group_ids(client) == {ENV_SG}
    host = build_host(client, REGION, {ENV_SG})
    assert host is not None
    assert host.variables["osworld_launched_by"] == "osworld-client"
    assert host.variables["osworld_role"] == "env"
    assert host.variables["osworld_fleet"] is None
    assert build_host(client, REGION, {OTHER_SG}) is None
    assert build_host(client, REGION, set()) is None


@pytest.mark.parametrize(
    "name", ["other-team", "named-in-env-sg", "role-tag-only", "managed-by-other", "default-vpc-untagged"]
)
def test_other_instances_are_never_listed(name: str) -> None:
    assert build_host(instance(name), REGION, {ENV_SG, HOST_SG}) is None


def test_tags_only_aws_adds_count_as_untagged() -> None:
    assert is_untagged({})
    assert is_untagged({"aws:ec2launchtemplate:id": "lt-1"})
    assert not is_untagged({"Name": "x"})
    assert build_host(instance("aws-tags-only"), REGION, {ENV_SG}) is not None


def test_a_tagged_vm_is_listed_wherever_it_is() -> None:
    host = build_host(instance("no-role"), REGION, frozenset())

    assert host is not None
    assert host.groups == ("region_us_east_1",)  # no role: neither osworld_envs nor osworld_hosts


# Hosts, groups and variables


def test_groups() -> None:
    members = group_members(build_hosts([scan(FakeAWS())]))

    readable = {group: {FIXTURE["names"][name] for name in hosts} for group, hosts in members.items()}
    assert readable == {
        GROUP_ENVS: {"alpha-1", "alpha-2", "beta-1", "client", "aws-tags-only"},
        GROUP_HOSTS: {"host"},
        "fleet_alpha": {"alpha-1", "alpha-2", "host"},
        "fleet_beta_2": {"beta-1"},
        "region_us_east_1": RUNNING_OSWORLD,
    }


def test_host_variables_of_a_fleet_vm() -> None:
    item = instance("alpha-1")
    host = build_host(item, REGION, {ENV_SG})

    assert host is not None
    assert host.name == item["InstanceId"]
    private_ip = item["PrivateIpAddress"]
    assert host.variables == {
        "ansible_host": private_ip,
        "osworld_instance_id": item["InstanceId"],
        "osworld_region": REGION,
        "osworld_role": "env",
        "osworld_fleet": "alpha",
        "osworld_launched_by": "osworld.aws",
        "osworld_state": "running",
        "osworld_private_ip": private_ip,
        "osworld_public_ip": None,
        "osworld_vnc_url": None,
        "osworld_backend_url": f"http://{private_ip}:5000",
        "osworld_expires_at": "2030-01-01T00:00:00Z",
        "osworld_launch_time": iso_utc(item["LaunchTime"]),
        "osworld_instance_type": "t3.medium",
    }
    assert host.details["osworld_tags"] == tags_of(item)
    assert host.details["osworld_vpc_id"] == OSWORLD_VPC
    assert host.details["osworld_security_group_ids"] == [ENV_SG]
    assert host.template_variables()["osworld_fleet"] == "alpha"


def test_urls_and_ansible_host_of_the_client_vm() -> None:
    item = instance("client")
    public_ip, private_ip = item["PublicIpAddress"], item["PrivateIpAddress"]

    private = build_host(item, REGION, {ENV_SG})
    public = build_host(item, REGION, {ENV_SG}, use_public_ip=True)

    assert private is not None and public is not None
    assert private.variables["osworld_vnc_url"] == f"http://{public_ip}:5910/vnc.html"
    assert private.variables["osworld_backend_url"] == f"http://{private_ip}:5000"
    assert private.variables["ansible_host"] == private_ip
    assert public.variables["ansible_host"] == public_ip


def test_use_public_ip_falls_back_to_the_private_address() -> None:
    host = build_host(instance("alpha-1"), REGION, {ENV_SG}, use_public_ip=True)

    assert host is not None
    assert host.variables["ansible_host"] == instance("alpha-1")["PrivateIpAddress"]


def test_a_vm_without_addresses_has_no_ansible_host() -> None:
    item = instance("alpha-1")
    del item["PrivateIpAddress"]

    host = build_host(item, REGION, {ENV_SG})

    assert host is not None
    assert "ansible_host" not in host.variables
    assert host.variables["osworld_backend_url"] is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("us-east-1", "us_east_1"), ("fleet_my-fleet.v2", "fleet_my_fleet_v2"), ("fleet_a b/c", "fleet_a_b_c")],
)
def test_safe_group_name(raw: str, expected: str) -> None:
    assert safe_group_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01T10:20:30+00:00", "2024-05-01T10:20:30Z"),
        ("2024-05-01T12:20:30.000+02:00", "2024-05-01T10:20:30Z"),
        ("2024-05-01T10:20:30.000Z", "2024-05-01T10:20:30Z"),
        (None, None),
        ("not a time", "not a time"),
    ],
)
def test_launch_time_is_utc_iso(raw: str | None, expected: str | None) -> None:
    assert iso_utc(raw) == expected


def test_hosts_survive_a_json_round_trip_for_the_cache() -> None:
    hosts = build_hosts([scan(FakeAWS())])

    restored = [Host.from_dict(entry) for entry in json.loads(json.dumps([host.as_dict() for host in hosts]))]

    assert restored == hosts


def test_a_host_seen_in_two_queries_is_listed_once() -> None:
    doubled = RegionScan(REGION, frozenset({ENV_SG}), [instance("alpha-1"), instance("alpha-1")])

    assert len(build_hosts([doubled])) == 1


# The list calls of a region


def test_scan_queries_the_env_vpcs_then_tagged_vms_in_other_vpcs() -> None:
    fake = FakeAWS()

    result = scan(fake)

    assert fake.operations() == ["describe_security_groups", "describe_instances", "describe_vpcs", "describe_instances"]
    sg_filters = {f["Name"]: f["Values"] for f in fake.calls[0][1]["Filters"]}
    assert sg_filters == {"tag:osworld:managed-by": ["osworld.aws"], "tag:osworld:component": ["env-security-group"]}
    in_env_vpcs, elsewhere = fake.instance_queries()
    assert in_env_vpcs == {"instance-state-name": ["pending", "running"], "vpc-id": [OSWORLD_VPC]}
    assert elsewhere == {
        "instance-state-name": ["pending", "running"],
        "vpc-id": sorted(set(FIXTURE["vpcs"]) - {OSWORLD_VPC}),
        "tag:osworld:managed-by": ["osworld.aws"],
    }
    assert result.env_group_ids == {ENV_SG}


def test_instances_are_read_in_pages_of_1000() -> None:
    fake = FakeAWS()

    scan(fake)

    pages = [kwargs["PaginationConfig"] for operation, kwargs in fake.calls if operation == "describe_instances"]
    assert PAGE_SIZE == 1000
    assert pages and all(config == {"PageSize": 1000} for config in pages)


def test_a_tagged_vm_outside_the_env_vpcs_is_found() -> None:
    elsewhere = instance("alpha-2")
    elsewhere["VpcId"] = next(vpc for vpc in FIXTURE["vpcs"] if vpc != OSWORLD_VPC)

    hosts = build_hosts([scan(FakeAWS(instances=[elsewhere, instance("client")]))])

    assert names(hosts) == {"alpha-2", "client"}


def test_without_env_security_group_only_tagged_vms_are_queried() -> None:
    class NoGroups(FakeAWS):
        def paginate(self, service: str, operation: str, result_key: str, **kwargs: Any) -> list[Any]:
            if operation == "describe_security_groups":
                self.calls.append((operation, kwargs))
                return []
            return super().paginate(service, operation, result_key, **kwargs)

    fake = NoGroups()

    hosts = build_hosts([scan(fake)])

    assert fake.operations() == ["describe_security_groups", "describe_instances"]
    assert fake.instance_queries() == [{"instance-state-name": ["pending", "running"], "tag:osworld:managed-by": ["osworld.aws"]}]
    assert names(hosts) == {"alpha-1", "alpha-2", "beta-1", "host", "no-role"}  # no env group: no client VM


def test_states_are_configurable() -> None:
    hosts = build_hosts([scan(FakeAWS(), Query(states=("running", "stopped")))])

    assert names(hosts) == RUNNING_OSWORLD | {"stopped"}


def test_with_terminated_vms_the_tag_query_is_not_limited_to_vpcs() -> None:
    fake = FakeAWS()

    scan(fake, Query(states=("running", "terminated")))

    assert "describe_vpcs" not in fake.operations()
    assert fake.instance_queries()[-1] == {
        "instance-state-name": ["running", "terminated"],
        "tag:osworld:managed-by": ["osworld.aws"],
    }


def test_security_groups_named_in_the_configuration_count_as_env_groups() -> None:
    fake = FakeAWS()

    result = scan(fake, Query(env_security_group_ids=(OTHER_SG, "sg-0000000000000000f")))

    named_lookup = fake.calls[1]
    assert named_lookup[0] == "describe_security_groups"
    assert named_lookup[1]["Filters"] == [{"Name": "group-id", "Values": sorted([OTHER_SG, "sg-0000000000000000f"])}]
    assert result.env_group_ids == {ENV_SG, OTHER_SG}
    assert names(build_hosts([result])) == RUNNING_OSWORLD | {"other-team"}


# Several regions, failures


def test_regions_are_scanned_each_with_its_own_connection() -> None:
    def own_instances(suffix: str) -> list[dict[str, Any]]:
        return [{**copy.deepcopy(item), "InstanceId": item["InstanceId"] + suffix} for item in INSTANCES]

    fakes = {region: FakeAWS(region, own_instances(region[-1])) for region in ("us-east-1", "eu-west-2", "ap-south-3")}

    scans = scan_regions(fakes.__getitem__, list(fakes), Query())  # type: ignore[arg-type]

    assert [result.region for result in scans] == list(fakes)
    assert all(fake.calls for fake in fakes.values())
    groups = group_members(build_hosts(scans))
    per_region = len(RUNNING_OSWORLD)
    assert {group: len(hosts) for group, hosts in groups.items() if group.startswith("region_")} == {
        "region_us_east_1": per_region,
        "region_eu_west_2": per_region,
        "region_ap_south_3": per_region,
    }
    assert all(host.endswith("2") for host in groups["region_eu_west_2"])


def test_a_failing_region_fails_the_whole_scan_with_a_one_line_reason() -> None:
    denied = AWSCallError("describe_security_groups", "UnauthorizedOperation", "You are not authorized\nto perform this operation.")
    fakes = {"us-east-1": FakeAWS("us-east-1"), "eu-west-1": FakeAWS("eu-west-1", fail=denied)}
    connect: Callable[[str], Any] = fakes.__getitem__

    with pytest.raises(InventoryError) as caught:
        scan_regions(connect, list(fakes), Query())

    assert caught.value.region == "eu-west-1"
    assert caught.value.message == (
        "region eu-west-1: describe_security_groups failed: UnauthorizedOperation: You are not authorized to perform this operation."
    )


def test_the_first_failing_region_in_order_is_reported() -> None:
    error = AWSCallError("describe_instances", "AuthFailure", "bad key")
    fakes = {region: FakeAWS(region, fail=error) for region in ("us-west-2", "us-east-1")}

    with pytest.raises(InventoryError, match="^region us-west-2: describe_instances failed: AuthFailure: bad key$"):
        scan_regions(fakes.__getitem__, list(fakes), Query())  # type: ignore[arg-type]


# Cache key


def test_cache_identity_separates_accounts_profiles_endpoints_and_regions() -> None:
    base: dict[str, Any] = {
        "access_key": "AKIAONE",
        "profile": None,
        "endpoint_url": None,
        "regions": ["us-east-1"],
        "query": Query(),
        "use_public_ip": False,
    }
    key = cache_identity(**base)
    variants = [
        {"access_key": "AKIATWO"},
        {"profile": "other"},
        {"endpoint_url": "http://127.0.0.1:5000"},
        {"regions": ["us-east-1", "eu-west-1"]},
        {"query": Query(states=("running",))},
        {"query": Query(env_security_group_ids=("sg-1",))},
        {"use_public_ip": True},
    ]

    assert cache_identity(**base) == key
    keys = {cache_identity(**{**base, **variant}) for variant in variants}
    assert key not in keys and len(keys) == len(variants)
    assert "AKIAONE" not in key


def test_credentials_that_cannot_be_resolved_name_the_region() -> None:
    class BrokenChain(FakeAWS):
        def caller_access_key(self) -> str | None:
            raise RuntimeError("credential_process exited with 1")

    with pytest.raises(InventoryError, match="^region us-east-1: cannot resolve AWS credentials: credential_process exited with 1$"):
        access_key_of(BrokenChain())  # type: ignore[arg-type]
