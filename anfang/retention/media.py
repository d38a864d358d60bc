"""Media references of purged rows, and which of their files may go.

Pictures are content-addressed (`events.media`): two rows — an ANPR event and its vehicle
passage, or a picture sent twice — can share one file, so a file is deleted only when no row of
any media-bearing class still refers to it. Rows are deleted (and committed) before their files:
a crash in between leaves files without rows, which `sweep` collects, never rows without files."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from anfang.core import storage

from .registry import Spec, media_classes

BATCH = 500


def refs_of(value: Any) -> Iterator[tuple[str, int]]:
    """(path, size) of every reference in a media field value: a list of refs, one ref, or a path."""
    if not value:
        return
    if isinstance(value, str):
        yield value, 0
    elif isinstance(value, dict):
        if value.get("path"):
            yield str(value["path"]), int(value.get("size") or 0)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from refs_of(item)
    elif getattr(value, "name", ""):  # a FieldFile
        yield value.name, 0


def is_json(model: type[models.Model], name: str) -> bool:
    return isinstance(model._meta.get_field(name), models.JSONField)


def non_empty(model: type[models.Model], name: str) -> Q:
    """Rows whose media field holds something (skips the common empty value cheaply)."""
    if is_json(model, name):
        return ~Q(**{name: []}) & ~Q(**{f"{name}__isnull": True}) & ~Q(**{name: {}})
    return ~Q(**{name: ""}) & ~Q(**{f"{name}__isnull": True})


def _referencing(model: type[models.Model], name: str, paths: list[str]) -> models.QuerySet:
    if not is_json(model, name):
        return model._base_manager.filter(**{f"{name}__in": paths})
    if connection.vendor == "postgresql":
        q = Q()
        for p in paths:  # jsonb @> '[{"path": …}]' — served by a GIN (jsonb_path_ops) index where one exists
            q |= Q(**{f"{name}__contains": [{"path": p}]})
        return model._base_manager.filter(q)
    # SQLite has no JSON containment: the reference is found in the JSON text.
    text = model._base_manager.annotate(_media_text=Cast(name, TextField()))
    q = Q()
    for p in paths:
        q |= Q(_media_text__contains=f'"{p}"')
    return text.filter(non_empty(model, name)).filter(q)


def still_referenced(paths: Iterable[str], doomed: dict[str, Q] | None = None) -> set[str]:
    """The paths some surviving row of any media class refers to. `doomed` (model label → Q) names
    rows that do not count as surviving: those a dry run would delete."""
    wanted = sorted(set(paths))
    found: set[str] = set()
    for spec in media_classes():
        model = spec.model()
        assert model is not None
        if not spec_media(spec, model):
            continue
        for start in range(0, len(wanted), BATCH):
            chunk = [p for p in wanted[start : start + BATCH] if p not in found]
            if not chunk:
                continue
            referencing = _referencing(model, spec.media_field, chunk)
            if doomed and spec.model_label in doomed:
                referencing = referencing.exclude(doomed[spec.model_label])
            for value in referencing.values_list(spec.media_field, flat=True):
                found.update(p for p, _size in refs_of(value) if p in chunk)
    return found


@dataclass
class FileOutcome:
    files: int = 0
    bytes: int = 0
    missing: list[str] = field(default_factory=list)
    shared: int = 0  # kept: still referenced by a surviving or held row
    store_error: str = ""  # the store could not be reached: the rest waits for the media sweep

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "bytes": self.bytes,
            "missing_files": len(self.missing),
            "missing": self.missing[:50],
            "shared_files_kept": self.shared,
            "store_error": self.store_error,
        }


def delete_unreferenced(refs: dict[str, int], *, dry_run: bool, doomed: dict[str, Q] | None = None) -> FileOutcome:
    """Delete the files of purged rows that no surviving row refers to, through the media store
    (filesystem or S3). A missing file is reported, not an error (it is gone either way); a store
    that cannot be reached stops the deleting and is reported — the rows are gone already, the
    files are collected by the next media sweep."""
    outcome = FileOutcome()
    keep = still_referenced(refs, doomed if dry_run else None)
    outcome.shared = len(keep)
    store = storage.get_store()
    for path, size in sorted(refs.items()):
        if path in keep:
            continue
        ref = {"path": path}
        try:
            present = store.exists(ref) if dry_run else store.delete(ref)
        except FileNotFoundError:  # a reference outside the store's folders
            present = False
        except OSError as exc:
            outcome.store_error = f"{type(exc).__name__}: {exc}"
            break
        if not present:
            outcome.missing.append(path)
            continue
        outcome.files += 1
        outcome.bytes += size
    return outcome


def stored_files(grace_seconds: float) -> Iterator[tuple[str, int]]:
    """(relative path, size) of every picture in the media store older than the grace period
    (a picture is written before its row is committed: a young file may be about to be referenced)."""
    root = Path(settings.MEDIA_ROOT).resolve()
    base = root / storage.POLICIES["picture"].prefix
    if not base.is_dir():
        return
    horizon = time.time() - grace_seconds
    for dirpath, _dirs, files in os.walk(base):
        for name in files:
            if name.endswith(".tmp"):
                continue
            full = Path(dirpath) / name
            try:
                stat = full.stat()
            except FileNotFoundError:
                continue
            if stat.st_mtime <= horizon:
                yield str(full.relative_to(root)), stat.st_size


def sweep(*, dry_run: bool, grace_seconds: float = 86_400) -> dict[str, Any]:
    """Collect pictures no row refers to (left by a purge interrupted between rows and files).
    Filesystem store only: an S3 bucket is swept by its own lifecycle rules."""
    store = storage.get_store()
    if not isinstance(store, storage.FileSystemStore):
        return {"skipped": f"store {store.name} is not swept here"}
    outcome = FileOutcome()
    checked = 0
    batch: dict[str, int] = {}

    def flush() -> None:
        keep = still_referenced(batch)
        for path, size in batch.items():
            if path in keep:
                continue
            outcome.files += 1
            outcome.bytes += size
            if not dry_run:
                store.delete({"path": path})
        batch.clear()

    for path, size in stored_files(grace_seconds):
        checked += 1
        batch[path] = size
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return {"checked": checked, "files": outcome.files, "bytes": outcome.bytes}


def spec_media(spec: Spec, model: type[models.Model]) -> str:
    """The class's media field, if its model has it."""
    if not spec.media_field:
        return ""
    try:
        model._meta.get_field(spec.media_field)
    except Exception:
        return ""
    return spec.media_field
