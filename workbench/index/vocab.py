"""A vocabulary tree: hierarchical k-means over RootSIFT descriptors (Nistér & Stewénius).

The tree has ``branch ** depth`` leaves (visual words).  Training clusters the
sample into ``branch`` groups with :func:`cv2.kmeans`, then each group again, to
``depth`` levels; quantising a descriptor walks down the tree (``branch`` distances
per level), so assigning a block's features costs ``branch * depth`` distances each
instead of ``branch ** depth`` for a flat vocabulary of the same size.

Storage: ``centres`` is a ``(n_nodes, 128) float32`` array in breadth-first order,
node ``i``'s children are ``i * branch + 1 .. i * branch + branch`` (root 0 has no
centre row of its own: row 0 is unused and zero); leaf ``j`` (0-based among the
``branch ** depth`` leaves) is node ``first_leaf + j``.  A node whose training group
was too small to split repeats its parent's centre for all children, so every
descriptor still reaches a leaf.
"""

from __future__ import annotations

import cv2
import numpy as np


def n_nodes(branch: int, depth: int) -> int:
    """Nodes in a complete tree of ``branch`` children per node and ``depth`` levels + root."""
    return sum(branch ** d for d in range(depth + 1))


def first_leaf(branch: int, depth: int) -> int:
    """Breadth-first index of the first leaf."""
    return n_nodes(branch, depth - 1)


def train(desc: np.ndarray, branch: int, depth: int, *, seed: int = 0) -> np.ndarray:
    """Learn the tree's ``(n_nodes, 128) float32`` centres from ``(N, 128) float32`` descriptors.

    Deterministic for given input and ``seed`` (OpenCV's RNG is seeded).
    """
    if branch < 2 or depth < 1:
        raise ValueError(f"vocabulary needs branch >= 2 and depth >= 1, not {branch}, {depth}")
    data = np.ascontiguousarray(desc, np.float32)
    dim = data.shape[1] if data.ndim == 2 else 128
    centres = np.zeros((n_nodes(branch, depth), dim), np.float32)
    cv2.setRNGSeed(seed)
    # (node, indices of its training descriptors), breadth first
    level: list[tuple[int, np.ndarray]] = [(0, np.arange(len(data)))]
    for _ in range(depth):
        nxt: list[tuple[int, np.ndarray]] = []
        for node, idx in level:
            kids = [node * branch + 1 + k for k in range(branch)]
            parent = centres[node]
            if len(idx) < branch * 2:
                # too few to split: every child repeats the parent (or the group's mean)
                fill = data[idx].mean(axis=0) if len(idx) else parent
                for k in kids:
                    centres[k] = fill
                    nxt.append((k, idx if k == kids[0] else idx[:0]))
                continue
            crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1e-4)
            _, labels, cent = cv2.kmeans(data[idx], branch, None, crit, 2,
                                         cv2.KMEANS_PP_CENTERS)
            labels = np.asarray(labels).ravel()
            for k in range(branch):
                centres[kids[k]] = cent[k]
                nxt.append((kids[k], idx[labels == k]))
        level = nxt
    return centres


def quantise(desc: np.ndarray, centres: np.ndarray, branch: int, depth: int) -> np.ndarray:
    """Visual word ``(N,) uint32`` (0 .. ``branch ** depth - 1``) of ``(N, 128)`` descriptors.

    Level by level, the descriptors sharing a node are compared with its ``branch``
    children in one product, not gathered per descriptor (``einsum``, not BLAS:
    BLAS threads spinning on small products cost CPU time on a shared machine).
    """
    data = np.ascontiguousarray(desc, np.float32)
    n = len(data)
    if n == 0:
        return np.zeros(0, np.uint32)
    node = np.zeros(n, np.int64)
    sq = np.einsum("ij,ij->i", centres, centres)
    steps = np.arange(1, branch + 1)
    for _ in range(depth):
        order = np.argsort(node, kind="stable")
        parents, starts = np.unique(node[order], return_index=True)
        ends = np.append(starts[1:], n)
        nxt = np.empty(n, np.int64)
        for parent, a, b in zip(parents.tolist(), starts.tolist(), ends.tolist(), strict=True):
            rows = order[a:b]
            kids = parent * branch + steps
            # squared distance up to the per-descriptor constant |d|^2
            d = sq[kids][None, :] - 2.0 * np.einsum("nk,bk->nb", data[rows], centres[kids])
            nxt[rows] = kids[np.argmin(d, axis=1)]
        node = nxt
    return (node - first_leaf(branch, depth)).astype(np.uint32)
