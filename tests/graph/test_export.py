"""Export helpers that the API's per-request paths lean on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudrings.graph.export import links_from_pairs, small_frame


def test_small_frames_equal_pandas_own_and_keep_object_strings() -> None:
    values = np.empty(3, dtype=object)
    values[:] = ["b", "a", "x'}) MATCH (n) DETACH DELETE n //"]
    fast = small_frame({"app": np.array([2, 0, 1], dtype=np.int64), "value": values})
    slow = pd.DataFrame({"app": np.array([2, 0, 1], dtype=np.int64),
                         "value": pd.Series(values, dtype=object)})
    pd.testing.assert_frame_equal(fast, slow)
    assert fast["value"].dtype == object  # not pandas' inferred Arrow strings
    # the frame is a frame like any other: filters and new columns do not touch the original
    assert fast[fast["app"] > 0]["value"].tolist() == ["b", "x'}) MATCH (n) DETACH DELETE n //"]
    assert hasattr(pd.DataFrame, "_from_arrays"), "pandas dropped the fast constructor"


def test_links_from_pairs_are_sorted_whatever_the_order_found() -> None:
    links = links_from_pairs({"USES_PHONE": {(1, "p2"), (0, "p9"), (0, "p1")}, "FROM_IP": set()})
    assert links["USES_PHONE"].values.tolist() == [[0, "p1"], [0, "p9"], [1, "p2"]]
    assert len(links["FROM_IP"]) == 0 and list(links["FROM_IP"].columns) == ["app", "value"]
