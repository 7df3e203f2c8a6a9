# This module util is PRIVATE to the collection. It may change without notice.
"""Approximate On-Demand Linux prices (USD per instance-hour), by region and instance type.

The one copy of the table: evaluation summaries price their VM-hours with it, and docs/costs.md
shows it (a unit test keeps the two equal). Prices as AWS listed them in 2025-06; they are an
estimate for a run's order of magnitude, not a bill.
"""
from __future__ import annotations

PRICES_AS_OF = "2025-06"

# Besides the instance, each OSWorld VM pays for its 30 GB gp3 root volume at 4,000 IOPS and
# 1,000 MB/s, and its public IPv4 address (us-east-1 figures; docs/costs.md has the breakdown).
VM_OVERHEAD_USD_PER_HOUR = 0.063

INSTANCE_USD_PER_HOUR: dict[str, dict[str, float]] = {
    "us-east-1": {
        "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832, "t3.xlarge": 0.1664, "t3.2xlarge": 0.3328,
        "m5.large": 0.096, "m5.xlarge": 0.192, "m6i.xlarge": 0.192, "c5.xlarge": 0.17,
    },
    "us-east-2": {
        "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832, "t3.xlarge": 0.1664, "t3.2xlarge": 0.3328,
        "m5.large": 0.096, "m5.xlarge": 0.192, "m6i.xlarge": 0.192, "c5.xlarge": 0.17,
    },
    "us-west-2": {
        "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832, "t3.xlarge": 0.1664, "t3.2xlarge": 0.3328,
        "m5.large": 0.096, "m5.xlarge": 0.192, "m6i.xlarge": 0.192, "c5.xlarge": 0.17,
    },
    "eu-west-1": {
        "t3.small": 0.0228, "t3.medium": 0.0456, "t3.large": 0.0912, "t3.xlarge": 0.1824, "t3.2xlarge": 0.3648,
        "m5.large": 0.107, "m5.xlarge": 0.214, "m6i.xlarge": 0.214, "c5.xlarge": 0.192,
    },
    "eu-central-1": {
        "t3.small": 0.024, "t3.medium": 0.048, "t3.large": 0.096, "t3.xlarge": 0.192, "t3.2xlarge": 0.384,
        "m5.large": 0.115, "m5.xlarge": 0.23, "m6i.xlarge": 0.23, "c5.xlarge": 0.194,
    },
    "ap-northeast-1": {
        "t3.small": 0.0272, "t3.medium": 0.0544, "t3.large": 0.1088, "t3.xlarge": 0.2176, "t3.2xlarge": 0.4352,
        "m5.large": 0.124, "m5.xlarge": 0.248, "m6i.xlarge": 0.248, "c5.xlarge": 0.214,
    },
    "ap-southeast-1": {
        "t3.small": 0.0264, "t3.medium": 0.0528, "t3.large": 0.1056, "t3.xlarge": 0.2112, "t3.2xlarge": 0.4224,
        "m5.large": 0.12, "m5.xlarge": 0.24, "m6i.xlarge": 0.24, "c5.xlarge": 0.196,
    },
    "ap-east-1": {
        "t3.small": 0.0292, "t3.medium": 0.0584, "t3.large": 0.1168, "t3.xlarge": 0.2336, "t3.2xlarge": 0.4672,
        "m5.large": 0.132, "m5.xlarge": 0.264, "m6i.xlarge": 0.264, "c5.xlarge": 0.216,
    },
}


def hourly_price(region: str, instance_type: str) -> float | None:
    """One VM-hour (instance plus volume and address), or None where the table has no price."""
    price = INSTANCE_USD_PER_HOUR.get(region, {}).get(instance_type)
    return None if price is None else price + VM_OVERHEAD_USD_PER_HOUR
