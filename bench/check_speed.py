"""Benchmark: the build check against ``sphinx-build -b doctest`` on the same 500 examples.

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

This is a report, not a test: it exits 0 whatever the numbers.

    .venv/bin/python bench/check_speed.py --runs 3
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


def timed(cmd: list[str], **kwargs: Any) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    return time.perf_counter() - started, proc


def check_cmd(tree: Path, cache: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pyrun_docs", "check", str(tree), "--cache-dir", str(cache),
            "-q", *extra]  # fmt: skip


def shared_snapshots(cache: Path) -> None:
    from pyrun_docs.check.api import default_cache_dir

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
    from pyrun_docs.check.api import default_cache_dir, harness_settings
    from pyrun_docs.check.harness import Harness
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--per-page", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per variant (median)")
    parser.add_argument("--trivial", type=int, default=500, help="snippets for (c)")
    parser.add_argument("--jobs", type=int, default=0, help="check processes (default: cores)")
    parser.add_argument("--skip-cold", action="store_true", help="skip the first-ever run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from pyrun_docs.check import run_check, scan_paths
    from pyrun_docs.config import PyrunConfig

    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    load_before = os.getloadavg()
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
    print(f"\nload average before {load_before}, after {os.getloadavg()}, cpus {os.cpu_count()}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "snippets": total,
                "doctest_s": doctest_times,
                "check_s": check_times,
                "cold": cold,
                "second_s": second_times,
                "second_inprocess_s": inproc,
                "second_boots": boots,
                "trivial": trivial,
                "trivial_transcript": trivial_transcript,
                "load": [load_before, os.getloadavg()],
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
