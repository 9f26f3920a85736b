"""Output folders shared with the user (``--out DIR``): output sets with a manifest.

A manifest (``.workbench-outputs.json``) lists the files each named set of outputs
(``keyframes``, ``locate``, ``report:<case>``) wrote; nothing else in the folder is ever
deleted, a folder holding files the workbench did not write is refused unless
``force`` (then they are kept), and a whole set is switched in at once, so a killed run
leaves the previous set whole (the next run finishes or removes what it left).  Built
on :mod:`workbench.atomic`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from workbench.atomic import (
    STALE_NAME,
    UMASK,
    atomic_write_text,
    clean_stale,
    fsync_dir,
    pid_alive,
    swap_in,
    temp_name,
)
from workbench.errors import OutputError
from workbench.textsafe import safe_path

MANIFEST_NAME = ".workbench-outputs.json"
MANIFEST_SCHEMA = "workbench.outputs/1"
_STAGE = "workbench-outputs"  # in-place staging folders: .workbench-outputs.wbtmp-PID-*


def _read_manifest(folder: Path) -> dict[str, list[str]] | None:
    """``{set name: [relative file paths]}`` from ``folder``'s manifest; ``{}`` when there
    is none, ``None`` when it is unreadable (then nothing in the folder counts as ours)."""
    mpath = folder / MANIFEST_NAME
    if not mpath.is_file():
        return {}
    try:
        if mpath.stat().st_size > 16 << 20:
            return None
        doc = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    sets = doc.get("sets") if isinstance(doc, dict) else None
    if not isinstance(sets, dict):
        return None
    out: dict[str, list[str]] = {}
    for key, files in sets.items():
        if isinstance(key, str) and isinstance(files, list):
            out[key] = [f for f in files if isinstance(f, str) and _safe_rel(f)]
    return out


def _safe_rel(rel: str) -> bool:
    parts = Path(rel).parts
    return bool(parts) and not Path(rel).is_absolute() and ".." not in parts


def _ours(name: str) -> bool:
    """A top-level name this module makes (manifest, temp and stage folders, write tests)."""
    return name == MANIFEST_NAME or name.startswith(".write-test.") or bool(STALE_NAME.match(name))


def _scan(folder: Path) -> tuple[list[str], list[str]]:
    """Relative paths of the files (and symlinks) and of the folders below ``folder``,
    leaving out this module's own names at the top level."""
    files: list[str] = []
    dirs: list[str] = []
    if not folder.is_dir():
        return files, dirs
    for root, dnames, fnames in os.walk(folder):
        rel_root = Path(root).relative_to(folder)
        top = rel_root == Path(".")
        keep = []
        for d in dnames:
            full = Path(root) / d
            if top and _ours(d):
                continue
            if full.is_symlink():
                files.append(str(rel_root / d))
            else:
                keep.append(d)
                dirs.append(str(rel_root / d))
        dnames[:] = keep
        files.extend(str(rel_root / f) for f in fnames if not (top and _ours(f)))
    return sorted(files), sorted(dirs)


def _foreign(folder: Path, set_name: str) -> list[str]:
    manifest = _read_manifest(folder)
    files, _ = _scan(folder)
    if manifest is None:
        return files
    owned = {f for fs in manifest.values() for f in fs}
    return [f for f in files if f not in owned]


def _in_place(folder: Path) -> bool:
    """True when ``folder`` cannot be swapped whole: the working folder or one of its
    ancestors (renaming it would strand the shell), or a mount point."""
    try:
        here = Path.cwd().resolve()
        real = folder.resolve()
    except OSError:
        return True
    return real == here or real in here.parents or os.path.ismount(real)


def check_output_dir(path: str | os.PathLike[str], set_name: str, *,
                     force: bool = False) -> Path:
    """Before long work: ``path`` can take output set ``set_name`` (see :func:`output_set`).

    Finishes or removes what a killed earlier run left, then checks the folder.

    Raises:
        OutputError: ``path`` is a file or not writable, or it holds files no workbench
            output set wrote and ``force`` is false (the message names one of them).
    """
    folder = Path(path)
    recover_output_dir(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError("exists and is not a folder", folder)
    if folder.is_dir() and not force:
        foreign = _foreign(folder, set_name)
        if foreign:
            raise OutputError(
                f"holds {len(foreign)} file(s) the workbench did not write (e.g."
                f" {safe_path(foreign[0])}); choose a new or empty folder, or pass --force"
                " to write beside them (they are kept)", folder)
    parent = folder if folder.is_dir() else folder.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError("cannot write to this folder (permission denied)", parent)
    return folder


def recover_output_dir(path: str | os.PathLike[str]) -> None:
    """Finish or undo what a killed writer of the output folder ``path`` left: swaps
    beside it (:func:`clean_stale`) and in-place commits inside it (rolled forward when
    their staging was complete, removed otherwise)."""
    folder = Path(path)
    if folder.name and folder.name not in (".", ".."):
        clean_stale(folder)
    if not folder.is_dir():
        return
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return
    for n in names:  # in-place stages: complete ones (wbnew) rolled forward, others removed
        m = STALE_NAME.match(n)
        if not (m and m["name"] == _STAGE and not pid_alive(int(m["pid"]))):
            continue
        if m["kind"] == "new":
            _commit_in_place(folder / n, folder)
        else:
            shutil.rmtree(folder / n, ignore_errors=True)


@contextlib.contextmanager
def output_set(path: str | os.PathLike[str], set_name: str, *,
               force: bool = False) -> Iterator[Path]:
    """Write the output set ``set_name`` into the folder ``path``, all files at once.

    Yields an empty staging folder; the caller writes the set's files into it (the
    same relative layout as in ``path``).  On normal exit the set is switched in:
    ``path`` then holds exactly the new set's files, every file of the other sets and,
    with ``force``, every file the workbench did not write, and the manifest
    (``.workbench-outputs.json``) lists each set's files.  Files of this set's previous
    run that the new run did not write are removed; nothing else ever is.

    The switch: ``path``'s other files are hard-linked into the staging folder
    (no data copied), which then replaces ``path`` whole (one rename; a kill leaves
    the old folder or the new, and the next run finishes a half swap).  Where ``path``
    cannot be renamed (it is ``.``, holds the working folder, or is a mount point) or
    hard links fail, the staging folder is inside ``path`` and its files are moved in
    one by one after it is complete; a kill mid-way is rolled forward by the next run.
    On an exception nothing in ``path`` changes and the staging folder is removed.

    Raises:
        OutputError: see :func:`check_output_dir`; or the folder cannot be written.
    """
    folder = Path(path)
    if not folder.name or folder.name in (".", ".."):
        folder = folder.absolute()
    check_output_dir(folder, set_name, force=force)
    in_place = folder.is_dir() and _in_place(folder)
    created: Path | None = None  # the outermost missing parent this call makes, if any
    try:
        if in_place:
            stage = folder / temp_name(Path(_STAGE), "tmp")
        else:
            missing = folder.absolute().parent
            while not missing.exists() and missing.parent != missing:
                created, missing = missing, missing.parent
            folder.parent.mkdir(parents=True, exist_ok=True)
            stage = folder.with_name(temp_name(folder, "tmp"))
        stage.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror or exc})", folder) from exc
    with contextlib.suppress(OSError):
        stage.chmod(0o777 & ~UMASK)
    try:
        yield stage
        new_files, _ = _scan(stage)
        new_files = [f for f in new_files if f != MANIFEST_NAME]
        manifest = _read_manifest(folder) if folder.is_dir() else {}
        if manifest is None:  # unreadable: only reachable with force
            manifest = {}
        fresh = set(new_files)
        sets = {k: [f for f in v if f not in fresh] for k, v in manifest.items() if k != set_name}
        sets[set_name] = new_files
        doc = {"schema": MANIFEST_SCHEMA,
               "sets": {k: v for k, v in sorted(sets.items()) if v or k == set_name}}
        text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
        if not in_place and folder.is_dir():
            old_set = set(manifest.get(set_name, []))
            files, dirs = _scan(folder)
            if not force and _foreign(folder, set_name):  # appeared while we worked
                raise OutputError("files the workbench did not write appeared while it"
                                  " worked; nothing was changed (pass --force to keep them"
                                  " beside the outputs)", folder)
            try:
                _link_into(folder, stage, [f for f in files if f not in old_set and
                                           f not in fresh], dirs)
                with contextlib.suppress(OSError):
                    stage.chmod(folder.stat().st_mode & 0o7777)
            except OSError:
                in_place = True  # hard links refused: move the set in file by file
        atomic_write_text(stage / MANIFEST_NAME, text)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if created is not None:  # a failed run leaves no (empty) parent folders behind
            shutil.rmtree(created, ignore_errors=True)
        raise
    if in_place:
        if stage.parent != folder:  # built beside: move the staging folder inside
            inner = folder / temp_name(Path(_STAGE), "tmp")
            try:
                os.replace(stage, inner)
            except OSError as exc:
                shutil.rmtree(stage, ignore_errors=True)
                raise OutputError(f"cannot write here ({exc.strerror or exc})", folder) from exc
            stage = inner
        done = folder / temp_name(Path(_STAGE), "new")
        os.replace(stage, done)  # complete: the next run rolls a killed commit forward
        _commit_in_place(done, folder)
    else:
        swap_in(stage, folder)


def _link_into(src: Path, dst: Path, files: list[str], dirs: list[str]) -> None:
    """Hard-link ``files`` (symlinks copied as links) and recreate ``dirs`` of ``src`` in
    ``dst``; raises OSError when a hard link is refused (other file system, policy)."""
    for d in dirs:
        (dst / d).mkdir(parents=True, exist_ok=True)
    for f in files:
        s, t = src / f, dst / f
        t.parent.mkdir(parents=True, exist_ok=True)
        if s.is_symlink():
            os.symlink(os.readlink(s), t)
        else:
            os.link(s, t, follow_symlinks=False)


def _commit_in_place(stage: Path, folder: Path) -> None:
    """Move a complete staging folder's files into ``folder`` (replacing), remove the
    files of the previous run of the same sets that the new manifest no longer lists,
    then put the manifest in.  Idempotent: a killed commit is finished by calling it
    again (:func:`recover_output_dir`)."""
    new_manifest = _read_manifest(stage) or {}
    old_manifest = _read_manifest(folder) or {}
    files, _ = _scan(stage)
    try:
        for f in files:
            if f == MANIFEST_NAME:
                continue
            t = folder / f
            t.parent.mkdir(parents=True, exist_ok=True)
            if t.is_dir() and not t.is_symlink():
                raise OutputError(f"a folder is in the way of {safe_path(f)}", folder)
            os.replace(stage / f, t)
        listed = {f for fs in new_manifest.values() for f in fs}
        for key, old_files in old_manifest.items():
            if key not in new_manifest:
                continue
            for f in old_files:
                if f not in listed:
                    with contextlib.suppress(OSError):
                        (folder / f).unlink()
                    _prune_empty(folder, (folder / f).parent)
        if (stage / MANIFEST_NAME).exists():
            os.replace(stage / MANIFEST_NAME, folder / MANIFEST_NAME)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"cannot write outputs ({exc.strerror or exc})", folder) from exc
    shutil.rmtree(stage, ignore_errors=True)
    fsync_dir(folder)


def _prune_empty(top: Path, d: Path) -> None:
    while d != top and top in d.parents:
        try:
            d.rmdir()
        except OSError:
            return
        d = d.parent
