"""A variable several roles take is one concept: the same type in every role's argument spec, and
the same documented default wherever one is documented (role argument specs have no fragments)."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def declarations() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    found: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for path in sorted(REPO.glob("roles/*/meta/argument_specs.yml")):
        for entry, spec in yaml.safe_load(path.read_text())["argument_specs"].items():
            for name, option in (spec.get("options") or {}).items():
                found[name].append((f"{path.parts[-3]}:{entry}", option))
    return {name: places for name, places in found.items() if len(places) > 1}


SHARED = declarations()


@pytest.mark.parametrize("name", sorted(SHARED))
def test_a_shared_role_variable_has_one_type_and_one_documented_default(name: str) -> None:
    places = SHARED[name]
    types = {option.get("type", "str") for place, option in places}
    assert len(types) == 1, f"{name}: {[(place, option.get('type')) for place, option in places]}"
    defaults = {repr(option["default"]) for place, option in places if "default" in option}
    assert len(defaults) <= 1, f"{name}: {[(place, option.get('default')) for place, option in places if 'default' in option]}"


def test_every_role_describes_the_region_as_the_lookup_resolves_it() -> None:
    descriptions = {option["description"] for place, option in SHARED["osworld_region"]}
    assert descriptions == {"AWS region (the guide's DEFAULT_REGION). Defaults to E(AWS_REGION), else E(AWS_DEFAULT_REGION), else C(us-east-1)."}
