"""Depot and topology names map to distinct, safe file names."""

from __future__ import annotations

from cluster.runtime import file_name_for


def test_plain_names_stay_readable() -> None:
    assert file_name_for("*statuses") == "statuses"
    assert file_name_for("fanout-home_1") == "fanout-home_1"


def test_names_that_need_escaping_never_collide() -> None:
    names = ["*a!", "*a?", "*a_", "*../x", "*", "**", "*.", "*.."]
    mapped = [file_name_for(name) for name in names]
    assert len(set(mapped)) == len(names)
    assert all("/" not in m and m not in ("", ".", "..") for m in mapped)
