"""Each AWX job template's playbook, run the way AWX runs it, against moto.

AWX syncs the project (installing collections/requirements.yml with ansible-galaxy from the
checkout's root), then for each job writes a private data dir and calls ansible-runner:
project/ holds the checkout, env/extravars the survey answers (the defaults when none are given),
env/envvars what the job's credentials inject, inventory/ the job's inventory. These tests build
the same directory: the credentials are AWX's AWS credential (fake keys) and this collection's
region credential type, rendered from the injectors in awx/configure.yml.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from tests.support.awx_survey import answer_errors, applied_defaults
from tests.support.harness import AWSHarness, build_caches_env
from tests.support.moto_server import FAKE_CREDENTIALS
from tests.support.osworld_checkout import make_checkout, make_installed_venv

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CONFIGURE = REPO / "awx" / "configure.yml"
LIVE_STATES = ["pending", "running", "stopping", "stopped"]


class _AWXLoader(yaml.SafeLoader):
    """Reads configure.yml's `!unsafe` strings (injector templates AWX, not Ansible, renders)."""


_AWXLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]


def configure_tasks() -> dict[str, dict[str, Any]]:
    """The first task of each awx.awx module (the region credential type comes before the model keys')."""
    play = yaml.load(CONFIGURE.read_text(), Loader=_AWXLoader)[0]  # noqa: S506 - a SafeLoader subclass
    tasks: dict[str, dict[str, Any]] = {}
    for task in play["tasks"]:
        tasks.setdefault(next(key for key in task if key.startswith("awx.awx.")), task)
    return tasks


def model_keys_extra_vars(**keys: str) -> dict[str, Any]:
    """What the "OSWorld model keys" credential injects, rendered as AWX renders it."""
    play = yaml.load(CONFIGURE.read_text(), Loader=_AWXLoader)[0]  # noqa: S506
    (task,) = [task for task in play["tasks"] if task.get("awx.awx.credential_type", {}).get("name") == "OSWorld model keys"]
    injectors = task["awx.awx.credential_type"]["injectors"]["extra_vars"]
    return {name: jinja2.Environment().from_string(value).render(**keys) for name, value in injectors.items()}


def template_playbooks() -> dict[str, str]:
    play = yaml.load(CONFIGURE.read_text(), Loader=_AWXLoader)[0]  # noqa: S506
    return {template["survey"]: template["playbook"] for template in play["vars"]["osworld_awx_templates"]}


def aws_keys_env() -> dict[str, str]:
    """AWX's own "Amazon Web Services" credential type: the keys and the token, no region
    (AWX's docs/docsite/rst/userguide/credentials.rst); botocore reads AWS_SECURITY_TOKEN too."""
    return {
        "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "AWS_SECURITY_TOKEN": FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
    }


def injected_env(region: str, endpoint_url: str) -> dict[str, str]:
    """What a job gets from its two credentials: AWX's AWS keys and our region credential type."""
    injectors = configure_tasks()["awx.awx.credential_type"]["awx.awx.credential_type"]["injectors"]["env"]
    inputs = {"region": region, "endpoint_url": endpoint_url}
    return {**aws_keys_env(), **{name: jinja2.Template(value).render(**inputs) for name, value in injectors.items()}}


def survey(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO / "awx" / "surveys" / f"{name}.json").read_text()))


def clean_env() -> dict[str, str]:
    """The runner's own environment: nothing AWS or Ansible leaks in from the test process."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_", "PWD"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def synced_collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AWX's project sync: collections/requirements.yml installed from the checkout's root."""
    target = tmp_path_factory.mktemp("requirements_collections")
    empty_config = target / "ansible.cfg"
    empty_config.write_text("[defaults]\n")
    completed = subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "-r", "collections/requirements.yml", "-p", str(target), "--offline"],
        cwd=REPO,
        env={**clean_env(), "ANSIBLE_CONFIG": str(empty_config)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (target / "ansible_collections" / "osworld" / "aws" / "MANIFEST.json").exists()
    return target


class AWXJob:
    """One job template launch: a private data dir and `ansible-runner run`."""

    def __init__(self, aws: AWSHarness, collections: Path, root: Path) -> None:
        self.aws = aws
        self.collections = collections
        self.root = root
        self.count = 0

    def launch(self, template: str, answers: dict[str, Any] | None = None, *, check: bool = False, region: str = "us-east-1") -> Path:
        playbook = template_playbooks()[template]
        if not (REPO / playbook).exists():
            pytest.skip(f"{playbook} is not written yet (issue 3 owns it); the {template} job template cannot run")
        spec = survey(template)
        extravars = {**applied_defaults(spec), **(answers or {})}
        for question in spec["spec"]:
            assert answer_errors(question, extravars) == [], f"AWX would refuse the answer to {question['variable']}"

        self.count += 1
        private = self.root / f"job{self.count}-{template}"
        project = private / "project"
        project.mkdir(parents=True)
        # The checkout's content as the project directory (a real directory, so what a job writes stays here).
        for entry in ("playbooks", "inventory", "ansible.cfg", "collections", "awx", "policies"):
            if (REPO / entry).exists():
                (project / entry).symlink_to(REPO / entry)
        (private / "env").mkdir()
        (private / "env" / "extravars").write_text(json.dumps(extravars))
        envvars = {
            **injected_env(region, self.aws.proxy.url),
            "ANSIBLE_COLLECTIONS_PATH": str(self.collections),
            "ANSIBLE_NOCOLOR": "1",
            # A job's shell starts in the project directory; the .env lands there, as in AWX.
            "PWD": str(project),
        }
        (private / "env" / "envvars").write_text(json.dumps(envvars))
        if check:
            (private / "env" / "cmdline").write_text("--check")
        # AWX's inventory of the job template (OSWorld's, with no localhost: the playbooks use the implicit one).
        (private / "inventory").mkdir()
        (private / "inventory" / "hosts").write_text("[osworld_hosts]\n")

        completed = subprocess.run(
            [str(VENV_BIN / "ansible-runner"), "run", str(private), "-p", playbook, "--ident", "job"],
            env={**clean_env(), **build_caches_env()},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        status_file = private / "artifacts" / "job" / "status"
        status = status_file.read_text().strip() if status_file.exists() else "missing"
        assert completed.returncode == 0 and status == "successful", (
            f"{template}: ansible-runner rc={completed.returncode} status={status}\n{completed.stdout[-4000:]}"
        )
        return project


@pytest.fixture
def awx(aws: AWSHarness, synced_collections: Path, tmp_path: Path) -> Iterator[AWXJob]:
    yield AWXJob(aws, synced_collections, tmp_path)


def tagged_instances(aws: AWSHarness, **tags: str) -> list[dict[str, Any]]:
    filters = [{"Name": "instance-state-name", "Values": LIVE_STATES}]
    filters += [{"Name": f"tag:{key.replace('_', ':', 1)}", "Values": [value]} for key, value in tags.items()]
    reservations = aws.client().describe_instances(Filters=filters)["Reservations"]
    return [instance for reservation in reservations for instance in reservation["Instances"]]


def stack_components(aws: AWSHarness) -> set[str]:
    groups = aws.client().describe_security_groups(Filters=[{"Name": "tag:osworld:stack", "Values": ["osworld"]}])
    return {tag["Value"] for group in groups["SecurityGroups"] for tag in group["Tags"] if tag["Key"] == "osworld:component"}


def role_names(aws: AWSHarness) -> set[str]:
    return {role["RoleName"] for role in aws.client("iam").list_roles()["Roles"]}


def read_env(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if "=" in line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_injected_credentials_carry_region_and_endpoint() -> None:
    env = injected_env("eu-central-1", "http://127.0.0.1:1")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-central-1"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert injected_env("eu-central-1", "")["AWS_ENDPOINT_URL"] == ""


def test_provision_with_the_survey_defaults(awx: AWXJob, aws: AWSHarness) -> None:
    project = awx.launch("provision")

    assert stack_components(aws) == {"env-security-group", "host-security-group"}
    assert tagged_instances(aws) == []
    assert role_names(aws) == set()
    env = read_env(project / "osworld.env")
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_SECURITY_GROUP_ID"].startswith("sg-")


def test_provision_with_host_and_ttl_answers(awx: AWXJob, aws: AWSHarness) -> None:
    # Multiple-choice answers reach the playbook as the strings "true" / "false".
    project = awx.launch("provision", {"osworld_host_launch": "true", "osworld_enable_ttl": "true", "osworld_ttl_minutes": 90})

    (host,) = tagged_instances(aws, osworld_role="host")
    assert host["State"]["Name"] == "running"
    assert {"osworld-host-us-east-1", "osworld-ttl-scheduler-us-east-1"} <= role_names(aws)
    env = read_env(project / "osworld.env")
    assert env["ENABLE_TTL"] == "true"
    assert env["DEFAULT_TTL_MINUTES"] == "90"
    assert env["AWS_SCHEDULER_ROLE_ARN"].endswith(":role/osworld-ttl-scheduler-us-east-1")


def test_envs_scales_the_fleet_and_the_defaults_tear_it_down(awx: AWXJob, aws: AWSHarness) -> None:
    aws.provisioned()  # what the provision template makes (its own tests above)
    awx.launch("envs", {"osworld_env_count": 3})
    assert len(tagged_instances(aws, osworld_role="env", osworld_fleet="default")) == 3

    awx.launch("envs")

    assert tagged_instances(aws, osworld_role="env") == []


def test_reap_check_lists_then_run_terminates_expired_vms_and_spares_the_host(awx: AWXJob, aws: AWSHarness) -> None:
    aws.provisioned({"osworld_host_launch": True})
    awx.launch("envs", {"osworld_env_count": 2, "osworld_ttl_minutes": 0})
    assert len(tagged_instances(aws, osworld_role="env")) == 2

    awx.launch("reap", check=True)
    assert len(tagged_instances(aws, osworld_role="env")) == 2

    awx.launch("reap")
    assert tagged_instances(aws, osworld_role="env") == []
    assert len(tagged_instances(aws, osworld_role="host")) == 1


def test_teardown_defaults_keep_the_network_and_the_network_answer_removes_everything(awx: AWXJob, aws: AWSHarness) -> None:
    aws.provisioned({"osworld_host_launch": True, "osworld_enable_ttl": True})
    awx.launch("envs", {"osworld_env_count": 1})

    awx.launch("teardown")
    assert tagged_instances(aws, osworld_role="env") == []
    assert len(tagged_instances(aws, osworld_role="host")) == 1
    assert stack_components(aws) == {"env-security-group", "host-security-group"}

    awx.launch("teardown", {"osworld_teardown_network": "true"})
    assert tagged_instances(aws) == []
    assert stack_components(aws) == set()
    assert role_names(aws) == set()
    vpcs = aws.client().describe_vpcs(Filters=[{"Name": "tag:osworld:managed-by", "Values": ["osworld.aws"]}])["Vpcs"]
    assert vpcs == []


def test_image_copies_the_ami_into_the_credentials_region_once_and_teardown_deregisters_it(awx: AWXJob, aws: AWSHarness) -> None:
    awx.launch("image", {"osworld_image_wait_timeout": 60}, region="eu-west-1")
    west = aws.client(region="eu-west-1")
    managed = [{"Name": "tag:osworld:managed-by", "Values": ["osworld.aws"]}]
    (copy,) = west.describe_images(Owners=["self"], Filters=managed)["Images"]
    assert {tag["Key"]: tag["Value"] for tag in copy["Tags"]}["osworld:source-image"] == "ami-0d23263edb96951d8"

    awx.launch("image", region="eu-west-1")
    assert [image["ImageId"] for image in west.describe_images(Owners=["self"], Filters=managed)["Images"]] == [copy["ImageId"]]

    awx.launch("teardown", {"osworld_teardown_images": "true"}, region="eu-west-1")
    assert west.describe_images(Owners=["self"], Filters=managed)["Images"] == []


def test_inventory_source_lists_the_vms_with_the_source_vars_as_environment(awx: AWXJob, aws: AWSHarness) -> None:
    """AWX runs an SCM inventory source as ansible-inventory, its source_vars as environment variables."""
    aws.provisioned({"osworld_host_launch": True})
    awx.launch("envs", {"osworld_env_count": 2})
    source = configure_tasks()["awx.awx.inventory_source"]["awx.awx.inventory_source"]
    configured = {"osworld_region": "us-east-1", "osworld_endpoint_url": aws.proxy.url}
    rendered = {key: jinja2.Template(str(value)).render(**configured) for key, value in source["source_vars"].items()}
    # The source's one credential is AWX's AWS keys; the region comes from source_vars.
    env = {**clean_env(), **aws_keys_env(), **rendered, "ANSIBLE_COLLECTIONS_PATH": str(awx.collections)}
    env["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"] = "true"

    completed = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", str(REPO / source["source_path"]), "--list"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    inventory = json.loads(completed.stdout)
    assert len(inventory["osworld_envs"]["hosts"]) == 2
    assert len(inventory["osworld_hosts"]["hosts"]) == 1


def test_evaluate_with_the_survey_and_the_model_keys_credential(awx: AWXJob, aws: AWSHarness, tmp_path: Path) -> None:
    """The evaluate template on a checkout at localhost (AWX's extra vars point it there): the run's
    VMs are gone at the end, the score is written, and the injected key reached the runner only."""
    ec2 = aws.client()
    vpc_id = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="172.31.250.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    group_tags = {"osworld:managed-by": "osworld.aws", "osworld:stack": "osworld", "osworld:component": "env-security-group", "osworld:subnet": subnet_id}
    ec2.create_security_group(
        GroupName="osworld-env",
        Description="OSWorld env",
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in group_tags.items()]}],
    )
    checkout = make_checkout(tmp_path / "OSWorld")
    secret = "sk-awx-7c2d9e"
    injected = model_keys_extra_vars(openai_api_key=secret)
    assert json.loads(injected["osworld_eval_env"])["OPENAI_API_KEY"] == secret

    awx.launch(
        "evaluate",
        {
            "osworld_eval_model": "o3",
            "osworld_eval_domain": "chrome",
            "osworld_eval_run_id": "awx-run",
            **injected,
            "osworld_eval_hosts": "localhost",
            "osworld_client_dir": str(checkout),
            "osworld_eval_venv": str(make_installed_venv(tmp_path / "venv")),
            "osworld_eval_poll_interval": 0.2,
        },
    )

    summary = json.loads((checkout / "results" / "awx-run" / "summary.json").read_text())
    assert (summary["planned"], summary["finished"], summary["success_rate"]) == (2, 2, 0.5)
    run_vms = [item for item in aws.client().describe_instances()["Reservations"] for item in item["Instances"]]
    assert run_vms and all(vm["State"]["Name"] == "terminated" for vm in run_vms)
    assert json.loads((checkout / "runner-saw.json").read_text())["has_key"] is True
    for path in (tmp_path / "job1-evaluate" / "artifacts").rglob("*"):
        if path.is_file() and path.name != "extravars":
            assert secret not in path.read_text(errors="replace"), path
