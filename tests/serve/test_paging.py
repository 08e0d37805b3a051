"""A page of a what-if's changes is the slice of a stable sort of all of them, largest first."""

from __future__ import annotations

import numpy as np

from graphscore.serve.app import _largest_first


def test_a_page_is_the_slice_of_the_whole_sort():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(0, 60))
        items = np.sort(rng.choice(1000, n, replace=False))
        size = rng.integers(0, 6, n).astype(float)  # many ties: they keep their order
        ordered = items[np.argsort(-size, kind="stable")]
        for offset in range(0, n + 3, 2):
            for count in (0, 1, 3, 7, 100):
                np.testing.assert_array_equal(_largest_first(items, size, offset, count),
                                              ordered[offset:offset + count])
