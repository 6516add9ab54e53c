"""Benchmark: Run click to first output, cold browser, our widget vs. a bare Pyodide worker page.

Variants (served by the same ``pyrun-docs serve`` process, same origin, same runtime files):

* ``ours``: a one-snippet Sphinx site (``print(1)``) built with ``pyrun_docs.sphinx_ext``; the page
  is opened, the ``<py-repl>`` toolbar awaited, ``.pyrun-run`` clicked, and the time measured until
  ``.pyrun-output`` contains ``1``.
* ``bare``: ``bare.html`` placed in the same site, whose button creates a module Worker that does
  ``loadPyodide({indexURL})`` on the site's copy of the runtime
  (``_static/pyrun/pyodide-VERSION/``), then ``runPython("print(1)")`` and posts the output back;
  timed the same way.

Every run launches Chromium with a fresh user-data-dir (a new persistent context), so nothing is in
the HTTP cache or the wasm code cache. Times are taken inside the page with ``performance.now()``: a
capturing click listener records the click, a ``MutationObserver`` on the output element records
the first mutation after which the output contains the expected text. Runs are interleaved
(ours, bare, ours, bare, ...). This is a report, not a test: the exit code is 0 whatever the
numbers.

    .venv/bin/python bench/run_to_output.py --runs 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
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
RESULTS = HERE / "results" / "run_to_output.json"
TARGET_OVERHEAD_PCT = 10.0
EXPECTED = "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

CONF_PY = 'project = "pyrun bench"\nextensions = ["pyrun_docs.sphinx_ext"]\n'
INDEX_RST = "Bench\n=====\n\n.. pyrun::\n\n   print(1)\n"

BARE_HTML = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>bare pyodide worker</title></head>
<body>
<button id="run" type="button">Run</button>
<pre id="out"></pre>
<script type="module">
  const out = document.getElementById("out");
  document.getElementById("run").addEventListener("click", () => {
    const worker = new Worker(new URL("bare-worker.mjs", location.href), { type: "module" });
    worker.onmessage = (event) => {
      const msg = event.data;
      if (msg.type === "stdout") out.append(msg.text + "\\n");
      else if (msg.type === "booted") window.dispatchEvent(new CustomEvent("bench:booted"));
      else if (msg.type === "error") out.append("ERROR " + msg.message + "\\n");
    };
    worker.postMessage({ indexURL: new URL("__INDEX__", location.href).href });
  });
</script>
</body>
</html>
"""

BARE_WORKER = """self.onmessage = async (event) => {
  try {
    const { indexURL } = event.data;
    const { loadPyodide } = await import(new URL("pyodide.mjs", indexURL).href);
    const pyodide = await loadPyodide({
      indexURL,
      stdout: (text) => self.postMessage({ type: "stdout", text }),
    });
    self.postMessage({ type: "booted" });
    pyodide.runPython("print(1)");
  } catch (err) {
    self.postMessage({ type: "error", message: String(err) });
  }
};
"""

#: Installed in the page just before the click. Records, on the page's performance.now() clock:
#: t0 = the click (capturing listener, runs before the widget's own handler), t1 = the first DOM
#: mutation after which the output element's text contains the expected string, and intermediate
#: marks (our status line changes; the bare worker's "booted" message) for a breakdown.
INSTRUMENT_JS = """
([runSel, outSel, statusSel, expected]) => {
  const b = (window.__bench = {
    t0: null, t1: null, text: null, marks: [], timeOrigin: performance.timeOrigin,
    armed: performance.now(),
  });
  addEventListener("click", (e) => {
    if (b.t0 === null && e.target instanceof Element && e.target.closest(runSel)) {
      b.t0 = performance.now();
    }
  }, true);
  const out = document.querySelector(outSel);
  const obs = new MutationObserver(() => {
    if (b.t0 === null || b.t1 !== null) return;
    const text = out.textContent || "";
    if (text.includes(expected)) {
      b.t1 = performance.now();
      b.text = text;
      obs.disconnect();
    }
  });
  obs.observe(out, { childList: true, subtree: true, characterData: true, attributes: true });
  if (statusSel) {
    const status = document.querySelector(statusSel);
    new MutationObserver(() => {
      if (b.t0 !== null) b.marks.push([status.textContent, performance.now() - b.t0]);
    }).observe(status, { childList: true, subtree: true, characterData: true });
  }
  addEventListener("bench:booted", () => b.marks.push(["booted", performance.now() - b.t0]));
}
"""

VARIANTS: dict[str, dict[str, Any]] = {
    "ours": {
        "page": "index.html",
        "ready": "py-repl .pyrun-toolbar .pyrun-run",
        "run": "py-repl .pyrun-run",
        "out": "py-repl .pyrun-output",
        "status": "py-repl .pyrun-status",
    },
    "bare": {"page": "bare.html", "ready": "#run", "run": "#run", "out": "#out", "status": None},
}


def chromium_path() -> str:
    env = os.environ.get("PYRUN_CHROMIUM")
    for candidate in (env, "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    sys.exit("Chromium not found: install the Debian package `chromium` (or set PYRUN_CHROMIUM)")


def build_site(work: Path) -> tuple[Path, str]:
    """Build the one-snippet site, put the bare page in it; return (site, runtime folder URL)."""
    from pyrun_docs.fetch import ensure_runtime, verify_dir
    from pyrun_docs.runtime import get_pin

    pin = get_pin("pyodide")
    ensure_runtime(pin)  # the build copies from this cache; make the failure message ours if any
    src, site = work / "src", work / "html"
    src.mkdir(parents=True)
    (src / "conf.py").write_text(CONF_PY, encoding="utf-8")
    (src / "index.rst").write_text(INDEX_RST, encoding="utf-8")
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(site)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"sphinx build failed:\n{proc.stdout}\n{proc.stderr}")
    runtime_rel = f"_static/pyrun/{pin.key}/"
    bad = verify_dir(pin, site / runtime_rel)
    if bad:
        sys.exit(f"the site's runtime copy does not match the pin: {', '.join(bad)}")
    measured = {
        name: hashlib.sha256((site / "_static" / "pyrun" / name).read_bytes()).hexdigest()[:16]
        for name in ("pyrun.js", "pyrun-worker.js", "executor.py")
    }
    (work / "measured.json").write_text(json.dumps(measured), encoding="utf-8")
    (site / "bare.html").write_text(BARE_HTML.replace("__INDEX__", runtime_rel), encoding="utf-8")
    (site / "bare-worker.mjs").write_text(BARE_WORKER, encoding="utf-8")
    return site, runtime_rel


class ServerProcess:
    """``pyrun-docs serve`` in a process of its own, stopped by :meth:`shutdown`.

    A server thread inside the benchmark process shares the GIL with Playwright's client, which
    handles every browser event in Python: each response then waits on the measuring side's
    work. Measured with MicroPython's cold click-to-output, 9 runs each: 346 ms median with the
    server in-process vs 292 ms in its own process. The benchmarks measure the widget, not that.
    """

    def __init__(self, site: Path) -> None:
        import socket
        import urllib.request

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        cmd = [sys.executable, "-m", "pyrun_docs", "serve", str(site), "--port", str(port)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.shutdown()
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    sys.exit(f"pyrun-docs serve did not start:\n{err}")
                time.sleep(0.1)

    def shutdown(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    server_close = shutdown


def serve_process(site: Path) -> tuple[str, ServerProcess]:
    """Serve *site* from a separate process (see :class:`ServerProcess`): its URL and handle."""
    server = ServerProcess(site)
    return server.url, server


def start_server(site: Path, latency_ms: float) -> tuple[str, Any]:
    if latency_ms <= 0:
        return serve_process(site)
    # Optional: the same server, with a fixed delay before every response (a crude stand-in for
    # a network round trip; it makes serial fetches visible, which localhost hides).
    import functools
    import threading

    from pyrun_docs.serve import DocsRequestHandler, make_server

    class SlowHandler(DocsRequestHandler):
        def send_head(self) -> Any:
            time.sleep(latency_ms / 1000)
            return super().send_head()

    server = make_server(site, port=0)
    server.RequestHandlerClass = functools.partial(SlowHandler, directory=str(site))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server


def one_run(pw: Any, exe: str, base_url: str, name: str, timeout_s: float) -> dict[str, Any]:
    spec = VARIANTS[name]
    profile = Path(tempfile.mkdtemp(prefix="pyrun-bench-profile-"))
    requests: list[dict[str, Any]] = []
    context = pw.chromium.launch_persistent_context(
        str(profile), executable_path=exe, args=CHROMIUM_ARGS, headless=True
    )
    try:

        def record(request: Any, failed: bool = False) -> None:
            timing = request.timing
            requests.append(
                {
                    "url": request.url.replace(base_url, "/"),
                    # Chromium reports a HEAD fetch as aborted (no body) although it succeeded
                    "method": request.method + (" (aborted)" if failed else ""),
                    "start_epoch_ms": timing.get("startTime"),
                    "response_end_ms": timing.get("responseEnd"),
                }
            )

        context.on("requestfinished", record)
        context.on("requestfailed", lambda request: record(request, failed=True))
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(base_url + spec["page"], wait_until="load")
        page.wait_for_selector(spec["ready"], state="visible")
        page.evaluate(INSTRUMENT_JS, [spec["run"], spec["out"], spec["status"], EXPECTED])
        page.click(spec["run"])
        page.wait_for_function("window.__bench.t1 !== null", timeout=timeout_s * 1000)
        bench = page.evaluate("window.__bench")
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)
    click_epoch = bench["timeOrigin"] + bench["t0"]
    waterfall = []
    for r in requests:
        start = r["start_epoch_ms"]
        if not r["url"].startswith("/"):
            continue  # blob:/data: URLs the worker makes from bytes it already has
        if start is None or start <= 0 or start + 1 < click_epoch:
            continue  # page-load requests before the click
        end = r["response_end_ms"]
        waterfall.append(
            {
                "url": r["url"],
                "method": r["method"],
                "start_ms": round(start - click_epoch, 1),
                "end_ms": None if end is None or end < 0 else round(start - click_epoch + end, 1),
            }
        )
    waterfall.sort(key=lambda w: w["start_ms"])
    return {
        "variant": name,
        "ms": round(bench["t1"] - bench["t0"], 1),
        "output": bench["text"],
        "output_exact": bench["text"].strip() == EXPECTED,
        "marks": [[label, round(t, 1)] for label, t in bench["marks"]],
        "requests_after_click": waterfall,
    }


def summarize(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "mean": round(statistics.fmean(values), 1),
        "stdev": round(statistics.stdev(values), 1) if len(values) > 1 else 0.0,
    }


def mark_label(text: str) -> str:
    """A status text without its timing ("Done in 7.49 s" -> "Done")."""
    text = re.sub(r"\s+[\d.]+ / [\d.]+ [kMG]?B$", "", text)  # "Downloading Python… 3.7 / 13.5 MB"
    return re.sub(r"\s*(in [\d.]+ s|\([\d.]+ s\))$", "", text)


def first_marks(run: dict[str, Any]) -> dict[str, float]:
    """ms after the click at which each status text (or "booted") first appeared."""
    marks: dict[str, float] = {}
    for text, t in run["marks"]:
        if text:
            marks.setdefault(mark_label(text), t)
    return marks


def median_marks(runs: list[dict[str, Any]]) -> dict[str, float]:
    labels: dict[str, list[float]] = {}
    for run in runs:
        for label, t in first_marks(run).items():
            labels.setdefault(label, []).append(t)
    medians = {label: round(statistics.median(ts), 1) for label, ts in labels.items()}
    return dict(sorted(medians.items(), key=lambda item: item[1]))


#: the mark each variant sends when loadPyodide() has returned
BOOTED_MARK = {"ours": "Starting Python…", "bare": "booted"}


def split_boot(runs: list[dict[str, Any]], name: str) -> dict[str, dict[str, float]]:
    """Click -> loadPyodide() returned, and from there -> output, summarised."""
    boot, after = [], []
    for run in runs:
        t = first_marks(run).get(BOOTED_MARK[name])
        if t is not None:
            boot.append(t)
            after.append(run["ms"] - t)
    if not boot:
        return {}
    return {"click_to_booted": summarize(boot), "booted_to_output": summarize(after)}


def median_waterfall(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median start/end (ms after click) of each request made after the click."""
    keyed: dict[tuple[str, str], dict[str, list[float]]] = {}
    for run in runs:
        for r in run["requests_after_click"]:
            slot = keyed.setdefault((r["method"], r["url"].split("?")[0]), {"start": [], "end": []})
            slot["start"].append(r["start_ms"])
            if r["end_ms"] is not None:
                slot["end"].append(r["end_ms"])
    rows = [
        {
            "method": method,
            "url": url,
            "start_ms": round(statistics.median(v["start"]), 1),
            "end_ms": round(statistics.median(v["end"]), 1) if v["end"] else None,
        }
        for (method, url), v in keyed.items()
    ]
    return sorted(rows, key=lambda r: r["start_ms"])


def git_state() -> dict[str, Any]:
    """The commit and the uncommitted changes under assets/ and pyrun_docs/ (what was measured)."""

    def git(*cmd: str) -> str:
        try:
            proc = subprocess.run(
                ["git", *cmd], cwd=HERE.parent, capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return proc.stdout

    dirty = git("status", "--porcelain", "--", "assets", "pyrun_docs", "sphinx_ext")
    return {"commit": git("rev-parse", "HEAD").strip(), "dirty": dirty.splitlines()}


def environment(exe: str) -> dict[str, Any]:
    from importlib.metadata import version

    from pyrun_docs import __version__
    from pyrun_docs.runtime import get_pin

    try:
        chromium = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, check=False, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        chromium = "unknown"
    return {
        "pyrun_docs": __version__,
        "runtime": get_pin("pyodide").spec,
        "chromium": chromium,
        "playwright": version("playwright"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per variant (default 5)")
    parser.add_argument(
        "--warmup", type=int, default=1, help="discarded runs per variant first (default 1)"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="delay the server adds before every response (default 0: `pyrun-docs serve` in "
        "its own process; with a delay, an in-process server)",
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds per run (default 120)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    env = environment(exe)
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="pyrun-bench-"))
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "bare": []}
    warmups: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    try:
        site, runtime_rel = build_site(work)
        env["git"] = git_state()
        env["assets_sha256_16"] = json.loads((work / "measured.json").read_text(encoding="utf-8"))
        base_url, server = start_server(site, args.latency_ms)
        print(f"site {site} served at {base_url} (runtime {runtime_rel})", flush=True)
        try:
            with sync_playwright() as pw:
                total = args.warmup + args.runs
                for i in range(total):
                    for name in ("ours", "bare"):  # interleaved: A, B, A, B, ...
                        warm = i < args.warmup
                        tag = "warmup" if warm else f"run {i - args.warmup + 1}/{args.runs}"
                        try:
                            result = one_run(pw, exe, base_url, name, args.timeout)
                        except Exception as exc:  # a report, not a test: note it and go on
                            failed.append({"variant": name, "run": tag, "error": str(exc)})
                            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                            print(f"  {tag:>10}  {name:<4}  FAILED: {first}", flush=True)
                            continue
                        (warmups if warm else runs[name]).append(result)
                        print(f"  {tag:>10}  {name:<4}  {result['ms']:8.1f} ms", flush=True)
        finally:
            server.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    load_after = os.getloadavg()
    env["loadavg_before"] = [round(x, 2) for x in load_before]
    env["loadavg_after"] = [round(x, 2) for x in load_after]
    odd = [r for rs in runs.values() for r in rs if not r["output_exact"]]
    for r in odd:
        print(f"warning: a {r['variant']} run showed {r['output']!r}, not just {EXPECTED!r}")
    if not runs["ours"] or not runs["bare"]:
        print(f"no successful runs of {' and '.join(n for n, rs in runs.items() if not rs)}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report: dict[str, Any] = {"benchmark": "run_to_output", "environment": env}
        report["failed_runs"] = failed
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
        return 0
    stats = {name: summarize([r["ms"] for r in rs]) for name, rs in runs.items()}
    ratio = stats["ours"]["median"] / stats["bare"]["median"]
    overhead = (ratio - 1) * 100
    verdict = "within target" if overhead <= TARGET_OVERHEAD_PCT else "ABOVE target"

    print()
    print(f"Run click -> first output, cold profile, {args.runs} runs each (ms)")
    if args.latency_ms:
        print(f"server latency: +{args.latency_ms:g} ms per response")
    print(
        f"1-min load average before/after: {load_before[0]:.2f}/{load_after[0]:.2f}"
        f" on {os.cpu_count()} CPUs (higher than the CPU count = other work competed)"
    )
    print(f"{'variant':<8} {'median':>9} {'min':>9} {'max':>9} {'runs':>5}")
    for name in ("ours", "bare"):
        s = stats[name]
        n = len(runs[name])
        print(f"{name:<8} {s['median']:>9.1f} {s['min']:>9.1f} {s['max']:>9.1f} {n:>5}")
    if failed:
        print(f"{len(failed)} run(s) failed and are not counted (see failed_runs in the JSON)")
    print(f"ratio ours/bare (medians): {ratio:.3f}")
    print(f"overhead: {overhead:+.1f}%  (target <= {TARGET_OVERHEAD_PCT:g}%: {verdict})")
    phases = {name: split_boot(rs, name) for name, rs in runs.items()}
    post_boot = None
    if phases["ours"] and phases["bare"]:
        post_boot = round(
            phases["ours"]["booted_to_output"]["median"]
            - phases["bare"]["booted_to_output"]["median"],
            1,
        )
        share = post_boot / stats["bare"]["median"] * 100
        print(
            f"post-boot overhead (loadPyodide() returned -> output, ours - bare, medians):"
            f" {post_boot:+.1f} ms = {share:+.1f}% of bare"
        )

    breakdown = {name: median_marks(rs) for name, rs in runs.items()}
    waterfalls = {name: median_waterfall(rs) for name, rs in runs.items()}
    print()
    print("Median milestones after click (ms):")
    for name in ("ours", "bare"):
        marks = ", ".join(f"{label!r} {t:.1f}" for label, t in breakdown[name].items())
        print(f"  {name:<4}: {marks}; output {stats[name]['median']:.1f}")
    print("Phases, median (min..max) ms: click -> loadPyodide() returned | then -> output shown")
    for name in ("ours", "bare"):
        ph = phases[name]
        if ph:
            a, b = ph["click_to_booted"], ph["booted_to_output"]
            print(
                f"  {name:<4}: {a['median']:8.1f} ({a['min']:.1f}..{a['max']:.1f})"
                f" | {b['median']:6.1f} ({b['min']:.1f}..{b['max']:.1f})"
            )
    print("Median request waterfall after click (start..end ms):")
    for name in ("ours", "bare"):
        print(f"  {name}:")
        for r in waterfalls[name]:
            end = f"{r['end_ms']:.1f}" if r["end_ms"] is not None else "?"
            print(f"    {r['method']:<14} {r['url']:<48} {r['start_ms']:7.1f} .. {end}")

    report = {
        "benchmark": "run_to_output",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "config": {
            "runs": args.runs,
            "warmup": args.warmup,
            "latency_ms": args.latency_ms,
            "snippet": "print(1)",
            "expected_output": EXPECTED,
            "order": "interleaved ours,bare",
            "cold_profile": "fresh user-data-dir (persistent context) per run",
        },
        "environment": env,
        "summary_ms": stats,
        "ratio_ours_over_bare": round(ratio, 4),
        "overhead_pct": round(overhead, 2),
        "target_overhead_pct": TARGET_OVERHEAD_PCT,
        "within_target": overhead <= TARGET_OVERHEAD_PCT,
        "milestones_median_ms": breakdown,
        "phases_ms": phases,
        "post_boot_overhead_ms": post_boot,
        "waterfall_median_ms": waterfalls,
        "runs": runs,
        "warmup_runs": warmups,
        "failed_runs": failed,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
