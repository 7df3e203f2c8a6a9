"""The region list behind preflight's spelling hint (botocore's own regions, without importing botocore), and the
attempts of the one retry policy."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import MAX_ATTEMPTS, AWS, ConnectionParams, known_regions
from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.timestamps import parse_utc


def test_known_regions_hold_every_region_botocore_knows_for_ec2_in_every_partition() -> None:
    session = botocore.session.get_session()
    expected = {
        region
        for partition in ("aws", "aws-us-gov", "aws-cn")
        for region in session.get_available_regions("ec2", partition_name=partition)
    }
    regions = known_regions()
    assert expected <= set(regions)
    assert regions == sorted(regions)
    assert not [region for region in regions if region.endswith("-global")]


def test_known_regions_do_not_import_botocore() -> None:
    probe = (
        "import sys\n"
        "from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import known_regions\n"
        "assert 'us-east-1' in known_regions()\n"
        "assert 'botocore' not in sys.modules, 'botocore was imported'\n"
    )
    completed = subprocess.run([sys.executable, "-c", probe], env={"PYTHONPATH": ":".join(sys.path)}, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr


@pytest.fixture
def aws_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No AWS_* settings but a config file of our own (clients are built, no call is made)."""
    for name in ("AWS_MAX_ATTEMPTS", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_RETRY_MODE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config"
    config.write_text("[default]\n[profile slow]\nmax_attempts = 4\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    return config


def retries_of(profile: str | None = None) -> dict[str, object]:
    client = AWS(ConnectionParams(region="us-east-1", profile=profile, access_key="a", secret_key="b")).client("ec2")
    return dict(client.meta.config.retries)


@pytest.mark.usefixtures("aws_settings")
def test_the_retry_policy_takes_the_attempts_the_user_gave_botocore_or_else_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    assert retries_of() == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
    assert retries_of("slow") == {"mode": "standard", "total_max_attempts": 4}
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    assert retries_of() == {"mode": "standard", "total_max_attempts": 2}
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    assert retries_of()["mode"] == "standard"


@pytest.mark.usefixtures("aws_settings")
def test_attempts_that_are_not_a_number_or_a_missing_profile_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(OSWorldError, match="The config profile \\(nowhere\\) could not be found"):
        retries_of("nowhere")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "many")
    with pytest.raises(OSWorldError, match="AWS_MAX_ATTEMPTS .* must be a whole number"):
        retries_of()


DESCRIBE_INSTANCES = b"""<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><reservationSet><item>
<instancesSet><item><instanceId>i-0123456789abcdef0</instanceId><launchTime>2026-12-01T03:00:00.000Z</launchTime></item></instancesSet>
</item></reservationSet></DescribeInstancesResponse>"""


def test_timestamps_as_text_keep_what_aws_wrote_for_parse_utc_to_read() -> None:
    def launch_time(aws: AWS) -> object:
        client = aws.client("ec2")
        operation = client.meta.service_model.operation_model("DescribeInstances")
        # The endpoint's parser is the one that reads every answer.
        parser = client._endpoint._response_parser_factory.create_parser(client.meta.service_model.protocol)
        parsed = parser.parse({"status_code": 200, "headers": {}, "body": DESCRIBE_INSTANCES}, operation.output_shape)
        return parsed["Reservations"][0]["Instances"][0]["LaunchTime"]

    params = ConnectionParams(region="us-east-1", access_key="a", secret_key="b")
    text = launch_time(AWS(params, timestamps_as_text=True))
    parsed = launch_time(AWS(params))
    assert text == "2026-12-01T03:00:00.000Z"
    assert parse_utc(text) == parsed and parsed.tzinfo is not None  # type: ignore[attr-defined]
