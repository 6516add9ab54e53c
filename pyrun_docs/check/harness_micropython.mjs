// @ts-check
/**
 * pyrun-docs build check harness for MicroPython: the pinned MicroPython in Node.js, running
 * snippets through the browser's own MicroPython host (`assets/pyrun-micropython.js`) and so through
 * the same executor module, exactly as a reader's worker does.
 *
 * Same protocol as harness.mjs (JSON lines: requests on stdin, events on stdout, written
 * synchronously so an event is out before a snippet can block the thread):
 *   {op: "init", runtimeDir, executor, executorMpy (path or null), host, outputLimit}
 *   {op: "page", page, packages, runs: [{run, code, session, filename, raises, stdin, transcript, flags, want,
 *     module}]}
 *   -> {ev: "ready", seconds, node, snapshot: "off"}
 *   -> {ev: "booted", page, seconds, how: "cold"} | {ev: "page-error", page, message}
 *   -> {ev: "start", run} | {ev: "done", run, result, messages, dropped, fatal, ms}
 *   -> {ev: "page-done", page, rss, resetMs, fresh: []}
 *
 * Every page boots its own interpreter (tens of milliseconds), so pages never share modules or
 * variables; the pool kills this process when a snippet runs past its timeout. No network (`fetch`
 * fails, Python's `js` module sees only the language's own globals), no stdin (MicroPython's stdin
 * is at end of file; the executor's `input` reads the snippet's `stdin` lines or fails).
 */

import * as fs from "node:fs";
import { pathToFileURL } from "node:url";
import { OutputSink, send, serve, snippetGlobals, startHarness, toStderr } from "./harness_io.mjs";

startHarness();
process.on("unhandledRejection", (err) => toStderr("unhandled rejection:", err));
process.on("uncaughtException", (err) => toStderr("uncaught error:", err));

/** @type {any} */
let config = null;
/** @type {any} */
let loadMicroPython = null;
/** @type {any} */
let startMicroPython = null;
let executorSource = "";
/** @type {Uint8Array | null} the executor's bytecode (executor.mpy), as the browser gets it */
let executorBytecode = null;

/** @type {OutputSink | null} */
let sink = null;

/** @param {string} text */
function collect(text) {
  if (sink) sink.add(text);
}

/** @param {any} msg */
async function init(msg) {
  const started = performance.now();
  config = msg;
  ({ loadMicroPython } = await import(pathToFileURL(msg.runtimeDir + "micropython.mjs").href));
  ({ startMicroPython } = await import(pathToFileURL(msg.host).href));
  executorSource = fs.readFileSync(msg.executor, "utf8");
  executorBytecode = msg.executorMpy ? new Uint8Array(fs.readFileSync(msg.executorMpy)) : null;
  send({ ev: "ready", seconds: (performance.now() - started) / 1000, node: process.version, snapshot: "off" });
}

/** @param {any} err */
function describeFatal(err) {
  const text = String(err && err.message ? err.message : err);
  if (/Maximum call stack size exceeded/.test(text) || /stack overflow/i.test(text)) {
    return {
      type: "RecursionError",
      message: "the interpreter's stack overflowed (recursion too deep for WebAssembly)",
    };
  }
  if (/memory/i.test(text)) {
    return { type: "MemoryError", message: `MicroPython ran out of memory: ${text.split("\n")[0]}` };
  }
  return { type: "FatalError", message: `the interpreter failed: ${text.split("\n")[0]}` };
}

/** @param {any} msg */
async function runPage(msg) {
  const started = performance.now();
  if (msg.packages && msg.packages.length) {
    send({ ev: "page-error", page: msg.page, message: "MicroPython loads no packages" });
    return;
  }
  let host;
  try {
    host = await startMicroPython(loadMicroPython, {
      executor: executorBytecode ?? executorSource,
      source: () => executorSource,
      emit: collect,
      outputLimit: config.outputLimit,
      url: config.runtimeDir + "micropython.wasm",
      jsModule: snippetGlobals(),
    });
  } catch (err) {
    send({ ev: "page-error", page: msg.page, message: `MicroPython could not start: ${err}` });
    return;
  }
  send({ ev: "booted", page: msg.page, seconds: (performance.now() - started) / 1000, how: "cold" });
  for (const run of msg.runs) {
    sink = new OutputSink(config.outputLimit);
    send({ ev: "start", run: run.run });
    const runStarted = performance.now();
    let result;
    let fatal = false;
    try {
      result = host.run(run);
    } catch (err) {
      fatal = true;
      process.exitCode = 0;
      const { type, message } = describeFatal(err);
      result = { ok: false, error: { type, message, traceback: `${type}: ${message}\n`, line: null } };
    }
    const kept = /** @type {OutputSink} */ (sink).result();
    sink = null;
    const ms = performance.now() - runStarted;
    send({ ev: "done", run: run.run, result, ...kept, fatal, ms });
    if (fatal) return; // Python resumes the page in a fresh interpreter
  }
  send({ ev: "page-done", page: msg.page, rss: process.memoryUsage().rss, fresh: [], resetMs: 0 });
}

await serve({ init, runPage });
