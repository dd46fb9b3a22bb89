"""Print a few lines saying why a CI stage failed, for the very end of CI's output.

CI shows only the tail of what `make test` printed, so the summary must carry
the cause itself: which Molecule scenario, in which step and task, with which
message; or which pytest tests failed. Full logs stay in build/logs.

    python3 tests/ci/why_failed.py STAGE STAGE_LOG [MAX_LINES]
"""

import json
import re
import sys
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Molecule prints "kvm_host ➜ converge: Executing" in colour and
# "[kvm_host > converge] Executing" without (CI sets NO_COLOR).
STEP = re.compile(r"(?:➜|>)\s*([a-z_]+)(?:\]|:|\s*$)")
BOX = re.compile(r"^\s*│ ?")
TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(.*)\]")
# A host that stops answering is "fatal: [h]: UNREACHABLE! => ...", not FAILED!.
FATAL = re.compile(r"^(?:fatal|failed): \[([^\]]+)\].*?(?:FAILED|UNREACHABLE)! => (.*)$")
WIDTH = 220


def clean(path):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as exc:
        return [f"(cannot read {path}: {exc.strerror})"]
    # Molecule 6+ draws a box rule before each line of ansible-playbook's output.
    return [BOX.sub("", ANSI.sub("", line)).rstrip() for line in text.splitlines()]


def short(text):
    text = " ".join(text.split())
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def fatal_message(payload):
    """The msg of Ansible's `FAILED! => {...}` JSON, with the end of stderr for a failed
    command (its msg alone, "non-zero return code", says nothing); else the raw text."""
    try:
        data = json.loads(payload)
    except ValueError:
        return payload
    if not isinstance(data, dict):
        return payload
    parts = [str(data[key]) for key in ("msg", "module_stderr") if data.get(key)]
    stderr = str(data.get("stderr") or "").strip()
    if stderr:
        parts.append("stderr: …" + stderr[-160:] if len(stderr) > 160 else "stderr: " + stderr)
    return " | ".join(parts) or payload


def molecule_reasons(lines):
    """Why a Molecule scenario failed: the last failure before Molecule gave up.

    The last one, not the first: scenarios provoke failures on purpose (rescued
    or expected), and the one that stopped the run is the latest before
    Molecule's "Executed: Failed".
    """
    gave_up = (i for i, line in enumerate(lines) if "Executed: Failed" in line or line.startswith("CRITICAL Ansible"))
    end = next(gave_up, len(lines))
    step = None
    for line in lines[:end]:
        found = STEP.search(line) if ("Executing" in line or line.startswith("INFO")) else None
        if found:
            step = found.group(1)
    for i in range(end - 1, -1, -1):
        line = lines[i]
        if "Idempotence test failed" in line:
            changed = [short(t) for t in lines[i + 1 : i + 6] if t.strip().startswith("*")]
            return ["idempotence: these tasks changed on the second converge:"] + ["  " + t for t in changed]
        if line.startswith(("FAILED ", "ERROR tests/")) and "➜" not in line:
            failed = [short(t) for t in lines[:end] if t.startswith(("FAILED ", "ERROR tests/")) and "➜" not in t]
            return [f"step {step}: {len(failed)} test(s) failed:"] + ["  " + t for t in failed]
        found = FATAL.match(line)
        if found and lines[i + 1 : i + 2] != ["...ignoring"]:
            # Molecule folds long lines: the JSON goes on until a blank line.
            payload = [found.group(2)]
            for more in lines[i + 1 :]:
                if not more.strip():
                    break
                payload.append(more.strip())
            task = next((TASK.match(t).group(1) for t in reversed(lines[:i]) if TASK.match(t)), None)
            return [
                f"step {step}, task [{task}] on {found.group(1)}:",
                "  " + short(fatal_message(" ".join(payload))),
            ]
    tail = [short(t) for t in lines[:end] if t.strip()][-2:]
    return [f"step {step}: no failed task found; log ends:"] + ["  " + t for t in tail]


def pytest_reasons(lines):
    """pytest's FAILED/ERROR ids, or ansible-test's "ERROR: path:line: ..." lines; else the end."""
    failed = [short(line) for line in lines if line.startswith(("FAILED ", "ERROR ", "ERROR: "))]
    if failed:
        return failed
    return [short(t) for t in lines if t.strip()][-3:]


def main(argv):
    stage, stage_log = argv[1], argv[2]
    limit = int(argv[3]) if len(argv) > 3 else 10
    out = []
    if stage.startswith("molecule"):
        # molecule-lanes.sh's list of failed scenarios: molecule-failed.txt for
        # `make molecule`, molecule-early-failed.txt for make test's stage molecule-early...
        failed = Path(f"build/logs/{stage}-failed.txt")
        names = failed.read_text().split() if failed.exists() else []
        for name in names:
            out.append(f"molecule {name} FAILED (build/logs/molecule-{name}.log)")
            out += ["  " + r for r in molecule_reasons(clean(f"build/logs/molecule-{name}.log"))]
        if not names:
            out += pytest_reasons(clean(stage_log))
    else:
        out += pytest_reasons(clean(stage_log))
    if len(out) > limit:
        out = out[: limit - 1] + [f"… {len(out) - limit + 1} more lines in build/logs"]
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv)
