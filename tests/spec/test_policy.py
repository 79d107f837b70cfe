"""The allow-list: which image names a pattern allows, and RL601 at the image's (executor's) place."""

from __future__ import annotations

import pytest

from reefline.spec import load_spec
from reefline.spec.policy import Policy, PolicyError

HEAD = "version: 1\nname: p\nstages: [s]\n"


def _policy(images: list[str] | None, executors: list[str] | None = None) -> Policy:
    return Policy.build(images, executors, "team 'ml'")


@pytest.mark.parametrize(
    ("pattern", "image", "allowed"),
    [
        ("busybox", "busybox", True),
        ("busybox", "busybox:1.36", True),
        ("busybox", "busybox@sha256:" + "a" * 64, True),
        ("busybox", "busyboxx", False),
        ("busybox", "evil/busybox", False),
        ("busybox:1.36", "busybox:1.36", True),
        ("busybox:1.36", "busybox", False),  # busybox means busybox:latest
        ("busybox:latest", "busybox", True),
        ("registry.example/team/*", "registry.example/team/app:2", True),
        ("registry.example/team/*", "registry.example/team/app", True),
        ("registry.example/team/*", "registry.example/team/sub/app", False),
        ("registry.example/team/*", "registry.example/teams/app", False),
        ("registry.example/team/*", "registry.example/team", False),
        ("registry.example/**", "registry.example/team/sub/app:1", True),
        ("registry.example:5000/app", "registry.example:5000/app:3", True),
        ("python:3.1?", "python:3.11", True),
        ("python:3.1?", "python:3.1", False),
        ("reefline-iris:*", "reefline-iris:bookworm", True),
        ("a.b/c", "aXb/c", False),  # '.' is not a wildcard
    ],
)
def test_image_patterns(pattern: str, image: str, allowed: bool) -> None:
    assert _policy([pattern]).image_allowed(image) is allowed


def test_none_allows_any_and_empty_allows_nothing() -> None:
    assert Policy.allow_all().image_allowed("anything/at:all")
    assert not _policy([]).image_allowed("busybox")
    server = Policy.server_default("ml")
    assert not server.image_allowed("busybox")
    assert server.executor_allowed("local") and not server.executor_allowed("docker")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "policy: expected a mapping"),
        ({"image": ["x"]}, "policy: unknown key 'image'"),
        ({"images": "busybox"}, "policy.images: expected a list of strings"),
        ({"images": [1]}, "policy.images: expected a list of strings"),
        ({"images": ["bad name"]}, "policy.images: image pattern 'bad name'"),
        ({"images": [""]}, "policy.images: an image pattern has 1 to 255 characters"),
        ({"executors": ["Docker!"]}, "policy.executors: executor 'Docker!'"),
        ({"images": [f"i{n}" for n in range(201)]}, "at most 200 entries"),
    ],
)
def test_malformed_policies_name_the_field(data: object, message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(".", r"\.")):
        Policy.from_mapping(data, "x")


def _denials(text: str, policy: Policy) -> list[tuple[int, int, str, str | None]]:
    return [
        (d.line, d.col, d.message, d.hint)
        for d in load_spec(HEAD + text, policy=policy).diagnostics
        if d.code == "RL601"
    ]


def test_a_denied_image_is_reported_at_its_line_naming_the_rule() -> None:
    text = (
        "jobs:\n"
        "  ok:\n    image: busybox:1.36\n    script: [echo]\n"
        "  bad:\n    image: evil/miner:latest\n    script: [echo]\n"
        "  long:\n    image: {name: other/thing, pull: never}\n    script: [echo]\n"
    )
    found = _denials(text, _policy(["busybox", "registry.example/team/*"], ["local", "docker"]))
    assert found == [
        (
            9,
            12,
            "image 'evil/miner:latest' is not in the allow-list (team 'ml')",
            "allowed images: busybox, registry.example/team/*",
        ),
        (
            12,
            12,
            "image 'other/thing' is not in the allow-list (team 'ml')",
            "allowed images: busybox, registry.example/team/*",
        ),
    ]


def test_an_inherited_image_is_reported_once_at_defaults() -> None:
    text = "defaults:\n  image: evil/miner\njobs:\n  a: {script: [echo]}\n  b: {script: [echo]}\n"
    assert [(line, col) for line, col, *_ in _denials(text, _policy(["busybox"]))] == [(5, 10)]


def test_denied_executors_explicit_implied_and_default() -> None:
    text = (
        "jobs:\n"
        "  remote:\n    executor: celery\n    script: [echo]\n"
        "  boxed:\n    image: busybox\n    script: [echo]\n"
        "  plain:\n    script: [echo]\n"
    )
    found = _denials(text, Policy.server_default("ml"))
    assert [(line, col, message) for line, col, message, _ in found] == [
        (6, 15, "executor 'celery' is not in the allow-list (team 'ml', default policy)"),
        (9, 12, "image 'busybox' is not in the allow-list (team 'ml', default policy)"),
        (
            9,
            12,
            "executor 'docker' is not in the allow-list (team 'ml', default policy) (implied by `image`)",
        ),
    ]
    assert found[0][3] == "allowed executors: local"
    assert found[1][3] == "no image is allowed; ask for the image to be added to the allow-list"


def test_a_denied_service_image_is_reported_at_the_service() -> None:
    text = (
        "jobs:\n  t:\n    image: busybox\n    script: [echo]\n"
        "    services:\n      db:\n        image: postgres:16\n"
    )
    found = _denials(text, _policy(["busybox"]))
    assert [(line, col, message) for line, col, message, _ in found] == [
        (10, 16, "image 'postgres:16' is not in the allow-list (team 'ml')")
    ]


def test_without_a_policy_nothing_is_denied() -> None:
    text = "jobs:\n  a:\n    image: evil/miner\n    executor: docker\n    script: [echo]\n"
    assert [d for d in load_spec(HEAD + text).diagnostics if d.code == "RL601"] == []


def test_matching_is_fast_for_hostile_patterns_and_names() -> None:
    import time

    pattern = "*a" * 100 + "b"  # a backtracking regex would take ages on the name below
    policy = _policy([pattern, "**/" * 20 + "x"])
    t0 = time.perf_counter()
    assert not policy.image_allowed("a" * 5000)
    assert not policy.image_allowed("/".join(["a"] * 200))
    assert not _policy(["**"]).image_allowed("a/" * 3000 + "b")  # too long to be a name: denied
    assert _policy(["**"]).image_allowed("a/" * 100 + "b")
    assert time.perf_counter() - t0 < 1.0


def test_double_star_stands_alone_between_slashes() -> None:
    with pytest.raises(PolicyError, match=r"'\*\*' stands alone"):
        _policy(["registry.example/team**"])
    assert _policy(["registry.example/**/app"]).image_allowed("registry.example/app:1")  # zero segments
    assert _policy(["registry.example/**/app"]).image_allowed("registry.example/a/b/app")
    assert not _policy(["registry.example/**/app"]).image_allowed("registry.example/a/b/ap")
