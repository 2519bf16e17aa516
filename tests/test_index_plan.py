"""The decision to open, refuse, re-stamp or rebuild an index, read from its manifest alone."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from reco.encode import Encoding
from reco.index import after_reading, plan_index
from reco.recommend import ScoringOptions
from reco.store import IndexDamaged, IndexFromNewerVersion, Manifest
from reco.store.base import read_manifest

BUILT = Encoding("centered_offset", normalize=True, idf=True)
RELEASE = {"file": "ml.zip", "size": 10, "mtime_ns": 5, "hash": "ab"}
CURRENT = Manifest(dataset="ml", encoding=asdict(BUILT), release=RELEASE, fingerprint="f1")


def plan(current: Manifest | None = CURRENT, problem: str | None = None, **given: object):
    options = {"server": False, "repair": False, "wanted": None, "signature": RELEASE, **given}
    return plan_index(current, problem, **options)  # type: ignore[arg-type]


def test_a_current_index_opens_without_reading_the_release() -> None:
    assert plan().action == "open"
    assert plan(signature=None).action == "open"  # the release's files moved away
    assert plan(wanted=Encoding("centered_offset", normalize=True, idf=True)).action == "open"


def test_another_release_file_or_encoding_reads_the_release() -> None:
    assert plan(signature={**RELEASE, "hash": "cd"}).action == "read"
    assert plan(wanted=Encoding("binary")).action == "read"
    assert plan(None).action == "read"
    assert plan(None, "the index ml-f1 is missing users").action == "read"


def test_a_server_index_is_refused_not_rebuilt_unless_repairing() -> None:
    damaged = plan(None, "the collection ml-f1 is missing users", server=True)
    assert damaged == type(damaged)("refuse", "the collection ml-f1 is missing users")
    other = plan(server=True, wanted=Encoding("binary"))
    assert other.action == "refuse" and "another encoding" in other.reason
    assert plan(server=True).action == "open"
    assert plan(None, server=True).action == "read"  # none yet: the first build
    assert plan(None, "damaged", server=True, repair=True).action == "read"


def test_the_same_data_in_a_newer_file_only_restamps() -> None:
    assert after_reading(CURRENT, "f1") == "restamp"
    assert after_reading(CURRENT, "f2") == "build"
    assert after_reading(None, "f1") == "build"


def test_a_manifest_round_trips_and_a_wrong_shape_is_named() -> None:
    assert Manifest.from_json(CURRENT.to_json()) == CURRENT
    for field, value in [("encoding", [1, 2]), ("users", "x"), ("release", "x"), ("users", True)]:
        with pytest.raises(IndexDamaged, match=f"manifest of the index x is damaged.*{field}"):
            read_manifest({**CURRENT.to_json(), field: value}, "the index x")


def test_a_manifest_of_another_layout_says_older_or_newer() -> None:
    with pytest.raises(IndexDamaged, match="an older version"):
        read_manifest({**CURRENT.to_json(), "version": 1}, "the index x")
    with pytest.raises(IndexFromNewerVersion, match="a newer version.*layout 99"):
        read_manifest({**CURRENT.to_json(), "version": 99}, "the index x")
    without = {k: v for k, v in CURRENT.to_json().items() if k != "encoding"}
    with pytest.raises(IndexDamaged, match="names no encoding"):
        read_manifest(without, "the index x")


def test_a_query_override_of_an_unknown_option_raises() -> None:
    options = ScoringOptions()
    assert options.override({"neighbours": 7, "min_raters": None}).neighbours == 7
    assert options.override({"min_raters": None}) is options
    with pytest.raises(ValueError, match="unknown scoring option 'neighbors'"):
        options.override({"neighbors": 7})
