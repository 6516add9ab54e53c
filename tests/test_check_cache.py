"""The result cache: an unchanged tree boots nothing; a change re-runs only its session chain."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from conftest import check_dir

from pyrun_docs.check import Status, run_check
from pyrun_docs.config import PyrunConfig
from pyrun_docs.options import parse_options
from pyrun_docs.snippet import Snippet


def tree(token: str, first: str = "x = 1") -> dict[str, list[Snippet]]:
    def snip(page: str, index: int, code: str, **options: str) -> Snippet:
        body = f"# {token}\n{code}\n"
        return Snippet(
            body, f"docs/{page}.rst", 10 * index + 5, page, index, parse_options(options)
        )

    return {
        "a": [
            snip("a", 0, first, session="s"),
            snip("a", 1, "print(x + 1)", session="s"),
            snip("a", 2, "print('alone')"),
        ],
        "b": [snip("b", 0, "print('b')"), snip("b", 1, "1 / 0")],
    }


def statuses(report):  # type: ignore[no-untyped-def]
    return {(r.snippet.page, r.snippet.index): (r.status, r.cached) for r in report.results}


def test_unchanged_tree_boots_nothing_and_a_change_reruns_its_chain(
    runtime_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = check_dir(tmp_path)
    token = uuid.uuid4().hex
    first = run_check(tree(token), PyrunConfig(), cache_dir=folder, progress=False)
    # a small tree runs in one process (default_workers): one interpreter, reset between pages
    assert first.boots == 1 and first.workers == 1 and not first.ok
    assert statuses(first)[("b", 1)] == (Status.FAILED, False)

    # Nothing changed: everything comes from the cache, and Node is never even looked for.
    monkeypatch.setenv("PYRUN_DOCS_NODE", str(tmp_path / "no-node-here"))
    again = run_check(tree(token), PyrunConfig(), cache_dir=folder, progress=False)
    assert again.boots == 0 and again.workers == 0  # (its speed: bench/check_speed.py)
    assert statuses(again) == {
        ("a", 0): (Status.CACHED, True),
        ("a", 1): (Status.CACHED, True),
        ("a", 2): (Status.CACHED, True),
        ("b", 0): (Status.CACHED, True),
        ("b", 1): (Status.FAILED, True),  # a remembered failure still fails
    }
    assert not again.ok
    monkeypatch.delenv("PYRUN_DOCS_NODE")

    # Change the first snippet of session s: s re-runs on its page; nothing else does.
    changed = run_check(
        tree(token, first="x = 41"), PyrunConfig(), cache_dir=folder, progress=False
    )
    assert changed.boots == 1
    assert statuses(changed) == {
        ("a", 0): (Status.PASSED, False),
        ("a", 1): (Status.PASSED, False),
        ("a", 2): (Status.CACHED, True),
        ("b", 0): (Status.CACHED, True),
        ("b", 1): (Status.FAILED, True),
    }
    assert changed.results[1].output == "42\n"

    # --no-cache: everything runs again.
    fresh = run_check(tree(token), PyrunConfig(), cache_dir=folder, progress=False, use_cache=False)
    assert all(not r.cached for r in fresh.results) and fresh.boots == 1


def test_timeouts_are_not_remembered(runtime_cache: Path, tmp_path: Path) -> None:
    folder = check_dir(tmp_path)
    token = uuid.uuid4().hex
    loop = {
        "p": [
            Snippet(f"# {token}\nwhile True:\n    pass\n", "docs/p.rst", 3, "p", 0),
            Snippet(f"# {token}\nprint('after')\n", "docs/p.rst", 9, "p", 1),
        ]
    }
    config = PyrunConfig(timeout=1.5)
    first = run_check(loop, config, cache_dir=folder, progress=False)
    assert [r.status for r in first.results] == [Status.TIMEOUT, Status.PASSED]
    second = run_check(loop, config, cache_dir=folder, progress=False)
    assert [r.status for r in second.results] == [Status.TIMEOUT, Status.CACHED]


def test_a_kept_result_with_a_lone_surrogate_is_read_well_formed(tmp_path: Path) -> None:
    """A result kept before lone surrogates were replaced (they crashed the build writing the
    page) is read with U+FFFD in their place."""
    from pyrun_docs.check.cache import ResultCache

    cache = ResultCache(tmp_path)
    cache.put("k" * 64, {"key": "k" * 64, "output": "caf\udce9.txt\n"})
    assert cache.get("k" * 64) == {"key": "k" * 64, "output": "caf\ufffd.txt\n"}
