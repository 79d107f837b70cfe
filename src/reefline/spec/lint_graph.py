"""Checks of the graph: needs, from, stage order, cycles, artifact types and types on edges."""

from __future__ import annotations

from dataclasses import dataclass

from reefline.spec.diagnostics import FieldPath
from reefline.spec.lint_report import Reporter, did_you_mean
from reefline.spec.models import Job, Pipeline
from reefline.spec.types import PREDEFINED, TypeRegistry

METRICS_TYPE = "metrics/json"


@dataclass(frozen=True, slots=True)
class Edge:
    """``job`` depends on ``dep``, written at ``path`` (a needs item or an input's ``from``)."""

    job: str
    dep: str
    path: FieldPath
    via: str  # "needs" or "from"
    output: str | None = None


def output_types(job: Job) -> dict[str, str]:
    """A job's outputs and their types, including ``metrics`` when the job sets ``metrics:``."""
    types = {name: out.type for name, out in job.outputs.items()}
    if job.metrics is not None:
        types.setdefault("metrics", METRICS_TYPE)
    return types


def collect_edges(pipeline: Pipeline, r: Reporter) -> list[Edge]:
    """Every valid dependency edge; reports unknown jobs and outputs on the way."""
    jobs = pipeline.jobs
    edges: list[Edge] = []
    for name, job in jobs.items():
        for i, dep in enumerate(job.needs or []):
            path: FieldPath = ("jobs", name, "needs", i)
            if dep in jobs:
                edges.append(Edge(name, dep, path, "needs"))
            else:
                hint = did_you_mean(dep, jobs) or f"jobs: {', '.join(jobs)}"
                r.value("RL201", f"job '{name}' needs the unknown job '{dep}'", path, hint)
        for iname, inp in job.inputs.items():
            if inp.from_ is None:
                continue
            path = ("jobs", name, "inputs", iname, "from")
            edge = _from_edge(pipeline, name, iname, inp.from_, path, r)
            if edge is not None:
                edges.append(edge)
    return edges


def _from_edge(  # noqa: PLR0917
    pipeline: Pipeline, name: str, iname: str, ref: str, path: FieldPath, r: Reporter
) -> Edge | None:
    dep, dot, output = ref.partition(".")
    jobs = pipeline.jobs
    if not dot or not dep or not output:
        outs = output_types(jobs[dep]) if dep in jobs else {}
        example = f"{dep}.{next(iter(outs))}" if outs else "prepare.train"
        r.value(
            "RL202",
            f"'from' of input '{iname}' of job '{name}' must be 'job.output', got {ref!r}",
            path,
            f"e.g. `from: {example}`",
        )
        return None
    if dep not in jobs:
        hint = did_you_mean(dep, jobs) or f"jobs: {', '.join(jobs)}"
        r.inside(
            "RL202",
            f"input '{iname}' of job '{name}' comes from the unknown job '{dep}'",
            path,
            0,
            len(dep),
            hint,
        )
        return None
    outs = output_types(jobs[dep])
    if output not in outs:
        hint = did_you_mean(output, outs) or (
            f"outputs of '{dep}': {', '.join(outs)}" if outs else f"job '{dep}' declares no outputs"
        )
        r.inside(
            "RL202",
            f"job '{dep}' has no output '{output}' (input '{iname}' of job '{name}')",
            path,
            len(dep) + 1,
            len(output),
            hint,
        )
        return None
    return Edge(name, dep, path, "from", output)


def check_stage_order(pipeline: Pipeline, edges: list[Edge], r: Reporter) -> None:
    order = {stage: i for i, stage in reversed(list(enumerate(pipeline.stages)))}
    first = pipeline.stages[0] if pipeline.stages else None

    def stage_of(job: str) -> str | None:
        return pipeline.jobs[job].stage or first

    for e in edges:
        mine, theirs = stage_of(e.job), stage_of(e.dep)
        if mine not in order or theirs not in order or order[theirs] <= order[mine]:
            continue
        what = f"needs '{e.dep}'" if e.via == "needs" else f"takes '{e.dep}.{e.output}'"
        r.value(
            "RL205",
            f"job '{e.job}' (stage {mine}) {what} of the later stage '{theirs}'",
            e.path,
            f"move '{e.dep}' to stage '{mine}' or earlier, or '{e.job}' to '{theirs}' or later",
        )


def check_cycles(pipeline: Pipeline, edges: list[Edge], r: Reporter) -> None:
    out: dict[str, list[Edge]] = {name: [] for name in pipeline.jobs}
    for e in edges:
        out[e.job].append(e)
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []
    found: set[tuple[str, ...]] = set()

    def visit(start: str) -> None:
        # Iterative DFS: a long chain of needs must not hit Python's recursion limit.
        work: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        stack.append(start)
        while work:
            node, i = work[-1]
            if i >= len(out[node]):
                work.pop()
                stack.pop()
                state[node] = 2
                continue
            work[-1] = (node, i + 1)
            dep = out[node][i].dep
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep) :]
                k = cycle.index(min(cycle))
                found.add(tuple(cycle[k:] + cycle[:k]))
            elif dep not in state:
                state[dep] = 1
                stack.append(dep)
                work.append((dep, 0))

    for name in pipeline.jobs:
        if name not in state:
            visit(name)
    for cycle in sorted(found):
        nxt = cycle[1] if len(cycle) > 1 else cycle[0]
        edge = next(e for e in out[cycle[0]] if e.dep == nxt)
        shown = " -> ".join((*cycle, cycle[0]))
        r.value(
            "RL203",
            f"dependency cycle: {shown}",
            edge.path,
            "a job cannot depend on itself, directly or through needs/from",
        )


def check_types(pipeline: Pipeline, registry: TypeRegistry, r: Reporter) -> None:
    names = registry.names()
    for tname, custom in pipeline.types.items():
        if tname in PREDEFINED:
            r.key(
                "RL304",
                f"type '{tname}' is predefined and cannot be redeclared",
                ("types", tname),
                f"declare a refinement instead, e.g. `{tname}/mine: {{extends: {tname}}}`",
            )
            continue
        if not registry.known(custom.extends):
            r.value(
                "RL302",
                f"type '{tname}' extends the unknown type '{custom.extends}'",
                ("types", tname, "extends"),
                did_you_mean(custom.extends, names),
            )
    reported: set[frozenset[str]] = set()
    for tname in sorted(pipeline.types):
        if tname in PREDEFINED:
            continue
        chain = registry.ancestors(tname)
        last = registry.parent(chain[-1]) if registry.known(chain[-1]) else None
        if last is not None and last in chain:
            cycle = chain[chain.index(last) :]
            if frozenset(cycle) in reported:
                continue
            reported.add(frozenset(cycle))
            shown = " -> ".join((*cycle, cycle[0]))
            r.value("RL303", f"cycle in type extends: {shown}", ("types", cycle[0], "extends"))
    for name, job in pipeline.jobs.items():
        for oname, out in job.outputs.items():
            _known_type(out.type, ("jobs", name, "outputs", oname, "type"), registry, r)
        for iname, inp in job.inputs.items():
            if inp.type is not None:
                _known_type(inp.type, ("jobs", name, "inputs", iname, "type"), registry, r)


def _known_type(tname: str, path: FieldPath, registry: TypeRegistry, r: Reporter) -> None:
    if not registry.known(tname):
        hint = did_you_mean(tname, registry.names()) or (
            f"known types: {', '.join(sorted(registry.names()))}; declare others under `types:`"
        )
        r.value("RL302", f"unknown artifact type '{tname}'", path, hint)


def check_edge_types(pipeline: Pipeline, edges: list[Edge], registry: TypeRegistry, r: Reporter) -> None:
    for e in edges:
        if e.via != "from" or e.output is None:
            continue
        iname = e.path[3]
        want = pipeline.jobs[e.job].inputs[str(iname)].type
        have = output_types(pipeline.jobs[e.dep])[e.output]
        if want is None or not registry.known(want) or not registry.known(have):
            continue
        if not registry.is_subtype(have, want):
            r.value(
                "RL301",
                f"type mismatch: input '{iname}' of job '{e.job}' expects {want} "
                f"but '{e.dep}.{e.output}' is {have}",
                ("jobs", e.job, "inputs", str(iname), "type"),
                f"{have} is not a {want}",
            )
