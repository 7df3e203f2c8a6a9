# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""osworld.aws's hook into OSWorld's AWS provider, active in every Python process of a run.

The evaluation role puts this directory first on PYTHONPATH of the runner it starts, so Python
imports this file at start-up in the runner and in every process the runner starts, including
multiprocessing workers under the `spawn` and `forkserver` start methods, which import OSWorld's
modules afresh (a patch applied in the parent alone would be lost there). Nothing happens unless
OSWORLD_AWS_EVAL_SETTINGS names a settings file. When `desktop_env.providers.aws.manager` is
imported, its IMAGE_ID_MAP and INSTANCE_TYPE are set from the file, and every RunInstances that
boto3's default session sends (OSWorld's allocations and its per-task VM replacements) is tagged at
creation with the run's tags, so the run's VMs can be found and terminated. OSWorld's files are
never edited. A sitecustomize further down sys.path is still run.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import json
import os
import sys
from datetime import datetime, timedelta, timezone

SETTINGS_ENV = "OSWORLD_AWS_EVAL_SETTINGS"
TARGET = "desktop_env.providers.aws.manager"
TAGGED_RESOURCES = ("instance", "volume", "network-interface")
OSWORLD_AWS_HOOK = False


def image_id_map(settings):
    """{region: {"1920x1080": ami}} as OSWorld keys it: {region: {(1920, 1080): ami}}."""
    result = {}
    for region, sizes in settings["image_id_map"].items():
        result[region] = {tuple(int(part) for part in size.split("x")): ami for size, ami in sizes.items()}
    return result


def launch_tags(settings, now=None):
    tags = dict(settings["tags"])
    moment = (now or datetime.now(timezone.utc)) + timedelta(minutes=int(settings["ttl_minutes"]))
    # The key comes from the collection (tags.py), which this file, run by OSWorld's Python, cannot import.
    tags[settings["expires_at_key"]] = moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return tags


def add_tag_specifications(params, tags):
    """Adds the run's tags to a RunInstances request; tags the caller set stay, the run's win."""
    specifications = params.setdefault("TagSpecifications", [])
    for resource in TAGGED_RESOURCES:
        spec = next((item for item in specifications if item.get("ResourceType") == resource), None)
        if spec is None:
            spec = {"ResourceType": resource, "Tags": []}
            specifications.append(spec)
        kept = [tag for tag in spec.get("Tags", []) if tag.get("Key") not in tags]
        spec["Tags"] = kept + [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def tag_launches(settings):
    import boto3  # pylint: disable=import-outside-toplevel  # OSWorld's dependency, imported by the manager already

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()

    def on_run_instances(params, **_kwargs):
        add_tag_specifications(params, launch_tags(settings))

    boto3.DEFAULT_SESSION.events.register("provide-client-params.ec2.RunInstances", on_run_instances, unique_id="osworld-aws-eval-tags")


def apply(module, settings):
    module.IMAGE_ID_MAP = image_id_map(settings)
    module.INSTANCE_TYPE = settings["instance_type"]
    tag_launches(settings)


class ManagerHook(importlib.abc.MetaPathFinder):
    """Finds OSWorld's AWS manager with the other finders and runs `apply` right after it loads."""

    def __init__(self, settings):
        self.settings = settings

    def find_spec(self, fullname, path, target=None):
        if fullname != TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                break
        else:
            return None
        original = spec.loader.exec_module
        settings = self.settings

        def exec_module(module):
            original(module)
            apply(module, settings)

        spec.loader.exec_module = exec_module
        return spec


def install():
    global OSWORLD_AWS_HOOK  # pylint: disable=global-statement
    path = os.environ.get(SETTINGS_ENV)
    if not path:
        return
    with open(path, encoding="utf-8") as handle:
        settings = json.load(handle)
    sys.meta_path.insert(0, ManagerHook(settings))
    OSWORLD_AWS_HOOK = True


def chain():
    """Runs the sitecustomize this file hides (Debian's python has one), if there is one."""
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        if os.path.abspath(entry or os.curdir) == here:
            continue
        candidate = os.path.join(entry or os.curdir, "sitecustomize.py")
        if os.path.isfile(candidate):
            spec = importlib.util.spec_from_file_location("_osworld_aws_chained_sitecustomize", candidate)
            if spec is not None and spec.loader is not None:
                spec.loader.exec_module(importlib.util.module_from_spec(spec))
            return


install()
chain()
