"""provision.yml and teardown.yml against moto: state read back with boto3, calls counted by the proxy."""
from __future__ import annotations

import os
import stat
from typing import Any

from tests.support.harness import AWSHarness

GUIDE_INBOUND = {
    22: "SSH access",
    80: "HTTP traffic",
    5000: "OSWorld backend service",
    5910: "NoVNC visualization port",
    8006: "VNC service port",
    8080: "VLC service port",
    8081: "Additional service port",
    9222: "Chrome control port",
}
INTERNAL_PORTS = {80, 5000, 8006, 8080, 8081, 9222}


def read_env_file(aws: AWSHarness) -> dict[str, str]:
    path = aws.workdir / "osworld.env"
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def managed_groups(aws: AWSHarness) -> dict[str, dict[str, Any]]:
    groups = aws.client().describe_security_groups(Filters=[{"Name": "tag:osworld:managed-by", "Values": ["osworld.aws"]}])
    return {
        {tag["Key"]: tag["Value"] for tag in group["Tags"]}["osworld:component"]: group for group in groups["SecurityGroups"]
    }


def inbound(group: dict[str, Any]) -> list[tuple[int, str, str]]:
    """(port, source, description) for every inbound rule, one line per source."""
    rules = []
    for permission in group["IpPermissions"]:
        for source in permission.get("IpRanges", []):
            rules.append((permission["FromPort"], source["CidrIp"], source.get("Description", "")))
    return sorted(rules)


def outbound(group: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted(
        (permission["IpProtocol"], source["CidrIp"], source.get("Description", ""))
        for permission in group["IpPermissionsEgress"]
        for source in permission.get("IpRanges", [])
    )


def network_snapshot(aws: AWSHarness) -> dict[str, list[str]]:
    ec2 = aws.client()
    return {
        "vpcs": sorted(vpc["VpcId"] for vpc in ec2.describe_vpcs()["Vpcs"]),
        "subnets": sorted(subnet["SubnetId"] for subnet in ec2.describe_subnets()["Subnets"]),
        "gateways": sorted(gw["InternetGatewayId"] for gw in ec2.describe_internet_gateways()["InternetGateways"]),
        "route_tables": sorted(rt["RouteTableId"] for rt in ec2.describe_route_tables()["RouteTables"]),
        "groups": sorted(group["GroupId"] for group in ec2.describe_security_groups()["SecurityGroups"]),
    }


def test_fresh_account_gets_the_guides_network_groups_and_env_file(aws: AWSHarness) -> None:
    run = aws.playbook("provision.yml")
    assert run.rc == 0, run.stdout + run.stderr
    ec2 = aws.client()
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:osworld:managed-by", "Values": ["osworld.aws"]}])["Vpcs"]
    assert [vpc["CidrBlock"] for vpc in vpcs] == ["172.31.0.0/16"]
    vpc_id = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert [subnet["CidrBlock"] for subnet in subnets] == ["172.31.0.0/20"]
    # Preflight's pick, not AWS's: the first zone that offers t3.medium (moto, like AWS, lacks it in us-east-1e).
    assert subnets[0]["AvailabilityZone"] == "us-east-1a"
    gateways = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"]
    assert len(gateways) == 1
    tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnets[0]["SubnetId"]]}])["RouteTables"]
    routes = {route.get("DestinationCidrBlock"): route.get("GatewayId") for route in tables[0]["Routes"]}
    assert routes["0.0.0.0/0"] == gateways[0]["InternetGatewayId"]

    groups = managed_groups(aws)
    env_group, host_group = groups["env-security-group"], groups["host-security-group"]
    assert env_group["VpcId"] == host_group["VpcId"] == vpc_id
    env_rules = inbound(env_group)
    assert len(env_rules) == 8
    for port, source, description in env_rules:
        assert description == GUIDE_INBOUND[port]
        assert source == ("172.31.0.0/16" if port in INTERNAL_PORTS else "0.0.0.0/0")
    assert outbound(env_group) == [("-1", "0.0.0.0/0", "Allow all outbound traffic")]
    assert [(port, source) for port, source, _description in inbound(host_group)] == [(22, "0.0.0.0/0"), (8080, "0.0.0.0/0")]

    for resource in (*vpcs, *subnets, *gateways, *tables):
        tags = {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}
        assert tags["osworld:managed-by"] == "osworld.aws"

    env = read_env_file(aws)
    assert env == {
        "AWS_REGION": "us-east-1",
        "AWS_SUBNET_ID": subnets[0]["SubnetId"],
        "AWS_SECURITY_GROUP_ID": env_group["GroupId"],
    }
    env_path = aws.workdir / "osworld.env"
    assert stat.S_IMODE(os.stat(env_path).st_mode) == 0o600
    text = env_path.read_text()
    assert "testing" not in text and "SECRET" not in text.upper() and "ACCESS_KEY" not in text.upper()


def test_second_run_changes_nothing_and_makes_no_mutating_call(aws: AWSHarness) -> None:
    aws.provisioned()
    aws.proxy.clear()
    run = aws.playbook("provision.yml")
    assert run.rc == 0, run.stdout
    assert run.changed == 0
    assert aws.proxy.mutating_actions() == []
    assert len(aws.proxy.actions()) <= 10, aws.proxy.actions()


def test_drift_is_repaired_and_descriptions_updated_in_place(aws: AWSHarness) -> None:
    aws.provisioned()
    ec2 = aws.client()
    group_id = managed_groups(aws)["env-security-group"]["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 5000, "ToPort": 5000, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    ec2.revoke_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 9222, "ToPort": 9222, "IpRanges": [{"CidrIp": "172.31.0.0/16"}]}],
    )
    ec2.update_security_group_rule_descriptions_ingress(
        GroupId=group_id,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "changed by hand"}]}
        ],
    )
    aws.proxy.clear()
    run = aws.playbook("provision.yml", diff=True)
    assert run.rc == 0, run.stdout
    assert run.changed >= 1
    mutations = aws.proxy.mutating_actions()
    assert sorted(mutations) == [
        "AuthorizeSecurityGroupIngress",
        "RevokeSecurityGroupIngress",
        "UpdateSecurityGroupRuleDescriptionsIngress",
    ]
    env_rules = inbound(managed_groups(aws)["env-security-group"])
    assert len(env_rules) == 8
    assert (5000, "0.0.0.0/0", "") not in env_rules
    assert (9222, "172.31.0.0/16", "Chrome control port") in env_rules
    assert (22, "0.0.0.0/0", "SSH access") in env_rules
    aws.proxy.clear()
    assert aws.playbook("provision.yml").changed == 0
    assert aws.proxy.mutating_actions() == []


def test_check_mode_on_a_fresh_account_creates_nothing_and_writes_no_file(aws: AWSHarness) -> None:
    before = network_snapshot(aws)
    run = aws.playbook("provision.yml", check=True, diff=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.changed >= 1
    assert aws.proxy.mutating_actions() == []
    assert network_snapshot(aws) == before
    assert not (aws.workdir / "osworld.env").exists()


def test_check_diff_shows_the_rule_that_would_be_removed(aws: AWSHarness) -> None:
    aws.provisioned()
    group_id = managed_groups(aws)["env-security-group"]["GroupId"]
    aws.client().authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 5000, "ToPort": 5000, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    aws.proxy.clear()
    run = aws.playbook("provision.yml", check=True, diff=True)
    assert run.rc == 0
    diffs = [result.get("diff") for result in run.task_results("have exactly the guide")]
    before_rules = diffs[0]["before"]["env-security-group"]["rules"]
    after_rules = diffs[0]["after"]["env-security-group"]["rules"]
    assert "ingress tcp/5000 from 0.0.0.0/0" in before_rules
    assert "ingress tcp/5000 from 0.0.0.0/0" not in after_rules
    assert aws.proxy.mutating_actions() == []
    assert (5000, "0.0.0.0/0", "") in inbound(managed_groups(aws)["env-security-group"])


def test_adopted_subnet_outside_172_31_creates_only_the_groups(aws: AWSHarness) -> None:
    ec2 = aws.client()
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    before = network_snapshot(aws)
    run = aws.playbook("provision.yml", {"osworld_subnet_id": subnet_id})
    assert run.rc == 0, run.stdout
    after = network_snapshot(aws)
    assert {key: after[key] for key in ("vpcs", "subnets", "gateways", "route_tables")} == {
        key: before[key] for key in ("vpcs", "subnets", "gateways", "route_tables")
    }
    groups = managed_groups(aws)
    env_group = groups["env-security-group"]
    assert env_group["VpcId"] == vpc_id
    internal_sources = {source for port, source, _description in inbound(env_group) if port in INTERNAL_PORTS}
    assert internal_sources == {"10.20.0.0/16"}
    assert read_env_file(aws)["AWS_SUBNET_ID"] == subnet_id

    run = aws.playbook("teardown.yml", {"osworld_subnet_id": subnet_id, "osworld_teardown_network": True})
    assert run.rc == 0, run.stdout
    final = network_snapshot(aws)
    assert vpc_id in final["vpcs"] and subnet_id in final["subnets"]
    assert managed_groups(aws) == {}


def test_restricted_admin_cidrs_limit_ssh_novnc_and_monitor(aws: AWSHarness) -> None:
    run = aws.playbook("provision.yml", {"osworld_admin_cidrs": ["203.0.113.0/24", "198.51.100.10/32"], "osworld_monitor_port": 9090})
    assert run.rc == 0, run.stdout
    groups = managed_groups(aws)
    env_rules = inbound(groups["env-security-group"])
    admin = {(port, source) for port, source, _description in env_rules if port not in INTERNAL_PORTS}
    assert admin == {(port, cidr) for port in (22, 5910) for cidr in ("203.0.113.0/24", "198.51.100.10/32")}
    assert all(source != "0.0.0.0/0" for _port, source, _description in env_rules)
    host = {(port, source) for port, source, _description in inbound(groups["host-security-group"])}
    assert host == {(port, cidr) for port in (22, 9090) for cidr in ("203.0.113.0/24", "198.51.100.10/32")}


def test_teardown_returns_the_account_to_its_starting_state(aws: AWSHarness) -> None:
    before = network_snapshot(aws)
    assert aws.playbook("provision.yml").rc == 0
    assert network_snapshot(aws) != before
    run = aws.playbook("teardown.yml", {"osworld_teardown_network": True})
    assert run.rc == 0, run.stdout
    assert network_snapshot(aws) == before
    aws.proxy.clear()
    run = aws.playbook("teardown.yml", {"osworld_teardown_network": True})
    assert run.rc == 0 and run.changed == 0
    assert aws.proxy.mutating_actions() == []


def test_teardown_leaves_other_stacks_alone(aws: AWSHarness) -> None:
    assert aws.playbook("provision.yml", {"osworld_name_prefix": "team-a", "osworld_vpc_cidr": "10.1.0.0/16", "osworld_subnet_cidr": "10.1.0.0/20"}).rc == 0
    between = network_snapshot(aws)
    assert aws.playbook("provision.yml", {"osworld_name_prefix": "team-b", "osworld_vpc_cidr": "10.2.0.0/16", "osworld_subnet_cidr": "10.2.0.0/20"}).rc == 0
    run = aws.playbook("teardown.yml", {"osworld_name_prefix": "team-b", "osworld_teardown_network": True})
    assert run.rc == 0, run.stdout
    assert network_snapshot(aws) == between
