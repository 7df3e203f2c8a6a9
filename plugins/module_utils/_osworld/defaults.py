# This module util is PRIVATE to the collection. It may change without notice.
"""The defaults several roles and modules share, written once.

Roles read them through the `osworld.aws.default` lookup (their defaults/main.yml name the
variable, not the value); modules import the constants into their argument specs. The argument
specs' documentation shows the same values, and a unit test holds the two together.
"""
from __future__ import annotations

import copy
import os
import posixpath
from collections.abc import Callable, Mapping
from typing import Any

from .aws import env_region
from .errors import OSWorldError
from .images import DEFAULT_IMAGE_ID_MAP, DEFAULT_SCREEN_SIZE, IMAGE_HOME_REGION
from .validation import DEFAULT_FLEET

DEFAULT_REGION = "us-east-1"
DEFAULT_INSTANCE_TYPE = "t3.medium"
DEFAULT_NAME_PREFIX = "osworld"
DEFAULT_TTL_MINUTES = 180
# The host machine: Ubuntu 22.04 LTS (amd64) in us-east-1, and a type with room for OSWorld's runner.
DEFAULT_HOST_AMI = "ami-0a0e5d9c7acc336f1"
DEFAULT_HOST_INSTANCE_TYPE = "t3.large"
DEFAULT_HOST_VOLUME_GIB = 50
# The guide's network, which fits the default VPC; a dedicated VPC gets the same.
DEFAULT_VPC_CIDR = "172.31.0.0/16"
DEFAULT_SUBNET_CIDR = "172.31.0.0/20"
DEFAULT_ADMIN_CIDRS = ("0.0.0.0/0",)
DEFAULT_MONITOR_PORT = 8080
# How long a launch or a termination is waited for.
DEFAULT_WAIT_TIMEOUT = 600
# The variables of OSWorld's .env that name the network its VMs launch into.
SUBNET_ENV = "AWS_SUBNET_ID"
SECURITY_GROUP_ENV = "AWS_SECURITY_GROUP_ID"
# The IAM documents the collection ships, relative to its root.
COLLECTION_FILES = {
    "osworld_host_policy_file": "policies/host.json",
    "osworld_ttl_scheduler_policy_file": "policies/ttl-scheduler.json",
    "osworld_ttl_scheduler_trust_file": "policies/ttl-scheduler-trust.json",
}


def region(environ: Mapping[str, str] | None = None) -> str:
    """The guide's DEFAULT_REGION: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1 (as boto3 reads them)."""
    return env_region(environ) or DEFAULT_REGION


ROLE_DEFAULTS: dict[str, Callable[[], Any]] = {
    "osworld_region": region,
    "osworld_image_id_map": lambda: copy.deepcopy(DEFAULT_IMAGE_ID_MAP),
    "osworld_screen_size": lambda: DEFAULT_SCREEN_SIZE,
    "osworld_instance_type": lambda: DEFAULT_INSTANCE_TYPE,
    "osworld_name_prefix": lambda: DEFAULT_NAME_PREFIX,
    "osworld_ttl_minutes": lambda: DEFAULT_TTL_MINUTES,
    "osworld_host_ami": lambda: DEFAULT_HOST_AMI,
    "osworld_host_instance_type": lambda: DEFAULT_HOST_INSTANCE_TYPE,
    "osworld_host_volume_size": lambda: DEFAULT_HOST_VOLUME_GIB,
    "osworld_vpc_cidr": lambda: DEFAULT_VPC_CIDR,
    "osworld_subnet_cidr": lambda: DEFAULT_SUBNET_CIDR,
    "osworld_admin_cidrs": lambda: list(DEFAULT_ADMIN_CIDRS),
    "osworld_monitor_port": lambda: DEFAULT_MONITOR_PORT,
    "osworld_image_source_region": lambda: IMAGE_HOME_REGION,
    "osworld_fleet": lambda: DEFAULT_FLEET,
    "osworld_env_wait_timeout": lambda: DEFAULT_WAIT_TIMEOUT,
    "osworld_manage_iam": lambda: True,
    "osworld_host_instance_profile": lambda: True,
    # What provision.yml and envs.yml do unless asked: no host, no TTL, no VM, no key, no AMI copy.
    "osworld_host_launch": lambda: False,
    "osworld_enable_ttl": lambda: False,
    "osworld_env_count": lambda: 0,
    "osworld_key_create": lambda: False,
    "osworld_image_copy": lambda: False,
    # An OSWorld shell that exported its .env names the network the way OSWorld's client reads it.
    "osworld_subnet_id": lambda: os.environ.get(SUBNET_ENV, ""),
    "osworld_security_group_id": lambda: os.environ.get(SECURITY_GROUP_ENV, ""),
}


def role_default(variable: str, collection_root: str = "") -> Any:
    """The shared default of `variable`; a file the collection ships is given below `collection_root`."""
    if variable in COLLECTION_FILES:
        return posixpath.join(collection_root, COLLECTION_FILES[variable])
    if variable not in ROLE_DEFAULTS:
        known = sorted([*ROLE_DEFAULTS, *COLLECTION_FILES])
        raise OSWorldError(f"no shared default for '{variable}' (known: {', '.join(known)})")
    return ROLE_DEFAULTS[variable]()
