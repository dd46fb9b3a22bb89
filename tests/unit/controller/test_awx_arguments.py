"""Every awx.awx task of playbooks/controller.yml against that module's own argument spec.

The awx.awx modules build their argument spec inside main() and hand it to
ControllerAPIModule, whose constructor would log in to a controller. Here
the class is replaced, for the length of one main() call, by one that keeps
the spec and stops; the spec is then the module's own plus the connection
options every awx.awx module takes (AUTH_ARGSPEC). ansible's
ArgumentSpecValidator checks the rendered task arguments against it, with
the module's mutually_exclusive/required_if rules, as AnsibleModule would.
A value that only a run can render ("{{ ... }}") is accepted for any type.

Surveys are checked like AWX's API checks them when a survey is saved
(awx/api/views: _validate_spec_data), plus the house rule that every
question is validated: choices, or min and max, and a default.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from unittest import mock

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from controller_config import Templated, awx_tasks

_CONSTRAINTS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")
# What a value AWX or Ansible renders later stands for, per option type.
_STAND_IN = {"int": 0, "float": 0.0, "bool": True, "list": [], "dict": {}, "path": "/templated"}
# The question types AWX accepts and the type of their default (awx.main.constants.SURVEY_TYPE_MAPPING).
SURVEY_TYPES = {
    "text": str, "textarea": str, "password": str, "multiplechoice": str,
    "multiselect": str, "integer": int, "float": (float, int),
}  # fmt: skip
_SECRET_NAME = re.compile(r"password|passphrase|secret|token|(^|_)key$")

TASKS = awx_tasks()


class _SpecCaptured(Exception):
    def __init__(self, argument_spec, constraints):
        super().__init__("argument spec captured")
        self.argument_spec = argument_spec
        self.constraints = constraints


class _CaptureModule:
    """Stands in for ControllerAPIModule: keeps what main() gives it, contacts nothing."""

    def __init__(self, argument_spec=None, **kwargs):
        raise _SpecCaptured(argument_spec or {}, {k: v for k, v in kwargs.items() if k in _CONSTRAINTS})


@cache
def module_spec(module: str):
    """(argument_spec, constraints) of awx.awx.<module>, from the installed collection."""
    mod = importlib.import_module(f"ansible_collections.awx.awx.plugins.modules.{module}")
    real = mod.ControllerAPIModule
    with mock.patch.object(mod, "ControllerAPIModule", _CaptureModule):
        try:
            mod.main()
        except _SpecCaptured as captured:
            return {**real.AUTH_ARGSPEC, **captured.argument_spec}, captured.constraints
    raise AssertionError(f"awx.awx.{module}: main() never built its ControllerAPIModule")


def _option(spec: dict, key: str):
    if key in spec:
        return spec[key]
    return next((opt for opt in spec.values() if key in (opt.get("aliases") or [])), None)


def _is_templated(value) -> bool:
    return isinstance(value, Templated) or (isinstance(value, str) and ("{{" in value or "{%" in value))


def accept_templated(spec: dict, params: dict) -> dict:
    """params with each still-templated value replaced by a stand-in of its option's type."""
    out = {}
    for key, value in params.items():
        option = _option(spec, key)
        if option is None:
            out[key] = value  # unknown: the validator names it
        elif _is_templated(value):
            choices = option.get("choices")
            out[key] = list(choices)[0] if choices else _STAND_IN.get(option.get("type", "str"), "templated")
        elif option.get("options") and isinstance(value, dict):
            out[key] = accept_templated(option["options"], value)
        elif option.get("options") and isinstance(value, list):
            out[key] = [accept_templated(option["options"], v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def argument_errors(module: str, params: dict) -> list[str]:
    spec, constraints = module_spec(module)
    result = ArgumentSpecValidator(spec, **constraints).validate(accept_templated(spec, params))
    return result.error_messages


def _task_id(task):
    return f"{task.short_module}:{task.label}" if task.label else f"{task.short_module}:{task.name}"


def test_the_playbook_has_awx_tasks():
    modules = {t.short_module for t in TASKS}
    assert {"project", "inventory_source", "credential_type", "job_template", "workflow_job_template"} <= modules


@pytest.mark.parametrize("task", TASKS, ids=_task_id)
def test_task_arguments_match_the_module_spec(task):
    errors = argument_errors(task.short_module, task.args)
    assert not errors, f"{task.module} in {task.name!r} {task.label}: " + "; ".join(errors)


def test_a_broken_argument_is_caught():
    """The check above can fail: a wrong choice and an unknown option are reported."""
    project = next(t for t in TASKS if t.short_module == "project")
    assert any("scm_type" in e for e in argument_errors("project", {**project.args, "scm_type": "gti"}))
    template = next(t for t in TASKS if t.short_module == "job_template")
    assert any("survey" in e for e in argument_errors("job_template", {**template.args, "survey": {}}))


def test_templated_values_are_accepted_for_any_type():
    assert not argument_errors("job_template", {"name": "x", "forks": "{{ forks }}", "diff_mode": Templated("x")})
    assert argument_errors("job_template", {"name": "x", "forks": "many"})


def survey_problems(survey) -> list[str]:
    """What AWX would refuse in a survey spec, plus questions without validation."""
    problems = []
    for field, expected in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(survey.get(field) if isinstance(survey, dict) else None, expected):
            problems.append(f"survey field {field!r} missing or not a {expected.__name__}")
    if problems:
        return problems
    if not survey["spec"]:
        problems.append("survey has no question")
    seen = set()
    for idx, question in enumerate(survey["spec"]):
        where = f"question {idx} ({question.get('variable')})"
        for field, expected in (("question_name", str), ("variable", str), ("type", str), ("required", bool)):
            if not isinstance(question.get(field), expected):
                problems.append(f"{where}: {field!r} missing or not a {expected.__name__}")
        if question.get("variable") in seen:
            problems.append(f"{where}: variable asked twice")
        seen.add(question.get("variable"))
        problems.extend(f"{where}: {p}" for p in _question_problems(question))
    return problems


def _question_problems(question) -> list[str]:
    qtype, default = question.get("type"), question.get("default")
    if qtype not in SURVEY_TYPES:
        return [f"type {qtype!r} is not one of {sorted(SURVEY_TYPES)}"]
    problems = []
    if default in (None, ""):
        if qtype != "password":
            problems.append("no default (a workflow or schedule launch would have no answer)")
    elif not isinstance(default, SURVEY_TYPES[qtype]) or isinstance(default, bool):
        problems.append(f"default {default!r} is not of type {qtype}")
    if qtype == "password" and default not in (None, ""):
        problems.append("a password question keeps no default in the repository")
    if _SECRET_NAME.search(str(question.get("variable"))) and qtype != "password":
        problems.append("asks for a secret without type password")
    if qtype in ("multiplechoice", "multiselect"):
        choices = question.get("choices")
        if not (isinstance(choices, list) and choices and all(isinstance(c, str) and c for c in choices)):
            return problems + ["choices must be a non-empty list of strings"]
        defaults = default.split("\n") if isinstance(default, str) and qtype == "multiselect" else [default]
        if default not in (None, "") and any(d not in choices for d in defaults):
            problems.append(f"default {default!r} is not among the choices")
        return problems
    low, high = question.get("min"), question.get("max")
    if not (isinstance(low, int) and isinstance(high, int)) or isinstance(low, bool) or low > high:
        return problems + [f"min/max must be integers with min <= max, not {low!r}/{high!r}"]
    size = len(default) if isinstance(default, str) else default
    if isinstance(size, (int, float)) and not low <= size <= high:
        problems.append(f"default {default!r} outside {low}..{high}")
    return problems


SURVEYED = [t for t in TASKS if t.short_module in ("job_template", "workflow_job_template")]


@pytest.mark.parametrize("task", SURVEYED, ids=_task_id)
def test_survey_spec_is_valid_and_every_question_validated(task):
    assert task.args.get("survey_enabled") is True, "a survey_spec without survey_enabled is ignored"
    problems = survey_problems(task.args.get("survey_spec"))
    assert not problems, f"{task.label or task.name}: " + "; ".join(problems)


@pytest.mark.parametrize(
    ("question", "problem"),
    [
        ({"type": "integer", "default": 5, "min": 10, "max": 20}, "outside"),
        ({"type": "integer", "default": 5}, "min/max"),
        ({"type": "multiplechoice", "default": "3", "choices": ["1", "2"]}, "not among"),
        ({"type": "multiplechoice", "default": "1"}, "choices"),
        ({"type": "text", "default": "x", "min": 0, "max": 8, "variable": "db_password"}, "type password"),
        ({"type": "password", "default": "hunter2", "min": 0, "max": 8}, "no default"),
        ({"type": "boolean", "default": "yes"}, "is not one of"),
        ({"type": "integer", "min": 0, "max": 5}, "no default"),
    ],
)
def test_survey_check_finds_bad_questions(question, problem):
    survey = {
        "name": "s",
        "description": "",
        "spec": [{"question_name": "q", "variable": "v", "required": True, **question}],
    }
    assert any(problem in p for p in survey_problems(survey)), survey_problems(survey)
