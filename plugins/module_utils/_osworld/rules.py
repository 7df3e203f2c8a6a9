# This module util is PRIVATE to the collection. It may change without notice.
"""Security-group rules as comparable values, and the diff between what is and what should be.

A rule's identity is (direction, protocol, from port, to port, normalised source); its
description is an attribute, so a changed description is an update in place.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import OSWorldError

INGRESS = "ingress"
EGRESS = "egress"
ALL_PROTOCOLS = "-1"
PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": ALL_PROTOCOLS, "-1": ALL_PROTOCOLS}


@dataclass(frozen=True, order=True)
class RuleKey:
    direction: str
    protocol: str
    from_port: int | None
    to_port: int | None
    source: str

    def __str__(self) -> str:
        ports = "all" if self.from_port is None else (
            str(self.from_port) if self.from_port == self.to_port else f"{self.from_port}-{self.to_port}"
        )
        arrow = "from" if self.direction == INGRESS else "to"
        return f"{self.direction} {self.protocol}/{ports} {arrow} {self.source}"


@dataclass(frozen=True)
class Rule:
    key: RuleKey
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "direction": self.key.direction,
            "protocol": self.key.protocol,
            "from_port": self.key.from_port,
            "to_port": self.key.to_port,
            "source": self.key.source,
            "description": self.description,
        }


@dataclass
class RuleDiff:
    to_add: list[Rule] = field(default_factory=list)
    to_remove: list[Rule] = field(default_factory=list)
    to_describe: list[Rule] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.to_add or self.to_remove or self.to_describe)

    def in_direction(self, direction: str) -> RuleDiff:
        return RuleDiff(
            [rule for rule in self.to_add if rule.key.direction == direction],
            [rule for rule in self.to_remove if rule.key.direction == direction],
            [rule for rule in self.to_describe if rule.key.direction == direction],
        )


def normalise_protocol(value: str | int) -> str:
    text = str(value).lower()
    return PROTOCOL_NAMES.get(text, text)


def normalise_source(value: str) -> str:
    """CIDRs in canonical form (10.0.0.1/8 is an error, not 10.0.0.0/8); group and prefix-list ids as given."""
    if value.startswith(("sg-", "pl-")):
        return value
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise OSWorldError(f"'{value}' is not a valid rule source: {exc}") from exc


def make_rule(
    direction: str, protocol: str | int, from_port: int | None, to_port: int | None, source: str, description: str = ""
) -> Rule:
    proto = normalise_protocol(protocol)
    if proto == ALL_PROTOCOLS:
        from_port = to_port = None
    elif from_port is None:
        raise OSWorldError(f"A {proto} rule from {source} needs a port")
    elif to_port is None:
        to_port = from_port
    return Rule(RuleKey(direction, proto, from_port, to_port, normalise_source(source)), description or "")


def rule_from_spec(direction: str, spec: Mapping[str, Any]) -> list[Rule]:
    """One user spec (ports, cidr_ip as a string or a list) to one rule per source."""
    sources = spec.get("cidr_ip") or spec.get("source")
    listed = [sources] if isinstance(sources, str) else list(sources or [])
    if not listed:
        raise OSWorldError(f"Rule {dict(spec)} has no source (cidr_ip)")
    return [
        make_rule(
            direction,
            spec.get("proto", "tcp"),
            spec.get("from_port"),
            spec.get("to_port"),
            source,
            spec.get("description") or "",
        )
        for source in listed
    ]


def rules_from_ip_permissions(direction: str, permissions: Iterable[Mapping[str, Any]]) -> list[Rule]:
    """Flattens EC2's grouped IpPermissions (several sources per port range) into single rules."""
    rules = []
    for permission in permissions:
        protocol = permission.get("IpProtocol", ALL_PROTOCOLS)
        from_port, to_port = permission.get("FromPort"), permission.get("ToPort")
        if normalise_protocol(protocol) == ALL_PROTOCOLS or from_port == -1:
            from_port = to_port = None
        source_lists = (
            ("IpRanges", "CidrIp"),
            ("Ipv6Ranges", "CidrIpv6"),
            ("UserIdGroupPairs", "GroupId"),
            ("PrefixListIds", "PrefixListId"),
        )
        for list_key, id_key in source_lists:
            for source in permission.get(list_key, []):
                key = RuleKey(direction, normalise_protocol(protocol), from_port, to_port, source[id_key])
                rules.append(Rule(key, source.get("Description", "")))
    return rules


def ip_permissions(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    """Groups rules back into IpPermissions, one entry per (protocol, ports), sources sorted."""
    grouped: dict[tuple[str, int | None, int | None], dict[str, Any]] = {}
    for rule in sorted(rules, key=lambda item: item.key):
        key = rule.key
        permission = grouped.setdefault(
            (key.protocol, key.from_port, key.to_port), _permission_head(key.protocol, key.from_port, key.to_port)
        )
        list_key, id_key = _source_slot(key.source)
        entry: dict[str, str] = {id_key: key.source}
        if rule.description:
            entry["Description"] = rule.description
        permission.setdefault(list_key, []).append(entry)
    return list(grouped.values())


def diff_rules(current: Iterable[Rule], desired: Iterable[Rule], purge: bool = True) -> RuleDiff:
    current_by_key = {rule.key: rule for rule in current}
    desired_by_key = {rule.key: rule for rule in desired}
    diff = RuleDiff()
    for key in sorted(desired_by_key):
        wanted = desired_by_key[key]
        have = current_by_key.get(key)
        if have is None:
            diff.to_add.append(wanted)
        elif have.description != wanted.description:
            diff.to_describe.append(wanted)
    if purge:
        diff.to_remove = [current_by_key[key] for key in sorted(current_by_key) if key not in desired_by_key]
    return diff


def apply_diff(current: Iterable[Rule], diff: RuleDiff) -> list[Rule]:
    """The rules after `diff` is applied, for check-mode results and diffs."""
    by_key = {rule.key: rule for rule in current}
    for rule in diff.to_remove:
        by_key.pop(rule.key, None)
    for rule in (*diff.to_add, *diff.to_describe):
        by_key[rule.key] = rule
    return [by_key[key] for key in sorted(by_key)]


def rules_for_diff(rules: Iterable[Rule]) -> list[str]:
    """Stable, readable lines for --diff output."""
    return [f"{rule.key}" + (f"  # {rule.description}" if rule.description else "") for rule in sorted(rules, key=lambda r: r.key)]


def _permission_head(protocol: str, from_port: int | None, to_port: int | None) -> dict[str, Any]:
    head: dict[str, Any] = {"IpProtocol": protocol}
    if from_port is not None:
        head["FromPort"] = from_port
        head["ToPort"] = to_port
    return head


def _source_slot(source: str) -> tuple[str, str]:
    if source.startswith("sg-"):
        return "UserIdGroupPairs", "GroupId"
    if source.startswith("pl-"):
        return "PrefixListIds", "PrefixListId"
    if ":" in source:
        return "Ipv6Ranges", "CidrIpv6"
    return "IpRanges", "CidrIp"
