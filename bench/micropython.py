"""Benchmark: Run click to first output, cold browser, MicroPython vs. Pyodide, same page, same run.

One Sphinx page with two widgets, both ``print(1)``: one ``runtime: micropython``, one Pyodide
(the default). Every run launches Chromium with a fresh user-data-dir (nothing in the HTTP cache,
the wasm code cache, Cache Storage or a service worker), opens the page, clicks Run on one widget
and times, on the page's ``performance.now()`` clock, the click (a capturing listener) to the
first mutation after which that widget's output contains ``1``. Runs alternate between the two
runtimes (micropython, pyodide, micropython, ...); the first run of each is a discarded warm-up.

Bytes: every response the browser context receives (page, its scripts, the workers' runtime
files), as Playwright reports them (headers + body as sent on the wire; the local server does not
compress). "before Run" is what the opened page cost; "after first output" adds everything the
Run pulled in.

    .venv/bin/python bench/micropython.py --runs 5

A report, not a test: it exits 0 whatever the numbers (target: MicroPython <= 300 ms cold).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run_to_output import (  # noqa: E402
    CHROMIUM_ARGS,
    INSTRUMENT_JS,
    chromium_path,
    environment,
    git_state,
    serve_process,
    summarize,
)

RESULTS = HERE / "results" / "micropython.json"
TARGET_MS = 300.0
EXPECTED = "1"
CONF_PY = 'project = "pyrun bench"\nextensions = ["pyrun_docs.sphinx_ext"]\n'
INDEX_RST = """\
Bench
=====

.. pyrun::
   :runtime: micropython

   print(1)

.. pyrun::

   print(1)
"""
#: widget ids on the page, by runtime
WIDGET = {"micropython": "#pyrun-0", "pyodide": "#pyrun-1"}


def build_site(work: Path) -> Path:
    from pyrun_docs.fetch import ensure_runtime
    from pyrun_docs.runtime import get_pin

    for name in ("micropython", "pyodide"):
        ensure_runtime(get_pin(name))
    src, site = work / "src", work / "html"
    src.mkdir(parents=True)
    (src / "conf.py").write_text(CONF_PY, encoding="utf-8")
    (src / "index.rst").write_text(INDEX_RST, encoding="utf-8")
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(site)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"sphinx build failed:\n{proc.stdout}\n{proc.stderr}")
    return site


def one_run(pw: Any, exe: str, base_url: str, runtime: str, timeout_s: float) -> dict[str, Any]:
    widget = WIDGET[runtime]
    profile = Path(tempfile.mkdtemp(prefix="pyrun-bench-profile-"))
    sizes: list[tuple[float, str, int]] = []
    context = pw.chromium.launch_persistent_context(
        str(profile), executable_path=exe, args=CHROMIUM_ARGS, headless=True
    )
    try:

        def record(request: Any) -> None:
            try:
                size = request.sizes()
            except Exception:  # the context is closing
                return
            total = int(size.get("responseBodySize", 0)) + int(size.get("responseHeadersSize", 0))
            sizes.append((time.monotonic(), request.url, max(total, 0)))

        context.on("requestfinished", record)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(base_url + "index.html", wait_until="load")
        page.wait_for_selector(f"{widget} .pyrun-toolbar .pyrun-run", state="visible")
        page.wait_for_timeout(300)  # late page requests (fonts, icons) count as "before"
        before = sum(s for _, _, s in sizes)
        page.evaluate(
            INSTRUMENT_JS,
            [
                f"{widget} .pyrun-run",
                f"{widget} .pyrun-output",
                f"{widget} .pyrun-status",
                EXPECTED,
            ],
        )
        page.click(f"{widget} .pyrun-run")
        page.wait_for_function("window.__bench.t1 !== null", timeout=timeout_s * 1000)
        bench = page.evaluate("window.__bench")
        page.wait_for_timeout(500)  # fetches still finishing (service worker, cache writes)
        after = sum(s for _, _, s in sizes)
        runtime_urls = sorted({u.split("?")[0].rsplit("/", 1)[-1] for _, u, _ in sizes})
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)
    return {
        "runtime": runtime,
        "ms": round(bench["t1"] - bench["t0"], 1),
        "output_exact": (bench["text"] or "").strip() == EXPECTED,
        "bytes_before": before,
        "bytes_after": after,
        "files": runtime_urls,
        "marks": [[label, round(t, 1)] for label, t in bench["marks"]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per runtime (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded runs per runtime first")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per run")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    work = Path(tempfile.mkdtemp(prefix="pyrun-bench-micro-"))
    runs: dict[str, list[dict[str, Any]]] = {"micropython": [], "pyodide": []}
    try:
        site = build_site(work)
        base_url, server = serve_process(site)
        try:
            with sync_playwright() as pw:
                for i in range(args.warmup + args.runs):
                    for runtime in ("micropython", "pyodide"):
                        result = one_run(pw, exe, base_url, runtime, args.timeout)
                        label = "warm-up" if i < args.warmup else f"run {i - args.warmup + 1}"
                        marks = ", ".join(f"{t:.0f} {text}" for text, t in result["marks"][:6])
                        print(
                            f"{label:8} {runtime:12} {result['ms']:8.1f} ms  ({marks})", flush=True
                        )
                        if i >= args.warmup:
                            runs[runtime].append(result)
        finally:
            server.shutdown()
            server.server_close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    summary = {
        name: {
            "click_to_output_ms": summarize([r["ms"] for r in found]),
            "bytes_before_run": int(statistics.median(r["bytes_before"] for r in found)),
            "bytes_after_first_output": int(statistics.median(r["bytes_after"] for r in found)),
            "all_outputs_exact": all(r["output_exact"] for r in found),
        }
        for name, found in runs.items()
    }
    print()
    print(
        f"{'runtime':12} {'median ms':>10} {'min':>8} {'max':>8} {'KB before':>10} {'KB after':>10}"
    )
    for name, s in summary.items():
        ms = s["click_to_output_ms"]
        print(
            f"{name:12} {ms['median']:10.1f} {ms['min']:8.1f} {ms['max']:8.1f} "
            f"{s['bytes_before_run'] / 1000:10.1f} {s['bytes_after_first_output'] / 1000:10.1f}"
        )
    micro = summary["micropython"]["click_to_output_ms"]["median"]
    verdict = "meets" if micro <= TARGET_MS else "misses"
    print(
        f"\nMicroPython cold click-to-output median {micro} ms {verdict} the {TARGET_MS:g} ms target"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "environment": environment(exe),
                "git": git_state(),
                "runs": runs,
                "summary": summary,
                "target_ms": TARGET_MS,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
