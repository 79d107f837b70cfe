"""A project's source as one deterministic tarball: packed on push, kept by hash, unpacked per run.

Packing is in :mod:`reefline.services.source_pack`, keeping and unpacking (and its safety checks) in
:mod:`reefline.services.source_unpack`; this module gathers their public names.
"""

from reefline.services.source_pack import (
    ALWAYS_EXCLUDED,
    DEFAULT_LIMIT_BYTES,
    DEFAULT_MAX_FILES,
    IGNORE_FILES,
    Bundle,
    SourceRef,
    pack,
)
from reefline.services.source_unpack import SHA256, Unpacked, bundle_path, run_workspace, store_bundle, unpack

__all__ = [
    "ALWAYS_EXCLUDED",
    "DEFAULT_LIMIT_BYTES",
    "DEFAULT_MAX_FILES",
    "IGNORE_FILES",
    "SHA256",
    "Bundle",
    "SourceRef",
    "Unpacked",
    "bundle_path",
    "pack",
    "run_workspace",
    "store_bundle",
    "unpack",
]
