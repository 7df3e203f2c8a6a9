"""AWS failures become one message with the code, the request id and, when denied, the IAM action."""
from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import is_missing
from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import AWSCallError, from_botocore, iam_action


def client_error(code: str, message: str) -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"RequestId": "req-1", "HTTPStatusCode": 403}}
    return ClientError(response, "AuthorizeSecurityGroupIngress")  # type: ignore[arg-type]


def test_denied_call_names_the_iam_action_to_grant() -> None:
    error = from_botocore("authorize_security_group_ingress", client_error("UnauthorizedOperation", "Encoded message: xyz"), "ec2")
    assert error.code == "UnauthorizedOperation" and error.request_id == "req-1"
    assert "ec2:AuthorizeSecurityGroupIngress" in error.message
    assert error.as_result()["response_metadata"]["request_id"] == "req-1"


def test_other_errors_keep_the_aws_message_as_is() -> None:
    error = from_botocore("create_vpc", client_error("VpcLimitExceeded", "too many"), "ec2")
    assert error.message == "create_vpc failed: VpcLimitExceeded: too many"


def test_connection_errors_have_no_request_id() -> None:
    error = from_botocore("describe_vpcs", EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "ec2")
    assert error.code == "EndpointConnectionError" and error.request_id is None


def test_iam_prefixes() -> None:
    assert iam_action("service-quotas", "get_service_quota") == "servicequotas:GetServiceQuota"


def test_missing_means_notfound_malformed_or_no_such_entity() -> None:
    for code in ("InvalidKeyPair.NotFound", "InvalidSnapshot.NotFound", "InvalidGroupId.Malformed", "NoSuchEntity"):
        assert is_missing(AWSCallError("op", code, "m"))
    for code in ("DependencyViolation", "UnauthorizedOperation", "InvalidParameterValue"):
        assert not is_missing(AWSCallError("op", code, "m"))
