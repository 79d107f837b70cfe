"""``@reefline.component``: record every call of a function as a component run."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

from reefline.sdk.call import ACTIVE, Call
from reefline.store.component_records import ComponentSpec

F = TypeVar("F", bound=Callable[..., Any])


@overload
def component(name: F) -> F: ...


@overload
def component(
    name: str | None = None,
    *,
    owner: str | None = None,
    description: str | None = None,
    kind: str | None = None,
    inputs: Sequence[Any] = (),
    outputs: Sequence[Any] = (),
) -> Callable[[F], F]: ...


def component(
    name: str | Callable[..., Any] | None = None,
    *,
    owner: str | None = None,
    description: str | None = None,
    kind: str | None = None,
    inputs: Sequence[Any] = (),
    outputs: Sequence[Any] = (),
) -> Any:
    """Record each call of the decorated function as a run of component ``name`` (default: the
    function's name) of type ``kind`` (default: as registered, else "component"), owned by ``owner``.

    ``inputs`` / ``outputs``: paths the call reads / writes, or names of the function's parameters
    whose arguments are such paths, on top of the path arguments found by themselves (existing
    before the call and unchanged: inputs; new or changed by it: outputs). The function's result
    and exceptions pass through unchanged; so do async functions. The wrapper's
    ``reefline_component`` attribute is the component's :class:`ComponentSpec`.
    """
    if callable(name):  # bare @reefline.component
        return component()(name)

    def decorate(func: F) -> F:
        spec = ComponentSpec(name or func.__name__, kind, owner, description)
        signature = _signature(func)

        def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | None:
            try:
                bound = signature.bind_partial(*args, **kwargs) if signature else None
                arguments = {} if bound is None else dict(bound.arguments)
                return Call.begin(spec, arguments, inputs, outputs)
            except Exception as exc:  # a bad call raises in the function itself
                from reefline.sdk.recorder import _warn

                _warn(f"cannot record the run of component {spec.name!r}: {type(exc).__name__}: {exc}")
                return None

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                call = begin(args, kwargs)
                token = ACTIVE.set(call)
                try:
                    result = await func(*args, **kwargs)
                except BaseException as error:
                    ACTIVE.reset(token)
                    if call is not None:
                        call.finish(error)
                    raise
                ACTIVE.reset(token)
                if call is not None:
                    call.finish(None)
                return result

            run_async.reefline_component = spec  # type: ignore[attr-defined]
            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            call = begin(args, kwargs)
            token = ACTIVE.set(call)
            try:
                result = func(*args, **kwargs)
            except BaseException as error:
                ACTIVE.reset(token)
                if call is not None:
                    call.finish(error)
                raise
            ACTIVE.reset(token)
            if call is not None:
                call.finish(None)
            return result

        run.reefline_component = spec  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return decorate


def _signature(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):  # some builtins have none: path detection is off for them
        return None
