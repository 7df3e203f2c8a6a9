# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: ec2
short_description: Every OSWorld VM on AWS EC2, and nothing else
version_added: 0.1.0
description:
  - Lists the VMs of OSWorld evaluation fleets in one or more AWS regions.
  - An OSWorld VM is either tagged C(osworld:managed-by=osworld.aws) (launched by this collection),
    or untagged and in an OSWorld env security group (launched by the OSWorld client itself).
    No other instance is ever listed.
  - Env security groups are those this collection created (tagged
    C(osworld:component=env-security-group)) plus those named in O(env_security_group_ids).
  - Hosts are named by instance id and grouped into C(osworld_envs) (env VMs, including the
    client's untagged VMs), C(osworld_hosts) (OSWorld host VMs), C(fleet_<fleet>) and
    C(region_<region>) (dashes become underscores).
  - Host variables are C(osworld_instance_id), C(osworld_private_ip), C(osworld_public_ip),
    C(osworld_vnc_url) (V(http://<public ip>:5910/vnc.html)), C(osworld_backend_url)
    (V(http://<private ip>:5000)), C(osworld_fleet), C(osworld_expires_at), C(osworld_launch_time)
    (UTC, ISO 8601), C(osworld_role) (V(env) or V(host)), C(osworld_region), C(osworld_state),
    C(osworld_launched_by) (V(osworld.aws), or V(osworld-client) for the client's untagged VMs),
    C(osworld_instance_type) and C(ansible_host) (see O(use_public_ip)). A value the VM does not
    have (no public IP, no fleet) is null.
  - O(compose), O(groups) and O(keyed_groups) also see C(osworld_tags) (a dict),
    C(osworld_image_id), C(osworld_vpc_id), C(osworld_subnet_id), C(osworld_availability_zone)
    and C(osworld_security_group_ids); compose one of them to make it a host variable.
  - Regions are queried concurrently. Each region costs a few list calls (one DescribeInstances
    page per 1,000 instances) and nothing per host.
  - Any failure (endpoint unreachable, bad credentials, access denied) makes the inventory source
    fail with a one-line reason naming the region; it never yields a silently empty inventory.
  - The configuration file name must end in C(osworld_ec2.yml) or C(osworld_ec2.yaml).
author:
  - OSWorld AWS maintainers (@osworld-aws)
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - osworld.aws.connection
  - osworld.aws.connection.plugins
options:
  plugin:
    description: The name of this plugin; marks the file as an osworld.aws.ec2 configuration.
    required: true
    type: str
    choices: [osworld.aws.ec2]
  regions:
    description:
      - The AWS regions to list, queried concurrently.
      - Defaults to the variable C(osworld_region) (for example C(-e osworld_region=eu-west-1)), then
        the E(AWS_REGION) environment variable, else E(AWS_DEFAULT_REGION), then C(us-east-1).
    type: list
    elements: str
    default: [us-east-1]
    vars:
      - name: osworld_region
    # Ansible takes the last variable of this list that is set: AWS_REGION wins, as in botocore.
    env:
      - name: AWS_DEFAULT_REGION
      - name: AWS_REGION
  instance_states:
    description: The instance states to list.
    type: list
    elements: str
    default: [pending, running]
  env_security_group_ids:
    description:
      - OSWorld env security groups to use besides those the collection created and tagged,
        for example a group made by hand following the OSWorld guide.
      - Untagged VMs in these groups are listed as OSWorld client VMs. Ids of another region are ignored.
      - Defaults to E(AWS_SECURITY_GROUP_ID), the variable OSWorld's own C(.env) sets.
    type: list
    elements: str
    default: []
    env:
      - name: AWS_SECURITY_GROUP_ID
  use_public_ip:
    description:
      - Set C(ansible_host) to the public IP address instead of the private one.
      - A VM without the chosen kind of address gets the other one.
    type: bool
    default: false
notes:
  - Needs C(ec2:DescribeInstances), C(ec2:DescribeSecurityGroups) and C(ec2:DescribeVpcs).
  - The cache key includes the access key id (resolved locally, without any API call), the
    profile, the endpoint, the regions and the options that shape the hosts, so two accounts never
    share a cache entry. A cache hit makes no API call at all.
  - O(compose), O(groups) and O(keyed_groups) are templated for each host, which costs time on
    large fleets; they are skipped entirely when not configured.
"""

EXAMPLES = r"""
# inventory/osworld_ec2.yml: every OSWorld VM in AWS_REGION (or us-east-1)
plugin: osworld.aws.ec2

# Two regions, SSH over public addresses, cached for 5 minutes
---
plugin: osworld.aws.ec2
regions:
  - us-east-1
  - eu-west-1
use_public_ip: true
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/osworld-inventory
cache_timeout: 300

# Include the VMs of a security group made by hand, and group by instance type
---
plugin: osworld.aws.ec2
env_security_group_ids:
  - sg-0123456789abcdef0
keyed_groups:
  - key: osworld_instance_type
    prefix: type
compose:
  ansible_user: "'user'"
"""

import os
from typing import TYPE_CHECKING, Any

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.validation import validate_region

if TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import AWS, ConnectionParams
    from ansible_collections.osworld.aws.plugins.module_utils._osworld.inventory import Host, Query

# The AWS code (aws.py, inventory.py and what they import) is imported where it is used, not here:
# ansible imports every inventory plugin that ansible.cfg enables in every run, playbooks that
# never read an osworld_ec2.yml included, and importing it would cost each of them about 40 ms of
# CPU. errors.py and validation.py need only the standard library.

CONFIG_SUFFIXES = ("osworld_ec2.yml", "osworld_ec2.yaml")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "osworld.aws.ec2"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(CONFIG_SUFFIXES)

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import HAS_BOTO3
        from ansible_collections.osworld.aws.plugins.module_utils._osworld.inventory import Query

        super().parse(inventory, loader, path, cache)
        if not HAS_BOTO3:
            raise AnsibleError("osworld.aws.ec2 needs boto3 and botocore: pip install boto3")
        self._read_config_data(path)
        regions = self._regions()
        query = Query(
            states=tuple(self.get_option("instance_states") or ()),
            env_security_group_ids=tuple(self.get_option("env_security_group_ids") or ()),
        )
        if not query.states:
            raise AnsibleParserError("osworld.aws.ec2: instance_states must name at least one state")
        use_public_ip = bool(self.get_option("use_public_ip"))
        try:
            # Opened first: its locally resolved access key also keys the cache.
            connections = {regions[0]: self._connect(regions[0])}
            if not self.get_option("cache"):
                hosts = self._fetch(connections, regions, query, use_public_ip)
            else:
                cache_key = self._cache_key(path, connections[regions[0]], regions, query, use_public_ip)
                cached = self._cached_hosts(cache_key) if cache else None
                hosts = cached if cached is not None else self._fetch(connections, regions, query, use_public_ip)
                if cached is None:
                    self._cache[cache_key] = [host.as_dict() for host in hosts]
        except OSWorldError as exc:
            raise AnsibleError(f"osworld.aws.ec2: {exc.message}") from None
        self._populate(hosts)

    def _connect(self, region: str) -> AWS:
        from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import AWS
        from ansible_collections.osworld.aws.plugins.module_utils._osworld.inventory import InventoryError

        try:
            return AWS(self._connection(region), timestamps_as_text=True)
        except OSWorldError as exc:
            raise InventoryError(region, exc.message) from exc

    def _fetch(self, connections: dict[str, AWS], regions: list[str], query: Query, use_public_ip: bool) -> list[Host]:
        from ansible_collections.osworld.aws.plugins.module_utils._osworld.inventory import build_hosts, scan_regions

        def connect(region: str) -> AWS:
            return connections.get(region) or self._connect(region)

        return build_hosts(scan_regions(connect, regions, query), use_public_ip)

    def _cache_key(self, path: str, aws: AWS, regions: list[str], query: Query, use_public_ip: bool) -> str:
        """The plugin's key for this file, plus who asks where: two accounts never share an entry."""
        from ansible_collections.osworld.aws.plugins.module_utils._osworld.inventory import access_key_of, cache_identity

        profile = self.get_option("profile") or os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")
        identity = cache_identity(access_key_of(aws), profile, self._endpoint_url(), regions, query, use_public_ip)
        return f"{self.get_cache_key(path)}_{identity}"

    def _regions(self) -> list[str]:

        regions = list(dict.fromkeys(str(region).strip() for region in self.get_option("regions") or () if region))
        if not regions:
            raise AnsibleParserError("osworld.aws.ec2: regions must name at least one region")
        try:
            return [validate_region(region, "regions") for region in regions]
        except OSWorldError as exc:
            raise AnsibleParserError(f"osworld.aws.ec2: {exc.message}") from None

    def _connection(self, region: str) -> ConnectionParams:
        from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import ConnectionParams

        return ConnectionParams.from_options(region, self.get_option)

    def _endpoint_url(self) -> str | None:
        """The endpoint botocore will use for EC2, as far as the cache key is concerned."""
        return self.get_option("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_EC2") or os.environ.get("AWS_ENDPOINT_URL")

    def _cached_hosts(self, cache_key: str) -> list[Host] | None:
        from ansible_collections.osworld.aws.plugins.module_utils._osworld.inventory import Host

        try:
            cached = self._cache[cache_key]
        except KeyError:
            return None
        try:
            return [Host.from_dict(entry) for entry in cached]
        except (KeyError, TypeError, ValueError):
            return None

    def _populate(self, hosts: list[Host]) -> None:
        compose = self.get_option("compose")
        composed_groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        constructing = bool(compose or composed_groups or keyed_groups)
        strict = bool(self.get_option("strict"))
        known_groups: set[str] = set()
        for host in hosts:
            name = self.inventory.add_host(host.name)
            for group in host.groups:
                if group not in known_groups:
                    self.inventory.add_group(group)
                    known_groups.add(group)
                self.inventory.add_child(group, name)
            for key, value in host.variables.items():
                self.inventory.set_variable(name, key, value)
            if constructing:
                # Templating is the costly part of an inventory: only when the user asked for it.
                variables = host.template_variables()
                self._set_composite_vars(compose, variables, name, strict=strict)
                self._add_host_to_composed_groups(composed_groups, variables, name, strict=strict)
                self._add_host_to_keyed_groups(keyed_groups, variables, name, strict=strict)
