"""pipeline.pool.started_ahead: in order, and never more than `ahead` items begun early."""

from __future__ import annotations

import pytest

from pipeline.pool import started_ahead


@pytest.mark.parametrize("ahead", [0, 1, 3])
def test_started_ahead_hands_items_back_in_order_within_the_bound(ahead: int) -> None:
    started: list[int] = []

    def start(item: int) -> int:
        started.append(item)
        return item * 10

    handed = []
    for begun, item in started_ahead(range(8), start, ahead):
        assert len(started) - item - 1 <= ahead  # begun beyond the one handed back
        handed.append((begun, item))
    assert handed == [(i * 10, i) for i in range(8)]
