"""Benchmark: Run on the last example of a long session, which first runs every example above it.

An API page's docstring examples are one session (the doctest builder's ``default`` group): Run on
example 300 runs the 299 above it first. The page is a Sphinx site of N ``>>>`` blocks in one
session (``pyrun_upgrade``), built with the check on, served by ``pyrun-docs serve`` and opened in
headless Chromium; Python is started by a Run on the first example, then the last one is clicked
and timed until its status says Done (``replay``). The baseline, measured in the same run on the
same page in a fresh tab: the N examples clicked one after another, each after the one before it
is done (``one by one``: the same runs, each shown as it ends). The ratio says what running the
examples above costs compared with running them by hand. A report, not a test.

    .venv/bin/python bench/replay.py --examples 150 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DONE = "(id) => /^(Done|Error)/.test(document.querySelector(`#${id} .pyrun-status`).textContent)"


def build(root: Path, examples: int) -> Path:
    src = root / "src"
    src.mkdir(parents=True)
    (src / "conf.py").write_text(
        'extensions = ["sphinx.ext.doctest", "pyrun_docs.sphinx_ext"]\npyrun_upgrade = ["doctest"]\n'
    )
    blocks = "".join(
        f"Function {i}\n{'-' * 20}\n\nWhat it does.\n\n>>> x{i} = {i}\n>>> x{i} + 1\n{i + 1}\n\n"
        for i in range(examples)
    )
    (src / "index.rst").write_text("Replay\n======\n\n" + blocks)
    out = root / "html"
    subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(out)], check=True
    )
    return out


def timed_click(page: Any, element: str) -> float:
    started = time.perf_counter()
    page.click(f"#{element} .pyrun-run")
    page.wait_for_function(DONE, arg=element, timeout=600_000)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=150)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from pyrun_docs.serve import serve_in_thread

    with tempfile.TemporaryDirectory(prefix="pyrun-replay-") as tmp:
        site = build(Path(tmp), args.examples)
        url, server = serve_in_thread(site)
        replay: list[float] = []
        by_hand: list[float] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            for _ in range(args.runs):
                for variant in ("replay", "one by one"):
                    page = browser.new_page()
                    page.goto(url + "index.html")
                    timed_click(page, "pyrun-0")  # Python starts: not measured
                    if variant == "replay":
                        replay.append(timed_click(page, f"pyrun-{args.examples - 1}"))
                    else:
                        by_hand.append(
                            sum(timed_click(page, f"pyrun-{i}") for i in range(1, args.examples))
                        )
                    page.close()
            browser.close()
        server.shutdown()
    earlier = args.examples - 1
    r, h = statistics.median(replay), statistics.median(by_hand)
    print(f"{earlier} examples above the clicked one, median of {args.runs}")
    print(f"{'':28} {'s':>7} {'ms/example':>11} {'x one by one':>13}")
    print(f"{'one by one (baseline)':28} {h:7.2f} {h / earlier * 1000:11.1f} {1:13.2f}")
    print(f"{'replay (Run on the last)':28} {r:7.2f} {r / earlier * 1000:11.1f} {r / h:13.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
