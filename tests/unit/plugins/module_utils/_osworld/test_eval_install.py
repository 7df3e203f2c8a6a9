"""eval_install.py and the launcher it installs: files written only when they differ; the hook converts the map and tags a launch."""
from __future__ import annotations

import importlib.util
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.eval_install import ensure_files

REPO = Path(__file__).resolve().parents[5]
AMI = "ami-0d23263edb96951d8"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def load_hook() -> ModuleType:
    path = REPO / "roles" / "evaluation" / "files" / "launcher" / "sitecustomize.py"
    spec_ = importlib.util.spec_from_file_location("osworld_hook_under_test", path)
    assert spec_ is not None and spec_.loader is not None
    module = importlib.util.module_from_spec(spec_)
    os.environ.pop("OSWORLD_AWS_EVAL_SETTINGS", None)
    spec_.loader.exec_module(module)
    return module


def test_the_hook_converts_the_map_and_adds_the_runs_tags_to_a_launch() -> None:
    hook = load_hook()
    assert hook.OSWORLD_AWS_HOOK is False  # no settings file: nothing installed
    settings = {"image_id_map": {"eu-west-1": {"1920x1080": AMI}}, "instance_type": "t3.small", "tags": {"osworld:run": "r1"}, "ttl_minutes": 60}
    settings["expires_at_key"] = "osworld:expires-at"
    assert hook.image_id_map(settings) == {"eu-west-1": {(1920, 1080): AMI}}
    params: dict[str, Any] = {"TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "osworld:run", "Value": "x"}, {"Key": "own", "Value": "1"}]}]}
    hook.add_tag_specifications(params, hook.launch_tags(settings, NOW))
    by_type = {item["ResourceType"]: {tag["Key"]: tag["Value"] for tag in item["Tags"]} for item in params["TagSpecifications"]}
    assert by_type["instance"] == {"own": "1", "osworld:run": "r1", "osworld:expires-at": "2026-01-01T13:00:00Z"}
    assert set(by_type) == {"instance", "volume", "network-interface"}
    assert not any(isinstance(finder, hook.ManagerHook) for finder in sys.meta_path)


def test_launcher_files_are_written_only_when_they_differ(tmp_path: Path) -> None:
    assert ensure_files(str(tmp_path / "launcher"), {"a.py": "x = 1"}, check_mode=True)
    assert not (tmp_path / "launcher").exists()
    assert ensure_files(str(tmp_path / "launcher"), {"a.py": "x = 1"}, check_mode=False)
    assert (tmp_path / "launcher" / "a.py").read_text() == "x = 1\n"
    assert not ensure_files(str(tmp_path / "launcher"), {"a.py": "x = 1\n"}, check_mode=False)
