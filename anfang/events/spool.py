"""Append-only local spool: where accepted events go when the database cannot take them, so that
nothing accepted is lost (issue 5 §9). One JSON line per batch, fsynced before the device is told
"accepted"; `replay` writes the lines to the database once it is back and removes the file.

Each process appends to its own file under an exclusive lock; a replayer takes the same lock and
renames the file before reading it, and a writer that finds its file renamed under it starts a
new one — so no line is written into a file that is already being replayed."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings


def spool_dir() -> Path:
    path = Path(settings.ANFANG_SPOOL_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def append(kind: str, records: list[dict[str, Any]]) -> None:
    """Durably append one batch. Raises OSError when the disk cannot take it (→ 503)."""
    line = orjson.dumps({"kind": kind, "records": records}) + b"\n"
    path = spool_dir() / f"spool-{os.getpid()}.jsonl"
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.write(fd, line)
                os.fsync(fd)
                return
        finally:
            os.close(fd)


def pending() -> list[Path]:
    return sorted(spool_dir().glob("spool-*.jsonl")) + sorted(spool_dir().glob("replaying-*.jsonl"))


def _batches(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                # A torn last line (crash mid-write, never fsynced, never acknowledged) is skipped.
                try:
                    yield orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue


def replay(write: Callable[[str, list[dict[str, Any]]], None]) -> int:
    """Hand every spooled batch to `write(kind, records)`; a file is removed only when all its
    batches went in. Returns the number of batches replayed. Writes must be idempotent (dedup
    keys make them so): a crash mid-file replays that file again."""
    done = 0
    for path in pending():
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # another replayer took it meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another replayer (or the writer, for a moment) holds it; next round
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                continue  # renamed or finished by another replayer before we held it
            target = path
            if not path.name.startswith("replaying-"):
                # A unique name: a replay that failed (database still down) leaves its file behind,
                # and the same writer's next file must not be renamed over it.
                target = path.with_name(f"replaying-{path.stem[len('spool-') :]}-{time.time_ns()}.jsonl")
                os.rename(path, target)
            for batch in _batches(target):
                write(batch["kind"], batch["records"])
                done += 1
            target.unlink(missing_ok=True)
        finally:
            os.close(fd)
    return done
