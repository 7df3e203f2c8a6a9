"""checks.py: the shared checks' messages and choices that need no call (the calls are tested against moto)."""
from __future__ import annotations

from ansible_collections.osworld.aws.plugins.module_utils._osworld.checks import choose_subnet_zone, instance_type_message


def test_instance_type_messages_name_the_variable_and_the_zones() -> None:
    assert instance_type_message("t3.bogus", "us-east-1", None, []).startswith("osworld_instance_type: t3.bogus is not offered in us-east-1")
    message = instance_type_message("p5.48xlarge", "us-east-1", "us-east-1e", ["us-east-1a"])
    assert "us-east-1e" in message and "us-east-1a" in message and "osworld_subnet_id" in message


def test_subnet_zone_is_the_first_offering_zone_by_name() -> None:
    assert choose_subnet_zone(["us-east-1f", "us-east-1b", "us-east-1c"]) == "us-east-1b"
