"""stack.py: a check-mode planned id is recognised in one place."""
from __future__ import annotations

from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import PLANNED_ID, is_planned


def test_is_planned_is_true_when_any_id_is_only_planned() -> None:
    assert is_planned(PLANNED_ID)
    assert is_planned("subnet-0123456789abcdef0", PLANNED_ID)
    assert not is_planned("subnet-0123456789abcdef0", "sg-0123456789abcdef0")
    assert not is_planned(None, "")
    assert not is_planned()
