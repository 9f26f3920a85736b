"""The claim position order check: latitude beyond ±90, or far from every imagery
footprint while the swapped point lies on one, asks "did you swap...?"."""

from __future__ import annotations

from workbench.claim.order import check_order

# a 2 km square footprint around Kampala (lon 32.58, lat 0.31)
KAMPALA = [[[32.57, 0.30], [32.59, 0.30], [32.59, 0.32], [32.57, 0.32], [32.57, 0.30]]]
# and one around lon 30.5, lat 50.45 (Kyiv)
KYIV = [[[30.49, 50.44], [30.51, 50.44], [30.51, 50.46], [30.49, 50.46], [30.49, 50.44]]]


def test_latitude_beyond_90_is_suspect() -> None:
    r = check_order(120.5, 30.2)
    assert r.suspect and "outside ±90" in r.reason


def test_swapped_point_on_the_imagery_is_suspect() -> None:
    r = check_order(30.5, 50.45, KYIV)  # typed lon, lat
    assert r.suspect and "swapped, it lies on the imagery" in r.reason
    assert r.distance_m is not None and r.distance_m > 1_000_000
    assert r.swapped_distance_m == 0.0


def test_point_on_or_near_the_imagery_is_fine() -> None:
    assert not check_order(50.45, 30.5, KYIV).suspect
    assert not check_order(0.35, 32.6, KAMPALA).suspect  # a few km off: fine
    assert not check_order(0.31, 32.58).suspect  # no footprint loaded: nothing to compare


def test_far_from_everything_is_asked_too() -> None:
    r = check_order(-33.9, 18.4, KAMPALA + KYIV)  # Cape Town
    assert r.suspect and "km from every loaded imagery footprint" in r.reason
