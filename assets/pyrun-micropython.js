// @ts-check
/**
 * pyrun-docs MicroPython host: boots a MicroPython instance and runs snippets through the shared
 * executor module (`pyrun_executor`, the same file Pyodide runs), so the same JSON messages come
 * out. Used by the browser worker (pyrun-worker.js, after it verified the runtime's files) and by
 * the build check's harness (harness_micropython.mjs), so the check judges what readers see.
 *
 * What MicroPython's JavaScript API lacks, and how this module copes:
 * - `sys.stdout` cannot be replaced: the executor swaps `print`/`input` instead, and whatever
 *   reaches the real stdout/stderr (`sys.stdout.write`) is collected here byte by byte (no line
 *   buffering, so a trailing partial line is never lost) and pulled in by the executor before each
 *   of its own writes, which keeps the order.
 * - No keyword arguments, no awaiting a coroutine from JavaScript: the executor's `run_blocking`.
 * - No `__future__` module: a one-line stand-in, so the executor's
 *   `from __future__ import annotations` imports (MicroPython never evaluates annotations).
 * - `input()` must never read the host's stdin (in Node that is the check's protocol): stdin is
 *   at end of file, and the executor's `input` uses the snippet's `stdin` lines or fails.
 */

/**
 * MicroPython's garbage-collected heap to start with, in bytes: more than its default 1 MB, so
 * examples rarely wait for it to grow (it grows on its own when full).
 */
export const HEAP_SIZE = 8 * 1024 * 1024;

/**
 * @typedef {object} MicroPythonHost
 * @property {(msg: any) => any} run run one snippet (`{run, code, session, filename, raises,
 *   stdin, transcript, flags, console, echo, want, module}`); returns the executor's result object
 * @property {any} mp the MicroPython instance
 */

/**
 * Import the executor as `pyrun_executor`: its bytecode when given (no compiling on every start),
 * else, or when this runtime rejects that bytecode (another .mpy version), its source.
 * @param {any} mp @param {{executor: string | Uint8Array, source?: () => string | Promise<string>}} options
 */
async function importExecutor(mp, options) {
  if (options.executor instanceof Uint8Array) {
    // the path is the source name mpy-cross embedded (pyrun_docs/mpy.py: EMBEDDED_NAME)
    mp.FS.writeFile("/pyrun/pyrun_executor.mpy", options.executor);
    try {
      mp.runPython("import pyrun_executor");
      return;
    } catch (err) {
      mp.FS.unlink("/pyrun/pyrun_executor.mpy");
      if (!options.source) throw err;
      console.warn(`pyrun: MicroPython cannot load executor.mpy (${String(err).trim()}); using its source`);
    }
  }
  const source = options.executor instanceof Uint8Array && options.source
    ? await options.source()
    : /** @type {string} */ (options.executor);
  mp.FS.writeFile("/pyrun/pyrun_executor.py", source);
  mp.runPython("import pyrun_executor");
}

/**
 * Boot MicroPython and load the executor into it.
 * @param {(options: any) => Promise<any>} loadMicroPython the runtime module's export
 * @param {{executor: string | Uint8Array, source?: () => string | Promise<string>,
 *   emit: (text: string) => void, outputLimit: number, url?: string, jsModule?: any}} options
 *   `executor`: the executor's source, or its bytecode (`executor.mpy`, made by mpy-cross of the
 *   runtime's release); `source`: gives the source when the runtime rejects that bytecode;
 *   `emit`: receives each message as JSON text; `url`: where the wasm is (default: next to the
 *   runtime module); `jsModule`: what Python's `js` module is (the check passes a restricted set
 *   of globals)
 * @returns {Promise<MicroPythonHost>}
 */
export async function startMicroPython(loadMicroPython, options) {
  const limit = Math.max(4096, 4 * (Number(options.outputLimit) || 100000));
  /** @type {Record<string, number[]>} */
  const raw = { stdout: [], stderr: [] };
  /** @type {Record<string, TextDecoder>} */
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const collect = (/** @type {string} */ name) => (/** @type {Uint8Array} */ bytes) => {
    const buffer = raw[name];
    for (let i = 0; i < bytes.length; i++) buffer.push(bytes[i]);
    if (buffer.length > limit) buffer.splice(0, buffer.length - limit); // a runaway write loop
  };
  /** What the snippet wrote to the real stream since the last call. @param {string} name */
  const pull = (name) => {
    const buffer = raw[name];
    if (!buffer || !buffer.length) return "";
    raw[name] = [];
    return decoders[name].decode(new Uint8Array(buffer), { stream: true });
  };
  const mp = await loadMicroPython({
    url: options.url,
    heapsize: HEAP_SIZE,
    linebuffer: false,
    stdout: collect("stdout"),
    stderr: collect("stderr"),
    stdin: () => null,
  });
  if (options.jsModule) mp.registerJsModule("js", options.jsModule);
  mp.FS.mkdirTree("/pyrun");
  mp.FS.writeFile("/pyrun/__future__.py", "annotations = None\n");
  mp.runPython("import sys\nsys.path.insert(0, '/pyrun')");
  await importExecutor(mp, options);
  mp.registerJsModule("_pyrun_host", { emit: options.emit, pull });
  mp.runPython(
    "import pyrun_executor, _pyrun_host\n" +
      "_pyrun_ = pyrun_executor.Executor(_pyrun_host.emit, " +
      `output_limit=${Number(options.outputLimit) || 100000}, pull=_pyrun_host.pull)\n` +
      "del _pyrun_host\n",
  );
  const executor = mp.globals.get("_pyrun_");
  mp.globals.delete("_pyrun_");
  return {
    mp,
    run(msg) {
      pull("stdout"); // anything written outside a run is nobody's output
      pull("stderr");
      const text = executor.run_blocking(
        msg.code,
        String(msg.run),
        msg.session ?? null,
        msg.filename,
        msg.raises ?? null,
        msg.stdin ?? null,
        Boolean(msg.transcript),
        msg.flags ?? null, // doctest option flag names of a transcript (null: the defaults)
        Boolean(msg.console), // an edited transcript: run as typed at the prompt
        Boolean(msg.echo), // send each example's source with its prompts
        msg.want ?? null, // a testcode block's expected output
        msg.module ?? null, // a docstring example's module: its globals seed the namespace
      );
      return JSON.parse(text);
    },
  };
}
