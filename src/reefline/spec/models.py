"""The ``reefline.yaml`` language as pydantic models.

These models are the single source of truth for the language: the loader validates against them,
``reefline schema`` publishes their JSON Schema, and the descriptions below are the hover docs.
Shape checks live here; cross-references (needs, from, types, stages, expressions) live in the linter.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Scalar = str | int | float | bool
Duration = Annotated[
    str | int | float,
    Field(description="Seconds as a number, or a duration such as `90s`, `10m`, `1h30m`."),
]
When = Literal["on_success", "on_failure", "always", "manual"]
PullPolicy = Literal["never", "if-not-present", "always"]
Network = Literal["none", "bridge"]
ParamType = Literal["str", "int", "float", "bool", "list"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Param(_Model):
    """A typed experiment parameter, overridable per run with ``-p name=value``."""

    type: ParamType | None = Field(None, description="Value type; inferred from `default` when omitted.")
    default: Scalar | list[Scalar] | None = Field(None, description="Value used when no override is given.")
    description: str | None = Field(None, description="What the parameter controls.")
    choices: list[Scalar] | None = Field(
        None, description="Allowed values; an override outside them is an error."
    )


class Retry(_Model):
    """How often a failing job is attempted again."""

    max: int = Field(0, ge=0, le=10, description="Extra attempts after the first one fails (0-10).")
    delay: Duration = Field(0, description="Wait before the first retry.")
    backoff: float = Field(2.0, ge=1.0, le=10.0, description="Multiplier applied to `delay` on every retry.")


class Artifact(_Model):
    """A typed file or directory a job produces."""

    path: str = Field(description="Path relative to the workspace; may use `${{ }}` templating.")
    type: str = Field("file", description="Artifact type: a predefined type or one declared in `types`.")
    description: str | None = Field(None, description="What the artifact holds.")


class Input(_Model):
    """A typed file a job reads: a path in the workspace, or another job's output (`from: job.output`)."""

    path: str | None = Field(None, description="Path relative to the workspace (not with `from`).")
    from_: str | None = Field(
        None,
        alias="from",
        description="`job.output`: use that job's output. The reference is a dependency edge.",
    )
    type: str | None = Field(None, description="Expected artifact type; checked against the producer's type.")
    description: str | None = Field(None, description="What the input is used for.")


class ArtifactType(_Model):
    """A custom artifact type, e.g. `dataset/iris` extending `dataset/csv`."""

    extends: str = Field("file", description="The type this one refines; edges accept a subtype.")
    description: str | None = Field(None, description="What artifacts of this type hold.")
    json_schema: dict[str, Any] | None = Field(
        None, alias="schema", description="JSON Schema the file must satisfy (for JSON types)."
    )


IMAGE_DOC = (
    "Container image the job runs in: a name such as `python:3.11-slim`, or `{name, pull}` with "
    "pull `never`, `if-not-present` (default) or `always`. An image implies `executor: docker`."
)
EXECUTOR_DOC = "Where the job runs: `local` (a process, the default without an image) or `docker`."
NETWORK_DOC = (
    "Network of a container job: `none` (no network but its services) or `bridge` (a network of the "
    "run's own with outside access where the engine has it). Default: the executor's."
)
SANDBOX_DOC = (
    "Run a local job under bubblewrap (read-only root, writable workspace and tmp, no network). "
    "Default: on a server yes, on a laptop no."
)


class Image(_Model):
    """A container image and its pull policy."""

    name: str = Field(min_length=1, description="Image name, e.g. `registry.example/team/app:1.2`.")
    pull: PullPolicy = Field(
        "if-not-present",
        description="never: use the local image only; if-not-present: pull when missing; always: pull "
        "before every job.",
    )


class Resources(_Model):
    """Limits a container executor applies to the job."""

    cpus: float | None = Field(None, gt=0, le=1024, description="CPU cores, e.g. `0.5` or `2`.")
    memory: str | int | None = Field(
        None, description="Memory limit: bytes, or with a unit such as `512Mi`, `2Gi`, `500M`."
    )


class Readiness(_Model):
    """When a service counts as up: `port` accepts a connection, or `command` exits 0."""

    port: int | None = Field(None, ge=1, le=65535, description="A TCP port of the service.")
    command: str | None = Field(None, description="A shell line run inside the service container.")
    timeout: Duration = Field(30, description="Give up (the job fails) after this long.")


class Service(_Model):
    """A sidecar container of a job."""

    image: str | Image = Field(description="Container image: a name, or `{name, pull}`.")
    env: dict[str, Scalar] = Field(default_factory=dict, description="Environment of the service.")
    command: str | list[str] | None = Field(
        None, description="Command instead of the image's own: argv, or one string split like a shell."
    )
    ready: Readiness | None = Field(None, description="Wait for the service before starting the job.")


class Defaults(_Model):
    """Settings every job inherits unless it sets its own."""

    timeout: Duration | None = Field(None, description="Default job timeout.")
    retry: Retry | int | None = Field(None, description="Default retry policy (or a number of retries).")
    env: dict[str, Scalar] = Field(default_factory=dict, description="Environment for every job.")
    cache: bool | None = Field(
        None, description="Whether jobs may be skipped when their inputs did not change."
    )
    image: str | Image | None = Field(None, description=IMAGE_DOC)
    executor: str | None = Field(None, description=EXECUTOR_DOC)
    resources: Resources | None = Field(None, description="Default limits of every job.")
    network: Network | None = Field(None, description=NETWORK_DOC)
    sandbox: bool | None = Field(None, description=SANDBOX_DOC)


class Job(_Model):
    """A node of the pipeline graph: one unit of work that runs in the workspace."""

    stage: str | None = Field(None, description="Stage the job belongs to; defaults to the first stage.")
    description: str | None = Field(None, description="What the job does.")
    needs: list[str] | None = Field(
        None,
        description="Jobs that must finish first. When set, stage order no longer adds dependencies.",
    )
    script: str | list[str] | None = Field(
        None, description="Shell lines run in one bash session with `set -eo pipefail`."
    )
    run: str | None = Field(None, description="Python entry point `module:function` in the workspace.")
    params: list[str] | None = Field(
        None,
        description="The params a `run:` job receives and depends on (default: all of them). "
        "A script depends on the params its lines mention.",
    )
    env: dict[str, Scalar] = Field(default_factory=dict, description="Environment variables for the job.")
    timeout: Duration | None = Field(
        None, description="Kill the job (its whole process tree) after this long."
    )
    retry: Retry | int | None = Field(None, description="Retry policy, or a number of retries.")
    allow_failure: bool = Field(False, description="A failure of this job does not fail the run.")
    when: When = Field(
        "on_success",
        description="on_success: after its needs succeed; on_failure: only if an upstream job failed; "
        "always: whatever happened upstream.",
    )
    if_: str | None = Field(
        None,
        alias="if",
        description="Expression over params, variables and matrix; the job is skipped if false.",
    )
    matrix: dict[str, list[Scalar]] | None = Field(
        None, description="Expand into one job per combination, named e.g. `train[model=tree]`."
    )
    inputs: dict[str, Input] = Field(default_factory=dict, description="Named, typed inputs.")
    outputs: dict[str, Artifact] = Field(default_factory=dict, description="Named, typed outputs.")
    metrics: str | None = Field(
        None,
        description="Path of a JSON file of numbers the job writes; stored per run. It is also an output "
        "named `metrics` of type `metrics/json`.",
    )
    cache: bool | None = Field(
        None, description="Skip the job when its definition and inputs are unchanged (default: true)."
    )
    image: str | Image | None = Field(None, description=IMAGE_DOC)
    executor: str | None = Field(None, description=EXECUTOR_DOC)
    resources: Resources | None = Field(None, description="Limits of the job (container executors).")
    services: dict[str, Service] | None = Field(
        None,
        description="Sidecar containers (e.g. a database for an integration test) started before the job "
        "on a network of its own, reachable from the job by their name; stopped after it.",
    )
    network: Network | None = Field(None, description=NETWORK_DOC)
    sandbox: bool | None = Field(None, description=SANDBOX_DOC)
    # Reserved for later issues: accepted by the model so the linter can say "not supported yet".
    uses: str | None = Field(None, description="Library operation `name@version` (not supported yet).")
    with_: dict[str, Any] | None = Field(
        None, alias="with", description="Arguments of `uses` (not supported yet)."
    )
    lua: str | None = Field(None, description="Lua script step (not supported yet).")
    extends: str | list[str] | None = Field(None, description="Job templates to reuse (not supported yet).")

    @field_validator("script", mode="before")
    @classmethod
    def _shell_words(cls, value: Any) -> Any:
        """`script: [true]` means the shell's `true`, not YAML's boolean: take scalars as written."""

        def word(item: Any) -> Any:
            if isinstance(item, bool):
                return "true" if item else "false"
            return str(item) if isinstance(item, int | float) else item

        return [word(item) for item in value] if isinstance(value, list) else word(value)

    def script_lines(self) -> list[str]:
        if self.script is None:
            return []
        return [self.script] if isinstance(self.script, str) else list(self.script)


class Pipeline(_Model):
    """A `reefline.yaml` file: a typed graph of jobs."""

    version: Literal[1] = Field(description="Version of the pipeline language. Always 1 for now.")
    name: str = Field(description="Pipeline name, shown in `reefline runs`.")
    description: str | None = Field(None, description="What the pipeline is for.")
    board: str | None = Field(None, description="Board the pipeline is shown on in the server's UI.")
    params: dict[str, Param | Scalar | list[Scalar]] = Field(
        default_factory=dict,
        description="Experiment parameters: a plain value, or `{type, default, description, choices}`.",
    )
    variables: dict[str, Scalar] = Field(
        default_factory=dict, description="Plain environment variables for every job."
    )
    defaults: Defaults = Field(default_factory=Defaults, description="Settings every job inherits.")
    stages: list[str] = Field(
        default_factory=lambda: ["default"],
        description="Ordered stages. A job without `needs` waits for every job of earlier stages.",
    )
    types: dict[str, ArtifactType] = Field(default_factory=dict, description="Custom artifact types.")
    jobs: dict[str, Job] = Field(description="The jobs, by name.")
    # Reserved for later issues.
    secrets: list[str] | None = Field(None, description="Secret names (not supported yet).")
    schedule: list[Any] | None = Field(None, description="Cron schedules (not supported yet).")
    triggers: list[Any] | dict[str, Any] | None = Field(
        None, description="Webhook triggers (not supported yet)."
    )
    include: list[Any] | str | None = Field(
        None, description="Files or libraries to include (not supported yet)."
    )


def job_image(pipeline: Pipeline, job: Job) -> Image | None:
    """The image a job runs in: its own, else the default one."""
    image = job.image if job.image is not None else pipeline.defaults.image
    return Image(name=image) if isinstance(image, str) else image


def job_executor(pipeline: Pipeline, job: Job) -> str:
    """The executor a job runs with: its own, the default one, else `docker` with an image, else `local`."""
    if job.executor is not None:
        return job.executor
    if pipeline.defaults.executor is not None:
        return pipeline.defaults.executor
    return "docker" if job_image(pipeline, job) is not None else "local"


UNSUPPORTED_JOB_KEYS: tuple[str, ...] = ("uses", "with", "lua", "extends")
UNSUPPORTED_PIPELINE_KEYS: tuple[str, ...] = ("secrets", "schedule", "triggers", "include")
UNSUPPORTED_DEFAULTS_KEYS: tuple[str, ...] = ()
