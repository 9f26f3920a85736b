"""Shortlisting blocks: an inverted file over visual words with tf-idf weights.

The inverted file (generation ``N``, files ``inverted/gN.*.npy``) holds, for every
visual word ``w``, the blocks containing it: postings ``ptr[w] .. ptr[w+1]-1`` of
``block`` (global block id, ``uint32``) and ``weight`` (``float16``).  A block's
weight for a word is ``sqrt(tf) * idf`` (square-rooted term frequency tames
repetitive texture — roofs, fields — that would otherwise dominate), divided by the
block's L2 norm, so a query scores every block by cosine similarity while touching
only the postings of its own words.  ``blocks`` is the global block table
(``BLOCK_DTYPE``) in chunk order.

All keyframes of a shot vote together: their word counts are pooled into one query
histogram before scoring, so a place seen from several keyframes outranks a block
that happens to resemble one of them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from workbench.errors import UsageError
from workbench.index.model import BLOCK_DTYPE, EmptyRegionError, IndexCorruptError, Shortlisted
from workbench.index.store import IndexStore
from workbench.index.vocab import quantise
from workbench.progress import ProgressCallback, report

_FILES = ("ptr", "block", "weight", "idf", "blocks", "norm")


def write_inverted(store: IndexStore, *, progress: ProgressCallback | None = None) -> None:
    """(Re)build the inverted file over every finished chunk of ``store`` (a new generation).

    Cost is linear in the number of stored features (counts only; no pixels are read).
    The manifest entry is set on ``store`` (the caller saves the manifest).
    """
    voc = store.vocabulary or {}
    n_words = int(voc["branch"]) ** int(voc["depth"])
    blocks_parts: list[np.ndarray] = []
    words_parts: list[np.ndarray] = []
    ids_parts: list[np.ndarray] = []
    counts_parts: list[np.ndarray] = []
    offset = 0
    for i, rec in enumerate(store.chunks):
        report(progress, "writing the inverted file", i / max(1, len(store.chunks)))
        blocks, feats = store.load_chunk(rec)
        blocks_parts.append(np.asarray(blocks))
        if len(feats):
            key = np.asarray(feats["word"], np.int64) * rec.count + np.asarray(feats["block"])
            uniq, cnt = np.unique(key, return_counts=True)
            words_parts.append(uniq // rec.count)
            ids_parts.append(uniq % rec.count + offset)
            counts_parts.append(cnt)
        offset += rec.count
    table = np.concatenate(blocks_parts) if blocks_parts else np.zeros(0, BLOCK_DTYPE)
    words = np.concatenate(words_parts) if words_parts else np.zeros(0, np.int64)
    ids = np.concatenate(ids_parts) if ids_parts else np.zeros(0, np.int64)
    tf = np.concatenate(counts_parts) if counts_parts else np.zeros(0, np.int64)
    order = np.argsort(words, kind="stable")
    words, ids, tf = words[order], ids[order], tf[order]
    df = np.bincount(words, minlength=n_words)
    n_blocks = max(1, int((table["n_features"] > 0).sum()))
    idf = np.log(n_blocks / np.maximum(df, 1)).astype(np.float32)
    weight = np.sqrt(tf).astype(np.float32) * idf[words]
    norm = np.sqrt(np.bincount(ids, weights=weight.astype(np.float64) ** 2, minlength=len(table)))
    weight = (weight / np.maximum(norm[ids], 1e-12)).astype(np.float32)
    ptr = np.zeros(n_words + 1, np.int64)
    np.cumsum(df, out=ptr[1:])
    gen = int((store.inverted or {}).get("gen", 0)) + 1
    arrays = {"ptr": ptr, "block": ids.astype(np.uint32), "weight": weight.astype(np.float16),
              "idf": idf, "norm": norm.astype(np.float32),
              "blocks": table}
    files = {name: store.write_array(f"inverted/g{gen}.{name}.npy", arr)
             for name, arr in arrays.items()}
    old = store.inverted
    store.inverted = {"gen": gen, "chunks": len(store.chunks), "files": files}
    if old:  # the previous generation is no longer referenced once the manifest is saved
        store.stale_files = [f"inverted/g{old['gen']}.{n}.npy" for n in _FILES]
    report(progress, "writing the inverted file", 1.0)


@dataclass
class Retriever:
    """Read side of an index: vocabulary + inverted file, memory-mapped.

    ``area_km2``: ground area of every indexed raster (level-0 grids, overlaps counted
    once per raster); ``n_blocks``: blocks holding features, over all levels.
    """

    store: IndexStore
    centres: np.ndarray
    branch: int
    depth: int
    ptr: np.ndarray
    block: np.ndarray
    weight: np.ndarray
    idf: np.ndarray
    blocks: np.ndarray
    norm: np.ndarray
    norm_power: float = 1.0  # blocks scored by q . b / |b|^norm_power (1 = cosine)
    excluded: frozenset[int] = frozenset()  # raster ids left out of this search

    @classmethod
    def open(cls, store: IndexStore) -> Retriever:
        """Map the vocabulary and the current inverted file of ``store``.

        Raises:
            IndexCorruptError: a file is missing/truncated or the build was interrupted.
            EmptyRegionError: the index holds no block with features.
        """
        inv, voc = store.inverted, store.vocabulary
        if not voc or not inv or int(inv.get("chunks", -1)) != len(store.chunks) or not all(
            r.complete for r in store.rasters
        ):
            raise IndexCorruptError(
                "index build was interrupted; run workbench index again to finish it",
                store.root)
        files = inv["files"]
        arrays = {n: store.load_array(f"inverted/g{inv['gen']}.{n}.npy", int(files[n]))
                  for n in _FILES}
        ret = cls(store, np.asarray(store.load_array(str(voc["file"]), int(voc["bytes"]))),
                  int(voc["branch"]), int(voc["depth"]), arrays["ptr"], arrays["block"],
                  arrays["weight"], arrays["idf"], arrays["blocks"], arrays["norm"])
        if ret.n_blocks == 0:
            raise EmptyRegionError("empty region: the index holds no block with features",
                                   store.root)
        return ret

    @classmethod
    def load(cls, root: str | os.PathLike[str], *, deep: bool = False) -> Retriever:
        """Open the index folder ``root`` for searching, after checking that every indexed
        raster is where it was and unchanged (size and mtime; SHA-256 when they differ
        or with ``deep``).

        Raises:
            RegionIndexError subclasses: see :meth:`IndexStore.open`, :meth:`open`;
            IndexStaleError: a raster moved, was deleted or changed since indexing.
        """
        store = IndexStore.open(root)
        store.check_rasters(deep=deep)
        return cls.open(store)

    def without(self, paths: Sequence[str | os.PathLike[str]]) -> Retriever:
        """This retriever with the rasters at ``paths`` left out of the search (their
        blocks score 0, their area is not counted; vocabulary and idf unchanged): the
        "is there a second place?" re-run, and the benchmark's true-block-removed case.

        Raises:
            UsageError: a path is not an indexed raster (naming it).
        """
        by_path = {os.path.realpath(r.path): r.id for r in self.store.rasters}
        ids = set(self.excluded)
        for p in paths:
            rid = by_path.get(os.path.realpath(p))
            if rid is None:
                raise UsageError("not a raster of this index; cannot leave it out", p)
            ids.add(rid)
        return replace(self, excluded=frozenset(ids))

    @property
    def n_blocks(self) -> int:
        """Blocks holding at least one feature (rasters left out not counted)."""
        has = np.asarray(self.blocks["n_features"]) > 0
        if self.excluded:
            has &= ~self._excluded_mask()
        return int(has.sum())

    @property
    def area_km2(self) -> float:
        """Searched ground area in km² (sum over rasters not left out)."""
        return float(sum(r.area_km2 for r in self.store.rasters if r.id not in self.excluded))

    def _excluded_mask(self) -> np.ndarray:
        """``(n_blocks_total,) bool``: blocks of rasters left out."""
        return np.isin(np.asarray(self.blocks["raster"], np.int64), list(self.excluded))

    def words(self, desc: np.ndarray) -> np.ndarray:
        """Visual words ``(N,) uint32`` of ``(N, 128) float32`` RootSIFT descriptors."""
        return quantise(desc, self.centres, self.branch, self.depth)

    def scores(self, query_desc: Sequence[np.ndarray]) -> np.ndarray:
        """Cosine tf-idf score ``(n_blocks_total,) float64`` of every block for the pooled
        descriptors of ``query_desc`` (one ``(N_i, 128)`` array per keyframe of a shot)."""
        out = np.zeros(len(self.blocks), np.float64)
        parts = [self.words(d) for d in query_desc if len(d)]
        if not parts:
            return out
        w_ids, tf = np.unique(np.concatenate(parts), return_counts=True)
        q = np.sqrt(tf) * np.asarray(self.idf)[w_ids]
        keep = q > 0
        w_ids, q = w_ids[keep], q[keep]
        if not len(w_ids):
            return out
        q = q / np.linalg.norm(q)
        starts = np.asarray(self.ptr[w_ids])
        lens = np.asarray(self.ptr[w_ids + 1]) - starts
        total = int(lens.sum())
        if total == 0:
            return out
        # positions of every posting of the query's words, without a Python loop
        pos = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
        pos += np.arange(total)
        contrib = np.repeat(q, lens) * np.asarray(self.weight[pos], np.float64)
        scores = np.bincount(np.asarray(self.block[pos], np.int64), weights=contrib,
                             minlength=len(self.blocks)).astype(np.float64)
        if self.norm_power != 1.0:
            scores *= np.asarray(self.norm, np.float64) ** (1.0 - self.norm_power)
        if self.excluded:
            scores[self._excluded_mask()] = 0.0
        return scores

    def shortlist(self, query_desc: Sequence[np.ndarray], top: int = 20) -> list[Shortlisted]:
        """The ``top`` blocks by score (best first), with their rasters and windows."""
        s = self.scores(query_desc)
        if not len(s):
            return []
        k = min(top, len(s))
        best = np.argpartition(-s, k - 1)[:k]
        best = best[np.argsort(-s[best], kind="stable")]
        by_id = {r.id: r for r in self.store.rasters}
        out = []
        for b in best:
            if s[b] <= 0:
                break
            rec = self.blocks[int(b)]
            raster = by_id[int(rec["raster"])]
            level = raster.grids[int(rec["level"])].level_m
            win = (float(rec["col_off"]), float(rec["row_off"]), float(rec["width"]),
                   float(rec["height"]))
            out.append(Shortlisted(raster, level, win, float(s[b]), int(b)))
        return out
