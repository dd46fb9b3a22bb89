"""playbooks/controller.yml against the repository it configures a controller for.

The variable names the surveys set, the switches the templates map and the
variable the Ceph credential injects are the playbooks' and roles' own; the
playbooks and the inventory directory exist where AWX will look for them;
secrets only ever come from variables; the workflow is hypervisors, approval,
guests. Each check reads both sides, so renaming one side fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from controller_config import PLACEHOLDER_SECRETS, PLAYBOOK, REPO, awx_tasks, tasks_of
from jinja2 import Environment, meta

TASKS = awx_tasks()
TEMPLATES = {t.args["name"]: t.args for t in tasks_of("job_template", TASKS)}
WORKFLOW = tasks_of("workflow_job_template", TASKS)[0].args
NODES = [t.args for t in tasks_of("workflow_job_template_node", TASKS)]
# AWX lists a project's playbooks by this line pattern (awx/main/utils/ansible.py valid_playbook_re).
AWX_PLAYBOOK_LINE = re.compile(
    r"^\s*?-?\s*?(?:hosts|(ansible\.builtin\.)?include|(ansible\.builtin\.)?import_playbook):\s*?.*?$"
)
SWITCHES = ("kvm_tuning_reboot_ok", "kvm_hardening_reboot_ok", "kvm_guests_restart_on_change")


def role_option(name: str) -> dict:
    role = "kvm_" + name.split("_")[1]
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"]["main"]["options"][name]


def rollout_variables(playbook: str) -> set[str]:
    """The variables a playbook's serial and max_fail_percentage read."""
    text = (REPO / "playbooks" / playbook).read_text()
    lines = re.findall(r"^\s*(?:serial|max_fail_percentage):\s*(.+)$", text, re.M)
    return {v for line in lines for v in re.findall(r"\{\{\s*(\w+)", line)}


def asked(survey: dict) -> set[str]:
    return {q["variable"] for q in survey["spec"]}


def test_every_template_s_playbook_is_one_awx_lists():
    for name, template in TEMPLATES.items():
        playbook = REPO / template["playbook"]
        assert playbook.is_file(), f"{name}: {template['playbook']} is not in the repository"
        lines = playbook.read_text().splitlines()
        assert any(AWX_PLAYBOOK_LINE.match(line) for line in lines), f"{name}: AWX would not list {playbook}"


def test_the_inventory_source_is_the_project_s_prod_directory():
    source = tasks_of("inventory_source", TASKS)[0].args
    assert source["source"] == "scm" and source["source_path"] == "prod"
    assert (REPO / source["source_path"] / "hosts.yml").is_file()


@pytest.mark.parametrize(("name", "playbooks"), [
    ("kvmops | Site", ["hypervisors.yml", "guests.yml"]),
    ("kvmops | Hypervisors", ["hypervisors.yml"]),
    ("kvmops | Guests", ["guests.yml"]),
    ("kvmops | Role run (by tags)", ["hypervisors.yml", "guests.yml"]),
])  # fmt: skip
def test_surveys_ask_for_the_playbooks_own_rollout_variables(name, playbooks):
    wanted = set().union(*(rollout_variables(p) for p in playbooks))
    assert len(wanted) == 2 * len(playbooks), f"serial/max_fail_percentage of {playbooks} read {wanted}"
    assert wanted <= asked(TEMPLATES[name]["survey_spec"])


def test_the_workflow_survey_covers_both_parts():
    assert rollout_variables("hypervisors.yml") | rollout_variables("guests.yml") <= asked(WORKFLOW["survey_spec"])


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_switches_are_the_roles_bools_and_fed_by_the_template_s_survey(name):
    template = TEMPLATES[name]
    extra_vars = template["extra_vars"]
    assert not asked(template["survey_spec"]) & set(extra_vars), "a survey answer would replace a mapping"
    assert set(extra_vars) & set(SWITCHES), f"{name} maps no reboot/restart switch"
    for switch in set(extra_vars) & set(SWITCHES):
        option = role_option(switch)
        assert option["type"] == "bool" and option["default"] is False, switch
        value = extra_vars[switch]
        if isinstance(value, str):
            read = set(re.findall(r"\{\{\s*(\w+)", value))
            assert read and read <= asked(template["survey_spec"]), f"{switch} reads {read}, not a survey answer"
            assert value.rstrip(" }").endswith("| bool"), f"{switch} must become a bool: {value}"


def test_templates_that_run_the_roles_carry_their_switches():
    for name, template in TEMPLATES.items():
        runs_hypervisors = template["playbook"] in ("site.yml", "playbooks/hypervisors.yml")
        runs_guests = template["playbook"] in ("site.yml", "playbooks/guests.yml")
        keys = set(template["extra_vars"])
        assert not runs_hypervisors or {"kvm_tuning_reboot_ok", "kvm_hardening_reboot_ok"} <= keys, name
        assert not runs_guests or "kvm_guests_restart_on_change" in keys, name


def test_the_plan_checks_with_diffs_and_never_reboots():
    plan = next(t for n, t in TEMPLATES.items() if "Plan" in n)
    assert plan["job_type"] == "check" and plan["diff_mode"] is True
    assert (
        plan["extra_vars"]["kvm_tuning_reboot_ok"] is False and plan["extra_vars"]["kvm_hardening_reboot_ok"] is False
    )


def test_the_role_run_prompts_for_tags_and_defaults_to_a_read_only_one():
    role_run = TEMPLATES["kvmops | Role run (by tags)"]
    assert role_run["ask_tags_on_launch"] is True
    main = (REPO / "roles" / "kvm_host" / "tasks" / "main.yml").read_text()
    assert re.search(rf"import_tasks: preflight\.yml\n\s+tags: \[kvm_host, {role_run['job_tags']}\]", main)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_templates_prompt_only_for_limit_tags_and_the_survey(name):
    template = TEMPLATES[name]
    assert template["ask_limit_on_launch"] is True and template["ask_variables_on_launch"] is False
    assert template["allow_simultaneous"] is False and template["become_enabled"] is False


def test_the_ceph_credential_injects_the_variable_kvm_ceph_reads():
    credential_type = tasks_of("credential_type", TASKS)[0].args
    fields = {f["id"]: f for f in credential_type["inputs"]["fields"]}
    injected = credential_type["injectors"]["extra_vars"]
    assert list(injected) == ["kvm_ceph_client_key"]
    assert role_option("kvm_ceph_client_key")["no_log"] is True
    defaults = yaml.safe_load((REPO / "roles" / "kvm_ceph" / "defaults" / "main.yml").read_text())
    assert "kvm_ceph_client_key" in defaults
    used = meta.find_undeclared_variables(Environment().parse(injected["kvm_ceph_client_key"]))
    assert used == {"ceph_client_key"} and fields["ceph_client_key"]["secret"] is True
    assert credential_type["inputs"]["required"] == ["ceph_client_key"]


def test_only_templates_running_kvm_ceph_carry_the_ceph_key():
    ceph = tasks_of("credential", TASKS)[-1].args["name"]
    for name, template in TEMPLATES.items():
        runs_ceph = template["playbook"] in ("site.yml", "playbooks/hypervisors.yml")
        assert (ceph in template["credentials"]) is runs_ceph, name


def test_every_template_credential_is_defined():
    defined = {t.args["name"] for t in tasks_of("credential", TASKS)}
    for name, template in TEMPLATES.items():
        assert set(template["credentials"]) <= defined, name


def test_secrets_come_from_variables_and_are_never_logged():
    for task in tasks_of("credential", TASKS):
        assert task.no_log, f"{task.name} would log its inputs"
        secret_inputs = [v for v in task.args["inputs"].values() if v in PLACEHOLDER_SECRETS.values()]
        assert len(secret_inputs) == 1, f"{task.name}: its secret must come from one of {sorted(PLACEHOLDER_SECRETS)}"
    sources = [PLAYBOOK, *sorted((REPO / "controller").rglob("*"))]
    for path in (p for p in sources if p.is_file()):
        text = path.read_text()
        for secret in ("PRIVATE KEY", "$ANSIBLE_VAULT", *PLACEHOLDER_SECRETS):
            if secret in PLACEHOLDER_SECRETS:
                assert f"{secret}:" not in text, f"{path} defines the secret {secret}"
            else:
                assert secret not in text, f"{path} holds {secret!r}"


def test_the_workflow_runs_hypervisors_then_an_approval_then_guests():
    by_id = {n["identifier"]: n for n in NODES}
    roots = set(by_id) - {s for n in NODES for s in n.get("success_nodes", [])}
    chain, node = [], by_id[roots.pop()]
    while node:
        chain.append(node.get("unified_job_template") or "approval")
        following = node.get("success_nodes", [])
        node = by_id[following[0]] if following else None
    assert chain == ["kvmops | Hypervisors", "approval", "kvmops | Guests"]
    created = []
    for n in NODES:
        assert set(n.get("success_nodes", [])) <= set(created), f"{n['identifier']} names a node not made yet"
        created.append(n["identifier"])
    assert WORKFLOW["ask_limit_on_launch"] is True and WORKFLOW["allow_simultaneous"] is False


def test_the_controller_files_are_small_and_commented():
    for path in [PLAYBOOK, *sorted((REPO / "controller" / "vars").glob("*.yml"))]:
        lines = Path(path).read_text().splitlines()
        assert lines[0] == "---" and lines[1].startswith("#"), f"{path} starts without --- and a comment"
        assert len(lines) < 400, f"{path} has {len(lines)} lines"
