"""The region list behind preflight's spelling hint: botocore's own regions, without importing botocore."""
from __future__ import annotations

import subprocess
import sys

import botocore.session

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import known_regions


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
