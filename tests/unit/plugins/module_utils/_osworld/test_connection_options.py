"""The connection options: one argument spec (module.py), one documentation (doc_fragments/connection.py)."""
from __future__ import annotations

import yaml

from ansible_collections.osworld.aws.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import CREDENTIAL_OPTIONS, ConnectionParams
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import CONNECTION_ARGUMENT_SPEC


def test_the_fragment_documents_the_argument_spec_of_every_module() -> None:
    documented = {**yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"], **yaml.safe_load(ModuleDocFragment.MODULES)["options"]}
    assert set(documented) == set(CONNECTION_ARGUMENT_SPEC) == {"region", *CREDENTIAL_OPTIONS}
    for name, spec in CONNECTION_ARGUMENT_SPEC.items():
        assert (documented[name]["type"], documented[name]["aliases"]) == (spec["type"], spec["aliases"]), name


def test_plugins_add_only_where_they_read_an_option_from() -> None:
    plugins = yaml.safe_load(ModuleDocFragment.PLUGINS)["options"]
    assert plugins == {"endpoint_url": {"vars": [{"name": "osworld_endpoint_url"}]}}


def test_connection_params_from_options_treat_empty_as_not_set() -> None:
    given = {"endpoint_url": "http://127.0.0.1:5000", "profile": "", "access_key": None}
    params = ConnectionParams.from_options("eu-west-1", given.get)
    assert params == ConnectionParams(region="eu-west-1", endpoint_url="http://127.0.0.1:5000")
