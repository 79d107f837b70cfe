"""Structured edits of a pipeline's YAML that keep the user's comments, key order and formatting.

The visual editor sends edits such as "connect prepare.data to train.data"; each is applied in turn
to the text. Renames are exact text edits at every reference (the language server's rename, see
``spec/rename.py``); deleting a job cuts its lines (both in ``spec/edits_text.py``); the others
change ruamel.yaml's round-trip tree and write it back in the document's own indentation style.
An edit that cannot be applied raises :class:`EditError` naming the edit's index and field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reefline.spec.edits_text import EditRefused, cut_job, rename_job
from reefline.spec.yaml_roundtrip import Document, RoundTripError, load_document

MAX_EDITS = 50


class EditError(ValueError):
    """Edit number ``index`` (0-based) could not be applied; ``field`` names the part that is wrong."""

    def __init__(self, index: int, field: str, message: str) -> None:
        super().__init__(f"edit {index} ({field}): {message}")
        self.index, self.field, self.reason = index, field, message


class _Edit(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


_Name = Annotated[str, Field(min_length=1, max_length=200)]
_Ref = Annotated[str, Field(min_length=3, max_length=401, description="`job.port`")]


class AddJob(_Edit):
    """A new job at the end of ``jobs:``."""

    op: Literal["add_job"]
    name: _Name
    stage: _Name | None = None
    script: str | None = Field(default=None, max_length=100_000, description="default: `echo <name>`")


class DeleteJob(_Edit):
    """Remove a job, the `needs` entries naming it and the inputs it feeds."""

    op: Literal["delete_job"]
    name: _Name


class RenameJob(_Edit):
    """Rename a job and every `needs:` and `from: job.output` that names it."""

    op: Literal["rename_job"]
    name: _Name
    new_name: _Name


class Connect(_Edit):
    """Feed an output to an input: sets the input's `from:` (creating the input, typed like the output,
    when the job has none of that name)."""

    op: Literal["connect"]
    from_: _Ref = Field(alias="from", description="`job.output`")
    to: _Ref = Field(description="`job.input`")


class Disconnect(_Edit):
    """Remove the input that an edge ends at (`job.input`)."""

    op: Literal["disconnect"]
    to: _Ref


class SetField(_Edit):
    """Set a job's field, e.g. path ["timeout"] or ["outputs", "model", "type"]; a null value removes it."""

    op: Literal["set_field"]
    job: _Name
    path: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1, max_length=20)
    value: Any = None


class AddOutput(_Edit):
    op: Literal["add_output"]
    job: _Name
    name: _Name
    path: str = Field(min_length=1, max_length=4096)
    type: _Name = "file"


class AddInput(_Edit):
    op: Literal["add_input"]
    job: _Name
    name: _Name
    path: str | None = Field(default=None, min_length=1, max_length=4096)
    from_: _Ref | None = Field(default=None, alias="from")
    type: _Name | None = None


Edit = Annotated[
    AddJob | DeleteJob | RenameJob | Connect | Disconnect | SetField | AddOutput | AddInput,
    Field(discriminator="op"),
]


def apply_edits(text: str, edits: list[Edit]) -> str:
    """``text`` with ``edits`` applied in order. Raises :class:`EditError`."""
    if len(edits) > MAX_EDITS:
        raise EditError(MAX_EDITS, "edits", f"at most {MAX_EDITS} edits at once")
    doc: Document | None = None  # consecutive tree edits share one tree, written back once
    index = 0
    try:
        for index, edit in enumerate(edits):
            if isinstance(edit, RenameJob | DeleteJob):
                if doc is not None:
                    text, doc = doc.dump(), None
                if isinstance(edit, RenameJob):
                    if not _valid_name(edit.new_name):
                        raise EditError(index, "new_name", f"'{edit.new_name}' is not a valid job name")
                    text = rename_job(text, edit.name, edit.new_name)
                    continue
                text = cut_job(text, edit.name)
                doc = load_document(text)
                _drop_refs(doc.root, edit.name)
                continue
            if doc is None:
                doc = load_document(text)
            _change(doc.root, edit, index)
        return doc.dump() if doc is not None else text
    except EditError:
        raise
    except EditRefused as exc:
        raise EditError(index, exc.field, str(exc)) from None
    except RoundTripError as exc:
        raise EditError(index, _main_field(edits[index]), str(exc)) from None
    except Exception as exc:  # an odd document must give an error, never a traceback
        field = _main_field(edits[index])
        raise EditError(index, field, f"cannot apply: {type(exc).__name__}: {exc}") from None


def _main_field(edit: BaseModel) -> str:
    for name in ("name", "job", "to"):
        if name in type(edit).model_fields:
            return name
    return "op"


def _change(root: Any, edit: BaseModel, index: int) -> None:
    """One edit of the round-trip tree (everything but rename and delete, which edit the text)."""
    if isinstance(edit, AddJob):
        _add_job(root, edit, index)
    elif isinstance(edit, Connect):
        _connect(root, edit, index)
    elif isinstance(edit, Disconnect):
        job, port = _split(edit.to, index, "to")
        inputs = _job(root, job, index, "to").get("inputs")
        if not isinstance(inputs, dict) or port not in inputs:
            raise EditError(index, "to", f"job '{job}' has no input '{port}'")
        _delete(_job(root, job, index, "to"), "inputs", port)
    elif isinstance(edit, SetField):
        _set_field(root, edit, index)
    elif isinstance(edit, AddOutput):
        ports = _table(_job(root, edit.job, index, "job"), "outputs")
        if edit.name in ports:
            raise EditError(index, "name", f"job '{edit.job}' already has an output '{edit.name}'")
        ports[edit.name] = _flow(path=edit.path, type=edit.type)
    elif isinstance(edit, AddInput):
        ports = _table(_job(root, edit.job, index, "job"), "inputs")
        if edit.name in ports:
            raise EditError(index, "name", f"job '{edit.job}' already has an input '{edit.name}'")
        if (edit.path is None) == (edit.from_ is None):
            raise EditError(index, "path", "give an input either `path` or `from`")
        ports[edit.name] = _flow(**{"from": edit.from_, "path": edit.path, "type": edit.type})


def _jobs(root: Any, index: int, field: str) -> CommentedMap:
    jobs = root.get("jobs") if isinstance(root, dict) else None
    if not isinstance(jobs, CommentedMap):
        raise EditError(index, field, "the spec has no `jobs:` mapping")
    return jobs


def _job(root: Any, name: str, index: int, field: str) -> CommentedMap:
    job = _jobs(root, index, field).get(name)
    if not isinstance(job, CommentedMap):
        raise EditError(index, field, f"no job '{name}'" if job is None else f"job '{name}' is not a mapping")
    _not_shared(job, f"job '{name}'", index, field)
    return job


def _not_shared(node: Any, what: str, index: int, field: str) -> None:
    """An anchored node (``&x``) is also every alias of it (``*x``): changing it would change them
    all, which the user did not ask for."""
    anchor = getattr(getattr(node, "anchor", None), "value", None)
    if anchor is not None:
        raise EditError(
            index,
            field,
            f"{what} is shared through the anchor &{anchor} (its aliases would change too): "
            "edit it in the YAML",
        )


def _split(ref: str, index: int, field: str) -> tuple[str, str]:
    job, dot, port = ref.partition(".")
    if not dot or not job or not port:
        raise EditError(index, field, f"'{ref}' is not `job.port`")
    return job, port


def _flow(**values: Any) -> CommentedMap:
    """A one-line ``{key: value}`` mapping, the style the examples use for ports."""
    mapping = CommentedMap((k, v) for k, v in values.items() if v is not None)
    mapping.fa.set_flow_style()
    return mapping


def _table(job: CommentedMap, key: str) -> CommentedMap:
    table = job.get(key)
    if table is None:
        table = job[key] = CommentedMap()
    if not isinstance(table, CommentedMap):
        raise ValueError(f"`{key}` is not a mapping")
    anchor = getattr(table.anchor, "value", None)
    if anchor is not None:
        raise ValueError(f"`{key}` is shared through the anchor &{anchor}: edit it in the YAML")
    return table


def _delete(job: CommentedMap, table: str, key: str) -> None:
    ports = job[table]
    del ports[key]
    if not ports:
        del job[table]


def _add_job(root: Any, edit: AddJob, index: int) -> None:
    jobs = _jobs(root, index, "name")
    if edit.name in jobs:
        raise EditError(index, "name", f"job '{edit.name}' already exists")
    if not _valid_name(edit.name):
        raise EditError(
            index, "name", f"'{edit.name}' is not a valid job name: use letters, digits, '_', '-'"
        )
    job = CommentedMap()
    if edit.stage is not None:
        job["stage"] = edit.stage
    job["script"] = edit.script if edit.script is not None else f"echo {edit.name}"
    jobs[edit.name] = job


def _valid_name(name: str) -> bool:
    from reefline.spec.rename import NAME

    return bool(NAME.match(name))


def _connect(root: Any, edit: Connect, index: int) -> None:
    producer, output = _split(edit.from_, index, "from")
    consumer, port = _split(edit.to, index, "to")
    source = _job(root, producer, index, "from")
    outputs = source.get("outputs")
    declared = outputs.get(output) if isinstance(outputs, dict) else None
    if declared is None and not (output == "metrics" and "metrics" in source):
        raise EditError(index, "from", f"job '{producer}' has no output '{output}'")
    if producer == consumer:
        raise EditError(index, "to", "a job cannot read its own output")
    inputs = _table(_job(root, consumer, index, "to"), "inputs")
    existing = inputs.get(port)
    if isinstance(existing, CommentedMap):
        existing["from"] = edit.from_
        existing.pop("path", None)  # an input has a `path` or a `from`, not both
        return
    kind = declared.get("type") if isinstance(declared, dict) else "metrics/json"
    inputs[port] = _flow(**{"from": edit.from_, "type": kind})


def _set_field(root: Any, edit: SetField, index: int) -> None:
    node: Any = _job(root, edit.job, index, "job")
    *parents, last = edit.path
    for depth, key in enumerate(parents):
        child = node.get(key)
        if child is None:
            if edit.value is None:
                return
            child = node[key] = CommentedMap()
        if not isinstance(child, CommentedMap):
            raise EditError(index, f"path[{depth}]", f"'{key}' is not a mapping")
        _not_shared(child, f"'{key}'", index, f"path[{depth}]")
        node = child
    own = dict(node.non_merged_items())
    if edit.value is None and last in node and last not in own:
        raise EditError(
            index,
            f"path[{len(parents)}]",
            f"'{last}' comes from a merge key (`<<:`): edit it where it is set",
        )
    if edit.value is None:
        node.pop(last, None)
    else:
        node[last] = _plain(edit.value)


def _plain(value: Any) -> Any:
    """JSON values as round-trip nodes: nested objects stay block mappings, lists flow sequences."""
    if isinstance(value, dict):
        return CommentedMap((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, list):
        seq = CommentedSeq(_plain(v) for v in value)
        seq.fa.set_flow_style()
        return seq
    return value


def _drop_refs(root: Any, gone: str) -> None:
    """What named the deleted job: its `needs` entries and the inputs it fed."""
    jobs = root.get("jobs") if isinstance(root, dict) else None
    if not isinstance(jobs, dict):
        return
    for job in jobs.values():
        if not isinstance(job, CommentedMap):
            continue
        needs = job.get("needs")
        if isinstance(needs, list):
            for i in reversed(range(len(needs))):
                if needs[i] == gone:
                    del needs[i]
            if not needs:
                del job["needs"]
        inputs = job.get("inputs")
        if isinstance(inputs, CommentedMap):
            for name in [n for n, spec in inputs.items() if _fed_by(spec, gone)]:
                _delete(job, "inputs", name)


def _fed_by(spec: Any, job: str) -> bool:
    origin = spec.get("from") if isinstance(spec, dict) else None
    return isinstance(origin, str) and origin.partition(".")[0] == job
