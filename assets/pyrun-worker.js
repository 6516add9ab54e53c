// @ts-check
/**
 * pyrun-docs Web Worker: boots the pinned runtime once, then runs snippets through the shared Python
 * executor module (the same one the build check runs), forwarding its messages to the page.
 *
 * Protocol (page -> worker):
 *   {type: "init", indexURL, entry, executorURL, outputLimit}
 *   {type: "run", run, code, session, filename, raises}
 * (worker -> page):
 *   {type: "status", text} | {type: "ready", seconds} | {type: "boot-error", message}
 *   {type: "stream" | "display", run, ...} (from the executor) | {type: "done", run, result}
 */

/** @type {any} */
let executor = null;
/** @type {Promise<void> | null} */
let booting = null;

const post = (/** @type {any} */ msg) => self.postMessage(msg);

/**
 * Fail fast, with a reason, where loadPyodide would hang or say something cryptic: a missing file,
 * a server that is gone, or a .wasm not served as application/wasm.
 * @param {string} indexURL
 */
async function preflight(indexURL) {
  const wasm = new URL("pyodide.asm.wasm", indexURL).href;
  let response;
  try {
    response = await fetch(wasm, { method: "HEAD", cache: "no-store" });
  } catch (err) {
    throw new Error(`cannot reach ${wasm} (${err}). Is the docs server running?`);
  }
  if (!response.ok) {
    throw new Error(
      `the Python runtime file ${wasm} is missing (HTTP ${response.status}). ` +
        "Rebuild the docs so the runtime is copied into the site.",
    );
  }
  const type = (response.headers.get("content-type") || "").split(";")[0].trim();
  if (type !== "application/wasm") {
    throw new Error(
      `the server sends ${wasm} as "${type || "no type"}" but browsers need "application/wasm". ` +
        "Configure the web server's MIME types (e.g. `pyrun-docs serve` does this).",
    );
  }
}

/** @param {any} msg */
async function boot(msg) {
  const started = performance.now();
  post({ type: "status", text: "Downloading Python…" });
  await preflight(msg.indexURL);
  const { loadPyodide } = await import(new URL(msg.entry, msg.indexURL).href);
  const pyodide = await loadPyodide({
    indexURL: msg.indexURL,
    // Runtime chatter ("Loading micropip") stays out of the reader's output.
    stdout: () => {},
    stderr: () => {},
  });
  post({ type: "status", text: "Starting Python…" });
  const source = await (await fetch(msg.executorURL)).text();
  pyodide.FS.mkdirTree("/pyrun");
  pyodide.FS.writeFile("/pyrun/pyrun_executor.py", source);
  pyodide.runPython("import sys\nsys.path.insert(0, '/pyrun')\nimport pyrun_executor");
  const module = pyodide.pyimport("pyrun_executor");
  const emit = (/** @type {string} */ text) => post(JSON.parse(text));
  executor = module.Executor.callKwargs(emit, { output_limit: msg.outputLimit });
  post({ type: "ready", seconds: (performance.now() - started) / 1000 });
}

/** @param {any} msg */
async function run(msg) {
  if (booting) await booting;
  const text = await executor.run.callKwargs(msg.code, {
    run_id: msg.run,
    // undefined becomes Python None; null would become pyodide.ffi.jsnull
    session: msg.session ?? undefined,
    filename: msg.filename,
    raises: msg.raises ?? undefined,
  });
  post({ type: "done", run: msg.run, result: JSON.parse(text) });
}

// Runs are serialised: a session's snippets must execute in the order the page sent them.
let queue = Promise.resolve();

self.onmessage = (event) => {
  const msg = event.data;
  if (msg.type === "init") {
    booting = boot(msg).catch((err) => {
      post({ type: "boot-error", message: String(err && err.message ? err.message : err) });
      throw err;
    });
    queue = booting.catch(() => {});
  } else if (msg.type === "run") {
    queue = queue.then(() =>
      run(msg).catch((err) =>
        post({
          type: "done",
          run: msg.run,
          result: {
            ok: false,
            error: { type: "Error", message: String(err), traceback: String(err), line: null },
          },
        }),
      ),
    );
  }
};
