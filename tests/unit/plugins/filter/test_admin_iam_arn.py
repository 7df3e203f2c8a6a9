"""The host role's administrator ARNs come from the same rule as stack_info's."""
from __future__ import annotations

from ansible_collections.osworld.aws.plugins.filter.admin_iam_arn import admin_iam_arn
from ansible_collections.osworld.aws.plugins.module_utils._osworld import stack


def test_the_filter_builds_the_arn_stack_info_builds() -> None:
    caller = {"arn": "arn:aws-cn:sts::123456789012:assumed-role/ops/me", "account": "123456789012", "user_id": "AROA:me"}
    assert admin_iam_arn(caller, "instance-profile/p") == "arn:aws-cn:iam::123456789012:instance-profile/p"
    assert admin_iam_arn(caller, "role/r") == stack.admin_iam_arn(caller["arn"], caller["account"], "role/r")


def test_a_skipped_caller_lookup_gives_no_arn() -> None:
    assert admin_iam_arn({"changed": False, "skipped": True}, "role/r") == ""
    assert admin_iam_arn(None, "role/r") == ""
