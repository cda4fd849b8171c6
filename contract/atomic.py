"""Atomic writes: a reader sees the old file (or folder) or the new one, never half of one.

Everything is written beside its target under a hidden temporary name and then takes the
target's place with one rename (`os.replace`, atomic on POSIX within a filesystem). A
failure on the way (an exception, SIGTERM) leaves the target as it was and removes what
was written. The one place every writer of the project goes through: datasets, plan
files, forecast files, experiment tables, the main job's report folder.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path


def _beside(target: Path, tag: str) -> Path:
    return target.with_name(f".{target.name}.{tag}-{uuid.uuid4().hex[:8]}")


def replace_file(target: str | Path, write: Callable[[Path], object]) -> Path:
    """`write(tmp)` a file beside `target`, then move it into place; returns `target`."""
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _beside(path, "tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def replace_files(folder: str | Path, writers: Mapping[str, Callable[[Path], object]]) -> Path:
    """Write every named file of `folder` to a staging folder inside it first, then move
    each into place: nothing is replaced unless all of them were written."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    staging = target / f".staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        for name, write in writers.items():
            write(staging / name)
        for name in writers:
            os.replace(staging / name, target / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def replace_folder(target: str | Path, fill: Callable[[Path], object]) -> Path:
    """`fill(staging)` a new folder beside `target`, then swap it in whole; returns `target`."""
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = _beside(path, "staging")
    retired = _beside(path, "old")
    staging.mkdir()
    try:
        fill(staging)
        if path.exists():
            os.replace(path, retired)
        os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)
    return path
