"""The Python SDK: ``@reefline.component`` and ``reefline.log_output`` (mltrace's components).

    import reefline

    @reefline.component(name="featurize", owner="alice", description="raw rows to features")
    def featurize(raw_path: str, out_path: str) -> None: ...

    reefline.log_output("prediction-8812", inputs=["out/features.csv"])

Each call of a decorated function is recorded as a component run: start, end, status, exception,
git commit, inputs and outputs (by content hash), and, inside a Reefline job, the job's attempt. It
goes to the project's store, or to a server when ``REEFLINE_SERVER`` and ``REEFLINE_TOKEN`` are set.
Recording never changes what the function returns or raises: a failure to record is a warning on
stderr.
"""

from __future__ import annotations

from reefline.sdk.decorator import component
from reefline.sdk.outputs import log_output

__all__ = ["component", "log_output"]
