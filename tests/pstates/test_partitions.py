"""The vectorized partitioner agrees with `partition_of` key for key."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pstates.keycodec import partition_of
from pstates.partitions import partitions_of_ints

INT64 = st.integers(-(1 << 63), (1 << 63) - 1)


@given(keys=st.lists(INT64, max_size=50), partitions=st.sampled_from([1, 2, 3, 4, 7, 8, 64, 1024]))
def test_agrees_with_partition_of(keys: list[int], partitions: int) -> None:
    found = partitions_of_ints(np.array(keys, dtype=np.int64), partitions)
    assert found.tolist() == [partition_of(key, partitions) for key in keys]


def test_edges_and_refusals() -> None:
    keys = np.array([0, -1, 1, -(1 << 63), (1 << 63) - 1], dtype=np.int64)
    assert partitions_of_ints(keys, 16).tolist() == [partition_of(int(k), 16) for k in keys]
    assert partitions_of_ints(np.empty(0, dtype=np.int64), 4).size == 0
    with pytest.raises(ValueError, match="positive"):
        partitions_of_ints(keys, 0)
