"""TypeScript checks every ``// @ts-check`` JavaScript file we ship or run (nothing is built).

The browser assets (loader, runner, worker, service worker, MicroPython host, snapshots) and the
check's Node harnesses carry JSDoc types; this test makes them count: ``tsc --noEmit`` over all of
them, with the DOM, web-worker and Node typings, from a pinned TypeScript
(``tests/typecheck/package-lock.json``, installed with ``npm ci`` into a temporary folder).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import node_tool, npm_ci

ROOT = Path(__file__).resolve().parent.parent
TOOLS = Path(__file__).resolve().parent / "typecheck"


def checked_files() -> list[Path]:
    """Our JavaScript that asks to be checked (the generated editor bundle does not)."""
    found = [
        path
        for folder in (ROOT / "assets", ROOT / "pyrun_docs")
        for pattern in ("*.js", "*.mjs")
        for path in sorted(folder.rglob(pattern))
        if "node_modules" not in path.parts
        and path.read_text(encoding="utf-8").startswith("// @ts-check")
    ]
    return found


def test_the_checked_files_are_the_ones_we_ship() -> None:
    names = {p.name for p in checked_files()}
    for expected in (
        "pyrun.js",
        "pyrun-runner.js",
        "pyrun-worker.js",
        "pyrun-sw.js",
        "pyrun-micropython.js",
        "pyrun-snapshot.js",
        "harness.mjs",
        "harness_io.mjs",
        "harness_micropython.mjs",
    ):
        assert expected in names, f"{expected} lost its // @ts-check line"


def test_javascript_type_checks(tmp_path: Path) -> None:
    work = tmp_path / "typecheck"
    npm_ci(TOOLS, work)
    config = {
        "compilerOptions": {
            "allowJs": True,
            "checkJs": True,
            "noEmit": True,
            "target": "es2022",
            "module": "es2022",
            "moduleResolution": "bundler",
            "lib": ["es2022", "dom", "dom.iterable", "webworker"],
            "skipLibCheck": True,
            "types": ["node"],
            "typeRoots": [str(work / "node_modules" / "@types")],
        },
        "files": [str(p) for p in checked_files()],
    }
    (work / "tsconfig.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    tsc = work / "node_modules" / "typescript" / "bin" / "tsc"
    proc = subprocess.run(
        [*node_tool("node"), str(tsc), "-p", str(work / "tsconfig.json"), "--pretty", "false"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
