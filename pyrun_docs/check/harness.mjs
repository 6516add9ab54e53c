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
 *    snapshot, makeSnapshot}
 *   {op: "page", page, packages, runs: [{run, code, session, filename, raises, stdin, transcript, flags, want,
 *     module}]}
 * Events (harness -> Python):
 *   {ev: "ready", seconds, node, snapshot: "loaded" | "made" | "off" | "failed: ..."}
 *   {ev: "booted", page, seconds, how: "reused" | "snapshot" | "cold", snapshotError?}
 *   {ev: "start", run} | {ev: "done", run, result, messages, dropped, fatal, ms}
 *   {ev: "page-done", page, rss, resetMs, fresh: [why the next page needs a fresh interpreter]}
 *   {ev: "page-error", page, message}
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
import { pathToFileURL } from "node:url";
import { OutputSink, send, serve, snippetGlobals, startHarness, toStderr } from "./harness_io.mjs";

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

/** Compile the 9.6 MB wasm once per process; every later interpreter instantiates the same module. */
function cacheWasmCompilation() {
  const instantiate = WebAssembly.instantiate.bind(WebAssembly);
  /** @type {Promise<WebAssembly.Module> | null} */
  let compiled = null;
  /** @type {any} */ (WebAssembly).instantiate = async (
    /** @type {any} */ source,
    /** @type {any} */ imports,
  ) => {
    if (source instanceof WebAssembly.Module) return instantiate(source, imports);
    compiled ??= WebAssembly.compile(source);
    const module = await compiled;
    return { instance: await instantiate(module, imports), module };
  };
}

/** @type {any} */
let config = null;
/** @type {any} */
let loadPyodide = null;
/** @type {Uint8Array | null} */
let snapshot = null;
let lockFileContents = "";

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
  for (const name of config.warm || []) py.pyimport(name);
}

/** @param {any} py @param {number} token */
function makeExecutor(py, token) {
  const module = py.pyimport("pyrun_executor");
  return module.Executor.callKwargs(collector(token), { output_limit: config.outputLimit });
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
  config = msg;
  cacheWasmCompilation();
  lockFileContents = fs.readFileSync(new URL("pyodide-lock.json", pathToFileURL(msg.indexURL)), "utf8");
  ({ loadPyodide } = await import(pathToFileURL(msg.indexURL + "pyodide.mjs").href));
  let state = "off";
  if (msg.snapshot) {
    // Verified by Python (SHA-256 beside the bytes); a restore that still fails falls back to cold.
    snapshot = new Uint8Array(fs.readFileSync(msg.snapshot));
    state = "loaded";
  }
  if (!snapshot && msg.makeSnapshot) {
    try {
      const maker = await load({ _makeSnapshot: true });
      installExecutor(maker);
      snapshot = maker.makeMemorySnapshot();
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
  send({ ev: "ready", seconds: (performance.now() - started) / 1000, node: process.version, snapshot: state });
}

/** A fresh interpreter: restored from the snapshot (random reseeded), else booted cold. */
async function freshInterpreter() {
  let snapshotError;
  if (snapshot) {
    try {
      const py = await load({ _loadSnapshot: snapshot });
      // Restored interpreters share the snapshot's random state: reseed from the OS.
      py.runPython("import random\nrandom.seed()\nimport pyrun_executor, pyrun_isolation");
      return { py, how: "snapshot", snapshotError };
    } catch (err) {
      snapshotError = String(err);
      toStderr("snapshot restore failed, booting cold:", err);
      snapshot = null;
    }
  }
  const py = await load({});
  installExecutor(py);
  return { py, how: "cold", snapshotError };
}

/**
 * The interpreter the next page may use, restored to its baseline after the last page.
 * @type {{ py: any, baseline: any, token: number } | null}
 */
let current = null;

async function pageInterpreter() {
  if (current) return { ...current, how: "reused", snapshotError: undefined };
  const fresh = await freshInterpreter();
  const baseline = fresh.py.pyimport("pyrun_isolation").Baseline();
  current = { py: fresh.py, baseline, token: ++tokens };
  return { ...current, how: fresh.how, snapshotError: fresh.snapshotError };
}

function discard() {
  clearTimers();
  current = null;
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
    const problems = current.baseline.restore();
    reasons.push(...problems.toJs());
    problems.destroy();
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
  const { py, how, snapshotError, token } = interpreter;
  activeToken = token;
  timers.clear(); // only what this page schedules counts against handing the interpreter on
  const seconds = (performance.now() - started) / 1000;
  send({ ev: "booted", page: msg.page, seconds, how, snapshotError });
  const loadedPackages = Boolean(msg.packages && msg.packages.length);
  if (loadedPackages) {
    /** @type {string[]} */
    const problems = [];
    try {
      await py.loadPackage(msg.packages, {
        messageCallback: () => {},
        errorCallback: (/** @type {string} */ text) => problems.push(text),
        checkIntegrity: true,
      });
    } catch (err) {
      problems.push(String(err));
    }
    // a wheel of ours is loaded by path; Pyodide records it under its file name's first part
    const loadKey = (/** @type {string} */ spec) =>
      spec.endsWith(".whl") ? String(spec.split(/[\\/]/).pop()).split("-")[0].toLowerCase() : spec;
    const missing = msg.packages.filter((/** @type {string} */ spec) => !(loadKey(spec) in py.loadedPackages));
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
        ...(run.transcript
          ? { flags: run.flags ?? undefined, want: run.want ?? undefined, echo: Boolean(run.echo) }
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
  send({ ev: "page-done", page: msg.page, rss: process.memoryUsage().rss, fresh, resetMs });
}

// --- the request loop ----------------------------------------------------------------------------

await serve({ init, runPage });
