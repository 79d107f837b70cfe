"""Finding a step's image by its pull policy, and its content id (what the cache key holds)."""

from __future__ import annotations

from typing import Any

from reefline.executors.base import StartError
from reefline.plan.ir import ImageRef


def image_id(api: Any, image: ImageRef) -> str:
    """The image's content id (``sha256:…``) after applying its pull policy.

    ``never``: the local image or an error; ``if-not-present``: pulled when missing; ``always``:
    pulled every time (an engine without a registry fails it, saying so).
    """
    import docker.errors

    if image.pull == "always":
        _pull(api, image)
    try:
        return str(api.inspect_image(image.name)["Id"])
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.APIError as exc:
        raise StartError(
            f"image {image.name!r}: the Docker engine failed to look it up: {_say(exc)}"
        ) from None
    if image.pull == "never":
        raise StartError(
            f"image {image.name!r} is not in the Docker engine and its pull policy is never; "
            "build or import it first (docker build / docker import)"
        )
    _pull(api, image)
    try:
        return str(api.inspect_image(image.name)["Id"])
    except docker.errors.APIError as exc:
        raise StartError(f"image {image.name!r}: pulled, but cannot be found: {_say(exc)}") from None


def _pull(api: Any, image: ImageRef) -> None:
    import docker.errors

    repository, tag = _split(image.name)
    try:
        api.pull(repository, tag=tag)
    except docker.errors.APIError as exc:
        raise StartError(
            f"image {image.name!r} cannot be pulled (pull: {image.pull}): {_say(exc)}"
            + (
                "; with no registry reachable, build it locally and use pull: never or if-not-present"
                if image.pull == "always"
                else ""
            )
        ) from None


def _split(name: str) -> tuple[str, str | None]:
    """``repo:tag`` → (repo, tag); a digest or a registry port stays in the repository."""
    if "@" in name:
        return name, None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repository, _, tag = name.rpartition(":")
        return repository, tag
    return name, "latest"


def _say(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip()
