"""Benchmark: what a page with a widget costs before and after the first Run, against baselines.

Measured in one go, on sites built from the working tree and served by ``pyrun_docs.serve``:

1. **Page weight before any interaction**: requests and bytes (raw, and gzip -9 of each response
   body computed here, since our server sends identity) of ``index.html`` (one widget) against
   ``plain.html`` (the same site, a plain ``code-block``, no widget). Target: <= +6 KB gzip.
2. **Run click -> first output** in three browser states, each against the bare ``loadPyodide()``
   page of ``run_to_output.py`` measured in the same sessions:
   ``cold`` (fresh profile), ``http-cache`` (same profile, second load, service worker unregistered
   and Cache Storage emptied first) and ``warm`` (same profile, third load, our service worker
   active and its caches full). For the bare page the third load is its HTTP cache again.
3. **preload = "boot"**: a second site with ``pyrun_preload = "boot"``; fresh profile, open the
   page, wait 5 s, click Run. Target: <= 100 ms. Compared with ``ours cold``.

4. **Verified output** (``--output-weight``, on its own, no browser): a page of eight checked
   snippets (six printing text, one PNG image, one HTML table) built with ``pyrun_output =
   "verified"`` against the same page with ``"off"``: the HTML's bytes (raw and gzip -9) and the
   image files, which the page fetches only when scrolled near (``loading="lazy"``).

This is a report, not a test: the exit code is 0 whatever the numbers.

    .venv/bin/python bench/assets.py --runs 5
    .venv/bin/python bench/assets.py --output-weight
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

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

RESULTS = HERE / "results" / "assets.json"
TARGET_GZIP_KB = 6.0
TARGET_PRELOAD_MS = 100.0
PLAIN_RST = "Plain\n=====\n\n.. code-block:: python\n\n   print(1)\n"
STATES = ("cold", "http-cache", "warm")

#: Unregister every service worker of the origin and delete every Cache Storage cache.
CLEAR_JS = """
async () => {
  const regs = navigator.serviceWorker ? await navigator.serviceWorker.getRegistrations() : [];
  await Promise.all(regs.map((r) => r.unregister()));
  const keys = await caches.keys();
  await Promise.all(keys.map((k) => caches.delete(k)));
  // our memory snapshots too: "HTTP cache only" means nothing of ours is stored
  await new Promise((resolve) => {
    const request = indexedDB.deleteDatabase("pyrun-snapshots");
    request.onsuccess = request.onerror = request.onblocked = resolve;
  });
  return { unregistered: regs.length, deleted: keys };
}
"""

#: The browser state the click will meet: is the page controlled by a service worker, and which
#: caches exist with how many entries.
STATE_JS = """
async () => {
  const out = { controlled: !!(navigator.serviceWorker && navigator.serviceWorker.controller),
                caches: {} };
  for (const k of await caches.keys()) out.caches[k] = (await (await caches.open(k)).keys()).length;
  return out;
}
"""

#: True once our service worker is active and the runtime cache holds every pinned file.
SW_READY_JS = """
async () => {
  const node = document.getElementById("pyrun-config");
  if (!node || !navigator.serviceWorker) return true;  // the bare page: nothing to wait for
  const rt = JSON.parse(node.textContent).runtimes.pyodide;
  const reg = await navigator.serviceWorker.getRegistration();
  if (!reg || !reg.active) return false;
  const name = `pyrun-runtime-pyodide-${rt.version}`;
  if (!(await caches.has(name))) return false;
  const n = (await (await caches.open(name)).keys()).length;
  return n >= Object.keys(rt.files).length;
}
"""


def sphinx(src: Path, out: Path) -> None:
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"sphinx build failed:\n{proc.stdout}\n{proc.stderr}")


def build_sites(work: Path) -> tuple[Path, Path]:
    """The run_to_output site plus ``plain.html``; and the same sources with preload = "boot"."""
    site, _ = build_site(work)  # work/src -> work/html, with bare.html
    src = work / "src"
    (src / "plain.rst").write_text(PLAIN_RST, encoding="utf-8")
    sphinx(src, site)  # incremental: adds plain.html (an orphan page; the warning is harmless)
    with (src / "conf.py").open("a", encoding="utf-8") as f:
        f.write('\npyrun_preload = "boot"\n')
    boot_site = work / "html-boot"
    sphinx(src, boot_site)
    return site, boot_site


def launch(pw: Any, exe: str) -> tuple[Any, Path]:
    profile = Path(tempfile.mkdtemp(prefix="pyrun-bench-profile-"))
    context = pw.chromium.launch_persistent_context(
        str(profile), executable_path=exe, args=CHROMIUM_ARGS, headless=True
    )
    return context, profile


def close(context: Any, profile: Path) -> None:
    try:
        context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def page_weight(pw: Any, exe: str, url: str, base_url: str) -> dict[str, Any]:
    """Every request of a fresh-profile page load until the network is idle, with body sizes."""
    context, profile = launch(pw, exe)
    rows: list[dict[str, Any]] = []
    try:

        def record(request: Any) -> None:
            response = request.response()
            body = b""
            try:
                body = response.body() if response else b""
            except Exception:
                pass
            try:
                sizes = request.sizes()
                transfer = sizes["responseHeadersSize"] + sizes["responseBodySize"]
            except Exception:
                transfer = None
            rel = request.url.replace(base_url, "/")
            rows.append(
                {
                    # the document itself under one name, so the two pages' lists line up
                    "url": "(document) " + rel if request.url == url else rel,
                    "status": response.status if response else None,
                    "raw": len(body),
                    "gzip9": len(gzip.compress(body, 9)) if body else 0,
                    "transfer": transfer,
                }
            )

        context.on("requestfinished", record)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(url, wait_until="networkidle")
        page.wait_for_timeout(1000)  # anything an idle callback would start
    finally:
        close(context, profile)
    return {
        "requests": len(rows),
        "raw_bytes": sum(r["raw"] for r in rows),
        "gzip9_bytes": sum(r["gzip9"] for r in rows),
        "transfer_bytes": sum(r["transfer"] or 0 for r in rows),
        "files": sorted(rows, key=lambda r: r["url"]),
    }


def timed_click(page: Any, url: str, spec: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Open ``url``, wait for the Run button, click it; ms from the click to the output."""
    page.goto(url, wait_until="load")
    page.wait_for_selector(spec["ready"], state="visible")
    return click_now(page, spec, timeout_s)


def click_now(page: Any, spec: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    state = page.evaluate(STATE_JS)
    workers = len(page.workers)
    page.evaluate(INSTRUMENT_JS, [spec["run"], spec["out"], spec["status"], EXPECTED])
    page.evaluate(
        "window.__snap = null; document.addEventListener('pyrun:snapshot',"
        " (e) => { if (e.detail.phase === 'stored') window.__snap = 'stored'; })"
    )
    page.click(spec["run"])
    page.wait_for_function("window.__bench.t1 !== null", timeout=timeout_s * 1000)
    bench = page.evaluate("window.__bench")
    return {
        "ms": round(bench["t1"] - bench["t0"], 1),
        "output_exact": bench["text"].strip() == EXPECTED,
        "before_click": {**state, "workers": workers},
    }


def wait_sw_ready(page: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.evaluate(SW_READY_JS):
            return True
        page.wait_for_timeout(200)
    return False


def session(pw: Any, exe: str, base_url: str, name: str, timeout_s: float) -> dict[str, Any]:
    """One fresh profile, three loads of the page: cold, HTTP cache only, warm."""
    spec = VARIANTS[name]
    url = base_url + spec["page"]
    context, profile = launch(pw, exe)
    out: dict[str, Any] = {}
    try:
        page = context.pages[0] if context.pages else context.new_page()
        out["cold"] = timed_click(page, url, spec, timeout_s)
        wait_sw_ready(page, 30)  # let the first Run finish caching, or the clear races with it
        out["cleared"] = page.evaluate(CLEAR_JS)
        out["http-cache"] = timed_click(page, url, spec, timeout_s)
        if name == "ours":
            # a reader stays on the page a moment: the memory snapshot made by this boot is stored
            # (in IndexedDB, after the first output), so the next visit restores instead of booting
            page.wait_for_function("window.__snap === 'stored'", timeout=30_000)
        out["sw_ready"] = wait_sw_ready(page, 30)
        out["warm"] = timed_click(page, url, spec, timeout_s)
    finally:
        close(context, profile)
    return out


def preload_run(pw: Any, exe: str, url: str, wait_s: float, timeout_s: float) -> dict[str, Any]:
    spec = VARIANTS["ours"]
    context, profile = launch(pw, exe)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_selector(spec["ready"], state="visible")
        page.wait_for_timeout(wait_s * 1000)
        return click_now(page, spec, timeout_s)
    finally:
        close(context, profile)


def fmt_kb(n: float) -> str:
    return f"{n / 1024:.1f}"


OUTPUT_RST = """Output
======

.. pyrun::

   for n in range(1, 11):
       print(f"{n:2} squared is {n * n:3}")

.. pyrun::

   import json
   print(json.dumps({"name": "pyrun", "checked": True, "examples": [1, 2, 3]}, indent=2))

.. pyrun::

   sorted("the output of this example was verified at build time".split(), key=len)

.. pyrun::

   import textwrap
   print(textwrap.fill("Lorem ipsum dolor sit amet, " * 12, width=72))

.. pyrun::

   print(sum(range(1_000_000)))

.. pyrun::

   {n: n ** 0.5 for n in range(8)}

.. pyrun::

   import struct, zlib

   def chunk(kind, data):
       crc = struct.pack(">I", zlib.crc32(kind + data))
       return struct.pack(">I", len(data)) + kind + data + crc

   class Square:
       def _repr_png_(self):
           pixels = [bytes((x * 4 % 256, y * 4 % 256, 128)) for y in range(64) for x in range(64)]
           rows = b"".join(b"\\x00" + b"".join(pixels[y * 64:(y + 1) * 64]) for y in range(64))
           head = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
           return (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", head)
                   + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))

   display(Square())

.. pyrun::

   class Table:
       def _repr_html_(self):
           rows = "".join(f"<tr><td>{n}</td><td>{n * n}</td></tr>" for n in range(10))
           return f"<table><tr><th>n</th><th>n²</th></tr>{rows}</table>"
   display(Table())
"""


def output_weight() -> int:
    """Measurement 4: the page's weight with the verified output, against the same page without."""
    import re

    work = Path(tempfile.mkdtemp(prefix="pyrun-bench-output-"))
    try:
        src = work / "src"
        src.mkdir()
        conf = 'extensions = ["pyrun_docs.sphinx_ext"]\npyrun_check = "warn"\n'
        (src / "conf.py").write_text(conf, encoding="utf-8")
        (src / "index.rst").write_text(OUTPUT_RST, encoding="utf-8")
        rows: dict[str, dict[str, float]] = {}
        for mode in ("off", "verified"):
            out = work / mode
            cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(out)]
            cmd += ["-D", f"pyrun_output={mode}"]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0 or "WARNING" in proc.stderr:
                sys.exit(f"sphinx build failed:\n{proc.stdout}\n{proc.stderr}")
            page = (out / "index.html").read_bytes()
            images = re.findall(rb'<img src="([^"]+)"[^>]*loading="lazy"', page)
            rows[mode] = {
                "html": len(page),
                "gzip": len(gzip.compress(page, 9)),
                "images": len(images),
                "image_bytes": sum((out / i.decode()).stat().st_size for i in images),
                "blocks": page.count(b'class="pyrun-verified"'),
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    off, on = rows["off"], rows["verified"]
    print("Verified output: a page of 8 checked snippets (6 text, 1 PNG 64x64, 1 HTML table)")
    print("| | output off (baseline) | output verified | difference | ratio |")
    print("|---|---|---|---|---|")
    for key, label in (("html", "HTML bytes"), ("gzip", "HTML gzip -9 bytes")):
        print(f"| {label} | {off[key]:,.0f} | {on[key]:,.0f} | +{on[key] - off[key]:,.0f} "
              f"| {on[key] / off[key]:.2f}x |")  # fmt: skip
    print(f"| output blocks | {off['blocks']:.0f} | {on['blocks']:.0f} | | |")
    print(f"| lazy images (bytes, fetched on scroll) | 0 | {on['images']:.0f} "
          f"({on['image_bytes']:,.0f}) | | |")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output-weight", action="store_true", help="only measurement 4 (verified output)"
    )
    parser.add_argument("--runs", type=int, default=5, help="measured sessions per variant")
    parser.add_argument("--warmup", type=int, default=1, help="discarded ours/bare sessions first")
    parser.add_argument("--preload-wait", type=float, default=5.0, help="s idle before the click")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per click")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    if args.output_weight:
        return output_weight()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    env = environment(exe)
    env["git"] = git_state()
    load_before = os.getloadavg()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="pyrun-bench-assets-"))
    times: dict[str, dict[str, list[float]]] = {
        "ours": {s: [] for s in STATES},
        "bare": {s: [] for s in STATES},
        "preload": {"boot": []},
    }
    raw_runs: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    try:
        site, boot_site = build_sites(work)
        base_url, server = serve_process(site)
        boot_url, boot_server = serve_process(boot_site)
        print(f"site {base_url}  preload=boot site {boot_url}", flush=True)
        try:
            with sync_playwright() as pw:
                weight = {
                    "widget": page_weight(pw, exe, base_url + "index.html", base_url),
                    "plain": page_weight(pw, exe, base_url + "plain.html", base_url),
                }
                for i in range(args.warmup + args.runs):
                    warm = i < args.warmup
                    tag = "warmup" if warm else f"run {i - args.warmup + 1}/{args.runs}"
                    jobs: list[tuple[str, Any]] = [
                        ("ours", lambda: session(pw, exe, base_url, "ours", args.timeout)),
                        ("bare", lambda: session(pw, exe, base_url, "bare", args.timeout)),
                    ]
                    if not warm:
                        jobs.append(
                            (
                                "preload",
                                lambda: preload_run(
                                    pw,
                                    exe,
                                    boot_url + "index.html",
                                    args.preload_wait,
                                    args.timeout,
                                ),
                            )
                        )
                    for name, job in jobs:
                        try:
                            result = job()
                        except Exception as exc:  # a report, not a test: note it and go on
                            text = str(exc).strip()
                            first = text.splitlines()[0] if text else repr(exc)
                            failed.append({"variant": name, "run": tag, "error": text})
                            print(f"  {tag:>10}  {name:<7}  FAILED: {first}", flush=True)
                            continue
                        raw_runs.append({"variant": name, "run": tag, **result})
                        if name == "preload":
                            shown = f"boot {result['ms']:8.1f}"
                            if not warm:
                                times["preload"]["boot"].append(result["ms"])
                        else:
                            shown = "  ".join(f"{s} {result[s]['ms']:8.1f}" for s in STATES)
                            if not warm:
                                for s in STATES:
                                    times[name][s].append(result[s]["ms"])
                        print(f"  {tag:>10}  {name:<7}  {shown} ms", flush=True)
        finally:
            server.shutdown()  # type: ignore[attr-defined]
            boot_server.shutdown()  # type: ignore[attr-defined]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()

    # 1. page weight
    w, p = weight["widget"], weight["plain"]
    diff_gzip_kb = (w["gzip9_bytes"] - p["gzip9_bytes"]) / 1024
    weight_ok = diff_gzip_kb <= TARGET_GZIP_KB
    print()
    print("Page weight before any interaction (fresh profile, until network idle)")
    print(f"{'page':<28} {'requests':>8} {'raw KB':>8} {'gzip-9 KB':>10} {'transfer KB':>12}")
    for label, row in (("index.html (widget)", w), ("plain.html (baseline)", p)):
        print(
            f"{label:<28} {row['requests']:>8} {fmt_kb(row['raw_bytes']):>8}"
            f" {fmt_kb(row['gzip9_bytes']):>10} {fmt_kb(row['transfer_bytes']):>12}"
        )
    print(
        f"difference: {w['requests'] - p['requests']:+d} requests,"
        f" {(w['raw_bytes'] - p['raw_bytes']) / 1024:+.1f} KB raw, {diff_gzip_kb:+.1f} KB gzip-9"
        f"  (target <= +{TARGET_GZIP_KB:g} KB gzip: {'met' if weight_ok else 'MISSED'})"
    )
    plain_files = {f["url"].split(" ")[0]: f for f in p["files"]}
    for f in w["files"]:
        other = plain_files.get(f["url"].split(" ")[0])
        if other is None or other["raw"] != f["raw"]:
            d_raw = f["raw"] - (other["raw"] if other else 0)
            d_gz = f["gzip9"] - (other["gzip9"] if other else 0)
            print(f"  {f['url']:<46} {d_raw:>+7} B raw {d_gz:>+6} B gzip-9")

    # 2. and 3. click -> output
    stats = {
        f"{name} {state}": summarize(vals)
        for name, by_state in times.items()
        for state, vals in by_state.items()
        if vals
    }
    rows = [
        ("ours cold", "bare cold", None),
        ("ours http-cache", "bare http-cache", None),
        ("ours warm", "bare warm", None),
        ("preload boot", "ours cold", TARGET_PRELOAD_MS),
    ]
    table = []
    print()
    print(f"Run click -> first output, medians of {args.runs} sessions (ms)")
    print(
        f"1-min load average before/after: {load_before[0]:.2f}/{load_after[0]:.2f}"
        f" on {os.cpu_count()} CPUs"
    )
    print(
        f"{'variant':<16} {'median':>8} {'min':>8} {'max':>8} {'n':>2}  {'baseline':<16}"
        f" {'base med':>8} {'ratio':>6}  target"
    )
    for variant, baseline, target in rows:
        s, b = stats.get(variant), stats.get(baseline)
        if not s:
            print(f"{variant:<16} no successful runs")
            continue
        ratio = s["median"] / b["median"] if b else None
        verdict = ""
        if target is not None:
            verdict = f"<= {target:g} ms: {'met' if s['median'] <= target else 'MISSED'}"
        n = len(times[variant.split()[0]][variant.split()[1]])
        bmed = f"{b['median']:8.1f}" if b else f"{'-':>8}"
        rtxt = f"{ratio:6.2f}" if ratio else f"{'-':>6}"
        print(
            f"{variant:<16} {s['median']:8.1f} {s['min']:8.1f} {s['max']:8.1f} {n:>2}"
            f"  {baseline:<16} {bmed} {rtxt}  {verdict}"
        )
        table.append(
            {
                "variant": variant,
                "baseline": baseline,
                **{k: s[k] for k in ("median", "min", "max")},
                "baseline_median": b["median"] if b else None,
                "ratio": round(ratio, 3) if ratio else None,
                "target_ms": target,
                "met": (s["median"] <= target) if target is not None else None,
            }
        )
    # sanity: the states were what they claim to be
    bad = []
    for r in raw_runs:
        if r["variant"] == "ours":
            if (
                r["http-cache"]["before_click"]["controlled"]
                or r["http-cache"]["before_click"]["caches"]
            ):
                bad.append(f"{r['run']}: http-cache load was not clean {r['http-cache']}")
            if not r["warm"]["before_click"]["controlled"]:
                bad.append(f"{r['run']}: warm load was not controlled by the service worker")
        for s in STATES if r["variant"] != "preload" else ():
            if not r[s]["output_exact"]:
                bad.append(f"{r['run']} {r['variant']} {s}: unexpected output")
    for line in bad:
        print(f"warning: {line}")
    if failed:
        print(f"{len(failed)} session(s) failed and are not counted (see failed_runs in the JSON)")
    elapsed = time.monotonic() - started
    print(f"total {elapsed:.0f} s")

    report = {
        "benchmark": "assets",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "config": {
            "runs": args.runs,
            "warmup": args.warmup,
            "preload_wait_s": args.preload_wait,
            "states": {
                "cold": "fresh user-data-dir, first load",
                "http-cache": "same profile, second load; SW unregistered, Cache Storage and "
                "IndexedDB snapshots emptied (a cold boot from the HTTP cache)",
                "warm": "same profile, third load; our SW active with the runtime cached and the "
                "memory snapshot the second load stored (bare: HTTP cache only)",
                "preload boot": 'pyrun_preload = "boot", fresh profile, click after the wait',
            },
        },
        "environment": {
            **env,
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
            "elapsed_s": round(elapsed, 1),
        },
        "page_weight": weight,
        "page_weight_diff": {
            "requests": w["requests"] - p["requests"],
            "raw_kb": round((w["raw_bytes"] - p["raw_bytes"]) / 1024, 2),
            "gzip9_kb": round(diff_gzip_kb, 2),
            "target_gzip9_kb": TARGET_GZIP_KB,
            "met": weight_ok,
        },
        "table": table,
        "summary_ms": stats,
        "warnings": bad,
        "runs": raw_runs,
        "failed_runs": failed,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
