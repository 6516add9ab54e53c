// @ts-check
/**
 * pyrun-docs build check harness: boots the pinned Pyodide in Node.js and runs snippets through the
 * same executor module (`pyrun_executor`) the browser worker uses, so "passes the check" means "works
 * for the reader".
 *
 * Started by `pyrun_docs.check` with `node harness.mjs`; speaks JSON lines: requests on stdin, events
 * on stdout (written synchronously, so an event is out before a snippet can block the event loop).
 * Anything else Node or Pyodide prints goes to stderr, never into the protocol.
 *
 * Requests (Python -> harness):
 *   {op: "init", indexURL, packageDir, executor, isolationModule, isolation, outputLimit, warm,
 *    snapshot, makeSnapshot, install, installImports, installed, makeInstalled}
 *   {op: "page", page, packages, runs: [{run, code, session, filename, raises, stdin, transcript, flags, want,
 *     module, docstring}]}
 *   {op: "warm", imports}: (a prestarted harness, while the docs are read) see `warm`; a later
 *     `init` adopts it for the check (and its warm interpreter, when it installs the same packages)
 * Events (harness -> Python):
 *   {ev: "warmed", seconds, kept, how}
 *   {ev: "ready", seconds, node, snapshot: "loaded" | "made" | "off" | "failed: ...",
 *    installed: "loaded" | "made" | "off" | "failed: ..."}
 *   {ev: "booted", page, seconds, how: "reused" | "prestarted" | "snapshot" | "cold", snapshotError?, installedError?}
 *   {ev: "start", run} | {ev: "done", run, result, messages, dropped, fatal, ms}
 *   {ev: "page-done", page, rss, resetMs, watched (how many namespaces are watched; 0: all are compared),
 *     fresh: [why the next page needs a fresh interpreter]}
 *   {ev: "page-error", page, message}
 *
 * Installed packages: `install` names the site's packages (the project's wheel and its resolved
 * dependencies, pure Python only), which every fresh interpreter has installed, not imported, so a
 * page that needs only those loads nothing and may hand its interpreter on. With a snapshot, they are
 * installed once into an interpreter restored from it, whose memory is snapshotted again (the
 * "installed snapshot", `installed` / `makeInstalled`); the files the installation wrote (memory
 * snapshots hold no files) are kept beside it and written back after every restore.
 *
 * Isolation: a page runs in a fresh interpreter (restored from a memory snapshot, `random`
 * reseeded, or booted cold), or in the previous page's one after `pyrun_isolation` put it back to
 * that fresh state (modules, attributes, files, environment...). Whatever cannot be put back
 * (packages, changed files, pending timers, isolation=interpreter) means a fresh one.
 * No network: `fetch` and `WebSocket` are replaced by functions that fail with a message, Pyodide's
 * `js` module sees only a small set of globals (no `process`, no `require`; `eval` is there for
 * `pyodide.code.run_js`, as in the browser, so this is a guard against accidents, not a sandbox),
 * and packages load only from `packageDir`, which Python filled with wheels verified against the
 * pinned lock file.
 * No stdin: Pyodide's stdin is at end of file and the executor makes `input()` fail with a message.
 */

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { OutputSink, requestWaiting, send, serve, snippetGlobals, startHarness, toStderr } from "./harness_io.mjs";

startHarness();

/**
 * Some ways a snippet can end the interpreter (`os._exit()`, a stack overflow in C code) surface as
 * an error nobody awaits instead of rejecting the running call: turn them into the running
 * snippet's failure, so Node neither exits nor waits forever.
 * @type {((err: any) => void) | null}
 */
let failRunning = null;
/** @param {any} err */
function uncaught(err) {
  const text = String(err && err.message ? err.message : err);
  if (failRunning && (err?.pyodide_fatal_error || err?.name === "ExitStatus" || /Program terminated/.test(text))) {
    failRunning(err);
  } else {
    toStderr("uncaught error:", err && err.stack ? err.stack : err);
  }
}
process.on("unhandledRejection", uncaught);
process.on("uncaughtException", uncaught);

// --- booting -------------------------------------------------------------------------------------

/** @type {Promise<WebAssembly.Module> | null} */
let compiled = null;

/**
 * Compile the 9.6 MB wasm once per process; every later interpreter instantiates the same module.
 * Started by `init` (`wasmPath`): V8 compiles on background threads while the main thread goes
 * on (the snapshot is read meanwhile too: `readSnapshot`), instead of on the first page's path.
 * @param {string} wasmPath
 */
function cacheWasmCompilation(wasmPath) {
  // read at once, not with fs.promises: that reads in chunks, each waiting for the main thread,
  // which is busy starting the interpreter (the compile finished 30-60 ms later)
  compiled = WebAssembly.compile(fs.readFileSync(wasmPath));
  compiled.catch(() => {}); // a failure surfaces where it is awaited: the first interpreter's start
  const instantiate = WebAssembly.instantiate.bind(WebAssembly);
  /** @type {any} */ (WebAssembly).instantiate = async (
    /** @type {any} */ source,
    /** @type {any} */ imports,
  ) => {
    if (source instanceof WebAssembly.Module) return instantiate(source, imports);
    compiled ??= WebAssembly.compile(source);
    const module = await compiled;
    const instance = await instantiate(module, imports);
    // Pyodide copies the snapshot in right after this returns: its bytes must be there now
    const restoring = restoringSnapshot;
    restoringSnapshot = null;
    if (restoring) await snapshotReads.get(restoring);
    fitHeap(/** @type {WebAssembly.Memory | undefined} */ (instance.exports.memory), restoring);
    return { instance, module };
  };
}

/** The snapshot the interpreter being started restores (`null`: none, or it has its memory). */
/** @type {Uint8Array | null} */
let restoringSnapshot = null;
/** Snapshots still being read from disk, and the promise of the end of their read. */
const snapshotReads = new WeakMap();

/**
 * A snapshot file's bytes, read in the background (on libuv's threads) into memory that is handed
 * to Pyodide at once: a new interpreter's start (loading Pyodide's JavaScript, instantiating the
 * module, ~0.1 s on the main thread) overlaps the read of ~30 MB, which blocked `init` for 40-60
 * ms before; the instantiation waits for the rest of the read (`cacheWasmCompilation`). A read
 * that fails fails that restore (which falls back like any failed restore).
 * @param {string} path
 * @returns {Uint8Array}
 */
function readSnapshot(path) {
  const size = fs.statSync(path).size;
  const bytes = new Uint8Array(size);
  const read = (async () => {
    const handle = await fs.promises.open(path, "r");
    try {
      let offset = 0;
      while (offset < size) {
        const { bytesRead } = await handle.read(bytes, offset, size - offset, offset);
        if (!bytesRead) throw new Error(`${path} ended after ${offset} of ${size} bytes`);
        offset += bytesRead;
      }
    } finally {
      await handle.close();
    }
  })();
  read.catch(() => {}); // surfaces where it is awaited: the restore
  snapshotReads.set(bytes, read);
  return bytes;
}

/**
 * Grow a new interpreter's memory to the heap of the snapshot it is about to restore.
 *
 * Pyodide sizes the heap for a restore with `INITIAL_MEMORY`, which its module ignores (it exports
 * its own 30 MiB memory; pyodide/pyodide#6254), so a snapshot taken after the heap grew (installing
 * a project whose modules compile to a few MB, e.g. more-itertools) failed to restore with
 * "RangeError: offset is out of bounds", and every check fell back to installing per page.
 * @param {WebAssembly.Memory | undefined} memory
 * @param {Uint8Array | null} restoring the snapshot, read
 */
function fitHeap(memory, restoring) {
  if (!memory || !restoring) return;
  // Pyodide's snapshot header: a magic number, then where the heap's bytes start
  const heapBytes = restoring.length - new Uint32Array(restoring.buffer, restoring.byteOffset, 2)[1];
  const missing = Math.ceil(heapBytes / 65536) - memory.buffer.byteLength / 65536;
  if (missing > 0) memory.grow(missing);
}

/** @type {any} */
let config = null;
/** @type {any} */
let loadPyodide = null;
/** @type {Uint8Array | null} */
let snapshot = null;
let snapshotPath = "";
/** The installed snapshot's path that `installed` was read from ("" when made here or none). */
let installedPath = "";
let lockFileContents = "";
/**
 * The installed snapshot: memory with the `install` packages installed, the files they wrote, and
 * Pyodide's record of them (`loadedPackages`, kept in JavaScript, not in the memory).
 * @typedef {{ snapshot: Uint8Array, files: [string, Uint8Array][], loaded: Record<string, string> }} Installed
 * @type {Installed | null}
 */
let installed = null;
/** What every fresh interpreter has installed (`install` load specs: lock names, wheel paths). */
let installSpecs = new Set();

/** @type {OutputSink | null} */
let sink = null;
/** The interpreter whose output counts; a discarded one's late timers print into the void. */
let activeToken = 0;
let tokens = 0;

/**
 * The executor's `emit` for interpreter *token*.
 * @param {number} token
 */
function collector(token) {
  return (/** @type {string} */ text) => {
    if (sink && token === activeToken) sink.add(text);
  };
}

// --- timers --------------------------------------------------------------------------------------

/**
 * Timers a page leaves behind (`loop.call_later`, a task sleeping) would fire during the next page.
 * Every timer is tracked; a page that ends with one pending does not hand its interpreter on, and
 * the timers of a discarded interpreter are cleared.
 * @type {Map<any, number>} timer -> delay in ms
 */
const timers = new Map();
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;
/** @type {any} */ (globalThis).setTimeout = (/** @type {any} */ fn, /** @type {number} */ ms, /** @type {any[]} */ ...args) => {
  const timer = realSetTimeout(() => {
    timers.delete(timer);
    fn(...args);
  }, ms);
  timers.set(timer, Number(ms) || 0);
  return timer;
};
/** @type {any} */ (globalThis).clearTimeout = (/** @type {any} */ timer) => {
  timers.delete(timer);
  realClearTimeout(timer);
};
/** @type {any} */ (globalThis).setInterval = (/** @type {any} */ fn, /** @type {number} */ ms, /** @type {any[]} */ ...args) => {
  const timer = realSetInterval(fn, ms, ...args);
  timers.set(timer, Infinity);
  return timer;
};
/** @type {any} */ (globalThis).clearInterval = (/** @type {any} */ timer) => {
  timers.delete(timer);
  realClearInterval(timer);
};

/** Let callbacks due now (`call_soon`, finished sleeps) run; return how many timers are left. */
async function drainTimers() {
  for (let i = 0; i < 50 && [...timers.values()].some((ms) => ms <= 5); i++) {
    await new Promise((resolve) => realSetTimeout(resolve, 2));
  }
  return timers.size;
}

function clearTimers() {
  for (const [timer, ms] of timers) (ms === Infinity ? realClearInterval : realClearTimeout)(timer);
  timers.clear();
}

/**
 * A new interpreter.
 * @param {Record<string, any>} extra options for loadPyodide
 */
function load(extra) {
  restoringSnapshot = extra._loadSnapshot || null;
  return loadPyodide({
    indexURL: config.indexURL,
    packageBaseUrl: config.packageDir,
    packageCacheDir: config.packageDir,
    lockFileContents,
    jsglobals: snippetGlobals(),
    // Runtime chatter ("Loading numpy") stays out of snippet output, exactly as in the browser.
    stdout: () => {},
    stderr: () => {},
    stdin: () => null,
    ...extra,
  });
}

/** Load the shared executor exactly like the browser worker does, and our isolation helper. @param {any} py */
function installExecutor(py) {
  py.FS.mkdirTree("/pyrun");
  py.FS.writeFile("/pyrun/pyrun_executor.py", fs.readFileSync(config.executor, "utf8"));
  py.FS.writeFile("/pyrun/pyrun_isolation.py", fs.readFileSync(config.isolationModule, "utf8"));
  py.runPython("import sys\nsys.path.insert(0, '/pyrun')\nimport pyrun_executor\nimport pyrun_isolation");
  py.pyimport("pyrun_isolation").keep_compiled_stdlib();
  for (const name of config.warm || []) py.pyimport(name);
}

/** @param {any} py @param {number} token */
function makeExecutor(py, token) {
  const module = py.pyimport("pyrun_executor");
  return module.Executor.callKwargs(collector(token), { output_limit: config.outputLimit });
}

/**
 * The name Pyodide records in `loadedPackages` for a load spec: a wheel of ours is loaded by path and
 * recorded under its file name's first part.
 * @param {string} spec
 */
const loadKey = (spec) => (spec.endsWith(".whl") ? String(spec.split(/[\\/]/).pop()).split("-")[0].toLowerCase() : spec);

/** Every file under *root* in *py*'s file system. @param {any} py @param {string} root @returns {string[]} */
function filesUnder(py, root) {
  /** @type {string[]} */
  const found = [];
  /** @param {string} dir */
  const walk = (dir) => {
    /** @type {string[]} */
    let names;
    try {
      names = py.FS.readdir(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name === "." || name === "..") continue;
      const path = `${dir}/${name}`;
      const mode = py.FS.lstat(path).mode;
      if (py.FS.isDir(mode)) walk(path);
      else if (py.FS.isFile(mode)) found.push(path);
    }
  };
  walk(root);
  return found;
}

/**
 * Install the `install` packages into *py* (nothing is imported) and compile their modules, so a
 * page importing them reads bytecode instead of compiling them again; the bytecode is checked
 * against a hash of its source (PEP 552), not its time, because the files are written back with
 * new times after each restore (and a page that edits a source still gets what it wrote).
 * @param {any} py
 * @returns {Promise<{ files: [string, Uint8Array][], loaded: Record<string, string> }>}
 */
async function installPackages(py) {
  const sitePackages = String(py.pyimport("sysconfig").get_paths().get("purelib"));
  const before = new Set(filesUnder(py, sitePackages));
  /** @type {string[]} */
  const problems = [];
  await py.loadPackage(config.install, {
    messageCallback: () => {},
    errorCallback: (/** @type {string} */ text) => problems.push(text),
    checkIntegrity: true,
  });
  const missing = config.install.filter((/** @type {string} */ spec) => !(loadKey(spec) in py.loadedPackages));
  if (missing.length) {
    throw new Error(`could not install ${missing.join(", ")}: ${problems.join("; ") || "not found in the verified package folder"}`);
  }
  const compiler = py.pyimport("py_compile");
  const checked = compiler.PycInvalidationMode.CHECKED_HASH;
  for (const path of filesUnder(py, sitePackages)) {
    if (!before.has(path) && path.endsWith(".py")) {
      compiler.compile.callKwargs(path, { doraise: false, invalidation_mode: checked });
    }
  }
  /** @type {[string, Uint8Array][]} */
  const files = filesUnder(py, sitePackages)
    .filter((path) => !before.has(path))
    .map((path) => [path, py.FS.readFile(path)]);
  /** @type {Record<string, string>} */
  const loaded = {};
  for (const spec of config.install) loaded[loadKey(spec)] = py.loadedPackages[loadKey(spec)];
  return { files, loaded };
}

/** Forget what the import system knows of the folders (not of the unchanged stdlib zip). */
const INVALIDATE_FOLDERS = `
import sys as _sys
from importlib.machinery import FileFinder as _FileFinder
for _finder in list(_sys.path_importer_cache.values()):
    if isinstance(_finder, _FileFinder):
        _finder.invalidate_caches()
if "importlib.metadata" in _sys.modules:
    _sys.modules["importlib.metadata"].MetadataPathFinder.invalidate_caches()
del _sys, _FileFinder, _finder
`;

/** Put the installed files and Pyodide's record of them into *py*, restored from the installed snapshot. @param {any} py */
function writeInstalled(py) {
  const { files, loaded } = /** @type {Installed} */ (installed);
  for (const [path, data] of files) {
    py.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
    py.FS.writeFile(path, data);
  }
  Object.assign(py.loadedPackages, loaded);
  // The import system's view of the folders changed. Not `importlib.invalidate_caches()`: it
  // also makes the standard library's zip importer read the zip's directory again (thousands of
  // entries, parsed in Python: 0.5-2 s a restore, paid by the first import from the stdlib).
  py.runPython(INVALIDATE_FOLDERS);
}

/**
 * The files and record beside an installed snapshot: a 4-byte length, a JSON header
 * `{files: [[path, size]...], loaded}`, then the files' bytes in order.
 * @param {Installed} made
 */
function packInstalled(made) {
  const header = Buffer.from(JSON.stringify({ files: made.files.map(([path, data]) => [path, data.length]), loaded: made.loaded }));
  const size = Buffer.alloc(4);
  size.writeUInt32LE(header.length);
  return Buffer.concat([size, header, ...made.files.map(([, data]) => data)]);
}

/** @param {string} path @returns {Installed} */
function readInstalled(path) {
  const bundle = fs.readFileSync(`${path}.files`);
  const length = bundle.readUInt32LE(0);
  const header = JSON.parse(bundle.subarray(4, 4 + length).toString("utf8"));
  let offset = 4 + length;
  /** @type {[string, Uint8Array][]} */
  const files = header.files.map((/** @type {[string, number]} */ [file, size]) => {
    const data = new Uint8Array(bundle.subarray(offset, offset + size));
    offset += size;
    return [file, data];
  });
  return { snapshot: readSnapshot(path), files, loaded: header.loaded };
}

/**
 * Restore the base snapshot, install the packages, snapshot that memory and keep it (with the
 * files) at *path*: later harnesses verify and load it instead of installing again.
 * @param {string} path
 * @returns {Promise<Installed>}
 */
async function makeInstalled(path) {
  let maker = await load({ _loadSnapshot: snapshot, _makeSnapshot: true });
  let { files, loaded } = await installPackages(maker);
  if (!compileImports(maker)) {
    // importing left traces the baseline cannot undo: snapshot the installation alone
    maker = await load({ _loadSnapshot: snapshot, _makeSnapshot: true });
    ({ files, loaded } = await installPackages(maker));
  }
  const made = { snapshot: snapshotWithBaseline(maker), files, loaded };
  const bundle = packInstalled(made);
  writeAtomically(path, made.snapshot);
  writeAtomically(`${path}.files`, bundle);
  const digests = [made.snapshot, bundle].map((bytes) => createHash("sha256").update(bytes).digest("hex"));
  writeAtomically(`${path}.sha256`, Buffer.from(digests.join(" ") + "\n"));
  return made;
}

/**
 * Import the installed packages' modules (`installImports`) in *py* and put it back as between two
 * pages, so the installed snapshot holds their code already compiled (`keep_compiled_stdlib`)
 * while every page still starts without their modules; then import the standard-library modules
 * they pulled in again, on their own, so those stay imported (`stdlib_imported_since`). Returns
 * whether the interpreter is back to its state before the imports.
 * @param {any} py
 */
function compileImports(py) {
  const names = config.installImports || [];
  if (!names.length) return true;
  const isolation = py.pyimport("pyrun_isolation");
  const baseline = isolation.Baseline();
  for (const name of names) {
    try {
      py.pyimport(name);
    } catch {
      // a module that fails to import fails in the page that imports it, as before
    }
  }
  const stdlib = isolation.stdlib_imported_since(baseline);
  const modules = stdlib.toJs();
  stdlib.destroy();
  const problems = baseline.restore();
  const clean = problems.toJs().length === 0;
  problems.destroy();
  baseline.destroy();
  isolation.destroy();
  if (!clean) return false;
  for (const name of modules) {
    try {
      py.pyimport(name).destroy?.();
    } catch {
      // imported by a package's code path that set something up first: the page imports it
    }
  }
  return true;
}

/**
 * Restored interpreters share the snapshot's random state: reseed from the OS. A snapshot's maker
 * runs it too, just before keeping its baseline (`keep_baseline`), so that a restored interpreter
 * is in the kept baseline's state.
 * @param {any} py
 */
const reseed = (py) => py.runPython("import random\nrandom.seed()\nimport pyrun_executor, pyrun_isolation");

/** Snapshot *py*'s memory with a baseline made just before (see `fresh_baseline`). @param {any} py */
function snapshotWithBaseline(py) {
  reseed(py);
  py.pyimport("pyrun_isolation").keep_baseline();
  return /** @type {Uint8Array} */ (py.makeMemorySnapshot());
}

/** @param {string} path @param {Uint8Array} bytes */
function writeAtomically(path, bytes) {
  const tmp = `${path}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, path);
}

/** @param {any} msg */
async function init(msg) {
  const started = performance.now();
  await settlePrepared(); // a second `init` (adopting a prestarted harness) decides what to keep
  // A second `init` adopts a prestarted, warmed harness for a check: what it has loaded (the
  // compiled module, V8's code for it, the snapshot) stays; only the settings and packages change.
  const again = loadPyodide !== null;
  config = msg;
  if (!again) {
    cacheWasmCompilation(fileURLToPath(new URL("pyodide.asm.wasm", pathToFileURL(msg.indexURL))));
    lockFileContents = fs.readFileSync(new URL("pyodide-lock.json", pathToFileURL(msg.indexURL)), "utf8");
    ({ loadPyodide } = await import(pathToFileURL(msg.indexURL + "pyodide.mjs").href));
  }
  let state = snapshot ? "loaded" : "off";
  if (msg.snapshot && msg.snapshot !== snapshotPath) {
    // Verified by Python (SHA-256 beside the bytes); a restore that still fails falls back to cold.
    snapshot = readSnapshot(msg.snapshot);
    snapshotPath = msg.snapshot;
    state = "loaded";
  }
  if (!snapshot && msg.makeSnapshot) {
    try {
      const maker = await load({ _makeSnapshot: true });
      installExecutor(maker);
      snapshot = snapshotWithBaseline(maker);
      const bytes = /** @type {Uint8Array} */ (snapshot);
      writeAtomically(msg.makeSnapshot, bytes);
      const digest = createHash("sha256").update(bytes).digest("hex");
      writeAtomically(`${msg.makeSnapshot}.sha256`, Buffer.from(digest + "\n"));
      state = "made";
    } catch (err) {
      snapshot = null;
      state = `failed: ${err}`;
    }
  }
  const specs = [...(msg.install || [])].sort();
  // a prestarted harness keeps its warm interpreter only when the check installs what it did
  const sameInstall = again && JSON.stringify(specs) === JSON.stringify([...installSpecs].sort()) && (msg.installed || "") === installedPath && Boolean(installed) === Boolean(msg.installed);
  if (!sameInstall) discard();
  installSpecs = new Set(specs);
  let installState = "off";
  if (sameInstall && installed) {
    installState = "loaded";
  } else if (installSpecs.size && (msg.installed || (snapshot && msg.makeInstalled))) {
    try {
      installed = msg.installed ? readInstalled(msg.installed) : await makeInstalled(msg.makeInstalled);
      installedPath = msg.installed || "";
      installState = msg.installed ? "loaded" : "made";
    } catch (err) {
      installed = null;
      installedPath = "";
      installState = `failed: ${err}`;
    }
  } else {
    installed = null;
    installedPath = "";
  }
  send({
    ev: "ready",
    seconds: (performance.now() - started) / 1000,
    node: process.version,
    snapshot: state,
    installed: installState,
  });
  prepare();
}

/**
 * A fresh interpreter with the `install` packages installed: restored from the installed snapshot,
 * else from the snapshot and installed, else booted cold and installed (random reseeded after a
 * restore).
 */
async function freshInterpreter() {
  /** @type {string | undefined} */
  let snapshotError;
  /** @type {string | undefined} */
  let installedError;
  if (installed) {
    try {
      const py = await load({ _loadSnapshot: installed.snapshot });
      writeInstalled(py);
      reseed(py);
      return { py, how: "snapshot", kept: true, snapshotError, installedError };
    } catch (err) {
      installedError = String(err);
      toStderr("installed snapshot restore failed, installing in each interpreter:", err);
      installed = null;
    }
  }
  /** @type {any} */
  let py = null;
  let how = "cold";
  if (snapshot) {
    try {
      py = await load({ _loadSnapshot: snapshot });
      reseed(py);
      how = "snapshot";
    } catch (err) {
      snapshotError = String(err);
      toStderr("snapshot restore failed, booting cold:", err);
      snapshot = null;
    }
  }
  if (!py) {
    py = await load({});
    installExecutor(py);
  }
  if (installSpecs.size) await installPackages(py);
  // the snapshot's kept baseline describes this interpreter unless something ran since the restore
  const kept = how === "snapshot" && !installSpecs.size;
  return { py, how, kept, snapshotError, installedError };
}

/**
 * The interpreter the next page may use, restored to its baseline after the last page.
 * @type {{ py: any, baseline: any, token: number, files: { touched: boolean, always: boolean }, watch: { id: number, addresses: number[], changed: Set<number>, full: boolean } | null, libraries: Set<string> } | null}
 */
let current = null;

/** Emscripten's file system calls through which Python can change a file or folder. */
const FS_CHANGES = [
  "write", "mknod", "symlink", "rename", "rmdir", "unlink", "truncate", "ftruncate", "utime",
  "chmod", "fchmod", "lchmod", "msync", // fallocate: ftruncate
];

/**
 * Note whether *py*'s files may have changed (`touched`, reset by the caller), so that putting the
 * interpreter back compares its files with the baseline's only after a page that may have changed
 * them: walking the whole file system (the site's installed packages too) was ~1.5 ms of every
 * page's ~4 ms reset on a small project, more with more installed files. Emscripten's system
 * calls reach these functions through the `FS` object, so a wrapper sees every call; writes to a
 * device (the terminal) do not count. An `FS` without one of them is always walked.
 * @param {any} py
 */
function watchFiles(py) {
  const FS = py.FS;
  const files = { touched: true, always: false };
  for (const name of FS_CHANGES) {
    const original = FS[name];
    if (typeof original !== "function") {
      files.always = true;
      continue;
    }
    FS[name] =
      name === "write"
        ? function (/** @type {any} */ stream, /** @type {any[]} */ ...rest) {
            if (!FS.isChrdev(stream?.node?.mode)) files.touched = true;
            return original.call(this, stream, ...rest);
          }
        : function (/** @type {any[]} */ ...args) {
            files.touched = true;
            return original.apply(this, args);
          };
  }
  return files;
}
/**
 * Watch the namespaces *baseline* compares after each page (`watch_targets`) with CPython's dict
 * watchers, so that putting the interpreter back compares only those a page changed (comparing
 * all ~1,200 module and class dicts was ~4 ms of a page's ~4.5 ms reset). The watcher is a
 * JavaScript function in the WebAssembly table: it notes the dict and stops watching it (so a dict
 * written in a loop calls it once), and no Python runs inside the dict operation. The first reset
 * of an interpreter compares everything (what ran between its baseline and this call is not
 * seen). Returns null, and every reset compares everything, where the runtime has no watchers.
 * @param {any} py @param {any} baseline
 * @returns {{ id: number, addresses: number[], changed: Set<number>, full: boolean } | null}
 */
function watchNamespaces(py, baseline) {
  const runtime = py._module;
  if (typeof runtime?.addFunction !== "function" || typeof runtime._PyDict_AddWatcher !== "function") return null;
  const targets = baseline.watch_targets();
  const addresses = /** @type {number[]} */ (targets.toJs());
  targets.destroy();
  /** @type {Set<number>} */
  const changed = new Set();
  const watch = { id: -1, addresses, changed, full: true };
  try {
    const callback = runtime.addFunction((/** @type {number} */ _event, /** @type {number} */ dict) => {
      changed.add(dict >>> 0); // an address (an unsigned i32)
      runtime._PyDict_Unwatch(watch.id, dict);
      return 0;
    }, "iiiii");
    watch.id = runtime._PyDict_AddWatcher(callback);
  } catch (err) {
    toStderr("dict watchers unavailable, each reset compares every namespace:", err);
    return null;
  }
  if (watch.id < 0 || !rewatch(runtime, watch, addresses)) {
    runtime._PyErr_Clear();
    return null;
  }
  return watch;
}

/**
 * Watch *addresses* again (after a reset put them back). Returns false if the runtime refused one.
 * @param {any} runtime @param {{ id: number }} watch @param {Iterable<number>} addresses
 */
function rewatch(runtime, watch, addresses) {
  for (const address of addresses) {
    if (runtime._PyDict_Watch(watch.id, address) < 0) return false;
  }
  return true;
}

/** How the interpreter a warm-up kept in `current` was started, until a page uses it. */
let warmedHow = "";

/**
 * The first page's interpreter, being restored since `init` answered (a promise of what
 * `pageInterpreter` returns), or `null`. Python sends the first page only after its own work
 * (adopting a prestarted harness, planning the pages: 15-40 ms), during which the main thread
 * here was idle; the restore (~0.2 s) is the first thing every page needs, so it starts at once.
 * @type {Promise<any> | null}
 */
let preparing = null;

/** Start restoring the first page's interpreter (when there is a snapshot to restore it from). */
function prepare() {
  if (preparing || current || !(installed || snapshot)) return;
  preparing = freshPageInterpreter();
  preparing.catch(() => {}); // surfaces where it is awaited: the first page (or the next `init`)
}

/** Wait for an interpreter being prepared; a failed one is dropped (the next page starts its own). */
async function settlePrepared() {
  if (!preparing) return;
  try {
    await preparing;
  } catch {
    preparing = null;
  }
}

async function pageInterpreter() {
  if (preparing) {
    const prepared = preparing;
    preparing = null;
    return { ...(await prepared), prepared: true };
  }
  return { ...(await freshPageInterpreter()), prepared: false };
}

async function freshPageInterpreter() {
  if (current) {
    // the interpreter a warm-up restored counts as started for the page that first uses it
    const how = warmedHow || "reused";
    warmedHow = "";
    return { ...current, how, snapshotError: undefined, installedError: undefined };
  }
  const fresh = await freshInterpreter();
  const files = watchFiles(fresh.py);
  const baseline = fresh.py.pyimport("pyrun_isolation").fresh_baseline(fresh.kept);
  files.touched = files.always;
  current = {
    py: fresh.py, baseline, token: ++tokens, files, watch: watchNamespaces(fresh.py, baseline),
    libraries: new Set(libraryNames(fresh.py)),
  };
  return { ...current, how: fresh.how, snapshotError: fresh.snapshotError, installedError: fresh.installedError };
}

/**
 * The dynamic libraries Emscripten knows in *py*'s process: one ``ctypes`` loads stays known
 * after its page, even one that failed to load (python-chess's gaviota page: the next page's load
 * of it "succeeded" where a fresh interpreter raises OSError). The standard library's and the
 * packages' own extension modules (under ``/lib/python3``) are loaded again alike.
 * @param {any} py
 * @returns {string[]}
 */
function libraryNames(py) {
  return Object.keys(py._module.LDSO?.loadedLibsByName ?? {});
}

function discard() {
  clearTimers();
  preparing = null;
  current = null;
  warmedHow = "";
}

/**
 * After a page: undo what it did, or say why the next page needs a fresh interpreter.
 * @param {boolean} loadedPackages
 * @returns {Promise<string[]>}
 */
async function handOn(loadedPackages) {
  const pending = await drainTimers();
  /** @type {string[]} */
  const reasons = [];
  if (config.isolation === "interpreter") reasons.push("isolation=interpreter");
  if (loadedPackages) reasons.push("packages were loaded");
  if (pending) reasons.push(`${pending} timer(s) still pending`);
  if (!reasons.length && current) {
    const { files, watch } = current;
    // the namespaces a page changed (all on an interpreter's first reset); watched again after
    const suspects = watch && !watch.full ? [...watch.changed] : null;
    watch?.changed.clear();
    const problems = current.baseline.restore(files.touched, suspects ?? undefined);
    files.touched = files.always; // what the restore itself deleted is the baseline again
    if (watch && !rewatch(current.py._module, watch, suspects ?? watch.addresses)) {
      current.py._module._PyErr_Clear();
      current.watch = null;
    }
    if (watch) watch.full = false;
    reasons.push(...problems.toJs());
    problems.destroy();
    const loaded = libraryNames(current.py).filter((name) => !current?.libraries.has(name));
    const own = loaded.filter((name) => !name.startsWith("/lib/python3"));
    if (own.length) reasons.push(`a library was loaded (or failed to load): ${own.join(", ")}`);
  }
  if (reasons.length) discard();
  return reasons;
}

// --- running a page ------------------------------------------------------------------------------

/** @param {any} err */
function describeFatal(err) {
  const text = String(err && err.message ? err.message : err);
  const exit = /Program terminated with exit\((\d+)\)/.exec(text);
  if (exit) {
    return {
      type: "InterpreterExit",
      message: `the example ended the interpreter (exit status ${exit[1]}, e.g. os._exit())`,
    };
  }
  if (/Maximum call stack size exceeded/.test(text) || /stack overflow/i.test(text)) {
    return {
      type: "RecursionError",
      message: "the interpreter's stack overflowed (recursion too deep for WebAssembly)",
    };
  }
  return { type: "FatalError", message: `the interpreter failed: ${text.split("\n")[0]}` };
}

/** @param {any} msg */
async function runPage(msg) {
  const started = performance.now();
  let interpreter;
  try {
    interpreter = await pageInterpreter();
  } catch (err) {
    discard();
    send({ ev: "page-error", page: msg.page, message: `Pyodide could not start: ${err}` });
    return;
  }
  const { py, how, snapshotError, installedError, token, prepared } = interpreter;
  activeToken = token;
  timers.clear(); // only what this page schedules counts against handing the interpreter on
  const seconds = (performance.now() - started) / 1000;
  // prepared: restored since `init` answered, not since this page came
  send({ ev: "booted", page: msg.page, seconds, how, prepared, snapshotError, installedError });
  // what the interpreter has installed already is not loaded again (and leaves it reusable)
  const extra = (msg.packages || []).filter((/** @type {string} */ spec) => !installSpecs.has(spec));
  const loadedPackages = extra.length > 0;
  if (loadedPackages) {
    /** @type {string[]} */
    const problems = [];
    try {
      await py.loadPackage(extra, {
        messageCallback: () => {},
        errorCallback: (/** @type {string} */ text) => problems.push(text),
        checkIntegrity: true,
      });
    } catch (err) {
      problems.push(String(err));
    }
    const missing = extra.filter((/** @type {string} */ spec) => !(loadKey(spec) in py.loadedPackages));
    if (missing.length) {
      discard();
      const detail = problems.join("; ") || "not found in the verified package folder";
      send({ ev: "page-error", page: msg.page, message: `could not load ${missing.join(", ")}: ${detail}` });
      return;
    }
  }
  const executor = makeExecutor(py, token);
  for (const run of msg.runs) {
    sink = new OutputSink(config.outputLimit);
    send({ ev: "start", run: run.run });
    const runStarted = performance.now();
    let result;
    let fatal = false;
    try {
      const method = run.transcript ? executor.run_transcript : executor.run;
      const ended = new Promise((_, reject) => {
        failRunning = reject;
      });
      // `undefined` (not `null`, which Pyodide passes as `jsnull`) is Python's None.
      const running = method.callKwargs(run.code, {
        run_id: run.run,
        session: run.session ?? undefined,
        filename: run.filename,
        raises: run.raises ?? undefined,
        stdin: run.stdin ?? undefined,
        module: run.module ?? undefined,
        docstring: run.docstring ?? undefined,
        ...(run.transcript
          ? { flags: run.flags ?? undefined, want: run.want ?? undefined, echo: Boolean(run.echo), main: Boolean(run.main) }
          : {}),
      });
      const text = await Promise.race([running, ended]);
      result = JSON.parse(text);
    } catch (err) {
      fatal = true;
      process.exitCode = 0; // Emscripten records the snippet's exit status as ours
      const { type, message } = describeFatal(err);
      result = { ok: false, error: { type, message, traceback: `${type}: ${message}\n`, line: null } };
    }
    failRunning = null;
    const kept = /** @type {OutputSink} */ (sink).result();
    sink = null;
    const ms = performance.now() - runStarted;
    send({ ev: "done", run: run.run, result, ...kept, fatal, ms });
    if (fatal) {
      discard(); // this interpreter is unusable; Python resumes the page in a fresh one
      return;
    }
  }
  executor.destroy();
  const resetStarted = performance.now();
  let fresh;
  try {
    fresh = await handOn(loadedPackages);
  } catch (err) {
    discard();
    fresh = [`restoring the interpreter failed: ${err}`];
  }
  const resetMs = performance.now() - resetStarted;
  const watched = current?.watch?.addresses.length ?? 0; // namespaces watched (0: all compared)
  send({ ev: "page-done", page: msg.page, rss: process.memoryUsage().rss, fresh, resetMs, watched });
}

/**
 * Warm a prestarted harness while the docs are still being read: restore the interpreter the first
 * page will use and run a snippet and a transcript through the executor (and import `msg.imports`,
 * the site's installed modules), so V8 has compiled the interpreter's hot code and Python the
 * modules' before the first page. The interpreter is then put back to the state it was restored in,
 * exactly as between two pages, and the first page gets it (a second `init` with other packages
 * drops it).
 * @param {any} msg
 */
async function warm(msg) {
  const started = performance.now();
  const interpreter = await pageInterpreter();
  if (requestWaiting()) {
    // the check waits for this harness (it sent `hurry`): its first page warms the interpreter,
    // restored and untouched (the warm-up's runs and reset held that page back ~0.1 s)
    warmedHow = "prestarted";
    send({ ev: "warmed", seconds: (performance.now() - started) / 1000, kept: true, how: interpreter.how, hurried: true });
    return;
  }
  const executor = makeExecutor(interpreter.py, -1); // token -1: its output goes nowhere
  const imports = (msg.imports || []).map((/** @type {string} */ name) => `try:\n    import ${name}\nexcept Exception:\n    pass\n`);
  await executor.run.callKwargs(["import textwrap\nx = textwrap.dedent(' 1')\n", ...imports].join(""), { run_id: "warm", filename: "<warm>" });
  await executor.run_transcript.callKwargs(">>> 1 + 1\n2\n", { run_id: "warm", filename: "<warm>" });
  executor.destroy();
  let kept = false;
  try {
    kept = (await handOn(false)).length === 0;
  } catch {
    discard();
  }
  if (kept) warmedHow = "prestarted"; // restored while the docs were read
  send({ ev: "warmed", seconds: (performance.now() - started) / 1000, kept, how: interpreter.how });
}

// --- the request loop ----------------------------------------------------------------------------

await serve({ init, runPage, warm });
