// @ts-check
/**
 * Make the memory snapshot a site ships (`snapshot = "site"`): boot the pinned Pyodide exactly as
 * the browser worker does (same loadPyodide options, the executor imported the same way, nothing
 * else), snapshot it and write it gzip-compressed with its SHA-256 (of the uncompressed bytes).
 *
 *   node site_snapshot.mjs INDEX_DIR/ EXECUTOR.py OUT.bin.gz
 * prints one JSON line: {size, sha256, gzipSize, seconds}
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import { pathToFileURL } from "node:url";
import zlib from "node:zlib";

const [indexDir, executor, out] = process.argv.slice(2);
const started = performance.now();
const { loadPyodide } = await import(pathToFileURL(`${indexDir}pyodide.mjs`).href);
const py = await loadPyodide({
  indexURL: indexDir,
  packageBaseUrl: indexDir,
  lockFileContents: fs.readFileSync(`${indexDir}pyodide-lock.json`, "utf8"),
  stdout: () => {},
  stderr: () => {},
  _makeSnapshot: true,
});
py.FS.mkdirTree("/pyrun");
py.FS.writeFile("/pyrun/pyrun_executor.py", fs.readFileSync(executor, "utf8"));
py.runPython("import sys\nif '/pyrun' not in sys.path: sys.path.insert(0, '/pyrun')\nimport pyrun_executor");
/** @type {Uint8Array} */
const bytes = py.makeMemorySnapshot();
const gz = zlib.gzipSync(bytes, { level: 6 });
const tmp = `${out}.${process.pid}.tmp`;
fs.writeFileSync(tmp, gz);
fs.renameSync(tmp, out);
process.stdout.write(
  JSON.stringify({
    size: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    gzipSize: gz.length,
    seconds: (performance.now() - started) / 1000,
  }) + "\n",
);
process.exit(0);
