// @ts-check
/**
 * What both check harnesses (`harness.mjs` for Pyodide, `harness_micropython.mjs`) share: the JSON
 * lines protocol on stdout, the watchdog that ends an orphaned harness, console output kept out of
 * the protocol, and the network switched off for snippets.
 */

import * as fs from "node:fs";
import * as nodeModule from "node:module";
import * as readline from "node:readline";
import v8 from "node:v8";
import { Worker } from "node:worker_threads";

/** What a request fails with (pyrun_docs.check.verdict reads it: `NO_NETWORK (it asked for URL)`). */
export const NO_NETWORK = "the pyrun-docs check has no network";

/** @param {unknown} url */
const noNetwork = (url) => new TypeError(`${NO_NETWORK} (it asked for ${String(url ?? "?")})`);

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Write one event, synchronously (so it is out before a snippet can block the thread). If nobody
 * reads any more (the check was stopped) the harness exits: an orphaned harness must never keep
 * running a snippet.
 * @param {Record<string, any>} event
 */
export function send(event) {
  const data = Buffer.from(JSON.stringify(event) + "\n", "utf8");
  let offset = 0;
  let waited = 0;
  while (offset < data.length) {
    try {
      offset += fs.writeSync(1, data, offset);
    } catch (err) {
      if (/** @type {any} */ (err).code !== "EAGAIN" || waited > 120_000) process.exit(0);
      Atomics.wait(pause, 0, 0, 5); // the pipe is full: let the reader catch up
      waited += 5;
    }
  }
}

/** Bytes of rich output (`display()` bundles, figures) one run may leave in its result. */
const DISPLAY_BUDGET = 16 * 1024 * 1024;

/**
 * What one snippet showed, kept as the reader's widget keeps it: the newest `limit` characters of
 * text (the head is cut and counted, so the tail, the part a reader sees last, is never lost) and
 * rich output in order, up to a byte budget (later bundles are counted, not kept).
 */
export class OutputSink {
  /** @param {number} limit characters of text kept (the site's `output_limit`) */
  constructor(limit) {
    this.limit = limit;
    /** @type {any[]} */
    this.messages = [];
    this.size = 0;
    this.bundleBytes = 0;
    /** characters of text cut from the head */
    this.dropped = 0;
    /** display bundles over the budget */
    this.droppedDisplays = 0;
    /** index of the oldest message that may still hold text */
    this.head = 0;
  }

  /** Take one executor message (JSON text). @param {string} text */
  add(text) {
    const message = JSON.parse(text);
    if (message.type === "display") {
      if (this.bundleBytes + text.length > DISPLAY_BUDGET) {
        this.droppedDisplays += 1;
        return;
      }
      this.bundleBytes += text.length;
    } else if (message.type === "stream") {
      this.size += String(message.text || "").length;
    }
    this.messages.push(message);
    while (this.size > this.limit && this.head < this.messages.length) {
      const first = this.messages[this.head];
      if (first.type !== "stream" || !first.text) {
        this.head += 1;
        continue;
      }
      const cut = Math.min(this.size - this.limit, first.text.length);
      first.text = first.text.slice(cut);
      this.size -= cut;
      this.dropped += cut;
      if (!first.text) this.head += 1;
    }
  }

  /** What the `done` event carries. */
  result() {
    const messages = this.messages.filter((m) => m.type !== "stream" || m.text || m.dropped);
    return { messages, dropped: this.dropped, droppedDisplays: this.droppedDisplays };
  }
}

/** @param {any[]} args */
export const toStderr = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");

/** @param {any} input a URL or a Request */
export const blocked = (input) => Promise.reject(noNetwork(input?.url ?? input));

export class BlockedWebSocket {
  /** @param {unknown} url */
  constructor(url) {
    throw noNetwork(url);
  }
}

/**
 * `XMLHttpRequest`, which fails when sent, naming the URL it was opened with (Pyodide's urllib3,
 * hence requests, sends one: the check said only that the network was off, naming no address).
 */
export class BlockedXMLHttpRequest {
  url = "";
  /** @param {string} _method @param {string} url */
  open(_method, url) {
    this.url = url;
  }
  setRequestHeader() {}
  overrideMimeType() {}
  abort() {}
  send() {
    throw noNetwork(this.url);
  }
}

/**
 * What `require("ws")` gives the runtime. Emscripten's sockets load that package under Node only:
 * a socket's `listen()` (any server, `http.server.HTTPServer(...)`) asked for it, found nothing,
 * and the error ended the interpreter ("Cannot find module 'ws'"), every later example of the page
 * unrun. In a browser `listen()` fails with errno 138, "Not supported", which Python raises as an
 * OSError: the same here (an error named so is the runtime's own errno, `FS.ErrnoError`); a
 * connection fails as `connect()` in a browser without network does.
 */
class NoSocketServers extends BlockedWebSocket {
  static Server = class {
    constructor() {
      throw Object.assign(new Error("server sockets are not supported"), { name: "ErrnoError", errno: 138 });
    }
  };
}

/** Resolve `require("ws")` (from the runtime's own `createRequire`) to {@link NoSocketServers}. */
function withoutWs() {
  const loader = /** @type {any} */ (nodeModule).default;
  const load = loader._load;
  loader._load = function (/** @type {string} */ request, /** @type {any[]} */ ...rest) {
    return request === "ws" ? NoSocketServers : load.call(this, request, ...rest);
  };
}

/**
 * V8's flags for a harness, set before any WebAssembly is compiled. A check runs many short
 * examples in a process that lives a few seconds: by default V8 re-compiles every WebAssembly
 * function that has run a little with its optimizing compiler, on background threads, and on 2
 * cores that competed with the examples (about a third of a process's CPU). A budget 100 times
 * the default still optimizes the interpreter's really hot code (a long-running example was no
 * slower), not the rest: 20-30% less CPU per process (`bench/check_speed.py --scenario real`,
 * attrs' docs). Lazy validation: V8 validates a function when it first compiles it, not all of
 * Pyodide's ~10 MB when the module is compiled (on background threads: 40 -> 15 ms, 68 -> 20 ms
 * of CPU per harness; a check whose harnesses restore side by side on 2 cores gains most,
 * `-j 2` on the real-docs tree 1.51 -> 1.34 s, interleaved, 8 pairs). Only on V8 12 (Node 22) and
 * newer: a module an engine cannot run then compiles all the same, which fools a feature probe,
 * and Pyodide probes WebAssembly GC by constructing its call trampoline, which Node 20's V8 11
 * rejects (with lazy validation it was taken, and every interpreter failed to start: "Invalid
 * opcode 0xfb"); V8 12 runs GC, so the probe answers the same. Set here, not on Node's
 * command line: any V8 flag there makes Node boot without its startup snapshot, ~17 ms more per
 * harness (median of 12 starts, 56 against 39 ms).
 */
export const V8_FLAGS = [
  "--wasm-tiering-budget=180000000",
  ...(Number(process.versions.v8.split(".")[0]) >= 12 ? ["--wasm-lazy-validation"] : []),
];
/**
 * With Node's compile cache on (`NODE_COMPILE_CACHE`, Node 22.1 and newer; the check sets it),
 * JavaScript loaded from now on is compiled whole, not function by function when first called, so
 * the cache keeps all of Pyodide's ~1.2 MB of it (2 MB of cache instead of 48 KB) and a restore
 * no longer compiles its functions as it calls them: 403 -> 351 ms a restore (median of 12
 * alternating starts each, on a machine at half its best speed). Without the cache (older Node)
 * compiling it all every time would cost more than it saves.
 */
export const CACHED_V8_FLAGS = ["--no-lazy"];

/**
 * Set the harness process up: V8's flags, everything Node or the runtime prints goes to stderr,
 * never into the protocol, and `fetch` / `WebSocket` fail with a message. The watchdog starts with
 * the first page (`watchParent`).
 */
export function startHarness() {
  const cached = Boolean(nodeModule.getCompileCacheDir?.());
  for (const flag of [...V8_FLAGS, ...(cached ? CACHED_V8_FLAGS : [])]) v8.setFlagsFromString(flag);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  console.warn = toStderr;
  console.error = toStderr;
  globalThis.fetch = /** @type {any} */ (blocked);
  /** @type {any} */ (globalThis).WebSocket = BlockedWebSocket;
  withoutWs();
}

/**
 * What Python's `js` module sees: the language's own globals and timers, no Node internals (no
 * `process`, no `require`); `eval` is there for `pyodide.code.run_js`, as in the browser, so this
 * is a guard against accidents, not a sandbox.
 */
export function snippetGlobals() {
  /** @type {Record<string, any>} */
  const g = {};
  const names = [
    "Array", "ArrayBuffer", "BigInt", "BigInt64Array", "BigUint64Array", "Boolean", "DataView",
    "Date", "Error", "EvalError", "Float32Array", "Float64Array", "Function", "Int16Array",
    "Int32Array", "Int8Array", "JSON", "Map", "Math", "Number", "Object", "Promise", "Proxy",
    "RangeError", "ReferenceError", "Reflect", "RegExp", "Set", "String", "Symbol", "SyntaxError",
    "TypeError", "URIError", "Uint16Array", "Uint32Array", "Uint8Array", "Uint8ClampedArray",
    "WeakMap", "WeakSet", "WebAssembly", "TextDecoder", "TextEncoder", "URL", "URLSearchParams",
    "AbortController", "Event", "EventTarget", "MessageChannel", "performance", "crypto",
    "structuredClone", "atob", "btoa", "queueMicrotask", "setTimeout", "clearTimeout",
    "setInterval", "clearInterval", "console", "isNaN", "isFinite", "parseFloat", "parseInt",
    "eval",
  ];
  for (const name of names) {
    if (name in globalThis) g[name] = /** @type {any} */ (globalThis)[name];
  }
  g.fetch = blocked;
  g.WebSocket = BlockedWebSocket;
  g.XMLHttpRequest = BlockedXMLHttpRequest;
  g.globalThis = g;
  g.self = g;
  return g;
}

/** @type {Worker | null} */
let watchdog = null;

/**
 * Start the watchdog thread: a snippet in `while True: pass` blocks the main thread, so only
 * another one can notice that the Python side is gone and end the process. Started with the first
 * page, not with the process: a Worker boots a second Node environment (~0.1 s of CPU), which
 * competed with the interpreter's restore and the check's reading of the docs for the cores;
 * before its first page a harness's main thread only starts and warms an interpreter, and sees
 * the end of its input when that is done.
 */
function watchParent() {
  if (watchdog) return;
  watchdog = new Worker(
    `const { workerData } = require("node:worker_threads");
     setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, "SIGKILL"); }, 500);`,
    { eval: true, workerData: process.ppid },
  );
  watchdog.unref();
}

/** Requests read and not answered yet (:func:`serve`). @type {string[]} */
const waiting = [];

/**
 * Whether a request waits while the harness works on another: a warm-up gives way to it (the
 * check wants this harness now; ``hurry`` says so before its first page can be sent).
 */
export const requestWaiting = () => waiting.length > 0;

/**
 * Answer requests (one JSON object a line on stdin) until `exit` or the end of input, then exit.
 * A request that throws is reported as a `page-error`; the harness goes on with the next one.
 * @param {{init: (msg: any) => Promise<void>, runPage: (msg: any) => Promise<void>,
 *   warm?: (msg: any) => Promise<void>}} handlers
 */
export async function serve({ init, runPage, warm }) {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  let ended = false;
  /** @type {(() => void) | null} */
  let wake = null;
  lines.on("line", (line) => {
    if (line.trim()) waiting.push(line);
    wake?.();
  });
  lines.on("close", () => {
    ended = true;
    wake?.();
  });
  for (;;) {
    if (!waiting.length) {
      if (ended) break;
      await new Promise((resolve) => {
        wake = () => resolve(undefined);
      });
      wake = null;
      continue;
    }
    const msg = JSON.parse(/** @type {string} */ (waiting.shift()));
    if (msg.op === "hurry") continue; // read by a warm-up (`requestWaiting`): nothing to do now
    try {
      if (msg.op === "init") await init(msg);
      else if (msg.op === "page") {
        watchParent();
        await runPage(msg);
      }
      else if (msg.op === "warm" && warm) await warm(msg);
      else if (msg.op === "exit") break;
    } catch (err) {
      send({ ev: "page-error", page: msg.page ?? null, message: `harness error: ${err && /** @type {any} */ (err).stack || err}` });
    }
  }
  process.exit(0);
}
