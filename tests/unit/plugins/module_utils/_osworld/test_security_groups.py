"""The guide's rule sets as the collection builds them."""
from __future__ import annotations

from ansible_collections.osworld.aws.plugins.module_utils._osworld.rules import EGRESS, INGRESS
from ansible_collections.osworld.aws.plugins.module_utils._osworld.security_groups import (
    env_group_spec,
    host_group_spec,
    missing_tags,
)
from ansible_collections.osworld.aws.plugins.module_utils._osworld.tags import SUBNET_KEY

GUIDE = {
    (22, "SSH access"),
    (80, "HTTP traffic"),
    (5000, "OSWorld backend service"),
    (5910, "NoVNC visualization port"),
    (8006, "VNC service port"),
    (8080, "VLC service port"),
    (8081, "Additional service port"),
    (9222, "Chrome control port"),
}


def test_env_group_has_the_guides_eight_inbound_rules_and_one_outbound() -> None:
    spec = env_group_spec("osworld", ["0.0.0.0/0"], "10.1.0.0/16", "subnet-0123456789abcdef0", {})
    assert {(rule.key.from_port, rule.description) for rule in spec.ingress} == GUIDE
    assert len(spec.ingress) == 8
    assert [(rule.key.direction, rule.key.protocol, rule.key.source) for rule in spec.egress] == [(EGRESS, "-1", "0.0.0.0/0")]


def test_internal_ports_follow_the_internal_cidr_and_admin_ports_the_admin_cidrs() -> None:
    spec = env_group_spec("osworld", ["203.0.113.0/24", "198.51.100.7/32"], "10.1.0.0/16", "subnet-0123456789abcdef0", {})
    sources = {}
    for rule in spec.ingress:
        sources.setdefault(rule.key.from_port, set()).add(rule.key.source)
    assert sources[22] == sources[5910] == {"203.0.113.0/24", "198.51.100.7/32"}
    for port in (80, 5000, 8006, 8080, 8081, 9222):
        assert sources[port] == {"10.1.0.0/16"}
    assert all(rule.key.direction == INGRESS for rule in spec.ingress)


def test_env_group_records_its_subnet_and_keeps_reserved_tags() -> None:
    spec = env_group_spec("lab", ["0.0.0.0/0"], "10.1.0.0/16", "subnet-0123456789abcdef0", {"team": "a", "osworld:stack": "evil"})
    assert spec.tags[SUBNET_KEY] == "subnet-0123456789abcdef0"
    assert spec.tags["osworld:stack"] == "lab"
    assert spec.tags["team"] == "a"
    assert spec.name == "lab-env"


def test_host_group_opens_ssh_and_the_monitor_port() -> None:
    spec = host_group_spec("osworld", ["203.0.113.0/24"], 9090, {})
    assert {(rule.key.from_port, rule.key.source) for rule in spec.ingress} == {(22, "203.0.113.0/24"), (9090, "203.0.113.0/24")}


def test_missing_tags_leaves_foreign_tags_alone() -> None:
    assert missing_tags({"a": "1", "mine": "x"}, {"a": "1", "b": "2"}) == {"b": "2"}
