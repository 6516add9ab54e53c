"""Benchmark: memory snapshots, in the reader's browser and in the build check.

1. **Returning visit, Run click -> first output**, our widget versus the bare ``loadPyodide()``
   page of ``run_to_output.py`` (same site, same server, same runtime files), measured in the same
   run, interleaved. Each run is a fresh Chromium profile: the page is opened and run once (ours:
   a cold boot that stores the snapshot; bare: fills the HTTP cache), then opened again and the
   click timed. Ours must report ``data-pyrun-boot="snapshot"`` on the returning visit (counted and
   printed if not). The bare page has a warm HTTP cache (and a warm wasm code cache) and boots
   normally: the best a site without snapshots gets. Target: ours / bare <= 0.3 (medians).
   The returning visit clicks as soon as the widget is there: the page's own start on view
   (``preload = "returning"``, the default) has barely begun. Ours also gets a third visit where
   the reader reads ``--read-ms`` (2000) before clicking, the pointer away from Run ("ours read":
   the start on view had time), and a fourth where the pointer rests on Run ``--point-ms`` (500)
   before the click ("ours pointed": Python also starts on the pointer). Both are reported on
   their own lines, not in the ratio.
2. **Build check wall time** for the generated 500-snippet tree of ``check_speed.py`` (50 pages x
   10 snippets), empty result cache, with memory snapshots (made beforehand) and without
   (``PYRUN_DOCS_CHECK_SNAPSHOT=0``: every fresh interpreter boots cold), median of ``--check-runs``.

This is a report, not a test: the exit code is 0 whatever the numbers.

    .venv/bin/python bench/snapshot.py --runs 5 --check-runs 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from check_speed import check_cmd, shared_snapshots, timed, write_trees  # noqa: E402
from run_to_output import (  # noqa: E402 (bench/ is not a package)
    CHROMIUM_ARGS,
    EXPECTED,
    INSTRUMENT_JS,
    VARIANTS,
    build_site,
    chromium_path,
    environment,
    git_state,
    serve_process,
    summarize,
)

RESULTS = HERE / "results" / "snapshot.json"
TARGET_RATIO = 0.3

#: whether this origin has a stored snapshot with its SHA-256 beside it (the deferred store done)
STORED_JS = """async () => {
  if (!indexedDB.databases) return false;
  const names = (await indexedDB.databases()).map((d) => d.name);
  if (!names.includes("pyrun-snapshots")) return false;
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open("pyrun-snapshots", 1);
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });
  const keys = await new Promise((ok) => {
    const r = db.transaction("snapshots").objectStore("snapshots").getAllKeys();
    r.onsuccess = () => ok(r.result);
  });
  db.close();
  return keys.length > 0;
}"""


def timed_click(
    page: Any,
    url: str,
    spec: dict[str, Any],
    timeout_s: float,
    point_ms: int = 0,
    read_ms: int = 0,
) -> dict[str, Any]:
    """Open *url*, click Run, time click -> output; with *point_ms*, the pointer rests on Run
    that long before the click (as a reader's does), which lets the widget start early; with
    *read_ms*, the reader reads that long (the pointer away from Run) before clicking."""
    page.goto(url, wait_until="load")
    page.wait_for_selector(spec["ready"], state="visible")
    page.evaluate(INSTRUMENT_JS, [spec["run"], spec["out"], spec["status"], EXPECTED])
    if read_ms:
        page.wait_for_timeout(read_ms)
    if point_ms:
        page.hover(spec["run"])
        page.wait_for_timeout(point_ms)
    page.click(spec["run"])
    page.wait_for_function("window.__bench.t1 !== null", timeout=timeout_s * 1000)
    bench = page.evaluate("window.__bench")
    boot = (
        page.get_attribute("py-repl", "data-pyrun-boot") if spec["page"] == "index.html" else None
    )
    return {
        "ms": round(bench["t1"] - bench["t0"], 1),
        "output_exact": bench["text"].strip() == EXPECTED,
        "boot": boot,
    }


def session(
    pw: Any, exe: str, base_url: str, name: str, timeout_s: float, point_ms: int, read_ms: int
) -> dict[str, Any]:
    """A fresh profile: a first visit, the returning visit (click as soon as the widget is
    there), and (ours) two more returning visits: the reader reads *read_ms* before the click
    (the page's own start on view), and the pointer rests on Run *point_ms* before it."""
    spec = VARIANTS[name]
    url = base_url + spec["page"]
    profile = Path(tempfile.mkdtemp(prefix="pyrun-bench-profile-"))
    context = pw.chromium.launch_persistent_context(
        str(profile), executable_path=exe, args=CHROMIUM_ARGS, headless=True
    )
    try:
        page = context.pages[0] if context.pages else context.new_page()
        first = timed_click(page, url, spec, timeout_s)
        stored = None
        if name == "ours":
            deadline = time.monotonic() + 30
            stored = False
            while time.monotonic() < deadline and not stored:
                page.wait_for_timeout(200)
                stored = bool(page.evaluate(STORED_JS))
        again = context.new_page()  # a new page load: another visit in the same browser
        page.close()
        returning = timed_click(again, url, spec, timeout_s)
        read = pointed = None
        if name == "ours" and read_ms:
            third = context.new_page()
            again.close()
            again = third
            read = timed_click(third, url, spec, timeout_s, read_ms=read_ms)
        if name == "ours" and point_ms:
            fourth = context.new_page()
            again.close()
            pointed = timed_click(fourth, url, spec, timeout_s, point_ms)
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)
    return {
        "first": first,
        "stored": stored,
        "returning": returning,
        "read": read,
        "pointed": pointed,
    }


def check_times(work: Path, runs: int) -> dict[str, Any]:
    """Wall time of ``pyrun-docs check`` on the 500-snippet tree, with and without snapshots."""
    tree, _doctest = write_trees(work / "trees", 50, 10)
    cache_root = work / "check-caches"
    # make sure the snapshot exists before timing "with" (its first making is not the point here)
    warm = cache_root / "warm"
    shared_snapshots(warm)
    seconds, proc = timed(check_cmd(tree, warm, "--no-cache"))
    if proc.returncode not in (0, 1):
        return {"error": proc.stdout[-2000:] + proc.stderr[-2000:]}
    out: dict[str, Any] = {"snippets": 500}
    for label, env_value in (("with_snapshots", "1"), ("without_snapshots", "0")):
        times = []
        for i in range(runs):
            cache = cache_root / f"{label}-{i}"
            shared_snapshots(cache)
            env = {**os.environ, "PYRUN_DOCS_CHECK_SNAPSHOT": env_value}
            seconds, proc = timed(check_cmd(tree, cache), env=env)
            if proc.returncode != 0:
                out[f"{label}_error"] = proc.stdout[-2000:] + proc.stderr[-2000:]
                break
            times.append(round(seconds, 2))
            print(f"  check {label:<17} run {i + 1}/{runs}: {seconds:6.2f} s", flush=True)
        out[label] = {"runs_s": times, "median_s": statistics.median(times) if times else None}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured sessions per variant")
    parser.add_argument(
        "--warmup", type=int, default=1, help="discarded sessions per variant first"
    )
    parser.add_argument("--check-runs", type=int, default=2, help="check runs per mode (0: skip)")
    parser.add_argument(
        "--point-ms",
        type=int,
        default=500,
        help="ours, a fourth visit: the pointer rests on Run this long before the click (0: skip)",
    )
    parser.add_argument(
        "--read-ms",
        type=int,
        default=2000,
        help="ours, a third visit: the reader reads this long before the click (0: skip)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per click")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    env = environment(exe)
    env["git"] = git_state()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="pyrun-bench-snapshot-"))
    sessions: dict[str, list[dict[str, Any]]] = {"ours": [], "bare": []}
    failed: list[dict[str, Any]] = []
    check: dict[str, Any] = {}
    try:
        site, _runtime = build_site(work)
        base_url, server = serve_process(site)
        print(f"site {site} served at {base_url}", flush=True)
        try:
            with sync_playwright() as pw:
                for i in range(args.warmup + args.runs):
                    tag = "warmup" if i < args.warmup else f"run {i - args.warmup + 1}/{args.runs}"
                    for name in ("ours", "bare"):
                        try:
                            result = session(
                                pw, exe, base_url, name, args.timeout, args.point_ms, args.read_ms
                            )
                        except Exception as exc:  # a report, not a test
                            failed.append({"variant": name, "run": tag, "error": str(exc)})
                            print(f"  {tag:>10} {name:<4} FAILED: {str(exc)[:200]}", flush=True)
                            continue
                        if i >= args.warmup:
                            sessions[name].append(result)
                        r = result["returning"]
                        print(
                            f"  {tag:>10} {name:<4} first {result['first']['ms']:8.1f} ms"
                            f"  returning {r['ms']:8.1f} ms"
                            + (f"  boot={r['boot']} stored={result['stored']}" if r["boot"] else "")
                            + (
                                f"  read {result['read']['ms']:8.1f} ms"
                                if result.get("read")
                                else ""
                            )
                            + (
                                f"  pointed {result['pointed']['ms']:8.1f} ms"
                                if result.get("pointed")
                                else ""
                            ),
                            flush=True,
                        )
        finally:
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]
        if args.check_runs > 0:
            check = check_times(work, args.check_runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()
    env["loadavg_before"] = [round(x, 2) for x in load_before]
    env["loadavg_after"] = [round(x, 2) for x in load_after]

    report: dict[str, Any] = {
        "benchmark": "snapshot",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "config": {
            "runs": args.runs,
            "warmup": args.warmup,
            "check_runs": args.check_runs,
            "point_ms": args.point_ms,
            "read_ms": args.read_ms,
        },
        "environment": env,
        "sessions": sessions,
        "failed_runs": failed,
        "check": check,
    }
    print()
    if sessions["ours"] and sessions["bare"]:
        stats = {
            f"{name} {visit}": summarize([s[visit]["ms"] for s in sessions[name]])
            for name in ("ours", "bare")
            for visit in ("first", "returning")
        }
        read = [s["read"]["ms"] for s in sessions["ours"] if s.get("read")]
        if read:
            stats[f"ours read {args.read_ms} ms"] = summarize(read)
        pointed = [s["pointed"]["ms"] for s in sessions["ours"] if s.get("pointed")]
        if pointed:
            stats[f"ours pointed {args.point_ms} ms"] = summarize(pointed)
        restored = sum(s["returning"]["boot"] == "snapshot" for s in sessions["ours"])
        ratio = stats["ours returning"]["median"] / stats["bare returning"]["median"]
        verdict = "within target" if ratio <= TARGET_RATIO else "ABOVE target"
        print(f"Run click -> first output (ms), {args.runs} fresh profiles per variant")
        print(
            f"1-min load average before/after: {load_before[0]:.2f}/{load_after[0]:.2f}"
            f" on {os.cpu_count()} CPUs"
        )
        print(f"{'':<24} {'median':>9} {'min':>9} {'max':>9}")
        for label, s in stats.items():
            print(f"{label:<24} {s['median']:>9.1f} {s['min']:>9.1f} {s['max']:>9.1f}")
        print(f"returning visits restored from the snapshot: {restored}/{len(sessions['ours'])}")
        if read:
            read_ratio = (
                stats[f"ours read {args.read_ms} ms"]["median"] / stats["bare returning"]["median"]
            )
            print(
                f"'ours read': a returning visit where the reader read {args.read_ms} ms before"
                " clicking, pointer away from Run (Python starts once the widget is on screen);"
                f" ratio to bare returning {read_ratio:.3f}"
            )
        if pointed:
            print(
                f"'ours pointed': a returning visit where the pointer rested on Run {args.point_ms}"
                " ms before the click (Python starts on the pointer); not part of the ratio"
            )
        print(f"ratio ours/bare, returning visit (medians): {ratio:.3f}"
              f"  (target <= {TARGET_RATIO}: {verdict})")  # fmt: skip
        report.update(
            summary_ms=stats,
            restored=restored,
            ratio_returning=round(ratio, 4),
            target_ratio=TARGET_RATIO,
            within_target=ratio <= TARGET_RATIO,
        )
        if read:
            report["ratio_read"] = round(read_ratio, 4)
    if failed:
        print(f"{len(failed)} session(s) failed (see failed_runs in the JSON)")
    if check:
        w, wo = check.get("with_snapshots", {}), check.get("without_snapshots", {})
        if w.get("median_s") and wo.get("median_s"):
            print(
                f"check, 500 snippets, empty result cache: with snapshots {w['median_s']:.2f} s,"
                f" without {wo['median_s']:.2f} s (median of {args.check_runs})"
            )
        else:
            print(f"check: {json.dumps(check)[:1000]}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
