#!/usr/bin/env python
"""Run one job template of playbooks/controller.yml the way AWX runs a job, through ansible-runner.

    .venv/bin/python tests/awx/run_template.py "kvmops | Plan" --inventory inventories/lab \
        --answer kvmops_awx_guest_restart_on_change=yes --limit kvmlab-hv1 \
        --ceph-key-file KEYFILE --vault-password-file prod/vault-password.example.txt

The template, its survey and its credentials are read from controller.yml
as the awx.awx modules would receive them (tests/awx/controller_config.py).
The private data dir gets what AWX writes for a job (tests/awx/awx_job.py):
project/ (the repository as a clean clone has it), requirements_collections/
(collections/requirements.yml installed the way a project update does),
inventory/hosts (the inventory as AWX's inventory script, from
`ansible-inventory --list --export`), env/extravars, env/cmdline,
env/envvars, env/passwords, env/ssh_key and the credential injections. Then
ansible_runner.run() runs the template's playbook there, and the rc, status
and per-host counts are printed. Every secret given is looked for in the
artifacts afterwards (exit 3 when one shows up). --prepare-only stops before
the run. docs/awx.md says what differs from AWX (no container, paths).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ansible_runner
import awx_job
import controller_config
import yaml
from ansible_runner.utils import args2cmdline

BIN = Path(sys.executable).parent
# The secrets of controller.yml's credentials, by the harness option that gives them.
SECRET_OPTIONS = {
    "ssh_key": "kvmops_awx_ssh_private_key",
    "vault_password_file": "kvmops_awx_vault_password",
    "ceph_key_file": "kvmops_awx_ceph_client_key",
}


def find_template(name: str, tasks) -> dict:
    templates = [t.args for t in controller_config.tasks_of("job_template", tasks)]
    exact = [t for t in templates if t["name"] == name]
    matches = exact or [t for t in templates if name.lower() in t["name"].lower()]
    if len(matches) != 1:
        names = ", ".join(repr(t["name"]) for t in templates)
        raise SystemExit(f"template {name!r} matches {len(matches)} of: {names}")
    return matches[0]


def typed_answers(template: dict, pairs: list[str]) -> dict:
    """VAR=VALUE pairs as AWX's launch dialog sends them: numbers for integer/float questions."""
    types = {q["variable"]: q["type"] for q in (template.get("survey_spec") or {}).get("spec", [])}
    answers = {}
    for pair in pairs:
        var, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--answer {pair!r}: expected VAR=VALUE")
        try:
            answers[var] = {"integer": int, "float": float}.get(types.get(var), str)(value)
        except ValueError:
            answers[var] = value  # left for the survey check to refuse
    return answers


def job_credentials(template: dict, tasks):
    """(machine inputs, vault passwords by id, [(credential type, inputs)]) of the template's credentials."""
    placeholders = set(controller_config.PLACEHOLDER_SECRETS.values())
    credentials = {t.args["name"]: t.args for t in controller_config.tasks_of("credential", tasks)}
    types = {t.args["name"]: t.args for t in controller_config.tasks_of("credential_type", tasks)}
    machine, vault, custom = None, {}, []
    for name in template.get("credentials") or []:
        if name not in credentials:
            raise awx_job.LaunchError(f"credential {name!r} is not defined in controller.yml")
        kind = credentials[name]["credential_type"]
        inputs = {k: v for k, v in credentials[name]["inputs"].items() if v not in placeholders}
        missing = sorted(set(credentials[name]["inputs"]) - set(inputs))
        if kind == "Machine":
            machine = inputs
        elif missing:
            print(
                f"note: credential {name!r} left out, its secret was not given ({', '.join(missing)})", file=sys.stderr
            )
        elif kind == "Vault":
            vault[inputs.get("vault_id", "")] = inputs["vault_password"]
        elif kind in types:
            custom.append((types[kind], inputs))
        else:
            raise awx_job.LaunchError(f"credential type {kind!r} of {name!r} is unknown to the harness")
    return machine, vault, custom


def project_files(src: Path) -> list[str]:
    """What a clone of src has: tracked and not ignored files (a plain directory: everything)."""
    if (src / ".git").exists():
        listed = subprocess.run(
            ["git", "-C", str(src), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=True,
        ).stdout.decode()
        return [p for p in listed.split("\0") if p and (src / p).is_file()]
    return [str(p.relative_to(src)) for p in src.rglob("*") if p.is_file()]


def clean_environ() -> dict:
    """This shell's environment without ANSIBLE_* (AWX jobs start from the EE's), venv tools first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def copy_project(src: Path, project: Path) -> None:
    for rel in project_files(src):
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, project / rel)


def install_collections(pdd: Path, env: dict) -> None:
    """What a project update does with collections/requirements.yml, from the project directory."""
    project = pdd / "project"
    requirements = project / "collections" / "requirements.yml"
    if requirements.is_file():
        command = [str(BIN / "ansible-galaxy"), "collection", "install", "-r", str(requirements)]
        command += ["-p", str(pdd / "requirements_collections"), "--offline"]
        galaxy_env = env | {"ANSIBLE_FORCE_COLOR": "false"}
        subprocess.run(command, cwd=project, env=galaxy_env, check=True, stdout=subprocess.DEVNULL)


def write_inventory(pdd: Path, inventory: str, env: dict) -> None:
    """What an inventory sync reads (`ansible-inventory --list --export`), as the job's inventory script."""
    project = pdd / "project"
    source = inventory if Path(inventory).is_absolute() else str(project / inventory)
    command = [str(BIN / "ansible-inventory"), "-i", source, "--list", "--export"]
    listed = subprocess.run(command, cwd=project, env=env, check=True, capture_output=True, text=True)
    _write(pdd / "inventory" / "hosts", awx_job.inventory_script(json.loads(listed.stdout)), 0o700)


def prepare(args, pdd: Path):
    """Write the private data dir; returns (playbook, template, job id, secrets given)."""
    secrets = {var: _read(getattr(args, opt)) for opt, var in SECRET_OPTIONS.items() if getattr(args, opt)}
    tasks = controller_config.awx_tasks(extra_vars=secrets)
    template = find_template(args.template, tasks)
    prompts = awx_job.Prompts(args.limit, args.tags, args.skip_tags).resolve(template)
    answers = awx_job.launch_answers(template, typed_answers(template, args.answer))
    extra_vars = awx_job.job_extra_vars(template, answers)
    machine, vault, custom = job_credentials(template, tasks)
    job_id = int(time.time())

    copy_project(args.project_src, pdd / "project")
    env = awx_job.build_env(pdd, job_id, dict(pair.split("=", 1) for pair in args.task_env))
    install_collections(pdd, clean_environ() | env)
    write_inventory(pdd, args.inventory, clean_environ() | env)

    meta = awx_job.meta_vars(job_id, template["name"], args.inventory, "")
    _write(pdd / "env" / "extravars", awx_job.extravars_file(template, extra_vars | meta, args.jinja_in_extra_vars))
    cmdline = awx_job.build_args(template, prompts, machine, sorted(vault))
    for credential_type, inputs in custom:
        injection = awx_job.inject_credential(credential_type, inputs, pdd)
        env.update(injection.env)
        cmdline += injection.args
    _write(pdd / "env" / "envvars", yaml.safe_dump(env))
    _write(pdd / "env" / "cmdline", args2cmdline(*cmdline))
    if vault:
        _write(pdd / "env" / "passwords", json.dumps(awx_job.vault_prompts(vault)))
    if machine and machine.get("ssh_key_data"):
        key = machine["ssh_key_data"]
        _write(pdd / "env" / "ssh_key", key if key.endswith("\n") else key + "\n")
    settings = {"job_timeout": template.get("timeout") or 0, "suppress_ansible_output": args.quiet}
    _write(pdd / "env" / "settings", json.dumps(settings | {"suppress_output_file": False}))
    return args.playbook or template["playbook"], template, job_id, secrets


def _read(path: Path) -> str:
    """A secret file's content; a trailing newline is kept only where it belongs (a private key)."""
    text = Path(path).read_text()
    return text if "PRIVATE KEY" in text else text.rstrip("\n")


def _write(path: Path, content: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    path.chmod(mode)


def remove_secret_files(pdd: Path) -> None:
    """What AWX deletes with the private data dir; the artifacts stay for inspection."""
    for name in ("passwords", "ssh_key"):
        (pdd / "env" / name).unlink(missing_ok=True)
    for path in (pdd / "env").glob("tmp*"):
        path.unlink()


def report(result, pdd: Path, secrets: dict, markers: list[str]) -> int:
    print(f"rc={result.rc} status={result.status} artifacts={pdd / 'artifacts'}")
    stats = result.stats or {}
    hosts = sorted({h for counts in stats.values() if isinstance(counts, dict) for h in counts})
    columns = ("ok", "changed", "failures", "dark", "skipped")
    print(f"{'host':30} " + " ".join(f"{c:>8}" for c in columns))
    for host in hosts:
        print(f"{host:30} " + " ".join(f"{stats.get(c, {}).get(host, 0):>8}" for c in columns))
    leaked = 0
    for var, value in secrets.items():
        probe = max(value.strip().splitlines(), key=len)
        hits = awx_job.grep_artifacts(pdd, probe)
        leaked += len(hits)
        print(f"secret {var}: {len(hits)} occurrence(s) in the artifacts" + "".join(f"\n  {f}:{n}" for f, n in hits))
    for marker in markers:
        hits = awx_job.grep_artifacts(pdd, marker)
        print(f"marker {marker!r}: {len(hits)} occurrence(s)" + "".join(f"\n  {f}:{n}" for f, n in hits))
    return 3 if leaked else (result.rc or 0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("template", help="job template name, or a unique part of it (e.g. Plan)")
    parser.add_argument("--inventory", default="inventories/lab", help="inventory path, relative to the project")
    parser.add_argument("--answer", action="append", default=[], metavar="VAR=VALUE", help="a survey answer")
    parser.add_argument("--limit", default="")
    parser.add_argument("--tags", help="job tags (templates that prompt for them)")
    parser.add_argument("--skip-tags")
    parser.add_argument("--ssh-key", type=Path, help="private key of the machine credential")
    parser.add_argument("--vault-password-file", type=Path, help="password of the vault credential")
    parser.add_argument("--ceph-key-file", type=Path, help="key of the Ceph client key credential")
    parser.add_argument("--task-env", action="append", default=[], metavar="KEY=VALUE", help="as AWX_TASK_ENV")
    parser.add_argument("--jinja-in-extra-vars", choices=("template", "never", "always"), default="template")
    parser.add_argument("--project-src", type=Path, default=controller_config.REPO)
    parser.add_argument("--playbook", help="run this playbook instead of the template's (smoke tests only)")
    parser.add_argument("--private-data-dir", type=Path, help="new or empty directory (default: a new one in /tmp)")
    parser.add_argument(
        "--grep", action="append", default=[], metavar="MARKER", help="report where MARKER is in the artifacts"
    )
    parser.add_argument("--prepare-only", action="store_true", help="write the private data dir, do not run")
    parser.add_argument("--quiet", action="store_true", help="no live playbook output")
    args = parser.parse_args(argv)
    if any("=" not in pair for pair in args.task_env):
        parser.error("--task-env: expected KEY=VALUE")

    pdd = args.private_data_dir or Path(tempfile.mkdtemp(prefix="kvmops-awx-job-"))
    if pdd.exists() and any(pdd.iterdir()):
        raise SystemExit(f"{pdd} is not empty")
    pdd.mkdir(parents=True, exist_ok=True)
    try:
        playbook, template, job_id, secrets = prepare(args, pdd)
    except awx_job.LaunchError as e:
        raise SystemExit(f"AWX would refuse this launch: {e}") from None
    print(f"template {template['name']!r}: playbook {playbook}, private data dir {pdd}")
    if args.prepare_only:
        return 0
    environ = clean_environ()
    os.environ.clear()
    os.environ.update(environ)
    try:
        result = ansible_runner.run(
            private_data_dir=str(pdd),
            playbook=playbook,
            inventory=str(pdd / "inventory" / "hosts"),
            ident=str(job_id),
            fact_cache_type="jsonfile" if template.get("use_fact_cache") else "",
        )
    finally:
        remove_secret_files(pdd)
    return report(result, pdd, secrets, args.grep)


if __name__ == "__main__":
    sys.exit(main())
