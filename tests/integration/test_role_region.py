"""A role run from a user's own playbook, not the collection's: its own osworld_region (a role
variable) decides where it acts, whatever the play's module_defaults say (meta/runtime.yml)."""
from __future__ import annotations

from pathlib import Path

import yaml

from tests.support.harness import AWSHarness


def stack_vpcs(aws: AWSHarness, region: str, stack: str) -> list[str]:
    filters = [{"Name": "tag:osworld:managed-by", "Values": ["osworld.aws"]}, {"Name": "tag:osworld:stack", "Values": [stack]}]
    return [vpc["VpcId"] for vpc in aws.client(region=region).describe_vpcs(Filters=filters)["Vpcs"]]


def test_a_role_in_a_users_playbook_acts_in_its_own_osworld_region(aws: AWSHarness, tmp_path: Path) -> None:
    playbook = tmp_path / "own.yml"
    play = {
        "name": "A user's own playbook",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "module_defaults": {"group/osworld.aws.osworld": {"region": "us-east-1"}},
        "roles": [
            {"role": "osworld.aws.network", "vars": {"osworld_region": "us-west-2", "osworld_name_prefix": "own", "osworld_availability_zone": "us-west-2a"}}
        ],
    }
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))

    run = aws.playbook(str(playbook))

    assert run.rc == 0, run.failure_messages() or run.stdout[-3000:]
    assert len(stack_vpcs(aws, "us-west-2", "own")) == 1
    assert stack_vpcs(aws, "us-east-1", "own") == []
