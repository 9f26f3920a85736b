"""The index on disk: a versioned JSON manifest, a journal, and memory-mapped ``.npy`` arrays.

Layout of an index folder::

    manifest.json        format, version, settings, rasters (SHA-256, georeference,
                         block grids), finished chunks, vocabulary, inverted file
    journal.jsonl        one line per chunk finished since the manifest was last
                         written (fsync'd; a torn last line after a kill is ignored)
    vocab.npy            (n_nodes, 128) float32 vocabulary tree (workbench.index.vocab)
    chunks/NAME.blocks.npy   BLOCK_DTYPE records of the chunk's blocks
    chunks/NAME.feats.npy    FEATURE_DTYPE records of their features
    inverted/gN.*.npy    the inverted file of generation N (workbench.index.retrieve)

Every file is written whole to a temporary sibling and renamed into place
(:mod:`workbench.atomic`), so a kill leaves either the old file or the new one;
a chunk counts as finished only once its journal line is on disk.  Arrays are
opened with ``mmap_mode="r"``: nothing is read until used.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.atomic import atomic_write_bytes, atomic_write_text
from workbench.errors import OutputError
from workbench.hashing import sha256_file
from workbench.index.model import (
    FORMAT,
    VERSION,
    ChunkRecord,
    IndexConfig,
    IndexCorruptError,
    IndexStaleError,
    IndexVersionError,
    RasterEntry,
    RegionIndexError,
)

MANIFEST = "manifest.json"
JOURNAL = "journal.jsonl"


@dataclass
class IndexStore:
    """An index folder opened for reading and appending (see the module docstring)."""

    root: Path
    config: IndexConfig
    rasters: list[RasterEntry] = field(default_factory=list)
    chunks: list[ChunkRecord] = field(default_factory=list)
    vocabulary: dict[str, Any] | None = None  # {"file", "bytes", "branch", "depth"}
    inverted: dict[str, Any] | None = None  # {"gen", "chunks", "files": {name: bytes}}
    created: str = ""
    stale_files: list[str] = field(default_factory=list)  # removed after the next save

    # --- opening and saving ----------------------------------------------------------

    @staticmethod
    def exists(root: str | os.PathLike[str]) -> bool:
        """True if ``root`` holds an index manifest."""
        return (Path(root) / MANIFEST).is_file()

    @classmethod
    def create(cls, root: str | os.PathLike[str], config: IndexConfig, created: str) -> IndexStore:
        """Start a new, empty index in ``root`` (created; must not hold foreign files).

        Raises:
            OutputError: ``root`` is a file or a folder holding other files.
        """
        path = Path(root)
        if path.exists() and not path.is_dir():
            raise OutputError("exists and is not a folder", path)
        if path.is_dir() and any(path.iterdir()):
            raise OutputError("folder is not empty and holds no index; choose a new folder",
                              path)
        store = cls(path, config, created=created)
        store.save()
        return store

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> IndexStore:
        """Read the manifest and replay the journal.

        Raises:
            RegionIndexError: no index there.  IndexVersionError: another format/version.
            IndexCorruptError: unreadable manifest or a chunk file missing/truncated.
        """
        path = Path(root)
        mpath = path / MANIFEST
        if not mpath.is_file():
            raise RegionIndexError("not a workbench index (no manifest.json)", path)
        try:
            doc = json.loads(mpath.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IndexCorruptError(f"unreadable index manifest ({exc})", mpath) from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise IndexVersionError("not a workbench index manifest", mpath)
        if doc.get("version") != VERSION:
            raise IndexVersionError(
                f"index version {doc.get('version')!r}, this workbench reads version {VERSION};"
                " rebuild it with workbench index", mpath)
        try:
            store = cls(
                path, IndexConfig.from_json(doc["config"]),
                [RasterEntry.from_json(r) for r in doc["rasters"]],
                [ChunkRecord.from_json(c) for c in doc["chunks"]],
                doc.get("vocabulary"), doc.get("inverted"), str(doc.get("created", "")),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise IndexCorruptError(f"malformed index manifest ({exc!r})", mpath) from exc
        store._replay_journal()
        for rec in store.chunks:
            store._check_chunk_files(rec)
        return store

    def _replay_journal(self) -> None:
        jpath = self.root / JOURNAL
        if not jpath.is_file():
            return
        known = {c.name for c in self.chunks}
        for line in jpath.read_bytes().splitlines():
            try:
                rec = ChunkRecord.from_json(json.loads(line)["chunk"])
            except (ValueError, KeyError, TypeError, IndexError):
                continue  # a torn last line after a kill: that chunk is done again
            if rec.name not in known:
                known.add(rec.name)
                self.chunks.append(rec)

    def to_json(self) -> dict[str, Any]:
        """The manifest document."""
        return {
            "format": FORMAT, "version": VERSION, "created": self.created,
            "config": self.config.to_json(),
            "vocabulary": self.vocabulary, "inverted": self.inverted,
            "rasters": [r.to_json() for r in self.rasters],
            "chunks": [c.to_json() for c in self.chunks],
        }

    def save(self) -> None:
        """Write the manifest atomically and fold the journal into it."""
        atomic_write_text(self.root / MANIFEST, json.dumps(self.to_json(), indent=1) + "\n")
        with contextlib.suppress(FileNotFoundError):
            (self.root / JOURNAL).unlink()
        for rel in self.stale_files:
            with contextlib.suppress(OSError):
                (self.root / rel).unlink()
        self.stale_files = []

    # --- arrays ----------------------------------------------------------------------

    def write_array(self, rel: str, arr: np.ndarray) -> int:
        """Write ``arr`` as ``.npy`` at ``root/rel`` atomically; returns its size in bytes."""
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
        data = buf.getvalue()
        atomic_write_bytes(self.root / rel, data)
        return len(data)

    def load_array(self, rel: str, nbytes: int | None = None) -> np.ndarray:
        """Memory-map ``root/rel`` read-only, checking its recorded size.

        Raises:
            IndexCorruptError: missing, truncated or not a ``.npy`` file.
        """
        p = self.root / rel
        try:
            size = p.stat().st_size
        except OSError as exc:
            raise IndexCorruptError("index file missing; rebuild the index", p) from exc
        if nbytes is not None and size != nbytes:
            raise IndexCorruptError(
                f"index file truncated or changed ({size} bytes, {nbytes} written);"
                " rebuild the index", p)
        try:
            arr = np.load(p, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"unreadable index file ({exc})", p) from exc
        return np.asarray(arr) if not isinstance(arr, np.memmap) else arr

    # --- chunks ----------------------------------------------------------------------

    def add_chunk(self, rec: ChunkRecord, blocks: np.ndarray, feats: np.ndarray) -> ChunkRecord:
        """Write a chunk's two arrays, then journal it (the chunk counts from then on)."""
        nb = self.write_array(f"chunks/{rec.name}.blocks.npy", blocks)
        nf = self.write_array(f"chunks/{rec.name}.feats.npy", feats)
        done = ChunkRecord(rec.name, rec.raster, rec.level, rec.first, rec.count,
                           rec.n_features, (nb, nf))
        line = json.dumps({"chunk": done.to_json()}) + "\n"
        jpath = self.root / JOURNAL
        try:
            with open(jpath, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise OutputError(f"cannot write the index journal ({exc.strerror or exc})",
                              jpath) from exc
        self.chunks.append(done)
        return done

    def _check_chunk_files(self, rec: ChunkRecord) -> None:
        for suffix, nbytes in (("blocks", rec.bytes[0]), ("feats", rec.bytes[1])):
            p = self.root / "chunks" / f"{rec.name}.{suffix}.npy"
            try:
                size = p.stat().st_size
            except OSError as exc:
                raise IndexCorruptError("index file missing; rebuild the index", p) from exc
            if size != nbytes:
                raise IndexCorruptError(
                    f"index file truncated or changed ({size} bytes, {nbytes} written);"
                    " rebuild the index", p)

    def load_chunk(self, rec: ChunkRecord) -> tuple[np.ndarray, np.ndarray]:
        """``(blocks, feats)`` memory-mapped arrays of a finished chunk."""
        blocks = self.load_array(f"chunks/{rec.name}.blocks.npy", rec.bytes[0])
        feats = self.load_array(f"chunks/{rec.name}.feats.npy", rec.bytes[1])
        return blocks, feats

    def chunks_of(self, raster: int) -> list[ChunkRecord]:
        """Finished chunks of one raster."""
        return [c for c in self.chunks if c.raster == raster]

    # --- rasters ---------------------------------------------------------------------

    def find_raster(self, path: str, sha256: str) -> RasterEntry | None:
        """The entry of the same file (by resolved path) or the same bytes (by hash)."""
        for r in self.rasters:
            if r.path == path or r.sha256 == sha256:
                return r
        return None

    def check_rasters(self, *, deep: bool = False) -> None:
        """Check that every indexed raster is still where it was, unchanged.

        Size and modification time are compared first; when either differs (or with
        ``deep``) the file's SHA-256 decides.

        Raises:
            IndexStaleError: naming the raster: moved/deleted, or changed (hash differs).
        """
        for r in self.rasters:
            check_raster(r, deep=deep)


def check_raster(r: RasterEntry, *, deep: bool = False) -> None:
    """See :meth:`IndexStore.check_rasters` (one raster, and its recorded source files)."""
    _check_file(Path(r.path), r.size, r.mtime_ns, r.sha256, deep, "raster")
    for f in r.sources:
        _check_file(Path(str(f["path"])), int(f["size"]), int(f["mtime_ns"]), str(f["sha256"]),
                    deep, f"source file of {Path(r.path).name}")


def _check_file(p: Path, size: int, mtime_ns: int, sha256: str, deep: bool, what: str) -> None:
    try:
        st = p.stat()
    except OSError as exc:
        raise IndexStaleError(
            f"indexed {what} moved or deleted since indexing; restore it or rebuild the index",
            p) from exc
    if not deep and st.st_size == size and st.st_mtime_ns == mtime_ns:
        return
    try:
        digest, _ = sha256_file(p)
    except OSError as exc:
        raise IndexStaleError(f"indexed {what} unreadable ({exc.strerror or exc})", p) from exc
    if digest != sha256:
        raise IndexStaleError(
            f"{what} changed since indexing (SHA-256 {digest[:12]}…, indexed {sha256[:12]}…);"
            " rebuild the index", p)
