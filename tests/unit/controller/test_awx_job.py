"""The pure parts of the AWX job harness (tests/awx/awx_job.py): what AWX writes for a job.

Expected values come from the AWX code each function follows; the last
tests feed the harness's extra vars file to Ansible's own loader and templar,
so the survey answers of controller.yml's real templates are shown to reach
the roles as booleans under the ansible-core this repository pins.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from awx_job import (
    LaunchError,
    Prompts,
    build_args,
    build_env,
    extravars_file,
    grep_artifacts,
    inject_credential,
    inventory_script,
    job_extra_vars,
    launch_answers,
    safe_dump,
    vault_prompts,
)
from controller_config import tasks_of

TEMPLATE = {
    "name": "t",
    "playbook": "site.yml",
    "extra_vars": {"jt_var": "jt", "mapped": "{{ answer | bool }}"},
    "survey_enabled": True,
    "survey_spec": {
        "name": "s",
        "description": "",
        "spec": [
            {
                "variable": "serial",
                "type": "multiplechoice",
                "choices": ["1", "100%"],
                "default": "100%",
                "required": True,
            },
            {"variable": "fails", "type": "integer", "min": 0, "max": 100, "default": 0, "required": True},
            {
                "variable": "answer",
                "type": "multiplechoice",
                "choices": ["no", "yes"],
                "default": "no",
                "required": True,
            },
        ],
    },
}


def load_extravars(text: str, tmp_path) -> dict:
    """Ansible's reading of an extra vars file (`-e @file`), then its templating of each value."""
    path = tmp_path / "extravars"
    path.write_text(text)
    loader = DataLoader()
    data = loader.load_from_file(str(path), trusted_as_template=True)
    templar = Templar(loader=loader, variables=data)
    return {key: templar.template(value) for key, value in data.items()}


def test_safe_dump_marks_all_but_the_template_s_own_values_unsafe():
    text = safe_dump({"a": "b", "c": "d", "n": 5}, safe_dict={"a": "b", "c": "other"})
    assert text == "a: b\n!unsafe 'c': !unsafe 'd'\n!unsafe 'n': 5\n"


def test_job_extra_vars_layers_template_defaults_and_answers():
    extra_vars = job_extra_vars(TEMPLATE, launch_answers(TEMPLATE, {"serial": "1"}))
    assert extra_vars == {"jt_var": "jt", "mapped": "{{ answer | bool }}", "serial": "1", "fails": 0, "answer": "no"}
    optional = {**TEMPLATE, "survey_spec": {**TEMPLATE["survey_spec"]}}
    optional["survey_spec"]["spec"] = [{**q, "required": False} for q in TEMPLATE["survey_spec"]["spec"]]
    assert job_extra_vars(optional, {"fails": 3}) == {**extra_vars, "serial": "100%", "fails": 3}


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"serial": "7"}, "expected to be one of"),
        ({"fails": 101}, "too large"),
        ({"fails": "3"}, "expected to be an integer"),
        ({"mapped": "{{ lookup('pipe', 'id') }}"}, "not allowed on launch"),
    ],
)
def test_job_extra_vars_refuses_what_awx_refuses(answers, message):
    with pytest.raises(LaunchError, match=message):
        job_extra_vars(TEMPLATE, launch_answers(TEMPLATE, answers))


def test_a_required_question_needs_an_answer_unless_the_dialog_fills_its_default():
    with pytest.raises(LaunchError, match="'serial' value missing"):
        job_extra_vars(TEMPLATE, {})
    assert launch_answers(TEMPLATE, {"fails": 5}) == {"serial": "100%", "fails": 5, "answer": "no"}


def test_extravars_file_lets_jinja_through_only_from_the_template(tmp_path):
    extra_vars = job_extra_vars(TEMPLATE, launch_answers(TEMPLATE, {}))
    text = extravars_file(TEMPLATE, extra_vars)
    assert "mapped: '{{ answer | bool }}'" in text and "!unsafe 'serial': !unsafe '100%'" in text
    assert "!unsafe 'mapped'" in extravars_file(TEMPLATE, extra_vars, "never")
    assert "!unsafe" not in extravars_file(TEMPLATE, extra_vars, "always")


def test_build_args_like_runjob():
    template = {**TEMPLATE, "job_type": "check", "diff_mode": True, "job_tags": "kvm_host"}
    prompts = Prompts(limit="rack_a01").resolve({**template, "ask_limit_on_launch": True})
    machine = {"username": "deploy", "become_method": "sudo"}
    assert build_args(template, prompts, machine, [""]) == [
        "--check", "-u", "deploy", "--diff", "--become-method", "sudo",
        "--ask-vault-pass", "-l", "rack_a01", "-t", "kvm_host",
    ]  # fmt: skip
    assert build_args(TEMPLATE, {}, None, ["prod"]) == ["-u", "root", "--vault-id", "prod@prompt"]


def test_prompts_only_where_the_template_asks():
    assert Prompts(job_tags="kvm_ovs").resolve({"ask_tags_on_launch": True, "job_tags": "kvm_host_preflight"}) == {
        "limit": "",
        "job_tags": "kvm_ovs",
        "skip_tags": "",
    }
    assert Prompts().resolve({"job_tags": "kvm_host_preflight"})["job_tags"] == "kvm_host_preflight"
    with pytest.raises(LaunchError, match="does not prompt for limit"):
        Prompts(limit="hv1").resolve({})


def test_vault_prompts_answer_ansible_playbook_s_questions():
    assert vault_prompts({"": "pw", "prod": "pw2"}) == {
        r"Vault password:\s*?$": "pw",
        r"Vault password \(prod\):\s*?$": "pw2",
    }


def test_injectors_render_files_env_and_extra_vars_like_awx(tmp_path):
    credential_type = {
        "inputs": {"fields": [{"id": "token", "type": "string", "secret": True}, {"id": "flag", "type": "boolean"}]},
        "injectors": {
            "file": {"template.conf": "token={{ token }}", "template.flag": "{{ flag }}"},
            "env": {"TOKEN_FILE": "{{ tower.filename.conf }}"},
            "extra_vars": {"my_token": "{{ token }}", "nested": ["{{ flag }}"]},
        },
    }
    injection = inject_credential(credential_type, {"token": "s3cret{{ x }}"}, tmp_path)
    conf, flag, extra = injection.files
    assert conf.read_text() == "token=s3cret{{ x }}" and flag.read_text() == "False"
    assert injection.env == {"TOKEN_FILE": str(conf)}
    assert injection.args == ["-e", f"@{extra}"]
    assert stat.S_IMODE(extra.stat().st_mode) == 0o400 and extra.parent == tmp_path / "env"
    assert yaml.safe_load(extra.read_text().replace("!unsafe ", "")) == {
        "my_token": "s3cret{{ x }}",
        "nested": ["False"],
    }


def test_the_ceph_credential_reaches_kvm_ceph_untemplated(tmp_path):
    """The real credential type: Ansible reads the key as given, also one that looks like Jinja."""
    credential_type = tasks_of("credential_type")[0].args
    key = "AQD{{ lookup('pipe','id') }}=="
    injection = inject_credential(credential_type, {"ceph_client_key": key}, tmp_path)
    assert load_extravars(injection.files[-1].read_text(), tmp_path) == {"kvm_ceph_client_key": key}


@pytest.mark.parametrize("template", tasks_of("job_template"), ids=lambda t: t.label)
@pytest.mark.parametrize("choice", ["no", "yes"])
def test_survey_answers_reach_the_roles_as_booleans(template, choice, tmp_path):
    """Every reboot/restart switch a template maps from its survey is a bool in the job, for each choice."""
    args = template.args
    asked = {q["variable"] for q in args["survey_spec"]["spec"] if q.get("choices") == ["no", "yes"]}
    answers = launch_answers(args, dict.fromkeys(asked, choice))
    values = load_extravars(extravars_file(args, job_extra_vars(args, answers)), tmp_path)
    switches = [
        k for k in ("kvm_tuning_reboot_ok", "kvm_hardening_reboot_ok", "kvm_guests_restart_on_change") if k in values
    ]
    assert switches, "the template maps no reboot/restart switch"
    for name in switches:
        assert isinstance(values[name], bool), f"{name} is {values[name]!r}"
        pinned = name in args["extra_vars"] and isinstance(args["extra_vars"][name], bool)
        assert values[name] is (args["extra_vars"][name] if pinned else choice == "yes"), name


def test_build_env_puts_the_job_s_collections_first(tmp_path):
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "ansible.cfg").write_text("[defaults]\ncollections_path = .cache/collections\n")
    env = build_env(tmp_path, 7)
    assert env["ANSIBLE_COLLECTIONS_PATH"].split(":")[:2] == [
        str(tmp_path / "requirements_collections"),
        ".cache/collections",
    ]
    assert env["ANSIBLE_HOST_KEY_CHECKING"] == "False" and env["JOB_ID"] == "7"
    assert (tmp_path / "cp").is_dir() and env["ANSIBLE_SSH_CONTROL_PATH_DIR"] == str(tmp_path / "cp")


def test_inventory_script_prints_the_inventory(tmp_path):
    inventory = {"_meta": {"hostvars": {"hv1": {"x": "it's {{ y }}"}}}, "all": {"children": ["hypervisors"]}}
    script = tmp_path / "hosts"
    script.write_text(inventory_script(inventory))
    printed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    assert json.loads(printed) == inventory


def test_grep_artifacts_finds_a_marker_anywhere_under_artifacts(tmp_path):
    events = tmp_path / "artifacts" / "1" / "job_events"
    events.mkdir(parents=True)
    (events / "3-a.json").write_text('{"stdout": "ok"}\n{"res": "MARKER-1"}\n')
    (tmp_path / "artifacts" / "1" / "stdout").write_text("MARKER-1 again\n")
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "extravars").write_text("MARKER-1\n")  # not an artifact
    assert grep_artifacts(tmp_path, "MARKER-1") == [("artifacts/1/job_events/3-a.json", 2), ("artifacts/1/stdout", 1)]
    assert grep_artifacts(tmp_path, "MARKER-2") == []
