"""blockers.py: what keeps a teardown delete from finishing, named by who launched it, with advice."""
from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.blockers import CLIENT, advice, delete_when_released, describe, owner
from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import AWSCallError, OSWorldError
from tests.support.described import running_instance as vm

ENV_SG = "sg-0e0e0e0e0e0e0e0e0"


def test_blockers_are_named_by_who_launched_them_and_the_advice_follows() -> None:
    fleet = vm("i-1", {"osworld:managed-by": "osworld.aws", "osworld:role": "env", "osworld:fleet": "b"}, [ENV_SG])
    client = vm("i-2", {}, [ENV_SG])
    stranger = vm("i-3", {"Name": "debug"}, [ENV_SG])
    shared = vm("i-4", {}, [ENV_SG, "sg-0a0a0a0a0a0a0a0a0"])
    assert [owner(i, {ENV_SG}) for i in (fleet, client, stranger, shared)] == ["fleet b", CLIENT, "not OSWorld's, Name debug", "not OSWorld's"]
    assert describe([fleet, client], {ENV_SG}) == "i-1 (fleet b, running), i-2 (OSWorld client, running)"
    text = advice([fleet, client, stranger], {ENV_SG})
    assert "osworld_fleet=all" in text and "osworld_teardown_client_vms=true" in text and "never touches" in text


class StillInUse:
    """An endpoint whose delete keeps answering DependencyViolation (AWS.call's retries already spent)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, service: str, operation: str, **kwargs: Any) -> Any:
        self.calls.append((operation, kwargs))
        raise AWSCallError("DeleteSecurityGroup", "DependencyViolation", "resource sg-1 has a dependent object")

    def paginate(self, service: str, operation: str, result_key: str, **kwargs: Any) -> list[Any]:
        self.calls.append((operation, kwargs))
        return [{"NetworkInterfaceId": "eni-1", "Attachment": {"InstanceId": "i-9"}}]


def test_a_delete_still_refused_after_the_retries_names_what_is_left() -> None:
    aws = StillInUse()
    with pytest.raises(OSWorldError) as raised:
        delete_when_released(aws, "delete_security_group", {"group_id": "sg-1"}, "delete what uses it", GroupId="sg-1")  # type: ignore[arg-type]
    assert "sg-1 still in use after" in raised.value.message and "eni-1 (instance i-9)" in raised.value.message
    assert raised.value.message.endswith("delete what uses it")
    assert aws.calls[0] == ("delete_security_group", {"wait_for_release": True, "missing_ok": False, "GroupId": "sg-1"})
