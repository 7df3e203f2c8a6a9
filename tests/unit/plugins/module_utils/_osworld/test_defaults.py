"""Shared defaults are written once (module_utils/_osworld/defaults.py and images.py); roles read
them through the osworld.aws.default lookup, and the argument specs document the same values."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.osworld.aws.plugins.module_utils._osworld.defaults import COLLECTION_FILES, DEFAULT_HOST_AMI, ROLE_DEFAULTS, role_default
from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.images import OFFICIAL_IMAGE_ID

REPO = Path(__file__).resolve().parents[5]
ROLES = sorted(path for path in (REPO / "roles").iterdir() if (path / "defaults" / "main.yml").exists())
LOOKUP = REPO / "plugins" / "lookup" / "default.py"
# Defaults read from the environment at run time: their documentation describes them instead.
FROM_THE_ENVIRONMENT = {"osworld_region", "osworld_subnet_id", "osworld_security_group_id"}
DOC_BLOCKS = re.compile(r'^(DOCUMENTATION|EXAMPLES|RETURN) = r"""\n.*?^"""', re.S | re.M)


def test_region_follows_the_environment_as_boto3_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert role_default("osworld_region") == "us-east-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert role_default("osworld_region") == "eu-west-1"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert role_default("osworld_region") == "ap-south-1"


def test_the_image_map_default_is_a_fresh_copy() -> None:
    first = role_default("osworld_image_id_map")
    first["us-east-1"]["1920x1080"] = "ami-00000000"
    assert role_default("osworld_image_id_map") == {"us-east-1": {"1920x1080": OFFICIAL_IMAGE_ID}}


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(OSWorldError, match="osworld_nothing"):
        role_default("osworld_nothing")


@pytest.mark.parametrize("role", ROLES, ids=lambda path: path.name)
def test_role_defaults_read_the_shared_ones_and_specs_document_them(role: Path) -> None:
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    for name in set(defaults) & {*ROLE_DEFAULTS, *COLLECTION_FILES}:
        value = defaults[name]
        # A role may work a variable out from others (the client role: TTL is on when the stack has its role).
        derived = isinstance(value, str) and "{{" in value and "lookup(" not in value
        assert derived or value == f"{{{{ lookup('osworld.aws.default', '{name}') }}}}", f"{role.name}: {name}"
        for entry, spec in specs.items():
            option = spec.get("options", {}).get(name)
            if option and "default" in option and name not in FROM_THE_ENVIRONMENT:
                assert option["default"] == role_default(name, "<collection>"), f"{role.name} {entry}: {name}'s documented default"


def test_the_lookup_documents_every_shared_default() -> None:
    documented = yaml.safe_load(LOOKUP.read_text().split('DOCUMENTATION = r"""')[1].split('"""')[0])["options"]["_terms"]["description"]
    assert re.findall(r"V\((osworld_\w+)\)", documented) == sorted({*ROLE_DEFAULTS, *COLLECTION_FILES})


def test_the_policy_files_are_the_collections_own() -> None:
    for name in COLLECTION_FILES:
        assert Path(role_default(name, str(REPO))).is_file(), name


def test_the_network_follows_an_exported_osworld_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_SUBNET_ID", raising=False)
    assert role_default("osworld_subnet_id") == ""
    monkeypatch.setenv("AWS_SUBNET_ID", "subnet-0123456789abcdef0")
    monkeypatch.setenv("AWS_SECURITY_GROUP_ID", "sg-0123456789abcdef0")
    assert (role_default("osworld_subnet_id"), role_default("osworld_security_group_id")) == ("subnet-0123456789abcdef0", "sg-0123456789abcdef0")


def code_files() -> list[Path]:
    """Where a default could be written: Python, role defaults and tasks, playbooks (not the docs)."""
    roles = REPO / "roles"
    return [*(REPO / "plugins").rglob("*.py"), *roles.glob("*/defaults/*.yml"), *roles.glob("*/tasks/*.yml"), *(REPO / "playbooks").glob("*.yml")]


@pytest.mark.parametrize("value", ['"172.31.0.0/16"', '"172.31.0.0/20"'])
def test_the_guides_network_is_written_once_in_code(value: str) -> None:
    sources = code_files()
    assert [path.name for path in sources if value in DOC_BLOCKS.sub("", path.read_text())] == ["defaults.py"]


def test_the_official_and_host_amis_are_written_once_in_code() -> None:
    sources = code_files()
    for ami, home in ((OFFICIAL_IMAGE_ID, "images.py"), (DEFAULT_HOST_AMI, "defaults.py")):
        places = [path.name for path in sources if ami in DOC_BLOCKS.sub("", path.read_text())]
        assert places == [home], ami
