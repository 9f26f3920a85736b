"""Describing neighbouring blocks together (workbench.index.groups) and the vocabulary
tree's quantiser: the same features in the same block coordinates as one block at a
time, and the same words as walking the tree descriptor by descriptor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.imagery.catalog import catalog_file
from workbench.index import IndexConfig
from workbench.index.grid import BlockSpec, describe_block, level_grids
from workbench.index.groups import BlockGroup, describe_group, group_specs
from workbench.index.vocab import first_leaf, quantise, train


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 1024 x 768 px town at 0.5 m."""
    from workbench_fixtures.town import make_town_geotiff

    root = tmp_path_factory.mktemp("groups_town")
    return make_town_geotiff(root / "town.tif", seed=3, width=1024, height=768,
                             centre_lonlat=(32.6, 0.35))


def _row_specs(town: Path, cfg: IndexConfig, row: int) -> list[BlockSpec]:
    tile = catalog_file(town)
    grid = level_grids(tile, cfg)[0]
    n = len(grid.cols)
    return [BlockSpec(tile, grid.window(row * n + k, tile.width, tile.height), grid.level_m,
                      cfg.max_features) for k in range(n)]


def test_group_specs_cuts_rows_into_runs_of_at_most_n(town):
    cfg = IndexConfig(block_px=128, overlap=0.25)
    tile = catalog_file(town)
    grid = level_grids(tile, cfg)[0]
    specs = [BlockSpec(tile, grid.window(k, tile.width, tile.height), grid.level_m, 300)
             for k in range(len(grid))]
    groups = group_specs(specs, 3)
    assert [s for g in groups for s in g.specs] == specs  # same blocks, same order
    for g in groups:
        assert 1 <= len(g.specs) <= 3
        assert len({s.window[1] for s in g.specs}) == 1  # one grid row
        starts = [s.window[0] for s in g.specs]
        assert starts == sorted(set(starts))  # left to right
    n_cols = len(grid.cols)
    assert len(groups) == len(grid.rows) * -(-n_cols // 3)  # rows never merge
    assert all(len(g.specs) == 1 for g in group_specs(specs, 1))


def test_group_features_are_the_blocks_own_in_block_coordinates(town):
    cfg = IndexConfig(block_px=128, max_features=300)
    specs = _row_specs(town, cfg, 1)[:4]
    together = describe_group(BlockGroup(tuple(specs)))
    assert len(together) == len(specs)
    shared_total = 0
    for spec, got in zip(specs, together, strict=True):
        alone = describe_block(spec)
        h, w = alone.shape
        assert got.scale == pytest.approx(alone.scale)
        assert 0 < len(got.feats) <= cfg.max_features
        # positions are working pixels of this block, not of the group
        assert got.feats.xy.min() >= -0.5 and got.feats.xy[:, 0].max() < w - 0.5
        assert got.feats.xy[:, 1].max() < h - 0.5
        # keypoints found both ways sit at the same place with the same descriptor
        d = np.linalg.norm(alone.feats.xy[:, None, :] - got.feats.xy[None, :, :], axis=2)
        i, j = np.nonzero(d < 0.05)
        shared_total += len(i)
        if len(i):
            cos = np.sum(alone.feats.desc[i] * got.feats.desc[j], axis=1)
            assert np.median(cos) > 0.9
    assert shared_total >= 0.25 * sum(len(g.feats) for g in together)


def test_group_of_one_is_the_block_alone(town):
    spec = _row_specs(town, IndexConfig(block_px=128, max_features=300), 0)[0]
    (got,) = describe_group(BlockGroup((spec,)))
    alone = describe_block(spec)
    np.testing.assert_array_equal(got.feats.xy, alone.feats.xy)
    np.testing.assert_array_equal(got.feats.desc, alone.feats.desc)


def _walk(desc: np.ndarray, centres: np.ndarray, branch: int, depth: int) -> np.ndarray:
    """Reference: walk the tree one descriptor at a time (nearest child, Euclidean)."""
    out = []
    for d in desc:
        node = 0
        for _ in range(depth):
            kids = node * branch + 1 + np.arange(branch)
            node = int(kids[np.argmin(np.linalg.norm(centres[kids] - d, axis=1))])
        out.append(node - first_leaf(branch, depth))
    return np.array(out)


def test_quantise_equals_walking_the_tree():
    rng = np.random.default_rng(5)
    desc = np.abs(rng.normal(size=(3000, 128))).astype(np.float32)
    desc /= np.linalg.norm(desc, axis=1, keepdims=True)
    centres = train(desc[:2000], 6, 3)
    q = desc[2000:]
    words = quantise(q, centres, 6, 3)
    assert words.dtype == np.uint32 and words.max() < 6 ** 3
    ref = _walk(q, centres, 6, 3)
    assert np.mean(words == ref) > 0.995  # float rounding may flip exact ties only
    assert len(np.unique(words)) > 50
    assert quantise(q[:0], centres, 6, 3).shape == (0,)
