# This module util is PRIVATE to the collection. It may change without notice.
"""Exact-count fleets of OSWorld env VMs: the few AWS calls a fleet needs, acting on the pure plan
of fleet_plan.py.

A fleet is every VM in the region tagged `osworld:managed-by=osworld.aws`, `osworld:role=env`
and `osworld:fleet=<name>` that is not on its way out (pending, running, stopping, stopped).
The tags are set by RunInstances itself, so an interrupted run leaves nothing a re-run cannot
count. Costs, whatever the size of the fleet (up to the API batch limits of instances.py):
- a run at the right count: 1 DescribeInstances, nothing else;
- a scale-up: that call, the network and launch checks (DescribeSecurityGroups for the stack's
  group, DescribeSubnets and DescribeSecurityGroups, DescribeInstanceTypeOfferings in the subnet's
  zone, DescribeKeyPairs with a key, DescribeImages, GetServiceQuota and, where it answers,
  DescribeInstances for what else runs, and DescribeInstanceTypes for a type quota.py does not
  list), 1 RunInstances, 1 DescribeInstances by the fleet's tags per poll until running, the last
  of which is the re-count;
- a scale-down or teardown: 1 DescribeInstances, 1 TerminateInstances, 1 DescribeInstances per
  poll until terminated.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .aws import AWS
from .checks import IMAGE, Report, check_instance_type, check_key_pair, check_network, check_vcpu_quota, failure_message
from .errors import AWSCallError, OSWorldError
from .defaults import DEFAULT_INSTANCE_TYPE, DEFAULT_TTL_MINUTES, DEFAULT_WAIT_TIMEOUT
from .fleet_plan import (
    IDLE_STATES,
    LaunchTarget,
    Member,
    batches,
    client_token,
    fleet_diff,
    fleet_filters,
    instance_tags,
    instance_view,
    is_replay,
    plan_scale,
    run_instances_request,
    token_salts,
)
from .images import DEFAULT_IMAGE_ID_MAP, DEFAULT_SCREEN_SIZE, launch_image
from .instances import POLL_INTERVAL, Clock, Sleep, describe_by_ids, describe_instances, terminate, wait_for_state
from .options import Options, blank_is_none, extra_tags_option, not_negative, option, resource_id, stack_option, with_args
from .stack import PLANNED_ID, StackNetwork, find_stack_network, is_planned
from .timestamps import MAX_TTL_MINUTES
from .urls import Probe, http_probe, wait_for_backends
from .validation import ALL_FLEETS, DEFAULT_FLEET, NAME_PATTERN, validate_range, validate_screen_size

# Re-plans after finding that a concurrent run launched what this one was about to.
REPLANS = 3


# ---------------------------------------------------------------------------------------------
# What the user asked for


def fleet_name(value: str, name: str) -> str:
    if not NAME_PATTERN.match(value):
        raise OSWorldError(f"{name}: '{value}' is not a fleet name (letters, digits, '-', '_', '.'; at most 63)")
    return value


def image_map(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise OSWorldError(f"{name}: expected a dict of region -> AMI id (or region -> {{screen size: AMI id}})")
    return value


@dataclass(frozen=True)
class FleetSpec(Options):
    """The options of osworld.aws.fleet. Check mode of provision.yml passes the ids it would
    create, so the planned id passes the id checks."""

    fleet: str = option("str", DEFAULT_FLEET, checks=[fleet_name])
    count: int = option("int", checks=[not_negative])
    state: str = option("str", "present", choices=("present", "absent"))
    stack: str = stack_option()
    image_id_map: Mapping[str, Any] = option("dict", DEFAULT_IMAGE_ID_MAP, checks=[image_map])
    screen_size: str = option("str", DEFAULT_SCREEN_SIZE, checks=[validate_screen_size])
    instance_type: str = option("str", DEFAULT_INSTANCE_TYPE)
    key_name: str | None = option("str", no_log=False, checks=[blank_is_none])
    subnet_id: str | None = option("str", checks=[blank_is_none, resource_id("subnet", planned_ok=True)])
    security_group_id: str | None = option("str", checks=[blank_is_none, resource_id("sg", planned_ok=True)])
    ttl_minutes: int = option("int", DEFAULT_TTL_MINUTES, checks=[with_args(validate_range, 0, MAX_TTL_MINUTES)])
    extra_tags: Mapping[str, Any] = extra_tags_option()
    wait: bool = option("bool", True)
    wait_timeout: int = option("int", DEFAULT_WAIT_TIMEOUT, checks=[not_negative])
    wait_for_backend: bool = option("bool", False)
    backend_timeout: int = option("int", DEFAULT_WAIT_TIMEOUT, checks=[not_negative])

    @property
    def all_fleets(self) -> bool:
        return self.fleet == ALL_FLEETS

    def problems(self) -> list[str]:
        if self.all_fleets and self.count != 0:
            return ["fleet: 'all' only tears every fleet down (count 0 or state=absent); name one fleet to scale it"]
        return []


def validate_spec(spec: FleetSpec) -> FleetSpec:
    """Every check that needs no AWS call, before anything is asked of AWS (FleetSpec.from_params
    runs them too): every problem in one report."""
    return spec.checked()


# ---------------------------------------------------------------------------------------------
# AWS


def list_members(aws: AWS, fleet: str) -> list[Member]:
    return sorted((Member.from_instance(instance) for instance in describe_instances(aws, fleet_filters(fleet))), key=lambda member: member.instance_id)


def check_launch_prerequisites(aws: AWS, spec: FleetSpec, network: StackNetwork) -> LaunchTarget:
    """The read-only checks (checks.py, preflight's too) that a launch needs and a no-op run does not pay for, all in one
    report before RunInstances: the subnet and the env group exist and share a VPC (a group the stack's
    tags found was read then, and is not read again), the instance type
    is offered in the subnet's zone, the key pair exists, the AMI is available, and the fleet's count
    fits the vCPU quota minus what else runs (a warning where Service Quotas does not answer).
    """
    report = Report()
    zone = None
    if not is_planned(network.subnet_id, network.env_security_group_id):
        zone = check_network(aws, report, network.subnet_id, network.env_security_group_id, known_group_vpc_id=network.vpc_id or None)
    check_instance_type(aws, spec.instance_type, zone, report)
    if spec.key_name:
        check_key_pair(aws, spec.key_name, report)
    image_id, root_device_name = "", "/dev/sda1"
    try:
        image = launch_image(aws, spec.image_id_map, spec.screen_size)
        image_id, root_device_name = image.image_id, image.root_device_name
    except OSWorldError as exc:
        report.error(IMAGE, "osworld_image_id_map", exc.message)
    # The fleet's count is a target: its own VMs do not count against the quota twice.
    quota = check_vcpu_quota(aws, report, spec.instance_type, spec.count, spec.fleet)
    if report.errors:
        raise OSWorldError(failure_message(report.errors), findings=[finding.as_dict() for finding in report.findings])
    warnings = [finding.message for finding in report.warnings]
    if quota.skipped and not quota.level:
        warnings.append(f"osworld_env_count: the vCPU quota was not checked: {quota.skipped}")
    return LaunchTarget(image_id, root_device_name, network, tuple(warnings))


def resolve_network(aws: AWS, spec: FleetSpec, check_mode: bool) -> StackNetwork:
    if check_mode and is_planned(spec.subnet_id, spec.security_group_id):
        # provision.yml in check mode: the network is only planned by the tasks before this one.
        return StackNetwork(PLANNED_ID, spec.subnet_id or PLANNED_ID, spec.security_group_id or PLANNED_ID)
    if spec.subnet_id and spec.security_group_id:
        # Both given (AWS_SUBNET_ID and AWS_SECURITY_GROUP_ID): the launch checks read them.
        return StackNetwork("", spec.subnet_id, spec.security_group_id)
    try:
        return find_stack_network(aws, spec.stack, spec.subnet_id, spec.security_group_id)
    except AWSCallError as exc:
        if spec.security_group_id and exc.code.endswith(".NotFound"):
            raise OSWorldError(f"osworld_security_group_id: {spec.security_group_id} does not exist in {aws.region}") from exc
        raise


class FleetChanged(Exception):
    """RunInstances said the question was already asked, and the fleet has members this run never
    saw: another run (two AWX jobs, a cron and a person) launched them a moment ago."""

    def __init__(self, members: list[Member]) -> None:
        super().__init__("the fleet changed while launching")
        self.members = members


def launch(aws: AWS, spec: FleetSpec, target: LaunchTarget, existing_ids: Sequence[str], missing: int, now: datetime) -> list[str]:
    """RunInstances for the whole missing count (one call per API batch); returns the new ids."""
    tags = instance_tags(spec, now)
    launched: list[str] = []
    for index, size in enumerate(batches(missing)):
        launched.extend(_launch_batch(aws, spec, target, existing_ids, missing, index, size, tags, launched))
    return launched


def _launch_batch(
    aws: AWS,
    spec: FleetSpec,
    target: LaunchTarget,
    existing_ids: Sequence[str],
    missing: int,
    index: int,
    size: int,
    tags: Mapping[str, str],
    launched: Sequence[str],
) -> list[str]:
    known = [*existing_ids, *launched]
    for salt in token_salts():
        token = client_token(spec.fleet, aws.region, existing_ids, missing, index, salt)
        try:
            response = aws.call("ec2", "run_instances", **run_instances_request(spec, target, size, tags, token))
        except AWSCallError as exc:
            if exc.code != "IdempotentParameterMismatch":
                raise
            # Nothing was launched: the same question (fleet, what it had, what it misses) was asked
            # with other parameters (another expiry), either by an earlier cycle of this fleet
            # (0 -> N -> 0 -> N) or by a concurrent run that launched this very batch. New members
            # tell which: then that launch is the answer, and launching again would overshoot.
            members = list_members(aws, spec.fleet)
            if {member.instance_id for member in members} - set(known):
                raise FleetChanged(members) from exc
            continue
        instances = response.get("Instances", [])
        if not is_replay(instances, size, known):
            return [instance["InstanceId"] for instance in instances]
    raise OSWorldError("RunInstances kept answering with earlier launches; run again")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# The whole run


@dataclass
class Runtime:
    """What a run reads from outside besides AWS: time, and the VMs' HTTP endpoints."""

    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    probe: Probe = http_probe
    interval: float = POLL_INTERVAL


def ensure_fleet(aws: AWS, spec: FleetSpec, check_mode: bool, runtime: Runtime | None = None) -> dict[str, Any]:
    runtime = runtime or Runtime()
    validate_spec(spec)
    members = list_members(aws, spec.fleet)
    before_ids = [member.instance_id for member in members]
    plan = plan_scale(members, spec.count, runtime.now())
    warnings: list[str] = []
    launched: list[str] = []
    terminated: list[str] = list(plan.terminate)
    final: dict[str, Mapping[str, Any]] = {member.instance_id: member.raw for member in members if member.instance_id not in plan.terminate}

    if plan.launch:
        network = resolve_network(aws, spec, check_mode)
        target = check_launch_prerequisites(aws, spec, network)
        warnings.extend(target.warnings)
        if not check_mode:
            launched, members = _launch_converging(aws, spec, target, members, plan.launch, runtime)
            final, surplus = settle_after_launch(aws, spec, members, launched, runtime)
            if surplus:
                warnings.append(f"terminated {len(surplus)} surplus VMs of fleet {spec.fleet} (an interrupted earlier run launched them)")
                terminated.extend(surplus)
    elif plan.terminate and not check_mode:
        terminate(aws, plan.terminate)
        if spec.wait:
            wait_for_state(aws, plan.terminate, "terminated", spec.wait_timeout, runtime.sleep, runtime.clock, runtime.interval)

    if not check_mode and spec.wait and not plan.launch:
        # VMs left pending by an earlier run with wait=false are waited for too (no call when none is).
        booting = sorted(instance_id for instance_id, instance in final.items() if instance.get("State", {}).get("Name") == "pending")
        if booting:
            final.update(wait_for_state(aws, booting, "running", spec.wait_timeout, runtime.sleep, runtime.clock, runtime.interval))

    views = [instance_view(final[instance_id]) for instance_id in sorted(final)]
    idle = [view["instance_id"] for view in views if view["state"] in IDLE_STATES]
    if idle:
        warnings.append(f"{len(idle)} VMs of fleet {spec.fleet} are stopped or stopping and serve nothing: {', '.join(idle[:10])}")
    if spec.wait_for_backend and not check_mode:
        urls = [view["backend_url"] for view in views if view["state"] == "running" and view["backend_url"]]
        wait_for_backends(urls, spec.backend_timeout, runtime.probe, runtime.sleep, runtime.clock, runtime.interval)

    after_ids = sorted(final) if not check_mode else sorted(final) + [PLANNED_ID] * plan.launch
    return {
        "changed": plan.changes,
        "fleet": spec.fleet,
        "count": len(after_ids),
        "instances": views,
        "launched": sorted(launched),
        "terminated": sorted(terminated),
        "planned": {"launch": plan.launch, "terminate": list(plan.terminate)},
        "warnings": warnings,
        "diff": fleet_diff(before_ids, after_ids),
    }


def _launch_converging(
    aws: AWS, spec: FleetSpec, target: LaunchTarget, members: list[Member], missing: int, runtime: Runtime
) -> tuple[list[str], list[Member]]:
    """Launches what is missing; when a concurrent run turns out to have launched it, plans again
    from the fleet as it is now, so that two runs started together end at the count, not above."""
    for attempt in range(REPLANS):
        try:
            return launch(aws, spec, target, [member.instance_id for member in members], missing, runtime.now()), members
        except FleetChanged as changed:
            members = changed.members
            missing = spec.count - len(members)
            if missing <= 0:
                return [], members
    raise OSWorldError(f"fleet {spec.fleet} kept changing while launching (other runs at the same time?); run again")


def settle_after_launch(
    aws: AWS, spec: FleetSpec, before: Sequence[Member], launched: Sequence[str], runtime: Runtime
) -> tuple[dict[str, Mapping[str, Any]], list[str]]:
    """Waits for the launch while re-counting the fleet by its tags, one listing a poll: the last one
    is the count, in which a crashed run's launch found only now is surplus."""
    count = FleetCount(aws, spec.fleet)
    booting = [*launched, *(member.instance_id for member in before if member.state == "pending")]
    if spec.wait and booting:
        wait_for_state(aws, booting, "running", spec.wait_timeout, runtime.sleep, runtime.clock, runtime.interval, describe=count)
    else:
        count([])
    members = sorted(count.members.values(), key=lambda member: member.instance_id)
    surplus = list(plan_scale(members, spec.count, runtime.now()).terminate)
    if surplus:
        terminate(aws, surplus)
        if spec.wait:
            wait_for_state(aws, surplus, "terminated", spec.wait_timeout, runtime.sleep, runtime.clock, runtime.interval)
    return {member.instance_id: member.raw for member in members if member.instance_id not in surplus}, surplus


class FleetCount:
    """A wait_for_state reader that lists the whole fleet by its tags (one DescribeInstances), so that
    the wait's last poll is also the re-count. A launched id the tag filter does not show yet (it can
    lag behind RunInstances) is read by id and counted as it is."""

    def __init__(self, aws: AWS, fleet: str) -> None:
        self.aws = aws
        self.fleet = fleet
        self.members: dict[str, Member] = {}

    def __call__(self, instance_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        self.members = {member.instance_id: member for member in list_members(self.aws, self.fleet)}
        unseen = [instance_id for instance_id in instance_ids if instance_id not in self.members]
        for instance_id, instance in describe_by_ids(self.aws, unseen, gone_ok=False).items():
            self.members[instance_id] = Member.from_instance(instance)
        return {instance_id: dict(self.members[instance_id].raw) for instance_id in instance_ids if instance_id in self.members}
