"""The pure filter matcher: contexts, expiry, whole words, spoilers, boosts, first match."""

from __future__ import annotations

from typing import Any

from modules.relationships.filtering import filter_results, hidden, keyword_pattern, searchable_text

NOW = 1_000_000


def a_filter(*keywords: tuple[str, bool], **fields: Any) -> dict[str, Any]:
    """A filter shaped like the `filters` query's rows."""
    return {
        "id": fields.get("id", 1),
        "title": "t",
        "context": fields.get("context", ["home"]),
        "filter_action": fields.get("filter_action", "warn"),
        "expires_at": fields.get("expires_at"),
        "keywords": [{"id": i, "keyword": k, "whole_word": w} for i, (k, w) in enumerate(keywords)],
        "statuses": [{"id": 1, "status_id": s} for s in fields.get("statuses", [])],
    }


def matches(found: dict[str, Any], text: str, **kwargs: Any) -> list[str] | None:
    """The keyword_matches of one filter against `text` in the home context (None: no result)."""
    options: dict[str, Any] = {"status_id": 1, "context": "home", "now_ms": NOW, **kwargs}
    results = filter_results([found], text=text, **options)
    return results[0]["keyword_matches"] if results else None


def test_whole_word_needs_word_boundaries() -> None:
    cat = a_filter(("cat", True))
    assert matches(cat, "my Cat sleeps") == ["Cat"]
    assert matches(cat, "concatenate") is None
    assert matches(cat, "cat's toy") == ["cat"]
    assert matches(a_filter(("cat", False)), "concatenate") == ["cat"]


def test_boundaries_only_where_the_keyword_has_word_characters() -> None:
    assert keyword_pattern("#tag", True) == r"\#tag\b"
    assert matches(a_filter(("#tag", True)), "see x#tag now") == ["#tag"]
    assert matches(a_filter(("#tag", True)), "#tags") is None
    assert matches(a_filter(("c++", True)), "I like c++!") == ["c++"]


def test_unicode_words_and_case() -> None:
    assert matches(a_filter(("élan", True)), "Plein d'ÉLAN.") == ["ÉLAN"]
    assert matches(a_filter(("élan", True)), "xélan") is None


def test_leftmost_match_is_reported_and_spoiler_text_counts() -> None:
    found = a_filter(("dog", True), ("cat", True))
    assert matches(found, "a cat and a dog") == ["cat"]
    assert matches(found, "nothing here", spoiler_text="dog pics") == ["dog"]
    assert matches(found, "nothing", extra_texts=["poll: cat or not"]) == ["cat"]
    assert searchable_text("body", "cw", ["", "alt"]) == "cw\n\nbody\n\nalt"


def test_context_and_expiry_gate_every_match() -> None:
    assert matches(a_filter(("cat", True), context=["public"]), "cat") is None
    assert matches(a_filter(("cat", True), expires_at=NOW), "cat") is None  # expiry is exclusive of now
    assert matches(a_filter(("cat", True), expires_at=NOW + 1), "cat") == ["cat"]


def test_status_matches_include_the_boosted_status() -> None:
    found = a_filter(statuses=[7, 9])
    [result] = filter_results([found], status_id=9, text="", context="home", now_ms=NOW)
    assert result == {"filter": found, "keyword_matches": None, "status_matches": [9]}
    [result] = filter_results([found], status_id=3, reblog_of_id=7, text="", context="home", now_ms=NOW)
    assert result["status_matches"] == [7]
    assert filter_results([found], status_id=3, text="", context="home", now_ms=NOW) == []


def test_several_filters_and_hide() -> None:
    warn = a_filter(("cat", True), id=1)
    hide = a_filter(("dog", True), id=2, filter_action="hide")
    results = filter_results([warn, hide], status_id=1, text="cat", context="home", now_ms=NOW)
    assert [r["filter"]["id"] for r in results] == [1] and not hidden(results)
    results = filter_results([warn, hide], status_id=1, text="cat dog", context="home", now_ms=NOW)
    assert [r["filter"]["id"] for r in results] == [1, 2] and hidden(results)
