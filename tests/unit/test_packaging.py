"""What a user installs and what Galaxy imports: requirements files, role READMEs and meta, build_ignore.

`make publishable` runs galaxy-importer itself (a minute, in its own venv); these checks are the
fast part of the same promise.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.publishable import problems

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(path for path in (REPO / "roles").iterdir() if path.is_dir())
RUNTIME = {"ansible", "ansible-core", "boto3", "botocore"}
VARIABLE = re.compile(r"`(osworld_[a-z0-9_]+)`")


def pins(name: str) -> dict[str, str]:
    found = {}
    for line in (REPO / "requirements" / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            package, version = line.split("==", 1) if "==" in line else (line, "")
            assert version, f"requirements/{name}: {line} is not pinned with =="
            found[re.sub(r"\[.*\]", "", package).lower()] = version
    return found


def test_runtime_requirements_are_what_the_playbooks_need_pinned_like_dev() -> None:
    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    assert set(runtime) == RUNTIME
    assert {name: dev[name] for name in runtime} == runtime


def test_the_importer_venv_uses_the_same_ansible_as_dev() -> None:
    importer, dev = pins("importer.txt"), pins("dev.txt")
    assert "galaxy-importer" in importer
    assert {name: version for name, version in importer.items() if name in dev} == {name: dev[name] for name in importer if name in dev}


def test_readme_tells_users_to_install_the_runtime_requirements() -> None:
    readme = (REPO / "README.md").read_text()
    real_aws = readme.split("## On real AWS", 1)[1].split("\n## ", 1)[0]
    assert "pip install -r requirements/runtime.txt" in real_aws
    galaxy_route = real_aws.split("ansible-galaxy collection install", 1)[0].rsplit("\n\n", 2)[-2:]
    assert any("boto3" in part for part in galaxy_route), "the galaxy-install route must say boto3 is needed"


def argument_spec_options(role: Path) -> set[str]:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return {option for entry in specs.values() for option in (entry.get("options") or {})}


def meta(role: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((role / "meta" / "main.yml").read_text()))


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_every_role_has_a_readme_and_galaxy_meta(role: Path) -> None:
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    info = meta(role)["galaxy_info"]
    main_spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
    assert info["description"] == main_spec["short_description"], "one description: meta/main.yml repeats argument_specs"
    assert info["license"] in galaxy["license"]
    assert info["author"] and info["min_ansible_version"]
    assert meta(role)["dependencies"] == []

    readme = (role / "README.md").read_text()
    assert readme.startswith(f"# osworld.aws.{role.name}\n")
    assert "## Example" in readme and "```yaml" in readme
    assert f"role: osworld.aws.{role.name}" in readme
    named = set(VARIABLE.findall(readme.split("## Main variables", 1)[1].split("\n## ", 1)[0]))
    assert named, "the README lists the role's main variables"
    assert named <= argument_spec_options(role), f"README names variables the role does not take: {named - argument_spec_options(role)}"


def test_readme_variables_are_real_role_or_playbook_inputs() -> None:
    """Every `osworld_*` name in the README's variable tables is an input some role or playbook takes."""
    known = set().union(*(argument_spec_options(role) for role in ROLES))
    for playbook in (REPO / "playbooks").glob("*.yml"):
        known.update(re.findall(r"osworld_[a-z0-9_]+", playbook.read_text()))
    readme = (REPO / "README.md").read_text()
    tables = "\n".join(line for line in readme.splitlines() if line.startswith("| `osworld_"))
    named = {name for line in tables.splitlines() for name in VARIABLE.findall(line.split("|")[1])}
    assert named and named <= known, sorted(named - known)


def test_the_tarball_leaves_out_local_venvs_and_generated_policies() -> None:
    ignored = yaml.safe_load((REPO / "galaxy.yml").read_text())["build_ignore"]
    assert {".venv", ".venv-importer", "policies-*"} <= set(ignored)


def test_publishable_reports_importer_errors_and_unexpected_warnings() -> None:
    clean = "Importer processing completed successfully\nWARNING: Ignore files skip ansible-test sanity tests, found ignore-2.19.txt with 0 statement(s)"
    assert problems(clean) == []
    assert problems("ERROR: The import failed for the following reason: No role readme found.")
    assert problems("WARNING: roles/x/tasks/main.yml:3:7: syntax-check[unknown-module]: couldn't resolve module/action")
