"""execution-environment.yml through `ansible-builder create`: the build context, without building.

No container runtime or network: the collection tarball is built from the
checkout, ansible-builder writes the context, and the checks read what a
build would use: the Containerfile's base image and pins, the galaxy
requirements with the tarball beside them, the CRB step in the builder
stage, and (by running the context's own introspect.py on the tarball) the
Python and system requirements the collection's meta/execution-environment.yml
hands to the EE: the controller side only, pinned as requirements.txt is.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from controller_config import tasks_of
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
EE = yaml.safe_load((REPO / "execution-environment.yml").read_text())
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
SITE_COLLECTIONS = Path(yaml.__file__).parents[1] / "ansible_collections"


def pins(path: Path) -> dict[str, str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return dict(line.split("==") for line in lines if "==" in line)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(work dir, build context) of `ansible-builder create` on a copy of the EE file and a fresh tarball."""
    work = tmp_path_factory.mktemp("ee")
    shutil.copy(REPO / "execution-environment.yml", work)
    tarball = work / EE["additional_build_files"][0]["src"]
    build = [
        str(BIN / "ansible-galaxy"),
        "collection",
        "build",
        "--force",
        "--output-path",
        str(tarball.parent),
        str(REPO),
    ]
    subprocess.run(build, check=True, capture_output=True)
    assert tarball.is_file(), f"ansible-galaxy built no {tarball.name} (galaxy.yml version {GALAXY['version']})"
    create = [str(BIN / "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context"]
    proc = subprocess.run(
        [*create, "--output-filename", "Containerfile"], cwd=work, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work, work / "context"


def containerfile_args(context: Path) -> dict[str, str]:
    return dict(re.findall(r'^ARG (\w+)="(.*)"$', (context / "Containerfile").read_text(), re.M))


def test_containerfile_uses_the_declared_base_and_python(built):
    args = containerfile_args(built[1])
    assert args["EE_BASE_IMAGE"] == EE["images"]["base_image"]["name"]
    assert args["PYPKG"] == EE["dependencies"]["python_interpreter"]["package_system"]
    assert args["PYCMD"] == EE["dependencies"]["python_interpreter"]["python_path"]


def test_ansible_core_and_runner_are_pinned_as_in_requirements_dev(built):
    refs = containerfile_args(built[1])["ANSIBLE_INSTALL_REFS"].split()
    dev = pins(REPO / "requirements-dev.txt")
    assert refs == [f"ansible-core=={dev['ansible-core']}", f"ansible-runner=={dev['ansible-runner']}"]


def test_dependency_collections_are_the_tested_versions_within_galaxy_ranges(built):
    collections = yaml.safe_load((built[1] / "_build" / "requirements.yml").read_text())["collections"]
    pinned = {c["name"]: c["version"] for c in collections if c.get("type") != "file"}
    assert set(pinned) == set(GALAXY["dependencies"])
    for name, version in pinned.items():
        assert version in SpecifierSet(GALAXY["dependencies"][name]), f"{name} {version} outside galaxy.yml"
        manifest = SITE_COLLECTIONS.joinpath(*name.split("."), "MANIFEST.json")
        tested = json.loads(manifest.read_text())["collection_info"]["version"]
        assert version == tested, f"{name}: EE {version}, CI tests {tested}"


def test_the_collection_tarball_is_in_the_context_and_installed_from_there(built):
    context = built[1]
    entry = next(
        c
        for c in yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]
        if c.get("type") == "file"
    )
    tarball = context / "_build" / entry["name"]  # the galaxy stage runs in /build, a copy of _build
    assert tarball.name == f"kvmops-kvm-{GALAXY['version']}.tar.gz" and tarball.is_file()
    with tarfile.open(tarball) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        names = set(tar.getnames())
    assert manifest["collection_info"]["version"] == GALAXY["version"]
    assert {"meta/execution-environment.yml", "controller/ee-requirements.txt", "controller/ee-bindep.txt"} <= names
    assert f"kvmops-kvm-ee:{GALAXY['version']}" in EE["options"]["tags"]


def test_the_controller_runs_jobs_in_the_image_of_this_version():
    image = tasks_of("execution_environment")[0].args["image"]
    assert image.rsplit(":", 1)[1] == GALAXY["version"], image


def test_crb_is_enabled_in_the_builder_stage_before_it_compiles(built):
    text = (built[1] / "Containerfile").read_text()
    builder = text.index("FROM base AS builder")
    crb = text.index("config-manager --set-enabled crb")
    assert builder < crb < text.index("/output/scripts/assemble") < text.index("FROM base AS final")


@pytest.fixture(scope="module")
def introspected(built, tmp_path_factory):
    """The requirements the build's introspect step takes from the installed collection."""
    work, context = built
    root = tmp_path_factory.mktemp("collections")
    target = root / "ansible_collections" / "kvmops" / "kvm"
    target.mkdir(parents=True)
    with tarfile.open(next((context / "_build" / "collections").glob("*.tar.gz"))) as tar:
        tar.extractall(target, filter="data")
    out = work / "introspect"
    script = context / "_build" / "scripts" / "introspect.py"
    write = [f"--write-pip={out / 'requirements.txt'}", f"--write-bindep={out / 'bindep.txt'}"]
    subprocess.run([sys.executable, str(script), "introspect", str(root), *write], check=True, capture_output=True)
    return pins(out / "requirements.txt"), (out / "bindep.txt").read_text()


def test_the_ee_gets_the_controller_side_python_libraries_only(introspected):
    python = introspected[0]
    assert python == pins(REPO / "controller" / "ee-requirements.txt")
    assert set(python) == {"lxml", "netaddr", "libvirt-python"}
    host = pins(REPO / "requirements.txt")
    assert {name: host[name] for name in python} == python, "EE and host pins differ"


def test_the_ee_builds_libvirt_python_with_its_own_python(introspected):
    bindep = introspected[1]
    python_package = EE["dependencies"]["python_interpreter"]["package_system"]
    assert re.search(rf"^{re.escape(python_package)}-devel \[platform:rpm compile\]", bindep, re.M)
    assert re.search(r"^libvirt-devel \[platform:rpm compile\]", bindep, re.M)
    assert re.search(r"^libvirt-libs \[platform:rpm\]", bindep, re.M)
    assert "openvswitch" not in bindep and "ceph-common" not in bindep
