"""Docs that say only what the code does: each promise checked against the code it describes."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from ansible_collections.osworld.aws.plugins.inventory import ec2 as inventory_plugin
from ansible_collections.osworld.aws.plugins.module_utils._osworld import checks, host_iam, images, preflight

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
OFFICIAL_AMI = "ami-0d23263edb96951d8"


def read(name: str) -> str:
    return (REPO / name).read_text()


def section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


def text_blocks(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```text\n(.*?)```", text, re.S)]


def unwrap(text: str) -> str:
    return " ".join(text.split())


def test_troubleshooting_quotes_the_messages_preflight_prints_for_another_region() -> None:
    blocks = text_blocks(section(read("docs/troubleshooting.md"), "## AMI missing in a region"))

    default_map = preflight.PreflightInput(region="eu-west-1", image_id_map={"us-east-1": {"1920x1080": OFFICIAL_AMI}})
    report = preflight.check_inputs(default_map, preflight.expand_checks(preflight.ALL_CHECKS))
    unmapped = checks.failure_message(report.errors)

    mapped = {"eu-west-1": OFFICIAL_AMI}
    path = images.image_path(mapped, "eu-west-1", "1920x1080")
    found_at_home = [{"ImageId": OFFICIAL_AMI, "Name": "<name>", "Region": images.IMAGE_HOME_REGION}]
    copy_hint = "Preflight: " + images.missing_image_message(path, OFFICIAL_AMI, "eu-west-1", found_at_home, None)

    assert blocks == [unmapped, copy_hint]


def test_troubleshooting_quotes_the_host_ami_message_of_the_host_checks() -> None:
    checks = read("plugins/module_utils/_osworld/host_checks.py")
    assert 'f"osworld_host_ami: {ami} is not available in {aws.region}; ' in checks
    assert "`osworld_host_ami: ... is not available in <region>`" in unwrap(read("docs/troubleshooting.md"))


def test_inventory_docs_say_where_the_default_env_group_comes_from() -> None:
    spec = yaml.safe_load(inventory_plugin.DOCUMENTATION)["options"]["env_security_group_ids"]
    assert spec["env"] == [{"name": "AWS_SECURITY_GROUP_ID"}]
    assert "env_file" not in yaml.safe_load(inventory_plugin.DOCUMENTATION)["options"], "the plugin reads a file now: update docs/inventory.md"
    doc = unwrap(read("docs/inventory.md"))
    assert "`AWS_SECURITY_GROUP_ID` environment variable of the shell" in doc
    assert "The plugin reads no `.env` file" in doc
    assert "of OSWorld's own `.env`" not in doc


def test_per_service_endpoint_variables_are_explained_wherever_named() -> None:
    for name in ["README.md", *(f"docs/{page.name}" for page in DOCS.glob("*.md"))]:
        for paragraph in read(name).split("\n\n"):
            if "AWS_ENDPOINT_URL_EC2" in paragraph:
                text = unwrap(paragraph)
                assert "EC2 only" in text or "EC2 calls only" in text, f"{name}: {text[:200]}"
    readme = unwrap(read("README.md"))
    assert "`AWS_ENDPOINT_URL_EC2` alone redirects the EC2 calls only, while the IAM calls" in readme
    assert "Service Quotas call (preflight's vCPU quota check) still go to AWS" in readme


def test_every_client_option_is_documented_in_host_md() -> None:
    options = yaml.safe_load(read("roles/client/meta/argument_specs.yml"))["argument_specs"]["main"]["options"]
    documented = read("docs/host.md")
    missing = [name for name in options if name.startswith("osworld_client_") and f"`{name}`" not in documented]
    assert not missing


def per_vm_hour(costs: str) -> float:
    table = section(costs, "## One OSWorld VM")
    # The instance and each item billed besides it (not the bold subtotal).
    cells = re.findall(r"^\| [^|*]+ \| [^|]+ \| \$(\d+\.\d+)(?: \(t3\.medium\))? \|$", table, re.M)
    return sum(float(cell) for cell in cells)


def test_one_page_holds_the_monthly_figures_and_they_add_up() -> None:
    costs = read("docs/costs.md")
    hourly = per_vm_hour(costs)
    assert round(hourly, 4) == 0.1046
    month = round(hourly * 730)
    assert f"**${month}** (${hourly:.4f} per VM-hour x 730 hours" in unwrap(costs)
    assert f"about **${round(hourly * 730 * 115, -2):,.0f}**" in unwrap(costs)
    fleet = section(read("docs/fleet.md"), "## What a VM costs")
    assert "[costs.md](costs.md)" in fleet and "$" not in fleet
    for name in ["README.md", *(f"docs/{page.name}" for page in DOCS.glob("*.md") if page.name != "costs.md")]:
        assert not re.search(r"\$\d[\d,.]* (a|per) month", read(name)), f"{name} gives a monthly figure: link to docs/costs.md"


def test_reap_intervals_agree_between_pages_and_with_awx_configure() -> None:
    crons = {line for page in DOCS.glob("*.md") for line in re.findall(r"^\*/\d+ \* \* \* \*.*reap\.yml.*$", page.read_text(), re.M)}
    intervals = {line.split()[0] for line in crons}
    assert intervals == {"*/10"}
    schedule = re.search(r"RRULE:FREQ=(\w+);INTERVAL=(\d+)", read("awx/configure.yml"))
    assert schedule is not None and schedule.groups() == ("HOURLY", "1")
    for page in ("docs/costs.md", "docs/troubleshooting.md", "docs/fleet.md"):
        text = unwrap(read(page))
        assert "every 10 minutes" in text, page
        assert "every hour" not in text and "*/30" not in text, page
        assert "hourly" in text, f"{page}: say that the AWX schedule is hourly"


def test_guide_mapping_and_readme_say_which_vms_follow_the_image_map_type_and_key() -> None:
    mapping = unwrap(read("docs/guide-mapping.md"))
    readme = unwrap(read("README.md"))
    for text in (mapping, readme):
        assert "evaluate.yml" in text
        assert "hard-coded" in text
        assert "OSWorld's provider launches its VMs without a key pair" in text
    by_hand = "| OSWorld's runner started by hand (`python scripts/python/run_multienv.py ...`) |"
    assert f"{by_hand} no: OSWorld's hard-coded map | no: OSWorld's hard-coded type | no |" in mapping


def test_provision_summary_says_when_the_monitor_listens() -> None:
    provision = read("playbooks/provision.yml")
    (line,) = [line for line in provision.splitlines() if "monitor http://" in line]
    following = provision.split(line, 1)[1].splitlines()[1]
    assert "after client.yml with osworld_client_monitor_service=true or evaluate.yml" in following


def test_readme_tags_table_names_the_host_and_iam_tags_the_collection_sets() -> None:
    tasks = read("roles/host/tasks/main.yml")
    created = section(read("README.md"), "## What gets created")
    iam_row = next(line for line in created.splitlines() if line.startswith("| the host's IAM role"))
    host_row = next(line for line in created.splitlines() if line.startswith("| host machine"))
    calls = re.findall(r"osworld\.aws\.stack_tags\(([^)]*)\)", tasks)
    assert len(calls) == 1 and calls[0].startswith("osworld_name_prefix, 'host'") and "role='host'" in calls[0]
    assert "`osworld:component=host`" in host_row
    for component in (host_iam.COMPONENT_HOST_ROLE, host_iam.COMPONENT_HOST_PROFILE, host_iam.COMPONENT_TTL_ROLE):
        assert f"`{component}`" in iam_row
    assert f"`osworld:role={host_iam.HOST_ROLE}`" in host_row and f"`osworld:role={host_iam.HOST_ROLE}`" in iam_row
    assert "osworld.aws.stack_filters(role='host')" in read("roles/host/vars/main.yml")
