"""Container keys compile into the plan: executor, image, resources, services, network, sandbox."""

from __future__ import annotations

import re
import textwrap

from reefline.plan.compiler import compile_plan
from reefline.plan.ir import ImageRef, Plan, Readiness, Resources, Service
from reefline.spec import load_spec, resolve_params


def plan_of(text: str) -> Plan:
    loaded = load_spec(textwrap.dedent(text), "reefline.yaml")
    assert loaded.pipeline is not None, [d.format() for d in loaded.diagnostics]
    return compile_plan(loaded.pipeline, resolve_params(loaded.pipeline, {}))


CONTAINERS = """
version: 1
name: c
params: {tag: "1.36"}
defaults:
  image: busybox:${{ params.tag }}
  resources: {cpus: 0.5, memory: 64Mi}
  network: none
jobs:
  plain: {executor: local, script: [echo hi]}
  boxed:
    image: {name: reefline/tools:2, pull: never}
    resources: {memory: 1Gi}
    network: bridge
    script: [echo hi]
  integration:
    script: [nc -z db 5432]
    services:
      db:
        image: postgres:16
        env: {POSTGRES_PASSWORD: x}
        command: postgres -c fsync=off
        ready: {port: 5432, timeout: 1m}
  local_sandboxed: {executor: local, sandbox: true, script: [echo hi]}
"""


def test_an_image_implies_the_docker_executor_and_defaults_are_inherited() -> None:
    plan = plan_of(CONTAINERS)
    integration = plan.step("integration")
    assert integration.executor == "docker"
    assert integration.image == ImageRef("busybox:1.36", "if-not-present")
    assert integration.resources == Resources(cpus=0.5, memory_bytes=64 * 1024**2)
    assert integration.network == "none"
    assert integration.services == (
        Service(
            "db",
            ImageRef("postgres:16"),
            (("POSTGRES_PASSWORD", "x"),),
            ("postgres", "-c", "fsync=off"),
            Readiness(port=5432, timeout=60.0),
        ),
    )


def test_a_job_overrides_image_pull_resources_and_network() -> None:
    boxed = plan_of(CONTAINERS).step("boxed")
    assert boxed.image == ImageRef("reefline/tools:2", "never")
    assert boxed.resources == Resources(cpus=None, memory_bytes=1024**3)
    assert boxed.network == "bridge"


def test_local_jobs_keep_their_executor_and_sandbox_choice() -> None:
    plan = plan_of(CONTAINERS)
    assert plan.step("plain").executor == "local"
    assert plan.step("plain").sandbox is None
    assert plan.step("local_sandboxed").sandbox is True


def test_the_image_name_is_part_of_the_definition_hash() -> None:
    one = plan_of(CONTAINERS).step("integration").definition_hash
    other = plan_of(CONTAINERS.replace("busybox:", "alpine:")).step("integration").definition_hash
    assert one != other


def test_a_local_job_hash_does_not_change_with_the_container_keys() -> None:
    bare = plan_of("""
        version: 1
        name: c
        jobs: {plain: {script: [echo hi]}}
    """).step("plain")
    with_keys = plan_of("""
        version: 1
        name: c
        jobs: {plain: {script: [echo hi], executor: local, sandbox: false}}
    """).step("plain")
    assert bare.definition_hash == with_keys.definition_hash
    assert bare.executor == "local" and bare.image is None


def test_step_slugs_fit_container_names_and_stay_apart() -> None:
    plan = plan_of("""
        version: 1
        name: c
        jobs:
          train:
            image: busybox
            matrix: {model: [tree, "Forest Big"]}
            script: [echo]
    """)
    slugs = [s.slug for s in plan.steps]
    assert len(set(slugs)) == 2
    for slug in slugs:
        assert re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", slug), slug
    assert slugs == [
        s.slug
        for s in plan_of("""
        version: 1
        name: c
        jobs:
          train:
            image: busybox
            matrix: {model: [tree, "Forest Big"]}
            script: [echo]
    """).steps
    ]
