# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # How every osworld.aws module and the inventory plugin reach AWS: the options they share.
    # Modules add osworld.aws.connection.modules (the region, the failure result); the inventory
    # plugin adds osworld.aws.connection.plugins (the variables and environment it reads).
    DOCUMENTATION = r"""
options:
  endpoint_url:
    description:
      - URL of the AWS API endpoint, for an emulator or a VPC endpoint.
      - When not set, botocore reads E(AWS_ENDPOINT_URL) and the per-service E(AWS_ENDPOINT_URL_EC2), ... itself.
    type: str
    aliases: [aws_endpoint_url]
  profile:
    description:
      - A named profile of the shared AWS configuration files.
      - When not set, botocore reads E(AWS_PROFILE) itself; credentials otherwise come from the
        standard boto3 chain (environment, profile, instance role).
    type: str
    aliases: [aws_profile]
  access_key:
    description: AWS access key id; prefer the standard credential chain, which is used when this is not set.
    type: str
    aliases: [aws_access_key_id]
  secret_key:
    description: AWS secret access key; prefer the standard credential chain.
    type: str
    aliases: [aws_secret_access_key]
  session_token:
    description: AWS session token for temporary credentials.
    type: str
    aliases: [aws_session_token]
requirements:
  - python >= 3.11
  - boto3
  - botocore
"""

    MODULES = r"""
options:
  region:
    description:
      - The AWS region to work in.
      - Defaults to the E(AWS_REGION) or E(AWS_DEFAULT_REGION) environment variable, then C(us-east-1).
    type: str
    aliases: [aws_region]
notes:
  - Throttling, 5xx answers and dropped connections are retried by botocore's standard retry
    mode (10 attempts, or what E(AWS_MAX_ATTEMPTS) or the profile's C(max_attempts) sets; jittered
    exponential backoff); a resource that is not visible yet right
    after its creation is retried for about 30 seconds, and a delete refused with
    C(DependencyViolation) while a terminated VM's network interface lingers for about two
    minutes. There is no other retry layer.
  - On failure the result holds C(error.code), C(error.message), C(error.operation) and
    C(response_metadata.request_id) of the failed AWS call.
"""

    PLUGINS = r"""
options:
  endpoint_url:
    vars:
      - name: osworld_endpoint_url
notes:
  - Throttling, 5xx answers and dropped connections are retried by botocore's standard retry mode
    (10 attempts, or what E(AWS_MAX_ATTEMPTS) or the profile's C(max_attempts) sets).
"""
