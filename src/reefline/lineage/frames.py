"""What a trace shows: frames (one per job or component run) with their inputs and outputs, as text
or JSON."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Link:
    """An input or output of a frame's job; ``frame``: the number of the frame that made it.

    A component's output id logged without a value has no path ("-"), sha256 ("") or size (0)."""

    name: str
    path: str
    type: str
    sha256: str
    size: int
    frame: int | None = None
    stale: str | None = None  # why this input is stale (too old), if it is
    producer_run: int | None = None  # the run of the job that made it (also beyond --depth)
    producer_component_run: int | None = None  # or the component run that made it
    uri: str | None = None  # an output: where the artifact store keeps it (None: not kept)


@dataclass(slots=True)
class Frame:
    number: int
    job_id: int | None  # a component frame: the job it ran inside (None: outside any job)
    job: str  # the step id, e.g. "train[model=tree]"; a component frame: the component's name
    run_id: int | None  # a component frame: the pipeline run of that job
    pipeline: str | None
    at: float | None  # when the job finished (or started)
    commit: str | None
    branch: str | None
    dirty: bool | None
    author: str  # the run's user, or "laptop"
    params: dict[str, Any]
    cached_from_run: int | None = None
    cached_from_job_id: int | None = None
    stale: list[str] = field(default_factory=list)
    inputs: list[Link] = field(default_factory=list)
    outputs: list[Link] = field(default_factory=list)
    derived_from: int | None = None  # --forward: the frame whose output this job read
    kind: str = "job"  # job | component (a run of a function decorated with @reefline.component)
    component_run_id: int | None = None
    in_job: str | None = None  # a component frame inside a Reefline job: that job's step id
    status: str | None = None  # a component frame: success | failed
    exception: str | None = None  # a failed component: the exception's last line
    # The code the job's attempt ran (a cached job: the attempt it reused): {"script_sha256": …} or
    # {"entry": "pkg.mod:fn", "modules": {path: sha256}}, maybe with "image_id"; None: not recorded.
    code: dict[str, Any] | None = None


@dataclass(slots=True)
class Trace:
    target: str
    sha256: str
    direction: str  # "back" | "forward"
    frames: list[Frame]
    truncated: bool = False  # --depth stopped it before the sources


def to_json(trace: Trace) -> dict[str, Any]:
    return asdict(trace)


def _when(at: float | None) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def _short(sha: str) -> str:
    return f"sha256:{sha[:8]}…" if sha else "-"


def describe_code(code: dict[str, Any] | None) -> str | None:
    """A code fingerprint's short form: ``script 3f2a9c1d``, ``entry pkg.mod:fn (3 modules)``, with
    ``image 1a2b3c4d5e6f`` for a container step; None when there is none."""
    if not code:
        return None
    if "script_sha256" in code:
        shown = f"script {str(code['script_sha256'])[:8]}"
    elif "entry" in code:
        count = len(code.get("modules") or {})
        shown = f"entry {code['entry']} ({count} module{'' if count == 1 else 's'})"
    else:
        return None
    if code.get("image_id"):
        shown += f" image {str(code['image_id']).removeprefix('sha256:')[:12]}"
    return shown


def _code(frame: Frame) -> str:
    shown = (
        "commit -"
        if frame.commit is None
        else f"commit {frame.commit[:7]}" + ("+dirty" if frame.dirty else "")
    )
    fingerprint = describe_code(frame.code)
    return shown if fingerprint is None else f"{shown}  {fingerprint}"


def _links(frame: Frame, back: bool) -> list[str]:
    every = frame.inputs + frame.outputs
    if not every:
        return []
    name_w = max(len(link.name) for link in every)
    path_w = max(len(link.path) for link in every)
    type_w = max(len(link.type) for link in every)
    lines = []
    for kind, link in [("in", link) for link in frame.inputs] + [("out", link) for link in frame.outputs]:
        line = (
            f"      {kind:<3} {link.name:<{name_w}} = {link.path:<{path_w}} {link.type:<{type_w}} "
            f"{_short(link.sha256)}"
        )
        if link.frame is not None:
            line += f"  ← #{link.frame}"
        elif kind == "in" and link.producer_component_run is not None:
            line += f"  ← component run {link.producer_component_run} (beyond --depth)"
        elif kind == "in" and link.producer_run is not None:
            line += f"  ← run {link.producer_run} (beyond --depth)"
        elif kind == "in" and back:
            line += "  (source: no recorded job made it)"
        if link.stale:
            line += f"  [stale: {link.stale}]"
        if kind == "out" and link.uri:
            line += f"  {link.uri}"
        lines.append(line)
    return lines


def render(trace: Trace) -> str:
    """The frames as text, like a debugger's backtrace."""
    name_w = max((len(frame.job) for frame in trace.frames), default=0)
    lines = []
    for frame in trace.frames:
        if frame.kind == "component":
            head = f"#{frame.number:<2} {frame.job:<{name_w}}   component run {frame.component_run_id}"
        else:
            head = f"#{frame.number:<2} {frame.job:<{name_w}}   run {frame.run_id}"
        head += f"  {_when(frame.at)}  {_code(frame)}"
        if frame.in_job is not None:
            head += f"  (in job {frame.in_job} of run {frame.run_id})"
        if frame.status == "failed":
            head += "  FAILED"
        if frame.cached_from_run is not None:
            head += f"  (cached from run {frame.cached_from_run})"
        if frame.derived_from is not None:
            head += f"  (reads #{frame.derived_from})"
        if frame.stale:
            head += "  STALE"
        lines.append(head)
        details = [f"pipeline {frame.pipeline}"] if frame.kind == "job" else [f"component {frame.job}"]
        details.append(f"by {frame.author}")
        if frame.branch:
            details.append(f"branch {frame.branch}")
        if frame.params:
            details.append("params " + " ".join(f"{k}={v}" for k, v in sorted(frame.params.items())))
        lines.append("      " + "  ".join(details))
        lines.extend(f"      stale: {why}" for why in frame.stale)
        if frame.exception:
            lines.append(f"      raised: {frame.exception}")
        lines.extend(_links(frame, trace.direction == "back"))
    if trace.truncated:
        lines.append("(more frames beyond --depth)")
    return "\n".join(lines) + "\n"
