"""An OSWorld-shaped checkout for evaluate.yml tests: OSWorld's real AWS provider code (from the
`desktop-env` package), a test meta file, and a runner with run_multienv.py's flags and results
layout that allocates its VMs through the real provider in `spawn` workers."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import desktop_env

RUNNER = r'''
"""Stand-in for OSWorld's scripts/python/run_multienv.py (same flags, same results layout).

Each of --num_envs `spawn` workers allocates a VM with OSWorld's real AWS manager, resets it per
task with the real provider's revert_to_snapshot (terminate + launch, as OSWorld does), writes the
task's result.txt from evaluation_examples/scores.json (a task missing there gets none), and
terminates its VM. While the file `hold` exists in the checkout, workers wait before scoring.
"""
import argparse
import json
import multiprocessing
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)


def parse():
    parser = argparse.ArgumentParser()
    for flag in ("provider_name", "region", "model", "domain", "test_all_meta_path", "result_dir", "action_space", "observation_type"):
        parser.add_argument(f"--{flag}")
    parser.add_argument("--num_envs", type=int, default=1)
    parser.add_argument("--max_steps", type=int, default=15)
    parser.add_argument("--extra_flag", default="")
    return parser.parse_args()


def worker(args, tasks):
    from desktop_env.providers import create_vm_manager_and_provider
    from desktop_env.providers.aws import manager as aws_manager

    manager, provider = create_vm_manager_and_provider(args.provider_name, args.region)
    vm = manager.get_vm_path(region=args.region)
    with open(os.path.join(ROOT, "evaluation_examples", "scores.json")) as handle:
        scores = json.load(handle)
    for domain, task in tasks:
        vm = provider.revert_to_snapshot(vm, aws_manager.IMAGE_ID_MAP[args.region][(1920, 1080)])
        while os.path.exists(os.path.join(ROOT, "hold")):
            time.sleep(0.1)
        score = scores.get(f"{domain}/{task}")
        if score is None:
            continue
        task_dir = os.path.join(args.result_dir, args.action_space, args.observation_type, args.model, domain, task)
        os.makedirs(task_dir, exist_ok=True)
        with open(os.path.join(task_dir, "result.txt"), "w") as handle:
            handle.write(f"{score}\n")
    provider.stop_emulator(vm)


def main():
    args = parse()
    with open(os.path.join(ROOT, "runner-saw.json"), "w") as handle:
        json.dump({"argv": sys.argv[1:], "has_key": bool(os.environ.get("OPENAI_API_KEY")), "cwd": os.getcwd()}, handle)
    with open(args.test_all_meta_path) as handle:
        meta = json.load(handle)
    domains = sorted(meta) if args.domain == "all" else [args.domain]
    tasks = [(domain, task) for domain in domains for task in meta[domain]]
    shares = [tasks[index :: args.num_envs] for index in range(args.num_envs)]
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=worker, args=(args, share)) for share in shares]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
    sys.exit(0 if all(process.exitcode == 0 for process in workers) else 1)


if __name__ == "__main__":
    main()
'''

META = {"chrome": ["c1", "c2"], "gimp": ["g1", "g2"]}
# Scores 1, 0, 0.5 and one task (gimp/g2) that never gets a result.
SCORES = {"chrome/c1": 1.0, "chrome/c2": 0.0, "gimp/g1": 0.5}


def make_checkout(root: Path, env_text: str = "ENABLE_TTL=false\n") -> Path:
    """The checkout, with the provider package copied in (so python-dotenv finds the checkout's .env from it)."""
    package = Path(desktop_env.__file__).parent
    target = root / "desktop_env"
    (target / "providers" / "aws").mkdir(parents=True)
    shutil.copy(package / "__init__.py", target / "__init__.py")
    for name in ("__init__.py", "base.py"):
        shutil.copy(package / "providers" / name, target / "providers" / name)
    for source in (package / "providers" / "aws").glob("*.py"):
        shutil.copy(source, target / "providers" / "aws" / source.name)
    (root / "scripts" / "python").mkdir(parents=True)
    (root / "scripts" / "python" / "run_multienv.py").write_text(RUNNER)
    (root / "evaluation_examples").mkdir()
    (root / "evaluation_examples" / "test_all.json").write_text(json.dumps(META))
    (root / "evaluation_examples" / "scores.json").write_text(json.dumps(SCORES))
    (root / "requirements.txt").write_text("boto3\npython-dotenv\nrequests\n")
    (root / "monitor").mkdir()
    (root / ".env").write_text(env_text)
    return root


def make_installed_venv(venv: Path) -> Path:
    """The evaluation virtualenv as the role finds it on an installed host: it sees the test venv's
    packages (a .pth file), so installing the requirements needs no index."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (site / "test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv
