"""What AWX writes for a job of a job template, as pure functions.

Each function follows the AWX code named in its docstring (ansible/awx,
awx/main/...), so a job started by tests/awx/run_template.py gets the same
extra vars file, command line, environment and credential injections as
the job AWX would start from the same template and survey answers. Only the
paths differ: AWX runs inside the execution environment with the private
data dir at /runner, the harness runs on this machine with the real path.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

JOB_VARIABLE_PREFIXES = ("awx", "tower")
# awx/settings/defaults.py: every ANSIBLE_* setting goes into a job's environment.
AWX_ANSIBLE_SETTINGS = {
    "ANSIBLE_HOST_KEY_CHECKING": "False",
    "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": "False",
    "ANSIBLE_FORCE_COLOR": "True",
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
}
# RunJob.build_env: (variable, ansible.cfg key, private data dir folder, Ansible's default).
_COLLECTIONS = "~/.ansible/collections:/usr/share/ansible/collections"
_ROLES = "~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles"
_PATH_VARS = (
    ("ANSIBLE_COLLECTIONS_PATHS", "collections_paths", "requirements_collections", _COLLECTIONS),
    ("ANSIBLE_ROLES_PATH", "roles_path", "requirements_roles", _ROLES),
    ("ANSIBLE_COLLECTIONS_PATH", "collections_path", "requirements_collections", _COLLECTIONS),
)


class LaunchError(ValueError):
    """AWX would refuse to launch the job (survey answer, prompt, credential)."""


class _UnsafeDumper(yaml.SafeDumper):
    def represent_data(self, data):
        if isinstance(data, str):
            return self.represent_scalar("!unsafe", data)
        return super().represent_data(data)


def safe_dump(data: dict, safe_dict: dict | None = None) -> str:
    """awx/main/utils/safe_yaml.py: each top-level key is `!unsafe` unless safe_dict has it, same value."""
    safe_dict = safe_dict or {}
    parts = []
    for key, value in data.items():
        dumper = yaml.SafeDumper if key in safe_dict and safe_dict[key] == value else _UnsafeDumper
        parts.append(yaml.dump_all([{key: value}], None, Dumper=dumper, default_flow_style=False))
    return "".join(parts)


def _choices(question) -> list:
    choices = question.get("choices") or []
    return [c for c in choices.splitlines() if c.strip()] if isinstance(choices, str) else list(choices)


def answer_errors(question: dict, data: dict) -> list[str]:
    """models/mixins.py _survey_element_validation, for one question."""
    var, qtype = question["variable"], question["type"]
    if var not in data:
        return [f"'{var}' value missing"] if question.get("required") else []
    value = data[var]
    low, high = question.get("min"), question.get("max")
    if qtype in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return [f"Value {value} for '{var}' expected to be a string."]
        size = len(value)
    elif qtype in ("integer", "float"):
        numeric = (int,) if qtype == "integer" else (int, float)
        if type(value) not in numeric:
            return [
                f"Value {value} for '{var}' expected to be {'an integer' if qtype == 'integer' else 'a numeric type'}."
            ]
        size = value
    elif qtype == "multiselect":
        if not isinstance(value, list):
            return [f"'{var}' value is expected to be a list."]
        return [
            f"Value {v} for '{var}' expected to be one of {_choices(question)}."
            for v in value
            if v not in _choices(question)
        ]
    else:  # multiplechoice
        return (
            []
            if value in _choices(question)
            else [f"Value {value} for '{var}' expected to be one of {_choices(question)}."]
        )
    errors = []
    if low not in ("", None) and size < int(low):
        errors.append(f"'{var}' value {value} is too small (must be at least {low}).")
    if high not in ("", None) and size > int(high):
        errors.append(f"'{var}' value {value} is too large (must be no more than {high}).")
    return errors


def survey_questions(template: dict) -> list[dict]:
    return (template.get("survey_spec") or {}).get("spec", []) if template.get("survey_enabled") else []


def launch_answers(template: dict, answers: dict) -> dict:
    """What AWX's launch dialog sends: every question's default, overridden by the answers given."""
    defaults = {q["variable"]: q["default"] for q in survey_questions(template) if q.get("default") not in (None, "")}
    return defaults | answers


def job_extra_vars(template: dict, answers: dict) -> dict:
    """The job's extra_vars: JT extra_vars, then valid survey defaults, then the answers.

    models/mixins.py _update_unified_job_kwargs and _accept_or_ignore_variables:
    an answer failing its question, a required question left unanswered, or a
    variable no question asks for (ask_variables_on_launch off) refuses the launch.
    """
    questions = survey_questions(template)
    if not template.get("ask_variables_on_launch"):
        refused = sorted(set(answers) - {q["variable"] for q in questions})
        if refused:
            raise LaunchError(
                f"variables not allowed on launch (no survey question asks for them): {', '.join(refused)}"
            )
    errors = [e for q in questions for e in answer_errors(q, answers)]
    if errors:
        raise LaunchError("; ".join(errors))
    extra_vars = dict(template.get("extra_vars") or {})
    for question in questions:
        default = {question["variable"]: question.get("default")}
        if default[question["variable"]] is not None and not answer_errors(question, default):
            extra_vars.update(default)
    return extra_vars | answers


def meta_vars(job_id: int, template_name: str, inventory_name: str, branch: str) -> dict:
    """models/jobs.py awx_meta_vars: what every AWX job gets as awx_* and tower_* extra vars."""
    values = {
        "job_id": job_id, "job_launch_type": "manual", "user_name": "kvmops-harness",
        "inventory_id": 1, "inventory_name": inventory_name, "project_revision": "",
        "project_scm_branch": branch, "job_template_id": 1, "job_template_name": template_name,
    }  # fmt: skip
    return {f"{prefix}_{key}": value for prefix in JOB_VARIABLE_PREFIXES for key, value in values.items()}


def extravars_file(template: dict, extra_vars: dict, jinja_in_extra_vars: str = "template") -> str:
    """tasks/jobs.py build_extra_vars_file: only the JT's own extra_vars may carry Jinja."""
    if jinja_in_extra_vars == "always":
        return yaml.safe_dump(extra_vars)
    safe = (template.get("extra_vars") or {}) if jinja_in_extra_vars == "template" else {}
    return safe_dump(extra_vars, safe)


@dataclass
class Prompts:
    """Values given at launch, accepted only where the template prompts for them (ask_*_on_launch)."""

    limit: str = ""
    job_tags: str | None = None
    skip_tags: str | None = None

    def resolve(self, template: dict) -> dict:
        resolved = {k: template.get(k) or "" for k in ("limit", "job_tags", "skip_tags")}
        for key, asked in (
            ("limit", "ask_limit_on_launch"),
            ("job_tags", "ask_tags_on_launch"),
            ("skip_tags", "ask_skip_tags_on_launch"),
        ):
            value = getattr(self, key)
            if value in (None, ""):
                continue
            if not template.get(asked):
                raise LaunchError(f"the template does not prompt for {key} ({asked} is off)")
            resolved[key] = value
        return resolved


def build_args(template: dict, prompts: dict, machine: dict | None, vault_ids: list[str]) -> list[str]:
    """tasks/jobs.py RunJob.build_args: the ansible-playbook options of a job, before credential injection."""
    machine = machine or {}
    args = ["--check"] if template.get("job_type") == "check" else []
    args += ["-u", machine.get("username") or "root"]
    if template.get("become_enabled"):
        args.append("--become")
    if template.get("diff_mode"):
        args.append("--diff")
    if machine.get("become_method"):
        args += ["--become-method", machine["become_method"]]
    if machine.get("become_username"):
        args += ["--become-user", machine["become_username"]]
    for vault_id in vault_ids:
        args += ["--ask-vault-pass"] if vault_id == "" else ["--vault-id", f"{vault_id}@prompt"]
    if template.get("forks"):
        args.append(f"--forks={template['forks']}")
    if template.get("force_handlers"):
        args.append("--force-handlers")
    if prompts.get("limit"):
        args += ["-l", prompts["limit"]]
    if template.get("verbosity"):
        args.append("-" + "v" * min(5, template["verbosity"]))
    if prompts.get("job_tags"):
        args += ["-t", prompts["job_tags"]]
    if prompts.get("skip_tags"):
        args.append(f"--skip-tags={prompts['skip_tags']}")
    return args


def vault_prompts(passwords: dict[str, str]) -> dict[str, str]:
    """RunJob.get_password_prompts for vault passwords: prompt regex -> answer (ansible-runner's env/passwords)."""
    prompts = {}
    for vault_id, password in passwords.items():
        prompts[r"Vault password:\s*?$" if vault_id == "" else rf"Vault password \({re.escape(vault_id)}\):\s*?$"] = (
            password
        )
    return prompts


@dataclass
class Injection:
    """What one credential of a custom type adds to a job (models/credential.py inject_credential)."""

    env: dict = field(default_factory=dict)
    args: list = field(default_factory=list)
    files: list = field(default_factory=list)


def inject_credential(credential_type: dict, inputs: dict, private_data_dir: Path) -> Injection:
    """Render a custom credential type's injectors like AWX: file, then env, then extra_vars (-e @file)."""
    sandbox = ImmutableSandboxedEnvironment()
    tower = type("TowerNamespace", (), {})()
    namespace = {"tower": tower}
    for input_field in (credential_type.get("inputs") or {}).get("fields", []):
        value = inputs.get(input_field["id"])
        if input_field.get("type") == "boolean":
            namespace[input_field["id"]] = bool(value)
        elif value not in (None, ""):
            namespace[input_field["id"]] = value
    injectors = credential_type.get("injectors") or {}
    env_dir = private_data_dir / "env"
    env_dir.mkdir(parents=True, exist_ok=True)
    result = Injection()
    for label, template in (injectors.get("file") or {}).items():
        path = _private_file(env_dir, sandbox.from_string(template).render(**namespace), stat.S_IRUSR | stat.S_IWUSR)
        result.files.append(path)
        if "." not in label:
            tower.filename = str(path)
        else:
            if not hasattr(tower, "filename"):
                tower.filename = type("TowerNamespace", (), {})()
            setattr(tower.filename, label.split(".", 1)[1], str(path))
    for name, template in (injectors.get("env") or {}).items():
        result.env[name] = sandbox.from_string(template).render(**namespace)
    extra_vars = _render_tree(sandbox, injectors.get("extra_vars") or {}, namespace)
    if extra_vars:
        path = _private_file(env_dir, safe_dump(extra_vars), stat.S_IRUSR)
        result.files.append(path)
        result.args += ["-e", f"@{path}"]
    return result


def _render_tree(sandbox, node, namespace):
    if isinstance(node, dict):
        return {_render_tree(sandbox, k, namespace): _render_tree(sandbox, v, namespace) for k, v in node.items()}
    if isinstance(node, list):
        return [_render_tree(sandbox, v, namespace) for v in node]
    return sandbox.from_string(node).render(**namespace)


def _private_file(directory: Path, content: str, mode: int) -> Path:
    handle, name = tempfile.mkstemp(dir=directory)
    with os.fdopen(handle, "w") as f:
        f.write(content)
    os.chmod(name, mode)
    return Path(name)


def ansible_config_values(project_dir: Path, names) -> dict:
    """utils/ansible.py read_ansible_config: [defaults] of /etc/ansible/ansible.cfg and the project's."""
    parser = configparser.ConfigParser()
    parser.read(["/etc/ansible/ansible.cfg", str(project_dir / "ansible.cfg")])
    defaults = parser["defaults"] if parser.has_section("defaults") else {}
    return {name: defaults[name] for name in names if name in defaults}


def build_env(private_data_dir: Path, job_id: int, task_env: dict | None = None) -> dict:
    """BaseTask.build_env + RunJob.build_env: AWX settings, job ids, control path and content paths."""
    env = dict(AWX_ANSIBLE_SETTINGS)
    env.update(task_env or {})
    env["AWX_PRIVATE_DATA_DIR"] = str(private_data_dir)
    env.update(
        {"JOB_ID": str(job_id), "INVENTORY_ID": "1", "PROJECT_REVISION": "", "ANSIBLE_RETRY_FILES_ENABLED": "False"}
    )
    env.update({"MAX_EVENT_RES": "700000", "AWX_HOST": "https://awx.invalid"})
    (private_data_dir / "cp").mkdir(mode=0o700, exist_ok=True)
    env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(private_data_dir / "cp")
    config = ansible_config_values(private_data_dir / "project", [path_var[1] for path_var in _PATH_VARS])
    for env_key, setting, folder, default in _PATH_VARS:
        paths = default.split(":")
        given = env[env_key] if env_key in env else config.get(setting)
        for path in given.split(":") if given else []:
            if path not in paths:
                paths = [given, *paths]  # as AWX does: the whole value, once per path it lacks
        env[env_key] = os.pathsep.join([str(private_data_dir / folder), *paths])
    return env


def inventory_script(inventory: dict) -> str:
    """BaseTask.write_inventory_file: the inventory as a script that prints its JSON."""
    return f"#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint({json.dumps(inventory)!r})\n"


def grep_artifacts(private_data_dir: Path, marker: str) -> list[tuple[str, int]]:
    """(file, line) of every occurrence of marker in the job's artifacts: events, stdout, fact cache."""
    hits = []
    root = Path(private_data_dir) / "artifacts"
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", "replace")
        hits += [
            (str(path.relative_to(private_data_dir)), n)
            for n, line in enumerate(text.splitlines(), 1)
            if marker in line
        ]
    return hits
