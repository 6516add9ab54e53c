"""Benchmark: the build check against ``sphinx-build -b doctest`` on the same examples.

Two scenarios (``--scenario``), each run side by side with the doctest builder in one run:

``real`` (issue 18), shaped like a real project's docs: a project (``benchproj``, a wheel built
from its sources, with one dependency from the package index, ``mdurl``), 24 pages of prose and
``>>>`` blocks (about 430 examples) turned into widgets by ``pyrun_upgrade = ["doctest"]``, one
session per page as in ``sphinx.ext.doctest``'s default group. The same pages, with the project on
``sys.path``, go to ``sphinx-build -b doctest -E`` in CPython. Rows: ``pyrun-docs check`` cold (the
runtime and interpreter snapshots cached, no stored results: ``--no-cache``, Sphinx's read of the
project cached) with the default number of processes, ``--jobs 1`` and ``--jobs 2``; cold in a new
cache folder (Sphinx reads every page too); an unchanged tree; once, a check whose project wheel
changed (its installed snapshot is made). Each row also shows ``run_check``'s own time (from
``--json``), the processes used and the interpreters started.
Targets on 2 cores: cold <= 1.0x the doctest builder, unchanged <= 0.5 s, ``-j 2`` faster than
``-j 1``.

``synthetic`` (the earlier benchmark, no packages):

A generated docs tree (default 50 pages x 10 small snippets) is written twice: as ``.. pyrun::``
blocks for ``pyrun-docs check`` and as ``testcode``/``testoutput`` blocks for ``sphinx.ext.doctest``.
Measured, each as a real subprocess timed from outside (median of ``--runs``):

* (a) full check wall time, empty result cache, interpreter snapshot already made, versus
  ``sphinx-build -b doctest -E`` (fresh environment) on the doctest tree; target <= 1.5x.
  Also once: the very first check on a machine (no snapshot yet: cold boots and making one).
* (b) a second check with nothing changed: wall time of the command and of ``run_check`` inside
  Python, and the number of interpreters started; target <= 0.5 s and no boot.
* (c) the cost of one trivial snippet after the boot: one harness, one page of ``--trivial``
  snippets (``x = 1``), the time between consecutive ``start`` events; target <= 2 ms median.

This is a report, not a test: it exits 0 whatever the numbers. Our modules' bytecode is written
first (:func:`compile_ours`), as an installed copy has it.

    .venv/bin/python bench/check_speed.py --runs 3                   # both scenarios
    .venv/bin/python bench/check_speed.py --scenario real --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "check_speed.json"


def write_trees(root: Path, pages: int, per_page: int) -> tuple[Path, Path]:
    ours, theirs = root / "pyrun", root / "doctest"
    for tree in (ours, theirs):
        tree.mkdir(parents=True)
    (theirs / "conf.py").write_text('extensions = ["sphinx.ext.doctest"]\n', encoding="utf-8")
    toc = "Bench\n=====\n\n.. toctree::\n\n" + "".join(f"   p{p}\n" for p in range(pages))
    (theirs / "index.rst").write_text(toc, encoding="utf-8")
    for p in range(pages):
        mine = [f"Page {p}\n{'=' * 12}\n\n"]
        doc = [f"Page {p}\n{'=' * 12}\n\n"]
        for s in range(per_page):
            session = f"   :session: s{s % 2}\n" if s % 5 else ""
            mine.append(f".. pyrun::\n{session}\n   x = {s} + {p}\n   print(x)\n\n")
            doc.append(
                f".. testcode::\n\n   x = {s} + {p}\n   print(x)\n\n"
                f".. testoutput::\n\n   {s + p}\n\n"
            )
        (ours / f"p{p}.rst").write_text("".join(mine), encoding="utf-8")
        (theirs / f"p{p}.rst").write_text("".join(doc), encoding="utf-8")
    return ours, theirs


PROJECT = '''\
"""A small project for the benchmark: text helpers over one dependency from the index."""

import mdurl

__all__ = ["Greeter", "Stack", "chunks", "host_of", "slug"]


class Greeter:
    def __init__(self, name):
        self.name = name

    def greet(self, punctuation="!"):
        return f"hello, {self.name}{punctuation}"


def slug(text):
    return "-".join(text.lower().split())


def host_of(url):
    return mdurl.parse(url).hostname


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)
        return len(self.items)

    def pop(self):
        return self.items.pop()


def chunks(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]
'''

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "benchproj"
version = "1.0"
dependencies = ["mdurl>=0.1"]

[tool.setuptools]
packages = ["benchproj"]
"""


def real_page(p: int, sections: int) -> str:
    """One page: prose, a first block importing the project, then *sections* sections of
    examples; every block shares the page's session (doctest's default group)."""
    out = [
        f"Page {p}\n{'=' * 12}\n\nSome prose before the first example, as real pages have.\n\n",
        ">>> import benchproj\n>>> from benchproj import Greeter, Stack, chunks, slug, host_of\n"
        f">>> g = Greeter('page {p}')\n>>> g.greet()\n'hello, page {p}!'\n\n",
    ]
    for b in range(sections):
        n = p * 100 + b
        items = list(range(b + 3))
        last = [items[i : i + 2] for i in range(0, len(items), 2)][-1]
        out.append(f"Section {b}\n{'-' * 12}\n\nA paragraph explaining the next examples.\n\n")
        out.append(
            f">>> s = Stack()\n>>> s.push({n})\n1\n>>> s.push('x{b}')\n2\n>>> s.pop()\n'x{b}'\n"
            f">>> slug('Hello World {n}')\n'hello-world-{n}'\n"
            f">>> host_of('https://example{b}.org/a/b?c=1')\n'example{b}.org'\n"
            f">>> chunks(list(range({b + 3})), 2)[-1]\n{last!r}\n"
            f">>> sorted({{'b': {b}, 'a': {p}}}.items())\n[('a', {p}), ('b', {b})]\n\n"
        )
    return "".join(out)


def write_real_docs(root: Path, pages: int, sections: int) -> tuple[Path, Path, Path, int]:
    """(our Sphinx tree, the doctest builder's tree, the project, number of ``>>>`` examples)."""
    project = root / "proj"
    (project / "benchproj").mkdir(parents=True)
    (project / "benchproj" / "__init__.py").write_text(PROJECT, encoding="utf-8")
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    confs = {
        "pyrun": 'extensions = ["pyrun_docs.sphinx_ext"]\npyrun_upgrade = ["doctest"]\n'
        'pyrun_project = "../proj"\npyrun_check = "warn"\n',
        "doctest": f"import sys\nsys.path.insert(0, {str(project)!r})\n"
        'extensions = ["sphinx.ext.doctest"]\n',
    }
    examples = 0
    for name, conf in confs.items():
        tree = root / name
        tree.mkdir()
        (tree / "conf.py").write_text(conf, encoding="utf-8")
        toc = "Bench\n=====\n\n.. toctree::\n\n" + "".join(f"   p{p}\n" for p in range(pages))
        (tree / "index.rst").write_text(toc, encoding="utf-8")
        for p in range(pages):
            text = real_page(p, sections)
            (tree / f"p{p}.rst").write_text(text, encoding="utf-8")
            examples += text.count(">>> ") if name == "pyrun" else 0
    # as a project's files are: not written a moment ago (a read of files changed in the last
    # 2 s is not kept, so the first timed run would have read the docs with Sphinx again)
    past = time.time() - 60
    for path in root.rglob("*"):
        os.utime(path, (past, past))
    return root / "pyrun", root / "doctest", project, examples


def check_json(tree: Path, cache: Path, *extra: str) -> tuple[float, dict[str, Any]]:
    """Run ``pyrun-docs check`` with ``--json``: (wall seconds, the report's summary)."""
    out = cache.parent / f"{cache.name}-{len(extra)}-{time.monotonic_ns()}.json"
    seconds, proc = timed(check_cmd(tree, cache, "--json", str(out), *extra))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(out.read_text(encoding="utf-8"))
    return seconds, {k: summary.get(k) for k in ("seconds", "boots", "cold_boots", "workers")}


def forget_installed_snapshots() -> int:
    """Delete the shared installed snapshots (the next check makes one, as after a project change)."""
    from pyrun_docs.check.cache import default_cache_dir

    gone = 0
    for files in (default_cache_dir() / "snapshots").glob("*.snap.files"):
        snap = files.with_suffix("")  # only installed snapshots have their files beside them
        for path in (files, snap, snap.with_name(snap.name + ".sha256")):
            path.unlink(missing_ok=True)
        gone += 1
    return gone


def real_docs(args: argparse.Namespace) -> dict[str, Any]:
    """The ``real`` scenario: measured, printed as a table, returned for the JSON."""
    root = Path(tempfile.mkdtemp(prefix="pyrun-check-real-"))
    try:
        ours, theirs, _, examples = write_real_docs(root, args.real_pages, args.real_sections)
        print(f"real docs: {args.real_pages} pages, {examples} >>> examples, in {root}")
        warm = root / "warm"
        shared_snapshots(warm)
        check_json(ours, warm, "--no-cache")  # wheel built, lock resolved, snapshots made

        variants: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        doctest_times: list[float] = []
        for run in range(args.runs):
            seconds, proc = timed([sys.executable, "-m", "sphinx", "-b", "doctest", "-E", "-q",
                                   str(theirs), str(root / f"dt-{run}")])  # fmt: skip
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert f"{examples} tests" in (root / f"dt-{run}" / "output.txt").read_text()
            doctest_times.append(seconds)
            for name, extra in (
                ("cold (--no-cache)", ("--no-cache",)),
                ("cold (--no-cache) -j 1", ("--no-cache", "--jobs", "1")),
                ("cold (--no-cache) -j 2", ("--no-cache", "--jobs", "2")),
            ):
                variants.setdefault(name, []).append(check_json(ours, warm, *extra))
            cache = root / f"cache-{run}"
            shared_snapshots(cache)
            name = "cold, new cache folder (Sphinx reads all)"
            variants.setdefault(name, []).append(check_json(ours, cache))
            variants.setdefault("unchanged", []).append(check_json(ours, cache))
        forget_installed_snapshots()
        cache = root / "cache-new-wheel"
        shared_snapshots(cache)
        variants["new project wheel (installed snapshot made)"] = [check_json(ours, cache)]
    finally:
        shutil.rmtree(root, ignore_errors=True)

    doctest_s = statistics.median(doctest_times)
    print()
    header = f"{'':46} {'wall s':>7} {'x doctest':>9} {'run_check s':>11} {'procs':>5} {'boots':>5}"
    print(header)
    print(f"{'sphinx-build -b doctest -E (CPython)':46} {doctest_s:7.2f} {1:9.2f}")
    table: dict[str, Any] = {"doctest_s": doctest_times, "examples": examples}
    for name, runs in variants.items():
        wall = statistics.median(r[0] for r in runs)
        inner = statistics.median(float(r[1]["seconds"] or 0) for r in runs)
        info = runs[len(runs) // 2][1]
        print(f"{'pyrun-docs check, ' + name:46} {wall:7.2f} {wall / doctest_s:9.2f} "
              f"{inner:11.2f} {info['workers']!s:>5} {info['boots']!s:>5}")  # fmt: skip
        table[name] = [{"wall_s": r[0], **r[1]} for r in runs]
    print("targets: cold <= 1.0x doctest; unchanged <= 0.5 s; -j 2 faster than -j 1")
    return table


def timed(cmd: list[str], **kwargs: Any) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    return time.perf_counter() - started, proc


def check_cmd(tree: Path, cache: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pyrun_docs", "check", str(tree), "--cache-dir", str(cache),
            "-q", *extra]  # fmt: skip


def shared_snapshots(cache: Path) -> None:
    from pyrun_docs.check.cache import default_cache_dir

    shared = default_cache_dir() / "snapshots"
    shared.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "snapshots").symlink_to(shared, target_is_directory=True)


def interpreters(stdout: str) -> int | None:
    match = re.search(r"\((\d+) interpreters started", stdout)
    return int(match.group(1)) if match else None


def per_snippet_ms(count: int, transcript: bool = False) -> dict[str, float]:
    """(c): one harness, one page of *count* trivial snippets (``x = 1``, or the transcript
    ``>>> x = 1`` / ``>>> x`` / ``1``, judged by doctest).

    Per snippet: the harness's own clock from sending ``start`` to ``done`` (median, p90), and the
    mean over the page as seen from Python (protocol included).
    """
    from pyrun_docs.check.cache import default_cache_dir
    from pyrun_docs.check.harness import Harness
    from pyrun_docs.check.settings import harness_settings
    from pyrun_docs.config import PyrunConfig

    settings = harness_settings(PyrunConfig(), default_cache_dir())
    harness = Harness(settings.node)
    try:
        harness.send({"op": "init", **settings.init, **settings.snapshots.init_fields()})
        harness.event(300)
        code = ">>> x = 1\n>>> x\n1\n" if transcript else "x = 1\n"
        runs = [{"run": str(i), "code": code, "filename": f"<example {i + 1}>",
                 "transcript": transcript} for i in range(count)]  # fmt: skip
        harness.send({"op": "page", "page": "bench", "packages": [], "runs": runs})
        inside: list[float] = []
        started = ended = 0.0
        while True:
            event = harness.event(300)
            if event is None or event["ev"] in ("page-done", "page-error"):
                ended = time.perf_counter()
                break
            if event["ev"] == "start" and not started:
                started = time.perf_counter()
            if event["ev"] == "done":
                inside.append(float(event["ms"]))
    finally:
        harness.close()
    inside.sort()
    return {
        "median_ms": statistics.median(inside),
        "p90_ms": inside[int(len(inside) * 0.9)],
        "mean_end_to_end_ms": (ended - started) * 1000 / count,
        "snippets": count,
    }


def compile_ours() -> None:
    """Write our modules' bytecode, as ``pip install`` does (Sphinx's is there since its install).

    Why: a development install on a machine with ``PYTHONDONTWRITEBYTECODE`` set (this one) would
    otherwise compile all of pyrun-docs from source on every command (~0.6 s measured), a cost no
    installed copy has.
    """
    import importlib.util

    folders = []
    for name in ("pyrun_docs", "pyrun_docs.sphinx_ext", "pyrun_docs.mkdocs_plugin"):
        spec = importlib.util.find_spec(name)
        folders += list(spec.submodule_search_locations or []) if spec else []
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], env=env, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", choices=("all", "real", "synthetic"), default="all")
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--per-page", type=int, default=10)
    parser.add_argument("--real-pages", type=int, default=24, help="pages of the real scenario")
    parser.add_argument("--real-sections", type=int, default=2, help="sections of each real page")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per variant (median)")
    parser.add_argument("--trivial", type=int, default=500, help="snippets for (c)")
    parser.add_argument("--jobs", type=int, default=0, help="check processes (default: cores)")
    parser.add_argument("--skip-cold", action="store_true", help="skip the first-ever run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    compile_ours()
    load_before = os.getloadavg()
    found: dict[str, Any] = {}
    if args.scenario in ("all", "real"):
        found["real"] = real_docs(args)
    if args.scenario in ("all", "synthetic"):
        found["synthetic"] = synthetic(args)
    print(f"\nload average before {load_before}, after {os.getloadavg()}, cpus {os.cpu_count()}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    found.update(load=[load_before, os.getloadavg()], cpus=os.cpu_count(),
                 python=platform.python_version())  # fmt: skip
    args.out.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    return 0


def synthetic(args: argparse.Namespace) -> dict[str, Any]:
    """The ``synthetic`` scenario: 500 small snippets, no packages."""
    from pyrun_docs.check import run_check, scan_paths
    from pyrun_docs.config import PyrunConfig

    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    root = Path(tempfile.mkdtemp(prefix="pyrun-check-bench-"))
    try:
        ours, theirs = write_trees(root, args.pages, args.per_page)
        total = args.pages * args.per_page
        print(f"tree: {args.pages} pages x {args.per_page} = {total} snippets in {root}")

        # warm-up: make sure the runtime is cached and the shared snapshot exists
        warm = root / "warm-cache"
        shared_snapshots(warm)
        _, proc = timed(check_cmd(ours, warm, "--no-cache", *jobs))
        assert proc.returncode == 0, proc.stdout + proc.stderr

        cold: dict[str, Any] = {}
        if not args.skip_cold:
            seconds, proc = timed(check_cmd(ours, root / "cold-cache", *jobs))
            cold = {"seconds": seconds, "interpreters": interpreters(proc.stdout)}

        doctest_times, check_times, second_times, boots = [], [], [], []
        inproc: list[float] = []
        for run in range(args.runs):
            out = root / f"dt-out-{run}"
            seconds, proc = timed(
                [sys.executable, "-m", "sphinx", "-b", "doctest", "-E", "-q", str(theirs), str(out)]
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
            doctest_times.append(seconds)
            cache = root / f"cache-{run}"
            shared_snapshots(cache)
            seconds, proc = timed(check_cmd(ours, cache, *jobs))
            assert proc.returncode == 0, proc.stdout + proc.stderr
            check_times.append(seconds)
            seconds, proc = timed(check_cmd(ours, cache, *jobs))
            second_times.append(seconds)
            boots.append(interpreters(proc.stdout) or 0)
            started = time.perf_counter()
            report = run_check(
                scan_paths([ours]).pages, PyrunConfig(), cache_dir=cache, progress=False
            )
            inproc.append(time.perf_counter() - started)
            boots.append(report.boots)
        trivial = per_snippet_ms(args.trivial)
        trivial_transcript = per_snippet_ms(args.trivial, transcript=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    doctest_s = statistics.median(doctest_times)
    check_s = statistics.median(check_times)
    rows = [
        ("(a) sphinx-build -b doctest -E, testcode blocks", f"{doctest_s:.2f} s", ""),
        ("(a) pyrun-docs check, snapshot ready", f"{check_s:.2f} s",
         f"{check_s / doctest_s:.2f}x doctest (target <= 1.5x)"),
    ]  # fmt: skip
    if cold:
        rows.append(
            ("(a) pyrun-docs check, first ever (no snapshot)", f"{cold['seconds']:.2f} s",
             f"{cold['seconds'] / doctest_s:.2f}x doctest")
        )  # fmt: skip
    rows += [
        ("(b) second run, nothing changed (command)", f"{statistics.median(second_times):.2f} s",
         f"interpreters started: {max(boots)} (target 0)"),
        ("(b) second run, run_check() in Python", f"{statistics.median(inproc):.3f} s",
         "target <= 0.5 s"),
        ("(c) trivial snippet after boot, median", f"{trivial['median_ms']:.2f} ms",
         f"p90 {trivial['p90_ms']:.2f} ms, mean with protocol "
         f"{trivial['mean_end_to_end_ms']:.2f} ms (target <= 2 ms)"),
        ("(c) trivial transcript (doctest), median", f"{trivial_transcript['median_ms']:.2f} ms",
         f"p90 {trivial_transcript['p90_ms']:.2f} ms, mean with protocol "
         f"{trivial_transcript['mean_end_to_end_ms']:.2f} ms"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print()
    for name, value, note in rows:
        print(f"{name.ljust(width)}  {value:>9}  {note}")
    return {
        "snippets": total,
        "doctest_s": doctest_times,
        "check_s": check_times,
        "cold": cold,
        "second_s": second_times,
        "second_inprocess_s": inproc,
        "second_boots": boots,
        "trivial": trivial,
        "trivial_transcript": trivial_transcript,
    }


if __name__ == "__main__":
    sys.exit(main())
