"""The modules' option specs (options.py): defaults as documented, every bad option in one report."""
from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.fleet import FleetSpec
from ansible_collections.osworld.aws.plugins.module_utils._osworld.image_copy import ImageSpec
from ansible_collections.osworld.aws.plugins.module_utils._osworld.images import DEFAULT_IMAGE_ID_MAP
from ansible_collections.osworld.aws.plugins.module_utils._osworld.keys import DEFAULT_KEY_NAME, KeySpec
from ansible_collections.osworld.aws.plugins.module_utils._osworld.network import NetworkSpec
from ansible_collections.osworld.aws.plugins.module_utils._osworld.options import Options, OptionsError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.reaper import ReapPolicy
from ansible_collections.osworld.aws.plugins.module_utils._osworld.security_groups import GroupsOptions
from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import PLANNED_ID
from ansible_collections.osworld.aws.plugins.module_utils._osworld.timestamps import MAX_TTL_MINUTES


def params_of(spec_class: type[Options], **changes: Any) -> dict[str, Any]:
    """What AnsibleModule would hand over: every option at its default, then `changes`."""
    params = {name: option.get("default") for name, option in spec_class.argument_spec().items()}
    params.update(changes)
    return params


def problems(spec_class: type[Options], **changes: Any) -> list[str]:
    with pytest.raises(OptionsError) as error:
        spec_class.from_params(params_of(spec_class, **changes))
    return error.value.problems


def test_network_defaults_build_a_dedicated_network() -> None:
    spec = NetworkSpec.from_params(params_of(NetworkSpec))
    assert (spec.stack, spec.vpc_cidr, spec.subnet_cidr, spec.adopts) == ("osworld", "172.31.0.0/16", "172.31.0.0/20", False)


def test_network_reports_each_bad_option() -> None:
    assert problems(NetworkSpec, vpc_cidr="10.0.0.1/16", subnet_id="subnet-nope") == [
        "vpc_cidr: '10.0.0.1/16' is not a valid CIDR block (10.0.0.1/16 has host bits set)",
        "subnet_id: 'subnet-nope' is not a well-formed subnet id (expected subnet-<8 or 17 hex digits>)",
    ]


def test_network_subnet_outside_the_vpc_only_matters_when_creating() -> None:
    assert problems(NetworkSpec, subnet_cidr="10.0.0.0/20") == ["subnet_cidr 10.0.0.0/20 is not inside vpc_cidr 172.31.0.0/16"]
    NetworkSpec.from_params(params_of(NetworkSpec, subnet_cidr="10.0.0.0/20", state="absent"))
    NetworkSpec.from_params(params_of(NetworkSpec, subnet_cidr="10.0.0.0/20", subnet_id="subnet-12345678"))
    assert NetworkSpec.from_params(params_of(NetworkSpec, vpc_id="")).vpc_id is None  # a blank id is no id


def test_security_groups_list_every_missing_input_of_state_present() -> None:
    assert problems(GroupsOptions, vpc_id="", subnet_id=None) == [
        "vpc_id is required with state=present",
        "subnet_id is required with state=present",
        "internal_cidr is required with state=present",
    ]
    GroupsOptions.from_params(params_of(GroupsOptions, state="absent"))


def test_security_groups_accept_the_planned_network_of_check_mode() -> None:
    spec = GroupsOptions.from_params(params_of(GroupsOptions, vpc_id=PLANNED_ID, subnet_id=PLANNED_ID, internal_cidr="10.0.0.0/16"))
    assert [group.name for group in spec.groups()] == ["osworld-env", "osworld-host"]


def test_security_groups_report_bad_sources_and_port_together() -> None:
    found = problems(GroupsOptions, vpc_id="vpc-12345678", subnet_id="subnet-12345678", internal_cidr="0.0.0.0/0", admin_cidrs=[], monitor_port=70000)
    assert [problem.split(":")[0] for problem in found] == ["admin_cidrs", "internal_cidr", "monitor_port"]


def test_image_checks_the_source_region_and_keeps_the_official_map() -> None:
    assert problems(ImageSpec, source_region="Europe") == ["source_region: 'Europe' is not an AWS region name (expected e.g. us-east-1)"]
    spec = ImageSpec.from_params(params_of(ImageSpec))
    assert spec.image_id_map == DEFAULT_IMAGE_ID_MAP and spec.image_id_map is not DEFAULT_IMAGE_ID_MAP


def test_key_pair_blank_name_and_files_mean_the_defaults() -> None:
    spec = KeySpec.from_params(params_of(KeySpec, name="", key_file="", public_key_file=None))
    assert (spec.name, spec.key_file, spec.public_key_file) == (DEFAULT_KEY_NAME, None, None)


def test_reap_policy_checks_the_ttl() -> None:
    assert problems(ReapPolicy, ttl_minutes=-1) == [f"ttl_minutes: -1 is outside 0-{MAX_TTL_MINUTES}"]


def test_fleet_reports_every_bad_option_at_once() -> None:
    found = problems(FleetSpec, fleet="bad name", count=-1, ttl_minutes=-5, subnet_id="subnet-xyz", wait_timeout=-1)
    assert [problem.split(":")[0] for problem in found] == ["fleet", "count", "subnet_id", "ttl_minutes", "wait_timeout"]


def test_fleet_all_only_tears_down_and_planned_ids_pass() -> None:
    assert problems(FleetSpec, fleet="all", count=2) == [
        "fleet: 'all' only tears every fleet down (count 0 or state=absent); name one fleet to scale it"
    ]
    spec = FleetSpec.from_params(params_of(FleetSpec, count=2, subnet_id=PLANNED_ID, security_group_id=PLANNED_ID, key_name=""))
    assert spec.key_name is None and spec.image_id_map == DEFAULT_IMAGE_ID_MAP
