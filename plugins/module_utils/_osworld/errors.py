# This module util is PRIVATE to the collection. It may change without notice.
"""Exceptions raised inside the collection's helpers; modules turn them into fail_json once."""
from __future__ import annotations

from typing import Any


class OSWorldError(Exception):
    """A failure the user can fix from the message alone (bad input, missing prerequisite)."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class AWSCallError(OSWorldError):
    """An AWS API call that failed after the retry policy gave up."""

    def __init__(
        self,
        operation: str,
        code: str,
        aws_message: str,
        request_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(f"{operation} failed: {code}: {aws_message}")
        self.operation = operation
        self.code = code
        self.aws_message = aws_message
        self.request_id = request_id
        self.http_status = http_status

    def as_result(self) -> dict[str, Any]:
        return {
            "error": {"code": self.code, "message": self.aws_message, "operation": self.operation},
            "response_metadata": {"request_id": self.request_id, "http_status_code": self.http_status},
        }


DENIED_CODES = frozenset({"UnauthorizedOperation", "UnauthorizedAccess", "AccessDenied", "AccessDeniedException"})
# botocore's service names that differ from the IAM action prefix.
IAM_PREFIXES = {"service-quotas": "servicequotas"}


def iam_action(service: str, operation: str) -> str:
    """`ec2:DescribeInstances` from ("ec2", "describe_instances")."""
    return f"{IAM_PREFIXES.get(service, service)}:{''.join(part.capitalize() for part in operation.split('_'))}"


def from_botocore(operation: str, exc: Exception, service: str | None = None) -> AWSCallError:
    """Builds an AWSCallError from a botocore ClientError or BotoCoreError."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        metadata = response.get("ResponseMetadata", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", exc))
        if code in DENIED_CODES and service:
            # Real EC2 encodes the denied action; name it so the policy can be fixed from the message.
            message += f" (IAM action {iam_action(service, operation)}; `aws sts decode-authorization-message` decodes an encoded message)"
        return AWSCallError(operation, code, message, metadata.get("RequestId"), metadata.get("HTTPStatusCode"))
    return AWSCallError(operation, type(exc).__name__, str(exc))
