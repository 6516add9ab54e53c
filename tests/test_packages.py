"""Packages in examples: resolution, the site's lock and wheels, the check, and the failure cases.

The fixture project (``tests/roots/project``) is a tiny package ``fixture_project`` that depends on
``inflection`` (pure Python, on PyPI, not shipped by Pyodide). Its docs build with Sphinx
(``docs/``) and MkDocs (``mkdocs.yml``). Tests that resolve from PyPI need the package index;
Pyodide's own wheels come from its CDN, which these machines cannot reach, so for those we test
the resolution, the markup and the failure message.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from conftest import ROOTS, check_dir, sphinx_build
from packaging.version import Version

from pyrun_docs.check import run_check
from pyrun_docs.cli import main
from pyrun_docs.config import PyrunConfig
from pyrun_docs.errors import PyrunError
from pyrun_docs.options import SnippetOptions, parse_options
from pyrun_docs.package_store import (
    PackageError,
    PackageIndex,
    PackageStore,
    PyodideLock,
    is_pure_wheel,
)
from pyrun_docs.packages import (
    LOCK_NAME,
    Pip,
    Resolution,
    build_packages,
    read_wheel,
    resolve,
    snippet_needs,
    write_site,
)
from pyrun_docs.render import PACKAGE_LOCK, page_config
from pyrun_docs.runtime import get_pin
from pyrun_docs.snippet import Snippet

PIN = get_pin("pyodide")
PROJECT = ROOTS / "project"


def snip(code: str, line: int = 3, index: int = 0, page: str = "index", **options: str) -> Snippet:
    return Snippet(code, f"docs/{page}.rst", line, page, index, parse_options(options))


@pytest.fixture(scope="module")
def lock(runtime_cache: Path) -> PyodideLock:
    return PyodideLock.from_path(runtime_cache / "pyodide-lock.json")


class NoPip(Pip):
    """A pip that must not be called (everything comes from Pyodide's lock or the cache)."""

    def __init__(self) -> None:
        super().__init__("3.14")

    def _run(self, args, timeout=600):  # type: ignore[no-untyped-def]
        raise AssertionError(f"pip was called: {args}")


def offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The package index is unreachable (a closed port), and no local wheel folders either."""
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "http://127.0.0.1:9/links")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "3")


# ------------------------------------------------------------------------------ config, wheels


def test_config_packages_and_project() -> None:
    config = PyrunConfig.from_mapping({"packages": ["attrs", "inflection>=0.5"], "project": "."})
    assert list(config.packages) == ["attrs", "inflection>=0.5"]
    with pytest.raises(PyrunError, match="packages"):
        PyrunConfig.from_mapping({"packages": "attrs"}, prefix="pyrun_")
    with pytest.raises(PyrunError, match="pyrun_project"):
        PyrunConfig.from_mapping({"project": 3}, prefix="pyrun_")


def test_pure_wheel_tags() -> None:
    assert is_pure_wheel("inflection-0.5.1-py2.py3-none-any.whl")
    assert is_pure_wheel("fixture_project-0.1.0-py3-none-any.whl")
    assert not is_pure_wheel("psutil-7.0.0-cp36-abi3-manylinux_2_17_x86_64.whl")
    assert not is_pure_wheel("numpy-2.4.6-cp314-cp314-pyemscripten_2026_0_wasm32.whl")
    assert not is_pure_wheel("six-1.0-py2-none-any.whl")


def test_page_config_names_the_lock() -> None:
    assert LOCK_NAME == PACKAGE_LOCK
    assert page_config(PyrunConfig())["packageLock"] == "pyrun-lock.json"


# ------------------------------------------------------------------- Pyodide's own packages


def test_lock_packages_from_options_and_imports_with_depends(
    lock: PyodideLock, tmp_path: Path
) -> None:
    """``packages`` and imports map through Pyodide's lock (``imports``, ``depends``); no pip."""
    pages = {
        "index": [
            snip("import attr\nprint(attr.__version__)\n", line=3, index=0),
            snip("print(1)\n", line=9, index=1, packages="numpy"),
            snip("import math, json\n", line=14, index=2),
        ]
    }
    res = resolve(pages, PyrunConfig(), lock, PIN, pip=NoPip(), cache_dir=tmp_path)
    assert not res.problems
    assert sorted(res.packages) == ["attrs", "numpy", "six"]  # six: attrs' dependency
    assert all(p.source == "pyodide" for p in res.packages.values())
    assert snippet_needs(pages["index"][0], res) == ["attrs", "six"]
    assert snippet_needs(pages["index"][1], res) == ["numpy"]
    assert snippet_needs(pages["index"][2], res) == []
    data = res.lock_json(mode="cdn")
    assert data["packages"]["numpy"]["sha256"] == lock.packages["numpy"]["sha256"]
    assert data["packages"]["numpy"]["key"] == "numpy"
    assert "url" not in data["packages"]["numpy"]  # loaded by name from Pyodide's package base


def test_cdn_mode_references_the_cdn_and_copies_nothing(lock: PyodideLock, tmp_path: Path) -> None:
    pages = {"index": [snip("import numpy\n")]}
    config = PyrunConfig(runtime_source="cdn")
    res = resolve(pages, config, lock, PIN, pip=NoPip(), cache_dir=tmp_path / "cache")

    def no_fetch(names: object) -> dict[str, Path]:
        raise AssertionError("nothing is fetched in cdn mode")

    site = tmp_path / "site" / "pyrun"
    assert write_site(site, res, config, PIN, fetch_pyodide=no_fetch) == []
    written = json.loads((site / LOCK_NAME).read_text())
    assert written["mode"] == "cdn" and list(written["packages"]) == ["numpy"]
    assert not (site / PIN.key).exists()


def test_self_host_pyodide_wheel_from_unreachable_cdn_fails_clearly(
    own_cache: Path, tmp_path: Path
) -> None:
    """Self-hosting numpy needs its wheel from the Pyodide CDN: the error names the snippet."""
    pages = {"guide": [snip("import numpy\nprint(numpy.pi)\n", line=12, page="guide")]}
    config = PyrunConfig(cdn_url="http://127.0.0.1:9/pyodide/v{version}/full/")
    res = build_packages(pages, config, tmp_path / "site" / "pyrun", setting_prefix="pyrun_")
    assert len(res.problems) == 1, res.problems
    text = str(res.problems[0])
    assert text.startswith("docs/guide.rst:12: numpy 2.4.6 (a Pyodide package) cannot be")
    assert "http://127.0.0.1:9/pyodide/v314.0.7/full/numpy-2.4.6" in text
    assert 'pyrun_runtime_source = "cdn"' in text
    assert "Traceback" not in text


def test_a_site_and_its_check_with_the_cdn_unreachable_use_the_index_wheel(
    runtime_cache: Path, own_cache: Path, tmp_path: Path
) -> None:
    """An air-gapped build (Pyodide's CDN unreachable, a PyPI mirror reachable) of a self-hosted
    site whose example imports six: the site serves PyPI's six, named by its pyrun-lock.json, and
    the check runs that wheel (it was an error: "cannot be fetched")."""
    code = "import six\nprint(six.__file__.split('/')[-1], six.PY3)\n"
    zones = "from zoneinfo import ZoneInfo\nprint(ZoneInfo('Europe/Paris').key)\n"
    pages = {"index": [snip(code), snip(zones, line=9, index=1)]}
    config = PyrunConfig(
        runtime_source="self-host", cdn_url="http://127.0.0.1:9/pyodide/v{version}/full/"
    )
    site = tmp_path / "site" / "pyrun"
    res = build_packages(pages, config, site, setting_prefix="pyrun_")
    assert not res.problems, res.problems
    entry = json.loads((site / LOCK_NAME).read_text())["packages"]["six"]
    assert (
        entry["source"] == "pypi"
        and entry["version"]
        == PyodideLock.from_path(runtime_cache / "pyodide-lock.json").packages["six"]["version"]
    )
    wheel = site / entry["url"]
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == entry["sha256"]
    assert not (site / PIN.key).exists()  # no Pyodide wheel was needed
    report = run_check(pages, config, cache_dir=check_dir(tmp_path), progress=False, packages=res)
    assert report.ok, report.results
    assert report.results[0].output == "six.py True\n"
    # zoneinfo reads Pyodide's tzdata package: importing it loads that (it was a failure)
    assert report.results[1].output == "Europe/Paris\n"
    assert "zoneinfo" in json.loads((site / LOCK_NAME).read_text())["packages"]["tzdata"]["imports"]


def test_a_package_no_example_imports_is_named_with_what_requires_it(
    own_cache: Path, tmp_path: Path, lock: PyodideLock
) -> None:
    """An example that cannot be checked for a package it never imports (pulled in by one it
    does, or by the project: jaraco.text's 63 examples named pydantic_core, through typer-slim,
    typer and pydantic) says which package requires it."""
    index = PackageIndex(lock)
    assert index.chain(["pydantic"], "pydantic_core") == ["pydantic-core", "pydantic"]
    assert index.chain(["pydantic"], "pydantic") == ["pydantic"]
    pages = {"index": [snip("import pydantic\nprint(pydantic.VERSION)\n")]}
    config = PyrunConfig(cdn_url="http://127.0.0.1:9/pyodide/v{version}/full/")
    report = run_check(pages, config, cache_dir=check_dir(tmp_path), progress=False)
    (result,) = report.results
    assert result.status.value == "error", result
    assert "(required by pydantic)" in result.message, result.message


def test_a_pyodide_package_that_cannot_be_self_hosted_is_named_with_its_own_wheel(
    own_cache: Path, tmp_path: Path
) -> None:
    """scipy depends on numpy; neither can be downloaded: each is named with its own wheel (scipy
    was named with numpy's URL, fetched as its dependency first)."""
    pages = {"guide": [snip("import scipy\n", line=12, page="guide")]}
    config = PyrunConfig(cdn_url="http://127.0.0.1:9/pyodide/v{version}/full/")
    res = build_packages(pages, config, tmp_path / "site" / "pyrun", setting_prefix="pyrun_")
    messages = {str(p).split(": ", 1)[1].split(" ")[0]: str(p) for p in res.problems}
    assert {"scipy", "numpy"} <= set(messages), res.problems
    assert "/full/scipy-" in messages["scipy"] and "/full/numpy-" not in messages["scipy"]
    assert "/full/numpy-" in messages["numpy"]


class NoWheelPip(Pip):
    """A package index that has no pure-Python wheel of what is asked for."""

    def __init__(self) -> None:
        super().__init__("3.14")
        self.asked: list[str] = []

    def download(self, spec: str, dest: Path) -> tuple[Path | None, str]:
        self.asked.append(spec)
        return None, f"ERROR: No matching distribution found for {spec}"

    def exists_anywhere(self, name: str) -> bool | None:
        return True


def test_version_conflict_with_pyodide_lock(lock: PyodideLock, tmp_path: Path) -> None:
    """Pyodide's copy does not fit and the package index has no pure wheel that does."""
    pages = {"index": [snip("print(1)\n", line=7, packages="numpy<2")]}
    res = resolve(pages, PyrunConfig(), lock, PIN, pip=NoWheelPip(), cache_dir=tmp_path)
    (problem,) = res.problems
    assert str(problem) == (
        "docs/index.rst:7: version conflict for numpy: Pyodide 314.0.7 ships numpy 2.4.6, "
        "which does not satisfy numpy<2, and no pure-Python wheel on the package index does either"
    )
    assert "numpy" not in res.packages
    again = resolve(pages, PyrunConfig(), lock, PIN, pip=NoPip(), cache_dir=tmp_path)
    assert [str(p) for p in again.problems] == [str(problem)]


class WheelsPip(NoWheelPip):
    """A package index with the pure wheels in a folder, and no pure wheel of anything else."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def download(self, spec: str, dest: Path) -> tuple[Path | None, str]:
        found = sorted(self.folder.glob(f"{spec}-*.whl"))
        if not found:
            return super().download(spec, dest)
        dest.mkdir(parents=True, exist_ok=True)
        copied = dest / found[0].name
        shutil.copyfile(found[0], copied)
        return copied, ""


def pure_wheel(folder: Path, name: str, requires: list[str], code: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / f"{name}-1.0-py3-none-any.whl", "w") as zf:
        lines = "".join(f"Requires-Dist: {r}\n" for r in requires)
        zf.writestr(
            f"{name}-1.0.dist-info/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n{lines}",
        )
        zf.writestr(f"{name}/__init__.py", code)


def test_a_package_no_one_can_have_is_one_problem_naming_who_asked(
    lock: PyodideLock, tmp_path: Path
) -> None:
    """Two packages requiring the same compiled one: it was a problem each time it was asked
    for, each one more "snippet" at conf.py:1 (zope-interface three times for zope.annotation)."""
    wheels = tmp_path / "index"
    pure_wheel(wheels, "usesa", ["compiledonly"])
    pure_wheel(wheels, "usesb", ["compiledonly"])
    config = PyrunConfig(packages=["usesa", "usesb"])
    res = resolve({"index": []}, config, lock, PIN, pip=WheelsPip(wheels), cache_dir=tmp_path / "c")
    (problem,) = res.problems
    assert "compiledonly (needed by usesa 1.0, usesb 1.0) has no pure-Python wheel" in str(problem)


def test_a_dependency_had_at_last_re_runs_the_examples_it_was_missing_for(
    lock: PyodideLock, runtime_cache: Path, tmp_path: Path
) -> None:
    """A package's dependency the index could not give, given later (PIP_FIND_LINKS set, as the
    advice says): the examples' stored results were keyed by the packages they import, not by
    what those depend on, so the ModuleNotFoundError verdicts came back (pyramid)."""
    wheels = tmp_path / "index"
    pure_wheel(wheels, "usesa", ["laterdep"], "import laterdep\n")  # the example does not
    pages = {"index": [snip("import usesa\nprint('both')\n")]}
    config = PyrunConfig(packages=["usesa"])
    before = resolve(pages, config, lock, PIN, pip=WheelsPip(wheels), cache_dir=tmp_path / "r1")
    assert any("laterdep" in str(p) for p in before.problems), before.problems
    cache = check_dir(tmp_path)
    first = run_check(pages, config, cache_dir=cache, progress=False, packages=before)
    assert first.results[0].status.value == "failed", first.results
    pure_wheel(wheels, "laterdep", [])
    after = resolve(pages, config, lock, PIN, pip=WheelsPip(wheels), cache_dir=tmp_path / "r2")
    assert not after.problems, after.problems
    second = run_check(pages, config, cache_dir=cache, progress=False, packages=after)
    assert second.results[0].status.value == "passed", second.results  # run again, not cached
    assert second.results[0].output == "both\n"


def test_a_kept_miss_is_asked_again_when_pip_looks_elsewhere(
    lock: PyodideLock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The advice for a package without a pure wheel is to put one in pip's configuration
    (PIP_FIND_LINKS=FOLDER); the kept answer was said again without asking pip, so following
    the advice changed nothing (zope.annotation)."""
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    pages = {"index": [snip("print(1)\n", line=3, packages="compiledonly")]}
    first = resolve(pages, PyrunConfig(), lock, PIN, pip=NoWheelPip(), cache_dir=tmp_path)
    assert "has no pure-Python wheel" in str(first.problems[0])
    again = resolve(pages, PyrunConfig(), lock, PIN, pip=NoPip(), cache_dir=tmp_path)
    assert [str(p) for p in again.problems] == [str(first.problems[0])]  # pip not asked
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels-of-my-own"))
    asked = NoWheelPip()
    resolve(pages, PyrunConfig(), lock, PIN, pip=asked, cache_dir=tmp_path)
    assert asked.asked == ["compiledonly"]
    kept = resolve(pages, PyrunConfig(), lock, PIN, pip=NoPip(), cache_dir=tmp_path)
    assert len(kept.problems) == 1  # its answer with these settings is kept in turn


# ------------------------------------------------------------------------ PyPI (needs network)


@pytest.fixture(scope="module")
def pypi_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pypi-cache")


def test_a_pure_wheel_from_the_index_replaces_a_pyodide_package_that_does_not_fit(
    lock: PyodideLock, pypi_cache: Path
) -> None:
    """Pyodide ships jsonpointer 3.1.1; jsonpatch's docs need ``jsonpointer>=3.8``: PyPI's pure
    wheel that fits replaces Pyodide's, as micropip would take it (the check loaded 3.1.1)."""
    pages = {"index": [snip("import jsonpointer\n", packages="jsonpointer>=3.8")]}
    res = resolve(pages, PyrunConfig(), lock, PIN, cache_dir=pypi_cache)
    assert not res.problems, res.problems
    pkg = res.packages["jsonpointer"]
    assert pkg.source == "pypi" and Version(pkg.version) >= Version("3.8"), pkg


def test_a_pure_pyodide_package_the_cdn_cannot_serve_comes_from_the_index(
    lock: PyodideLock, pypi_cache: Path, tmp_path: Path
) -> None:
    """attrs and six come only from Pyodide's CDN; a build machine that cannot reach it (this
    one, an air-gapped one) gets the same versions' pure wheels from the package index, cached:
    the second resolution neither downloads nor runs pip. A compiled package stays Pyodide's."""
    pages = {"index": [snip("import attr\nimport numpy\n")]}
    unreachable = "http://127.0.0.1:9/pyodide/"

    def store() -> PackageStore:
        return PackageStore(tmp_path / "lock-wheels", PackageIndex(lock), unreachable)

    first = resolve(pages, PyrunConfig(), lock, PIN, cache_dir=pypi_cache, lock_wheels=store())
    assert not first.problems, first.problems
    for name in ("attrs", "six"):
        pkg, locked = first.packages[name], lock.packages[name]
        assert (pkg.source, pkg.version) == ("pypi", locked["version"]), pkg
        assert (
            pkg.path is not None and pkg.sha256 == hashlib.sha256(pkg.path.read_bytes()).hexdigest()
        )
        assert pkg.depends == list(locked.get("depends", [])), pkg
    assert "attr" in first.packages["attrs"].imports
    assert first.packages["numpy"].source == "pyodide"
    assert first.pip_calls == 2
    again = resolve(pages, PyrunConfig(), lock, PIN, pip=NoPip(), cache_dir=pypi_cache,
                    lock_wheels=store())  # fmt: skip
    assert again.lock_json(mode="cdn") == first.lock_json(mode="cdn")
    plain = resolve(pages, PyrunConfig(), lock, PIN, pip=NoPip(), cache_dir=pypi_cache)
    assert plain.packages["attrs"].source == "pyodide"  # nothing fetched: nothing replaced
    # an index without that version: the download's error says the index was tried too
    none = resolve(pages, PyrunConfig(), lock, PIN, pip=NoWheelPip(), cache_dir=tmp_path / "n",
                   lock_wheels=store())  # fmt: skip
    assert none.packages["attrs"].source == "pyodide"
    index = PackageIndex(lock)
    index.add_resolved(none)
    with pytest.raises(PackageError) as raised:
        PackageStore(tmp_path / "lock-wheels", index, unreachable).fetch("attrs")
    assert "cannot be fetched from http://127.0.0.1:9/" in raised.value.message
    assert (
        f"the package index has no pure-Python wheel of attrs {lock.packages['attrs']['version']}"
        in raised.value.message
    )


def test_path_folders_become_one_reproducible_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``path`` folder's top-level modules and packages (not other folders, caches, or names
    the project provides; an earlier folder wins) are one wheel, the same bytes each build."""
    from pyrun_docs import path_wheel as pw

    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        (folder / "pkg" / "__pycache__").mkdir(parents=True)
        (folder / "pkg" / "__init__.py").write_text(f"WHERE = {folder.name!r}\n")
        (folder / "pkg" / "__pycache__" / "x.pyc").write_bytes(b"cache")
        (folder / "notes").mkdir()  # not a package
        (folder / "notes" / "n.py").write_text("")
    (first / "helper.py").write_text("X = 1\n")
    (first / "myproject.py").write_text("")  # the project's wheel has it
    (second / "data.json").write_text("{}")
    one, problems = pw.path_wheel([first, second, tmp_path / "missing"], tmp_path / "c",
                                  ["myproject"])  # fmt: skip
    assert problems == [f"{tmp_path / 'missing'} is not a folder"]
    assert one is not None and one.path is not None and one.imports == ["helper", "pkg"]
    with zipfile.ZipFile(one.path) as wheel:
        names = set(wheel.namelist())
        assert wheel.read("pkg/__init__.py") == b"WHERE = 'first'\n"
    assert {"helper.py", "pkg/__init__.py", "pyrun_path-0.dist-info/RECORD"} <= names
    assert not any("__pycache__" in n or n.startswith(("notes", "myproject")) for n in names)
    assert read_wheel(one.path).imports == ["helper", "pkg"]
    again, _ = pw.path_wheel([first, second], tmp_path / "c2", ["myproject"])
    assert again is not None and again.sha256 == one.sha256
    monkeypatch.setattr(pw, "MAX_FILES", 1)
    none, problems = pw.path_wheel([first], tmp_path / "c3")
    assert none is None and "more than 1 files" in problems[0], problems


def test_pypi_package_resolved_verified_cached(
    lock: PyodideLock, pypi_cache: Path, tmp_path: Path
) -> None:
    """A pure-Python wheel from PyPI: resolved once with pip, then from the cache with no pip."""
    pages = {"index": [snip("import inflection\n", packages="inflection>=0.5")]}
    first = resolve(pages, PyrunConfig(), lock, PIN, cache_dir=pypi_cache)
    assert not first.problems, first.problems
    pkg = first.packages["inflection"]
    assert (pkg.source, pkg.version) == ("pypi", "0.5.1")
    assert pkg.path is not None and is_pure_wheel(pkg.path.name)
    assert first.pip_calls == 1
    second = resolve(pages, PyrunConfig(), lock, PIN, pip=NoPip(), cache_dir=pypi_cache)
    assert second.pip_calls == 0
    assert second.lock_json(mode="self-host") == first.lock_json(mode="self-host")
    site = tmp_path / "pyrun"
    assert write_site(site, second, PyrunConfig(), PIN) == []
    data = json.loads((site / LOCK_NAME).read_text())
    entry = data["packages"]["inflection"]
    assert (site / entry["url"]).read_bytes() == pkg.path.read_bytes()
    assert entry["key"] == "inflection" and entry["imports"] == ["inflection"]


def test_cold_cache_without_network_is_a_clear_error_and_cached_wheels_still_work(
    lock: PyodideLock, pypi_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = {"index": [snip("import inflection\n", line=4, packages="inflection>=0.5")]}
    resolve(pages, PyrunConfig(), lock, PIN, cache_dir=pypi_cache)  # warm (network)
    offline_env(monkeypatch)
    warm = resolve(pages, PyrunConfig(), lock, PIN, cache_dir=pypi_cache)
    assert not warm.problems and "inflection" in warm.packages and warm.pip_calls == 0
    cold = resolve(pages, PyrunConfig(), lock, PIN, cache_dir=tmp_path / "cold")
    (problem,) = cold.problems
    text = str(problem)
    assert text.startswith("docs/index.rst:4: cannot resolve inflection>=0.5")
    assert "package index is unreachable" in text and "cached wheels keep working" in text


def test_hash_mismatch_of_a_cached_wheel(
    lock: PyodideLock, tmp_path: Path, pypi_cache: Path
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(pypi_cache, cache)
    pages = {"index": [snip("import inflection\n", line=5, packages="inflection>=0.5")]}
    res = resolve(pages, PyrunConfig(), lock, PIN, cache_dir=cache)
    wheel = res.packages["inflection"].path
    assert wheel is not None
    with zipfile.ZipFile(wheel, "a") as zf:
        zf.writestr("inflection/extra.py", "print('tampered')\n")
    again = resolve(pages, PyrunConfig(), lock, PIN, pip=NoPip(), cache_dir=cache)
    (problem,) = again.problems
    assert str(problem).startswith("docs/index.rst:5: hash mismatch for inflection 0.5.1")
    assert "refusing to use it" in str(problem)
    assert "inflection" not in again.packages


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        (
            "no-such-package-pyrun-docs-test",
            "unknown package no-such-package-pyrun-docs-test: it is not on the package index",
        ),
        ("psutil", "psutil has no pure-Python wheel (py3-none-any)"),
        ("inflection<0.1", "no version of inflection satisfies inflection<0.1"),
        # its only pure wheel is a pre-release pip does not take: no pure wheel, not a conflict
        ("zope.interface", "zope-interface (zope.interface) has no pure-Python wheel"),
    ],
)
def test_package_that_cannot_run_in_pyodide(
    lock: PyodideLock, tmp_path: Path, requirement: str, expected: str
) -> None:
    pages = {"index": [snip("print(1)\n", line=21, packages=requirement)]}
    res = resolve(pages, PyrunConfig(), lock, PIN, cache_dir=tmp_path)
    (problem,) = res.problems
    assert str(problem).startswith(f"docs/index.rst:21: {expected}"), str(problem)
    # the answer is kept: an unchanged build asks pip nothing (3-6 s a check, every check), and
    # says it where it is asked now
    pages = {"index": [snip("print(1)\n", line=30, packages=requirement)]}
    again = resolve(pages, PyrunConfig(), lock, PIN, pip=NoPip(), cache_dir=tmp_path)
    assert [str(p) for p in again.problems] == [str(problem).replace(":21:", ":30:", 1)]


def test_version_conflict_between_two_snippets(lock: PyodideLock, tmp_path: Path) -> None:
    pages = {
        "a": [snip("print(1)\n", line=3, page="a", packages="inflection==0.5.1")],
        "b": [snip("print(2)\n", line=8, page="b", packages="inflection<0.5")],
    }
    res = resolve(pages, PyrunConfig(), lock, PIN, cache_dir=tmp_path)
    (problem,) = res.problems
    text = str(problem)
    assert text.startswith("docs/a.rst:3: version conflict for inflection: no version satisfies")
    assert "inflection==0.5.1" in text and "inflection<0.5 (docs/b.rst:8)" in text


def test_site_packages_setting_problem_names_the_setting(lock: PyodideLock, tmp_path: Path) -> None:
    config = PyrunConfig(packages=["no-such-package-pyrun-docs-test"])
    res = resolve({"index": []}, config, lock, PIN, cache_dir=tmp_path, setting_prefix="pyrun_")
    (problem,) = res.problems
    assert problem.snippet is None
    assert "(needed by pyrun_packages)" in str(problem) and "unknown package" in str(problem)
    # a direct reference: its URL was dropped without a word, the name asked of the index
    wheel = "mylocalpkg @ file:///wheels/mylocalpkg-1.0-py3-none-any.whl"
    res = resolve({"index": []}, PyrunConfig(packages=[wheel]), lock, PIN, pip=NoPip(),
                  cache_dir=tmp_path, setting_prefix="pyrun_")  # fmt: skip
    (problem,) = res.problems
    assert "a requirement with a URL is not supported" in str(problem), problem
    assert "PIP_FIND_LINKS" in str(problem) and "[pyrun_packages]" in str(problem)


# --------------------------------------------------------------------- the project, end to end


def test_project_wheel_and_its_dependency(lock: PyodideLock, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    config = PyrunConfig(project=".")
    pages = {"index": [snip("import fixture_project\n")]}
    res = resolve(pages, config, lock, PIN, base_dir=project, cache_dir=tmp_path / "c")
    assert not res.problems, res.problems
    assert res.site == ["fixture-project"]
    fp = res.packages["fixture-project"]
    assert (fp.source, fp.version, fp.depends) == ("project", "0.1.0", ["inflection"])
    assert fp.load_key == "fixture_project" and fp.imports == ["fixture_project"]
    assert res.packages["inflection"].source == "pypi"
    assert snippet_needs(snip("print(1)\n"), res) == ["fixture-project", "inflection"]
    # a changed project is rebuilt; an unchanged one is not
    again = resolve(
        pages, config, lock, PIN, base_dir=project, pip=NoPip(), cache_dir=tmp_path / "c"
    )
    assert again.packages["fixture-project"].sha256 == fp.sha256
    init = project / "src" / "fixture_project" / "__init__.py"
    init.write_text(init.read_text().replace("0.1.0", "0.1.1"))
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text().replace("0.1.0", "0.1.1")
    )
    changed = resolve(pages, config, lock, PIN, base_dir=project, cache_dir=tmp_path / "c")
    assert changed.packages["fixture-project"].version == "0.1.1"
    info = read_wheel(changed.packages["fixture-project"].path)  # type: ignore[arg-type]
    assert info.requires == ["inflection>=0.5"]


def test_a_project_pyodide_also_ships_brings_only_its_own_dependencies(
    lock: PyodideLock, tmp_path: Path
) -> None:
    """Issue 20.6: the documented project replaces Pyodide's copy of it, so the lock holds what the
    project's wheel depends on, not what Pyodide's copy does (``retrying`` -> ``six``): offline,
    a build would otherwise miss a wheel nothing loads."""
    assert lock.packages["retrying"]["depends"] == ["six"]  # the trap this test is about
    project = tmp_path / "retrying"
    (project / "src" / "retrying").mkdir(parents=True)
    (project / "src" / "retrying" / "__init__.py").write_text("VERSION = 'ours'\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "retrying"\nversion = "99.0"\n'
        '[tool.setuptools.packages.find]\nwhere = ["src"]\n'
    )
    pages = {"index": [snip("import retrying\n")]}
    res = resolve(pages, PyrunConfig(project="."), lock, PIN, base_dir=project,
                  cache_dir=tmp_path / "c")  # fmt: skip
    assert not res.problems, res.problems
    assert set(res.packages) == {"retrying"}
    assert (res.packages["retrying"].source, res.packages["retrying"].version) == (
        "project",
        "99.0",
    )
    assert snippet_needs(pages["index"][0], res) == ["retrying"]
    assert set(res.lock_json(mode="cdn")["packages"]) == {"retrying"}


def test_nothing_beneath_the_check_imports_it() -> None:
    """Node discovery and the package store sit below the check and the docs build's package and
    snapshot code (DESIGN.md): importing those loads no module of ``pyrun_docs.check``."""
    code = (
        "import sys\n"
        "import pyrun_docs.packages, pyrun_docs.package_store, pyrun_docs.node\n"
        "import pyrun_docs.site_snapshot\n"
        "import pyrun_docs.render, pyrun_docs.outputs, pyrun_docs.takeaway, pyrun_docs.sessions\n"
        "print([m for m in sys.modules if m.startswith('pyrun_docs.check')])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]", proc.stdout


def test_a_project_using_zoneinfo_gets_tzdata(lock: PyodideLock, tmp_path: Path) -> None:
    """A project whose modules import ``zoneinfo`` needs ``tzdata`` in Pyodide (no system time
    zones) without declaring it (CPython finds the system's): babel's date examples had none
    ("Unknown timezone Europe/Paris") although no example imported ``zoneinfo`` itself."""
    import zipfile

    wheel = tmp_path / "tzproj-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(
            "tzproj-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tzproj\nVersion: 1.0\n"
        )
        zf.writestr(
            "tzproj/__init__.py",
            "try:\n    from zoneinfo import ZoneInfo\nexcept ImportError:\n    pass\n",
        )
    assert read_wheel(wheel).requires == ["tzdata"]
    pages = {"index": [snip("import tzproj\n")]}
    res = resolve(pages, PyrunConfig(project=str(wheel)), lock, PIN, cache_dir=tmp_path / "c")
    assert not res.problems, res.problems
    assert res.packages["tzproj"].depends == ["tzdata"]
    assert "tzdata" in snippet_needs(snip("print(1)\n"), res)


def test_project_that_is_not_a_project(lock: PyodideLock, tmp_path: Path) -> None:
    res = resolve(
        {"index": []},
        PyrunConfig(project="nowhere"),
        lock,
        PIN,
        base_dir=tmp_path,
        cache_dir=tmp_path,
        setting_prefix="pyrun_",
    )
    (problem,) = res.problems
    assert str(problem).startswith("pyrun_project = 'nowhere':")
    assert "neither a project folder nor a .whl file" in str(problem)


@pytest.fixture(scope="module")
def project_html(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Path:
    """The fixture project's Sphinx docs, built once (the check runs, with ``error``)."""
    base = tmp_path_factory.mktemp("project")
    shutil.copytree(PROJECT, base / "project")
    build = sphinx_build(base / "project" / "docs", base / "html")
    assert build.status == 0, build.stderr
    assert "WARNING" not in build.stderr, build.stderr
    return base / "html"


def test_sphinx_build_self_hosts_the_project_and_its_dependency(project_html: Path) -> None:
    folder = project_html / "_static" / "pyrun"
    data = json.loads((folder / LOCK_NAME).read_text())
    assert data["site"] == ["fixture-project"]
    assert {n: p["version"] for n, p in data["packages"].items()} == {
        "fixture-project": "0.1.0",
        "inflection": "0.5.1",
    }
    for entry in data["packages"].values():
        wheel = folder / entry["url"]
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == entry["sha256"]
    page = (project_html / "index.html").read_text()
    assert '"packageLock":"pyrun-lock.json"' in page
    assert_readable_as_written(folder)


def assert_readable_as_written(folder: Path) -> None:
    """Every file under *folder* has the mode the umask gives (the wheels and the lock were
    0600, as ``tempfile.mkstemp`` makes them: a web server running as another user could not
    read them, and every example using a package failed for readers)."""
    umask = os.umask(0)
    os.umask(umask)
    allowed = 0o666 & ~umask
    modes = {p.relative_to(folder): stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*")}
    narrow = {str(path): oct(mode) for path, mode in modes.items() if mode & allowed != allowed}
    assert not narrow and any(p.suffix == ".whl" for p in modes), narrow


def test_browser_and_check_agree_on_versions(
    project_html: Path, runtime_cache: Path, tmp_path: Path
) -> None:
    """The check loads exactly the wheels the site's pyrun-lock.json names (same bytes)."""
    site_lock = json.loads((project_html / "_static" / "pyrun" / LOCK_NAME).read_text())
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    pages = {"index": [snip("import fixture_project\n")]}
    res = build_packages(pages, PyrunConfig(project=str(project)), None)
    index = PackageIndex.from_lock(runtime_cache / "pyodide-lock.json")
    index.add_resolved(res)
    for name, entry in site_lock["packages"].items():
        checked = index.packages[name]
        assert (checked["version"], checked["sha256"]) == (entry["version"], entry["sha256"])
        assert Path(checked["path"]).name == entry["file_name"]
    # and what the check imports is that version
    report = run_check(
        {
            "index": [
                snip(
                    "from importlib.metadata import version\n"
                    "print(version('inflection'), version('fixture_project'))\n"
                )
            ]
        },
        PyrunConfig(project=str(project)),
        cache_dir=check_dir(tmp_path),
        progress=False,
        packages=res,
    )
    assert report.ok, report.results
    expected = [site_lock["packages"][n]["version"] for n in ("inflection", "fixture-project")]
    assert report.results[0].output == " ".join(expected) + "\n"


def test_second_sphinx_build_resolves_nothing(project_html: Path, tmp_path: Path) -> None:
    """Everything is cached: a rebuild with the package index unreachable still works."""
    base = tmp_path / "again"
    shutil.copytree(PROJECT, base)
    env = {
        **os.environ,
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_EXTRA_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_FIND_LINKS": "http://127.0.0.1:9/links",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "3",
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-q",
            str(base / "docs"),
            str(tmp_path / "h"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    assert (tmp_path / "h" / "_static" / "pyrun" / LOCK_NAME).read_text() == (
        project_html / "_static" / "pyrun" / LOCK_NAME
    ).read_text()


def test_sphinx_package_problem_is_a_located_warning(make_root, runtime_cache: Path) -> None:  # type: ignore[no-untyped-def]
    root = make_root(
        "basic",
        **{"extra.rst": ("Extra\n=====\n\n.. pyrun::\n   :packages: psutil\n\n   import psutil\n")},
    )
    index = root / "index.rst"
    index.write_text(index.read_text() + "\n.. toctree::\n\n   extra\n")
    build = sphinx_build(root, root.parent / "html")
    assert re.search(
        r"extra\.rst:\d+: WARNING: pyrun: psutil has no pure-Python wheel", build.stderr
    ), build.stderr
    conf = root / "conf.py"  # a setting's problem: at conf.py, as pyrun-docs check says it
    conf.write_text(conf.read_text() + "\npyrun_packages = ['psutil']\n")
    again = sphinx_build(root, root.parent / "html2")
    assert re.search(
        r"conf\.py:1: WARNING: pyrun: psutil \(needed by pyrun_packages, \S*extra\.rst:\d+\) has "
        "no pure-Python wheel",
        again.stderr,
    ), again.stderr
    assert "[pyrun.packages]" in build.stderr
    assert "Traceback" not in build.stderr


def test_mkdocs_build_of_the_project(tmp_path: Path, runtime_cache: Path) -> None:
    from test_mkdocs import mkdocs_build

    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    assert "WARNING" not in build.output, build.output
    folder = build.site / "assets" / "pyrun"
    data = json.loads((folder / LOCK_NAME).read_text())
    assert sorted(data["packages"]) == ["fixture-project", "inflection"]
    for entry in data["packages"].values():
        assert (folder / entry["url"]).is_file()
    assert "passed" in build.output or "cached" in build.output
    assert_readable_as_written(folder)


def test_mkdocs_package_problem_fails_the_build(tmp_path: Path, runtime_cache: Path) -> None:
    from test_mkdocs import mkdocs_build

    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)
    page = root / "mkdocs_docs" / "index.md"
    page.write_text(page.read_text() + '\n```pyrun packages="psutil"\nimport psutil\n```\n')
    build = mkdocs_build(root)
    assert build.status != 0
    assert "mkdocs_docs/index.md:" in build.output
    assert "psutil has no pure-Python wheel" in build.output
    assert "Traceback" not in build.output


def test_check_cache_key_follows_our_wheels(lock: PyodideLock, tmp_path: Path) -> None:
    """A rebuilt project wheel (new hash) re-runs its examples; Pyodide's packages go by name."""
    from pyrun_docs.package_store import LockedPackage

    res = resolve({"index": []}, PyrunConfig(), lock, PIN, pip=NoPip(), cache_dir=tmp_path)
    wheel = tmp_path / "fixture_project-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"x")
    res.packages["fixture-project"] = LockedPackage(
        "fixture-project", "0.1.0", "project", wheel.name, "ab" * 32, path=wheel
    )
    res.site = ["fixture-project"]
    one = PackageIndex(lock)
    one.add_resolved(res)
    res.packages["fixture-project"].sha256 = "cd" * 32
    two = PackageIndex(lock)
    two.add_resolved(res)
    assert one.fingerprint("fixture-project") != two.fingerprint("fixture-project")
    assert one.fingerprint("numpy") == "numpy"
    assert one.needs(snip("print(1)\n")) == (["fixture-project"], [])


def test_sphinx_text_builder_checks_with_the_project(project_html: Path, tmp_path: Path) -> None:
    """Non-HTML builders write no site, but the check still loads the project and its deps."""
    base = tmp_path / "project"
    shutil.copytree(PROJECT, base)
    build = sphinx_build(base / "docs", tmp_path / "text", "text")
    assert build.status == 0, build.stderr
    assert "WARNING" not in build.stderr, build.stderr


def test_self_host_copies_only_verified_pyodide_wheels(tmp_path: Path) -> None:
    """Self-host mode puts exactly the needed Pyodide wheels next to the runtime, verified."""
    from pyrun_docs.package_store import LockedPackage

    good, bad = tmp_path / "good.whl", tmp_path / "bad.whl"
    good.write_bytes(b"the pinned bytes")
    bad.write_bytes(b"other bytes")
    user = snip("import a, b\n", line=30)
    res = Resolution(runtime=PIN.key)
    for name, version, data in (("a", "1.0", b"the pinned bytes"), ("b", "2.0", b"x")):
        file_name = f"{name}-{version}-py3-none-any.whl"
        sha = hashlib.sha256(data).hexdigest()
        res.packages[name] = LockedPackage(name, version, "pyodide", file_name, sha)
    res.needed_by = {"a": user, "b": user}
    site = tmp_path / "pyrun"
    problems = write_site(
        site, res, PyrunConfig(), PIN, fetch_pyodide=lambda names: {"a": good, "b": bad}
    )
    assert (site / PIN.key / "a-1.0-py3-none-any.whl").read_bytes() == b"the pinned bytes"
    assert not (site / PIN.key / "b-2.0-py3-none-any.whl").exists()
    (problem,) = problems
    assert str(problem).startswith("docs/index.rst:30: hash mismatch for b 2.0")


def doctest_docs(docs: Path, setting: str, page: str) -> Path:
    """A Sphinx docs folder upgrading doctest blocks, with *setting* on conf.py's line 3."""
    docs.mkdir()
    (docs / "conf.py").write_text(
        'extensions = ["sphinx.ext.doctest", "pyrun_docs.sphinx_ext"]\n'
        f'pyrun_upgrade = ["doctest"]\n{setting}\n'
    )
    (docs / "index.rst").write_text(f"T\n=\n\n{page}")
    return docs


def test_a_package_setting_that_cannot_be_had_is_an_error_of_the_command(
    tmp_path: Path, runtime_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``pyrun_packages`` asking for what cannot be had: the build warns at the setting; the
    command printed a note beside "all passed" and exited 0 (in CI, unseen). Now it is an error
    at the setting's line of ``conf.py``."""
    docs = doctest_docs(tmp_path / "docs", 'pyrun_packages = ["numpy<1"]', ">>> 1 + 1\n2\n")
    assert main(["check", str(docs), "--cache-dir", str(check_dir(tmp_path)), "-q"]) == 1
    printed = capsys.readouterr()
    assert "conf.py:3: error: version conflict for numpy" in printed.out + printed.err
    assert "on 1 page" in printed.out + printed.err
    # the build names the same line (it said conf.py:1)
    build = sphinx_build(docs, tmp_path / "html")
    assert "conf.py:3: WARNING: pyrun: version conflict for numpy" in build.stderr, build.stderr


def test_a_project_that_does_not_build_leaves_its_examples_unchecked(
    tmp_path: Path, runtime_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A project whose wheel cannot be built: its examples failed to import it and were kept
    static, readers told "Does not run in the browser: No module named 'mypkg'", and the
    command passed; the warning quoted pip's last words, not the backend's error. Now they are
    not checked, with the build's own reason, and the command fails at the setting."""
    project = tmp_path / "project"
    (project / "src" / "mypkg").mkdir(parents=True)
    (project / "src" / "mypkg" / "__init__.py").write_text("X = 1\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "mypkg"\nversion = 1\n'  # not a string: the build fails
    )
    page = ">>> import mypkg\n>>> mypkg.X\n1\n\n>>> 2 + 2\n4\n"
    docs = doctest_docs(project / "docs", 'pyrun_project = ".."', page)
    out = tmp_path / "check.json"
    args = ["check", str(docs), "--cache-dir", str(check_dir(tmp_path)), "--json", str(out)]
    assert main(args) == 1
    results = {r["line"]: r for r in json.loads(out.read_text())["results"]}
    assert results[4]["status"] == "error", results[4]
    assert results[4]["message"].startswith("not checked: pyrun_project = '..': building"), results
    assert "`project.version` must be string" not in results[4]["message"]  # one line: the error
    assert "ValueError: invalid pyproject.toml config" in results[4]["message"]
    assert results[8]["status"] == "passed"
    printed = capsys.readouterr()
    assert "conf.py:3: error: pyrun_project = '..'" in printed.out + printed.err
    # the setting's problem is no snippet of the page's (bitstruct: "14 snippets" for 13)
    assert ": 2 snippets (3 doctest examples) on 1 page" in printed.out + printed.err


def test_a_setting_s_problem_is_reported_at_the_setting() -> None:
    """Not at Sphinx's own ``project = ...`` above it, nor at line 1 for a message naming the
    setting with a colon (bitstruct's compiled wheel: "pyrun_project: ... is not a pure-Python
    wheel" was at conf.py:1)."""
    from pyrun_docs.site_config import setting_location

    conf = Path(__file__).parent / "roots" / "setting-lines" / "conf.py"
    assert setting_location(
        conf, "pyrun_project: x-1.0-cp311-linux.whl is not a pure-Python wheel"
    ).endswith("conf.py:3")
    assert setting_location(conf, "pyrun_project = '..': building failed").endswith("conf.py:3")
    required = "zope-interface (zope.interface (pyrun_project transaction)) has no pure wheel"
    assert setting_location(conf, required).endswith("conf.py:3")  # was conf.py:1


def test_a_namespace_package_project_s_import_name_is_known(tmp_path: Path) -> None:
    """``src/zope/hookable``: the project's examples import ``zope``; when its wheel cannot be
    built they are not checked (they failed "No module named 'zope'", or were kept static)."""
    from pyrun_docs.packages import _top_level_names

    (tmp_path / "src" / "zope" / "hookable").mkdir(parents=True)
    (tmp_path / "src" / "zope" / "hookable" / "__init__.py").write_text("")
    (tmp_path / "src" / "zope.hookable.egg-info").mkdir()
    (tmp_path / "setup.py").write_text("")
    assert _top_level_names(tmp_path) == ["zope"]


def test_cli_check_uses_the_project_from_conf_py(tmp_path: Path, runtime_cache: Path) -> None:
    """``pyrun-docs check docs`` reads ``pyrun_project`` relative to conf.py, as the build does."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)
    cmd = [sys.executable, "-m", "pyrun_docs", "check", "docs", "--cache-dir", str(tmp_path / "c")]
    proc = subprocess.run(
        cmd, cwd=tmp_path / "project", capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 snippets" in proc.stderr + proc.stdout


def test_sphinx_cdn_mode_references_pyodide_packages(make_root, runtime_cache: Path) -> None:  # type: ignore[no-untyped-def]
    """``cdn`` mode: numpy is in the site's lock, loaded from the CDN; no wheel is copied."""
    root = make_root(
        "basic",
        **{"extra.rst": "Extra\n=====\n\n.. pyrun::\n\n   import numpy\n   print(numpy.pi)\n"},
    )
    (root / "conf.py").write_text((root / "conf.py").read_text() + 'pyrun_runtime_source = "cdn"\n')
    index = root / "index.rst"
    index.write_text(index.read_text() + "\n.. toctree::\n\n   extra\n")
    out = root.parent / "html"
    build = sphinx_build(root, out)
    assert build.status == 0, build.stderr
    assert "WARNING" not in build.stderr, build.stderr
    data = json.loads((out / "_static" / "pyrun" / LOCK_NAME).read_text())
    assert data["mode"] == "cdn" and list(data["packages"]) == ["numpy"]
    assert not (out / "_static" / "pyrun" / PIN.key).exists()
    config = json.loads(
        re.search(r'id="pyrun-config"[^>]*>(.*?)</script>', (out / "extra.html").read_text()).group(
            1
        )  # type: ignore[union-attr]
    )
    assert config["runtimes"]["pyodide"]["base"].startswith("https://cdn.jsdelivr.net/pyodide/v")
    assert config["packageLock"] == LOCK_NAME


def test_the_project_wheel_is_reproducible(tmp_path: Path) -> None:
    """Two builds of unchanged sources give the same bytes, so results that depend on the
    project's wheel stay cached (its hash is part of their cache key)."""
    import hashlib
    import time

    from pyrun_docs.packages import Pip

    project = tmp_path / "project"
    shutil.copytree(Path(__file__).parent / "roots" / "upgrade", project)
    pip = Pip("3.14")
    digests = []
    for attempt in range(2):
        if attempt:
            time.sleep(2.1)  # zip timestamps have a resolution of two seconds
        wheel, error = pip.wheel(project, tmp_path / f"out{attempt}")
        assert wheel is not None, error
        digests.append(hashlib.sha256(wheel.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_a_compiled_project_wheel_is_built_again_after_its_switch_is_set(
    lock: PyodideLock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project that builds a compiled wheel unless an environment variable asks for its
    pure-Python fallback (yarl's ``YARL_NO_EXTENSIONS``): the problem says to set it, and with it
    set the next check builds the pure wheel. The compiled one was kept (by the sources' digest)
    and came back whatever the environment said."""
    project = tmp_path / "project"
    shutil.copytree(Path(__file__).parent / "roots" / "upgrade", project)
    (project / "setup.py").write_text(
        "import os\nfrom setuptools import setup\nfrom setuptools.dist import Distribution\n\n"
        "class Dist(Distribution):\n    def has_ext_modules(self):\n"
        '        return os.environ.get("FIXTURE_PURE") != "1"  # a compiled build, else pure\n\n'
        "setup(distclass=Dist)\n"
    )
    pages = {"index": [snip("import upgrade_fixture\n")]}
    config = PyrunConfig(project=str(project))
    res = resolve(pages, config, lock, PIN, cache_dir=tmp_path / "c")
    assert any("not a pure-Python wheel" in p.message for p in res.problems), res.problems
    monkeypatch.setenv("FIXTURE_PURE", "1")
    res = resolve(pages, config, lock, PIN, cache_dir=tmp_path / "c")
    assert not res.problems, res.problems
    assert res.packages["upgrade-fixture"].file_name.endswith("-py3-none-any.whl")


def test_building_the_project_wheel_leaves_the_tree_as_it_was(tmp_path: Path) -> None:
    """setuptools builds in the tree (``build/``, ``src/NAME.egg-info``): a docs build must not
    leave them in the author's project; a ``build/`` folder that was there before stays."""
    from pyrun_docs.packages import Pip

    project = tmp_path / "project"
    shutil.copytree(Path(__file__).parent / "roots" / "upgrade", project)
    listing = sorted(str(p.relative_to(project)) for p in project.rglob("*"))
    wheel, error = Pip("3.14").wheel(project, tmp_path / "out")
    assert wheel is not None, error
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*")) == listing
    (project / "build").mkdir()
    (project / "build" / "mine.txt").write_text("the author's")
    wheel, error = Pip("3.14").wheel(project, tmp_path / "out")
    assert wheel is not None, error
    assert (project / "build" / "mine.txt").exists()
    assert not list(project.rglob("*.egg-info"))


def test_the_project_wheel_is_rebuilt_for_its_files_not_for_reports(tmp_path: Path) -> None:
    """The project's wheel is kept under a digest of its sources: every file in its packages
    counts (package data: a changed ``words.csv`` kept the old wheel), a report or output left in
    the tree does not (``pyrun-docs check --json report.json`` rebuilt the wheel every run), nor
    a page of its docs."""
    from pyrun_docs.packages import _project_source_digest

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "requirements.txt").write_text("attrs\n")
    data = tmp_path / "src" / "p" / "data"
    data.mkdir(parents=True)
    (tmp_path / "src" / "p" / "__init__.py").write_text("")
    (data / "words.csv").write_text("hello\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.rst").write_text("Title\n")
    first = _project_source_digest(tmp_path)
    (tmp_path / "report.json").write_text("{}")
    (tmp_path / "docs" / "output.txt").write_text("3 tests")
    (tmp_path / "docs" / "index.rst").write_text("Another title\n")
    for built, marker in (("OUT-html", ".buildinfo"), ("public", "assets/pyrun/pyrun.js")):
        # a docs build's output, however named: its take-away scripts are no source
        (tmp_path / "docs" / built / marker).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "docs" / built / marker).write_text("")
        (tmp_path / "docs" / built / "index-example-1.py").write_text("print(1)\n")
    assert _project_source_digest(tmp_path) == first
    (data / "words.csv").write_text("goodbye\n")
    assert _project_source_digest(tmp_path) != first
    second = _project_source_digest(tmp_path)
    (tmp_path / "requirements.txt").write_text("attrs>=24\n")
    assert _project_source_digest(tmp_path) != second


def test_docstrings_written_in_another_file_of_the_project_are_not_foreign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A docstring is compared with the wheel's copy of the file it is written in: mpmath's
    ``f.__doc__ = function_docs.f`` and a package's own docstring (``__init__.py``) were flagged
    as "read from another copy" on every build; a file that differs still is."""
    from pyrun_docs.package_store import LockedPackage
    from pyrun_docs.packages import Resolution, foreign_docstrings
    from pyrun_docs.snippet import Snippet

    monkeypatch.chdir(tmp_path)
    source = tmp_path / "src" / "docpkg"
    source.mkdir(parents=True)
    files = {"__init__.py": '"""Pkg."""\n', "core.py": "f = 1\n", "_docs.py": 'F = """>>> 1"""\n'}
    wheel = tmp_path / "docpkg-1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            (source / name).write_text(text)
            archive.writestr(f"docpkg/{name}", text)
    project = LockedPackage("docpkg", "1", "project", wheel.name, "0" * 64, path=wheel)
    resolution = Resolution(packages={"docpkg": project})

    def example(path: str, module: str) -> Snippet:
        return Snippet(">>> 1\n1\n", path, 3, "api", 0, SnippetOptions(module=module))

    pages = {
        "api": [
            example("src/docpkg/_docs.py", "docpkg.core"),
            example("src/docpkg/__init__.py", "docpkg"),
        ]
    }
    assert foreign_docstrings(resolution, pages) == []
    (source / "_docs.py").write_text('F = """>>> 2"""\n')
    (problem,) = foreign_docstrings(resolution, pages)
    assert "read from src/docpkg/_docs.py" in problem.message
    assert "whose docpkg/_docs.py differs" in problem.message


def test_a_compiled_project_wheel_says_what_its_examples_would_run(
    lock: PyodideLock, tmp_path: Path
) -> None:
    """A project whose wheel is compiled cannot run in Pyodide; its examples are not checked
    against Pyodide's own copy (simplejson 3.20 for simplejson 4.3's docs: with no network
    each said "not in the verified package folder ... add +SKIP", the cause said last), and the
    problem says how to get a pure wheel."""
    wheel = tmp_path / "simplejson-4.3.0-cp311-cp311-linux_x86_64.whl"
    wheel.write_bytes(b"")
    pages = {"index": [snip("import simplejson\n")]}
    res = resolve(
        pages, PyrunConfig(project=str(wheel)), lock, PIN, pip=NoPip(), cache_dir=tmp_path
    )
    (problem,) = [p for p in res.problems if "pure-Python" in p.message]
    assert "examples importing it are not checked" in problem.message, problem.message
    assert "pure .whl" in problem.message
    assert "simplejson" in res.unbuilt and "simplejson" not in res.packages, res.packages
    index = PackageIndex(lock)
    index.add_resolved(res)
    assert index.needs(snip("import simplejson\n"))[0] == []  # not Pyodide's copy either


def test_cpython_lacking_the_project_does_not_judge_its_examples(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """The project reaches the examples as a wheel only (``pyrun_project``), not importable in
    the build's Python: an example failing in the browser alone (a thread) was asked of CPython,
    where the earlier ``from shapes import Rect`` had failed, and was "failed (in CPython 3.11:
    NameError: name 'Rect' is not defined)", failing the build. CPython cannot judge there: it
    stays static, as with the project importable."""
    name = f"shapes_{uuid.uuid4().hex[:8]}"  # importable nowhere but in the reader's Python
    project = tmp_path / "project"
    (project / "src" / name).mkdir(parents=True)
    (project / "src" / name / "__init__.py").write_text(
        "class Rect:\n    def __init__(self, w, h):\n        self.w, self.h = w, h\n"
        "    def area(self):\n        return self.w * self.h\n"
    )
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n'
    )
    page = (
        f">>> from {name} import Rect\n\n"
        ">>> import threading\n>>> threading.Thread(target=lambda: None).start()\n"
        ">>> Rect(1, 2).area()\n2\n\n"
        ">>> sorted('cab')\n['a', 'b', 'c', 'd']\n"
    )
    docs = doctest_docs(project / "docs", 'pyrun_project = ".."', page)
    out = tmp_path / "check.json"
    args = ["check", str(docs), "--cache-dir", str(check_dir(tmp_path)), "--json", str(out)]
    assert main(args) == 1
    results = json.loads(out.read_text())["results"]
    assert [r["status"] for r in results] == ["passed", "static", "failed"], results
    assert "CPython" not in results[1]["message"], results[1]
    # one using nothing the failed import was to bind fails in any Python: CPython's verdict
    # holds, as the doctest builder's (construct's blocks after an ``import numpy`` stayed
    # static, "Does not run in the browser")
    assert "CPython 3" in results[2]["message"] and "too" in results[2]["message"], results[2]


def test_a_failed_project_build_says_the_backend_s_own_error() -> None:
    """setuptools says why a build failed in an ``error: ...`` line (a flat layout with a second
    top-level folder, humanfriendly's ``cache``); pip's words around it were all it said."""
    from pyrun_docs.packages import _build_error

    output = (
        "  Getting requirements to build wheel: started\n"
        "  Getting requirements to build wheel: finished with status 'error'\n"
        "  error: subprocess-exited-with-error\n\n"
        "  \u00d7 Getting requirements to build wheel did not run successfully.\n"
        "  ╰─> [3 lines of output]\n"
        "      error: Multiple top-level packages discovered in a flat-layout: ['cache', 'hf'].\n"
        "      [end of output]\n"
        "ERROR: Failed to build 'hf' when getting requirements to build wheel\n"
    )
    assert _build_error(output).startswith("error: Multiple top-level packages discovered")
