"""tests/ci/why_failed.py: the lines CI's tail shows for a failed stage."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "ci" / "why_failed.py"
spec = importlib.util.spec_from_file_location("why_failed", SCRIPT)
why_failed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(why_failed)

# Shaped like Molecule 25's output: ANSI colours, a box rule before each
# ansible-playbook line, long JSON folded over several lines.
CONVERGE_LOG = """\x1b[36mINFO    \x1b[0m kvm_x ➜ \x1b[33mconverge\x1b[0m: Executing
  │ TASK [kvm_x : A check that is meant to fail] ****
  │ fatal: [lab-1]: FAILED! => {"changed": false, "msg": "expected"}
  │ ...ignoring
  │ TASK [kvm_x : A block whose failure is rescued] ****
  │ fatal: [lab-1]: FAILED! => {"changed": false, "msg": "rescued"}
  │
  │ TASK [kvm_x : Regenerate grub.cfg] ****
  │ fatal: [lab-1]: FAILED! => {"changed": true, "msg":
  │   "non-zero return code", "rc": 2, "stderr": "grub-mkconfig:
  │   cannot create /boot/grub/grub.cfg.new"}
  │
CRITICAL Ansible return code was 2, command was: ansible-playbook converge.yml
ERROR    kvm_x ➜ converge: Executed: Failed
"""

IDEMPOTENCE_LOG = """INFO     kvm_x ➜ idempotence: Executing
ERROR    Idempotence test failed because of the following tasks:
*  => kvm_x : Write sysctl file
*  => kvm_x : Restart libvirtd
ERROR    kvm_x ➜ idempotence: Executed: Failed
"""

VERIFY_LOG = """INFO     kvm_x ➜ verify: Executing
..F.
FAILED tests/test_x.py::test_pinning - AssertionError: vcpupin 0 -> 1
ERROR    kvm_x ➜ verify: Executed: Failed
"""


def reasons(tmp_path, text):
    log = tmp_path / "m.log"
    log.write_text(text)
    return why_failed.molecule_reasons(why_failed.clean(log))


def test_converge_names_step_task_host_and_the_failure_that_stopped_the_run(tmp_path):
    lines = reasons(tmp_path, CONVERGE_LOG)
    assert lines[0] == "step converge, task [kvm_x : Regenerate grub.cfg] on lab-1:"
    assert "non-zero return code" in lines[1]
    assert "cannot create /boot/grub/grub.cfg.new" in lines[1]


def test_idempotence_lists_the_tasks_that_changed(tmp_path):
    lines = reasons(tmp_path, IDEMPOTENCE_LOG)
    assert lines[0].startswith("idempotence:")
    assert any("Write sysctl file" in line for line in lines)
    assert any("Restart libvirtd" in line for line in lines)


def test_verify_lists_the_failed_tests(tmp_path):
    lines = reasons(tmp_path, VERIFY_LOG)
    assert lines[0] == "step verify: 1 test(s) failed:"
    assert "test_pinning" in lines[1]


def test_plain_molecule_output_as_ci_prints_it(tmp_path):
    # CI sets NO_COLOR: Molecule then writes "[scenario > step]" and no box rules.
    text = (
        "INFO     [kvm_x > converge] Executing\n"
        "TASK [kvm_x : Start libvirtd] ****\n"
        'fatal: [lab-1]: FAILED! => {"changed": false, "msg": "libvirtd did not answer"}\n'
        "\n"
        "ERROR    [kvm_x > converge] Executed: Failed\n"
    )
    assert reasons(tmp_path, text) == [
        "step converge, task [kvm_x : Start libvirtd] on lab-1:",
        "  libvirtd did not answer",
    ]


def test_an_unreachable_host_is_named_with_the_ssh_error(tmp_path):
    text = (
        "INFO     [kvm_x > prepare] Executing\n"
        "TASK [kvm_x : config | Set the settings in qemu.conf] ****\n"
        'fatal: [lab-1]: UNREACHABLE! => {"changed": false, "msg": "Failed to connect to the host via ssh: '
        'ssh: connect to host 198.51.100.27 port 22: Connection timed out", "unreachable": true}\n'
        "\n"
        "PLAY RECAP ****\n"
        "lab-1 : ok=14 changed=3 unreachable=1 failed=0\n"
        "ERROR    [kvm_x > prepare] Executed: Failed\n"
    )
    lines = reasons(tmp_path, text)
    assert lines[0] == "step prepare, task [kvm_x : config | Set the settings in qemu.conf] on lab-1:"
    assert "Connection timed out" in lines[1]


def test_pytest_stage_lists_failed_ids(tmp_path):
    log = tmp_path / "integration.log"
    log.write_text("....F\nFAILED tests/integration/test_a.py::test_b - boom\n1 failed, 4 passed\n")
    assert why_failed.pytest_reasons(why_failed.clean(log)) == ["FAILED tests/integration/test_a.py::test_b - boom"]


def test_sanity_stage_lists_ansible_test_errors(tmp_path):
    log = tmp_path / "sanity.log"
    log.write_text(
        'Running sanity test "shebang"\n'
        "ERROR: tests/ci/x.py:1:1: unexpected non-module shebang: b'#!/usr/bin/env python3'\n"
        "FATAL: The 1 sanity test(s) listed below (out of 24) failed.\n"
        "shebang\n"
    )
    assert why_failed.pytest_reasons(why_failed.clean(log)) == [
        "ERROR: tests/ci/x.py:1:1: unexpected non-module shebang: b'#!/usr/bin/env python3'"
    ]


def test_long_output_is_cut_to_the_limit(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    logs = tmp_path / "build" / "logs"
    logs.mkdir(parents=True)
    (logs / "molecule-failed.txt").write_text("a\nb\nc\n")
    for name in "abc":
        (logs / f"molecule-{name}.log").write_text(VERIFY_LOG)
    why_failed.main(["why_failed.py", "molecule", "unused.log", "5"])
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 5
    assert out[0].startswith("molecule a FAILED")
    assert out[-1].startswith("… ")
