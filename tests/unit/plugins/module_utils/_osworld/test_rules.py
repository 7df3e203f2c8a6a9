"""Rule identity, normalisation and diffing: the logic behind 'exactly the guide's rules'."""
from __future__ import annotations

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.rules import (
    EGRESS,
    INGRESS,
    apply_diff,
    diff_rules,
    ip_permissions,
    make_rule,
    rule_from_spec,
    rules_for_diff,
    rules_from_ip_permissions,
)


def test_description_change_is_an_update_not_a_replacement() -> None:
    current = [make_rule(INGRESS, "tcp", 22, 22, "0.0.0.0/0", "old")]
    desired = [make_rule(INGRESS, "tcp", 22, 22, "0.0.0.0/0", "SSH access")]
    diff = diff_rules(current, desired)
    assert diff.to_add == [] and diff.to_remove == []
    assert [rule.description for rule in diff.to_describe] == ["SSH access"]


def test_extra_rules_are_removed_and_missing_ones_added() -> None:
    current = [make_rule(INGRESS, "tcp", 22, 22, "0.0.0.0/0"), make_rule(INGRESS, "tcp", 5000, 5000, "0.0.0.0/0")]
    desired = [make_rule(INGRESS, "tcp", 22, 22, "0.0.0.0/0"), make_rule(INGRESS, "tcp", 5000, 5000, "10.0.0.0/16")]
    diff = diff_rules(current, desired)
    assert [str(rule.key) for rule in diff.to_add] == ["ingress tcp/5000 from 10.0.0.0/16"]
    assert [str(rule.key) for rule in diff.to_remove] == ["ingress tcp/5000 from 0.0.0.0/0"]


def test_without_purge_nothing_is_removed() -> None:
    current = [make_rule(INGRESS, "tcp", 443, 443, "0.0.0.0/0")]
    assert diff_rules(current, [], purge=False).to_remove == []


def test_equal_sets_make_no_diff_whatever_the_order() -> None:
    rules = [make_rule(INGRESS, "tcp", port, port, "10.0.0.0/16") for port in (80, 5000, 22)]
    assert not diff_rules(list(reversed(rules)), rules).changed


@pytest.mark.parametrize(("protocol", "expected"), [("6", "tcp"), ("TCP", "tcp"), ("all", "-1"), (-1, "-1"), ("17", "udp")])
def test_protocols_are_normalised(protocol: str, expected: str) -> None:
    assert make_rule(INGRESS, protocol, 1, 1, "10.0.0.0/8").key.protocol == expected


def test_all_traffic_rules_ignore_ports() -> None:
    assert make_rule(EGRESS, "-1", 0, 65535, "0.0.0.0/0") == make_rule(EGRESS, "all", None, None, "0.0.0.0/0")


def test_sources_are_canonical_and_host_bits_are_an_error() -> None:
    assert make_rule(INGRESS, "tcp", 22, 22, "2001:db8::/32").key.source == "2001:db8::/32"
    with pytest.raises(OSWorldError):
        make_rule(INGRESS, "tcp", 22, 22, "10.0.0.1/8")


def test_a_port_is_required_for_tcp() -> None:
    with pytest.raises(OSWorldError, match="needs a port"):
        make_rule(INGRESS, "tcp", None, None, "10.0.0.0/8")


def test_ip_permissions_round_trip() -> None:
    rules = [
        make_rule(INGRESS, "tcp", 22, 22, "0.0.0.0/0", "SSH access"),
        make_rule(INGRESS, "tcp", 22, 22, "2001:db8::/32"),
        make_rule(INGRESS, "tcp", 5000, 5000, "sg-0123456789abcdef0", "peers"),
        make_rule(INGRESS, "tcp", 8000, 8100, "pl-12345678"),
    ]
    permissions = ip_permissions(rules)
    assert len(permissions) == 3
    ssh = next(p for p in permissions if p["FromPort"] == 22)
    assert ssh["IpRanges"] == [{"CidrIp": "0.0.0.0/0", "Description": "SSH access"}]
    assert ssh["Ipv6Ranges"] == [{"CidrIpv6": "2001:db8::/32"}]
    assert sorted(rules_from_ip_permissions(INGRESS, permissions), key=lambda r: r.key) == sorted(rules, key=lambda r: r.key)


def test_aws_all_traffic_permission_reads_back_as_one_rule() -> None:
    permissions = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "UserIdGroupPairs": [], "PrefixListIds": []}]
    assert rules_from_ip_permissions(EGRESS, permissions) == [make_rule(EGRESS, "-1", None, None, "0.0.0.0/0")]


def test_apply_diff_gives_the_desired_set() -> None:
    current = [make_rule(INGRESS, "tcp", 1, 1, "10.0.0.0/8"), make_rule(INGRESS, "tcp", 2, 2, "10.0.0.0/8", "x")]
    desired = [make_rule(INGRESS, "tcp", 2, 2, "10.0.0.0/8", "y"), make_rule(INGRESS, "tcp", 3, 3, "10.0.0.0/8")]
    after = apply_diff(current, diff_rules(current, desired))
    assert rules_for_diff(after) == rules_for_diff(desired)


def test_rule_spec_expands_source_lists() -> None:
    rules = rule_from_spec(INGRESS, {"proto": "tcp", "from_port": 22, "cidr_ip": ["10.0.0.0/8", "192.168.0.0/16"]})
    assert [rule.key.source for rule in rules] == ["10.0.0.0/8", "192.168.0.0/16"]


def test_diff_lines_are_sorted_and_readable() -> None:
    rules = [make_rule(INGRESS, "tcp", 9222, 9222, "10.0.0.0/16", "Chrome control port"), make_rule(EGRESS, "-1", None, None, "0.0.0.0/0")]
    assert rules_for_diff(rules) == ["egress -1/all to 0.0.0.0/0", "ingress tcp/9222 from 10.0.0.0/16  # Chrome control port"]
