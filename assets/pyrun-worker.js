// @ts-check
/**
 * pyrun-docs Web Worker: boots the pinned runtime once, then runs snippets through the shared Python
 * executor module (the same one the build check runs), forwarding its messages to the page.
 *
 * Protocol (page -> worker):
 *   {type: "init", runtime, version, indexURL, entry, files: {name: sri}, executorURL,
 *    executorMpyURL (MicroPython's precompiled executor, or null), outputLimit, transcripts
 *    (the page has >>> transcripts: a cold Python imports doctest before its snapshot), ...}
 *   {type: "files", files: {url: {buffer, type}}} (after every init: the runtime files the page
 *    fetched, or read from the cache, while this worker started; each is still verified here)
 *   {type: "stored", record: {bytes, sha256} | null} (after every init: the stored memory
 *    snapshot, read by the page, or null)
 *   {type: "run", run, code, session, filename, raises, stdin, packages, lock,
 *    transcript, console, flags, main, echo, want, module, docstring}
 *     (packages: the snippet's `packages` option; lock: the URL of the site's pyrun-lock.json)
 * (worker -> page):
 *   {type: "status", text} | {type: "ready", seconds} | {type: "boot-error", message}
 *   {type: "stream" | "display", run, ...} (from the executor) | {type: "done", run, result}
 */

/** @type {any} */
let executor = null;
/** @type {any} the executor's module (pyrun_executor), for its functions */
let executorModule = null;
/** @type {Promise<void> | null} */
let booting = null;
/** @type {Int32Array | null} */
let interruptBuffer = null;
/** @type {any} the MicroPython host (pyrun-micropython.js) when this worker runs MicroPython */
let micro = null;

const post = (/** @type {any} */ msg) => self.postMessage(msg);
/** The real fetch: boot() later routes Pyodide's own fetches through verified copies. */
const networkFetch = self.fetch.bind(self);

/** @param {ArrayBuffer} buffer */
async function sri384(buffer) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-384", buffer));
  let binary = "";
  for (let i = 0; i < digest.length; i++) binary += String.fromCharCode(digest[i]);
  return `sha384-${btoa(binary)}`;
}

/**
 * Fetch one pinned runtime file and verify it against the pin before anything uses it.
 *
 * Pyodide itself only checks wheels, so every runtime file goes through here: a missing file, a
 * server that is gone, a .wasm with the wrong MIME type (which makes loadPyodide hang) or bytes that
 * differ from the pin all fail at once with a message that names the file and says what to do.
 * @param {string} name @param {any} msg
 * @returns {Promise<{buffer: ArrayBuffer, type: string}>}
 */
async function fetchVerified(name, msg) {
  const url = new URL(name, msg.indexURL).href;
  const local = new URL(msg.indexURL).origin === self.location.origin;
  // fetched by the page on the click (MicroPython) or read from its cache (Pyodide), else here;
  // checked the same way either way
  const given = (await pageFetched)[url];
  if (given) checkType(name, url, given.type);
  const file = given ?? (await download(name, url, local, msg));
  await checkIntegrity(name, file.buffer, msg);
  if (local || /^https:/.test(url)) cacheVerified(url, file.buffer, file.type, msg);
  return file;
}

/**
 * One runtime file from the network: its type checked before the body is read.
 * @param {string} name @param {string} url @param {boolean} local @param {any} msg
 * @returns {Promise<{buffer: ArrayBuffer, type: string}>}
 */
async function download(name, url, local, msg) {
  let response;
  try {
    response = await networkFetch(url, { credentials: "same-origin" });
  } catch (err) {
    throw new Error(
      local
        ? `cannot reach ${url} (${err}). Is the docs server running?`
        : `cannot reach ${url} (${err}). The CDN may be blocked here; ` +
            'the site can self-host the runtime instead (runtime_source = "self-host").',
    );
  }
  if (!response.ok) {
    throw new Error(
      `the Python runtime file ${url} is missing (HTTP ${response.status}). ` +
        "Rebuild the docs so the runtime is copied into the site.",
    );
  }
  const type = (response.headers.get("content-type") || "").split(";")[0].trim();
  checkType(name, url, type);
  const buffer = await readCounting(response, Number((msg.sizes || {})[name]) || 0);
  return { buffer, type };
}

/** A .wasm served with another MIME type makes the runtime hang: say so instead. */
function checkType(/** @type {string} */ name, /** @type {string} */ url, /** @type {string} */ type) {
  if (name.endsWith(".wasm") && type !== "application/wasm") {
    throw new Error(
      `the server sends ${url} as "${type || "no type"}" but browsers need "application/wasm". ` +
        "Configure the web server's MIME types (e.g. `pyrun-docs serve` does this).",
    );
  }
}

/** @param {string} name @param {ArrayBuffer} buffer @param {any} msg */
async function checkIntegrity(name, buffer, msg) {
  const expected = msg.files[name];
  if (expected && (await sri384(buffer)) !== expected) {
    throw new Error(
      `${name} failed its integrity check: its bytes differ from the hash pinned for ` +
        `${msg.runtime} ${msg.version}, so pyrun refuses to run it. A proxy or an edited copy ` +
        "may have changed it; rebuild the docs to restore the verified file.",
    );
  }
}

/**
 * What the page fetched (or read from the cache) for this worker while it was starting
 * (`{type: "files"}` after the init): `{url: {buffer, type}}`, only the responses that came back OK.
 * @type {Promise<Record<string, {buffer: ArrayBuffer, type: string}>>}
 */
const pageFetched = new Promise((resolve) => {
  self.addEventListener("message", (event) => {
    if (event.data && event.data.type === "files") resolve(event.data.files);
  });
});

/**
 * The stored memory snapshot, read by the page for this worker (`{type: "stored", record}` after
 * the init): `{bytes, sha256}`, or null when there is none (or none could be read).
 * @type {Promise<{bytes: Uint8Array, sha256: string} | null>}
 */
const pageStored = new Promise((resolve) => {
  self.addEventListener("message", (event) => {
    if (event.data && event.data.type === "stored") resolve(event.data.record);
  });
});

/**
 * Keep the verified bytes in the cache the service worker reads (`pyrun-runtime-NAME-VERSION`),
 * so the reader's next visit downloads nothing, even when this first Run was not yet under the
 * service worker's control. Only verified bytes are ever cached.
 * @param {string} url @param {ArrayBuffer} buffer @param {string} type @param {any} msg
 */
function cacheVerified(url, buffer, type, msg) {
  if (!self.caches) return;
  const name = `pyrun-runtime-${msg.runtime}-${msg.version}`;
  self.caches
    .open(name)
    .then(async (cache) => {
      if (await cache.match(url)) return;
      await cache.put(url, new Response(buffer.slice(0), { headers: { "Content-Type": type } }));
    })
    .catch(() => {}); // quota or storage off: the next visit downloads again
}

let downloaded = 0;
let lastProgress = 0;

/**
 * Read a body while reporting progress ("Downloading Python… 4.1 / 13.5 MB"), into one buffer of
 * the pinned size (no second copy of a 10 MB wasm).
 * @param {Response} response @param {number} expected pinned size in bytes
 */
async function readCounting(response, expected) {
  if (!response.body) return response.arrayBuffer();
  const reader = response.body.getReader();
  /** @type {Uint8Array[]} */
  const chunks = [];
  let size = 0;
  const whole = expected > 0 ? new Uint8Array(expected) : null;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (whole && size + value.length <= expected) whole.set(value, size);
    chunks.push(value);
    size += value.length;
    downloaded += value.length;
    const now = performance.now();
    if (now - lastProgress > 150 && totalBytes) {
      lastProgress = now;
      const mb = (/** @type {number} */ n) => (n / 1e6).toFixed(1);
      post({ type: "status", text: `Downloading Python… ${mb(downloaded)} / ${mb(totalBytes)} MB` });
    }
  }
  if (whole && size === expected) return whole.buffer;
  const buffer = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    buffer.set(chunk, offset);
    offset += chunk.length;
  }
  return buffer.buffer;
}

let totalBytes = 0;

/**
 * Whether a verified copy of *url* is in our runtime cache (written by cacheVerified).
 * @param {string} url @param {any} msg
 */
async function isCached(url, msg) {
  try {
    if (!self.caches) return false;
    const cache = await self.caches.open(`pyrun-runtime-${msg.runtime}-${msg.version}`);
    return Boolean(await cache.match(url));
  } catch {
    return false;
  }
}

/** @param {{buffer: ArrayBuffer}} file */
function moduleURL(file) {
  return URL.createObjectURL(new Blob([file.buffer], { type: "text/javascript" }));
}

// --- memory snapshots (pyrun-snapshot.js) -------------------------------------------------------

/** @typedef {{bytes: Uint8Array, intact: Promise<boolean>}} Stored a snapshot and its SHA-256 check */

function importSnapshotModule() {
  return import(new URL(`pyrun-snapshot.js${self.location.search}`, self.location.href).href);
}

/**
 * A Pyodide worker (the page names it after its runtime) loads the snapshot module as soon as it
 * starts: a returning reader's restore waits for it (the SHA-256 check of the snapshot the page
 * read), and it otherwise queues behind the runtime's own files (measured: up to ~0.3 s later).
 * @type {Promise<any> | null}
 */
const snapshotModule = self.name === "pyodide" && typeof indexedDB !== "undefined" ? importSnapshotModule() : null;
snapshotModule?.catch(() => {});

/** @type {{msg: any, bytes: Uint8Array, module: Promise<any>} | null} made, to be stored after the first output */
let deferredSnapshot = null;

/**
 * Whether this boot uses memory snapshots; if so, the snapshot module and the stored snapshot for
 * this exact build (verified, or null), read while the runtime files are fetched.
 * @param {any} msg
 * @returns {{module: Promise<any>, stored: Promise<Stored | null>, fromSite: boolean} | null}
 */
function snapshotPlan(msg) {
  if (msg.runtime !== "pyodide" || !msg.snapshot || msg.snapshot === "off") return null;
  if (typeof indexedDB === "undefined" || !self.crypto || !crypto.subtle) {
    console.info("pyrun: no IndexedDB here, so no memory snapshot: Python starts normally");
    return null;
  }
  const module = snapshotModule ?? importSnapshotModule();
  /** @type {{module: Promise<any>, stored: Promise<Stored | null>, fromSite: boolean}} */
  const plan = { module, stored: Promise.resolve(null), fromSite: false };
  plan.stored = module.then(async (m) => {
    if (msg.snapshotBad) {
      await m.discard(msg, msg.snapshotBad);
      return null;
    }
    const record = await pageStored;
    const own = record ? m.checked(record) : null;
    if (own || msg.snapshot !== "site") return own;
    const site = await m.loadSite(msg); // the site ships one: even a first visit restores
    plan.fromSite = Boolean(site);
    return site ? { bytes: site, intact: Promise.resolve(true) } : null; // checked while fetched
  });
  module.catch(() => {});
  plan.stored.catch(() => {});
  return plan;
}

/**
 * Restore the interpreter from the stored snapshot, or boot it cold (able to make a snapshot).
 * Any failure of a restore deletes the entry and boots cold: never a broken widget.
 * @param {any} loadPyodide @param {any} options @param {any} msg
 * @param {{module: Promise<any>, stored: Promise<Stored | null>, fromSite: boolean} | null} snap
 * @param {Promise<void>} wasmArrived
 * @returns {Promise<{py: any, kind: "snapshot" | "cold", makeSnapshot: boolean}>}
 */
async function startInterpreter(loadPyodide, options, msg, snap, wasmArrived) {
  if (snap) {
    const stored = await snap.stored.catch((err) => {
      console.warn(`pyrun: memory snapshots unavailable (${err}); Python starts normally`);
      return null;
    });
    snap.stored = Promise.resolve(null); // keep no reference to the 31 MB once restored
    let bytes = stored && stored.bytes;
    if (stored && bytes) {
      await wasmArrived;
      post({ type: "status", text: "Restoring Python…" });
      post({ type: "snapshot", phase: "restoring" }); // the page's watchdog starts now
      try {
        const py = await loadPyodide({ ...options, _loadSnapshot: bytes });
        // checked while restoring; a damaged one is thrown away before any reader code runs
        if (!(await stored.intact)) throw Object.assign(new Error("damaged"), { damaged: true });
        // the site's snapshot is kept in this browser too, like one made here (after the first output)
        if (snap.fromSite) deferredSnapshot = { msg, bytes, module: snap.module };
        bytes = null;
        // Pyodide keeps the input buffer in its config: drop it (~30 MB held for nothing)
        if (py._api && py._api.config) py._api.config._loadSnapshot = undefined;
        if (!py.runPython("import sys\n'pyrun_executor' in sys.modules")) {
          // a runtime that ignored _loadSnapshot booted cold: use it as it is
          console.warn("pyrun: this Pyodide did not restore the memory snapshot; it started normally");
          return { py, kind: "cold", makeSnapshot: false };
        }
        return { py, kind: "snapshot", makeSnapshot: false };
      } catch (err) {
        bytes = null;
        post({ type: "snapshot", phase: "failed" });
        const m = await snap.module;
        await m.discard(msg, /** @type {any} */ (err).damaged ? m.DAMAGED : `restoring it failed: ${err}`);
        post({ type: "status", text: "Starting Python…" });
      }
    }
  }
  const py = await loadPyodide({ ...options, _makeSnapshot: Boolean(snap) });
  return { py, kind: "cold", makeSnapshot: Boolean(snap) };
}

/** Start-up state a restored interpreter shares with every other one, made its own. */
const RESEED = `
import random, sys
random.seed()
if "tempfile" in sys.modules:
    sys.modules["tempfile"]._name_sequence = None
del random, sys
`;

/**
 * After the executor is imported and before any reader code: reseed a restored interpreter, or
 * make the snapshot of a cold one (stored later, after the first output is shown).
 * @param {any} py @param {{kind: string, makeSnapshot: boolean}} how @param {any} msg
 * @param {{module: Promise<any>} | null} snap
 */
function settleSnapshot(py, how, msg, snap) {
  if (how.kind === "snapshot") {
    // Restored interpreters are not clones: the snapshot's `random` state would give every
    // reader the same "random" numbers. (The string hash seed cannot change: documented.)
    py.runPython(RESEED, { globals: py.toPy({}) });
    return;
  }
  if (!snap || !how.makeSnapshot) return;
  /** @type {Uint8Array | null} */
  let bytes = null;
  try {
    if (typeof py.makeMemorySnapshot !== "function") {
      throw new Error("this Pyodide has no makeMemorySnapshot");
    }
    bytes = py.makeMemorySnapshot();
  } catch (err) {
    console.warn(`pyrun: could not make a memory snapshot (${err}); Python will start normally next time`);
  }
  // The interpreter that made a snapshot sees the worker's globals through Pyodide's recording
  // proxy, on which `js.self.location` and friends throw "Illegal invocation": give it the real ones.
  try {
    py.registerJsModule("js", self);
    py.runPython("import sys\nsys.modules.pop('js', None)", { globals: py.toPy({}) });
    if (py._api && py._api.config) py._api.config.jsglobals = self;
  } catch (err) {
    console.warn(`pyrun: could not re-register the js module (${err})`);
  }
  if (bytes) deferredSnapshot = { msg, bytes, module: /** @type {any} */ (snap).module };
}

/** Store the snapshot this worker made (once; after the first output is on the page). */
function storeDeferredSnapshot() {
  const pending = deferredSnapshot;
  deferredSnapshot = null;
  if (!pending) return;
  pending.module
    .then((m) => m.store(pending.msg, pending.bytes))
    .then((stored) => post({ type: "snapshot", phase: stored ? "stored" : "not-stored" }))
    .catch(() => {});
}

/** @param {any} msg */
async function boot(msg) {
  const started = performance.now();
  post({ type: "status", text: "Downloading Python…" });
  totalBytes = Object.values(msg.sizes || {}).reduce((a, b) => a + Number(b), 0);
  // Every pinned file is fetched at once, in parallel, and verified.
  /** @type {Map<string, Promise<{buffer: ArrayBuffer, type: string}>>} */
  const files = new Map();
  // A returning reader has the verified wasm in our cache: fetch it with its SRI hash checked by
  // the browser and hand Pyodide the real response, so it streams and Chromium can reuse the
  // compiled code. The first visit reads it ourselves (progress with a byte count, our hash check).
  const wasmName = "pyodide.asm.wasm";
  const wasmURL = new URL(wasmName, msg.indexURL).href;
  const snap = snapshotPlan(msg);
  const warmWasm = await isCached(wasmURL, msg);
  if (warmWasm) totalBytes -= Number((msg.sizes || {})[wasmName]) || 0;
  // asked for at once (a restore needs it as soon as the snapshot is read); the SRI check means
  // the whole body is in when this resolves
  /** @type {Promise<Response> | null} */
  let earlyWasm = warmWasm
    ? networkFetch(wasmURL, { credentials: "same-origin", integrity: msg.files[wasmName] })
    : null;
  if (earlyWasm) earlyWasm.catch(() => {});
  /** @type {(err: Error) => void} */
  let wasmFailed = () => {};
  /** @type {Promise<never>} */
  const wasmProblem = new Promise((_, reject) => {
    wasmFailed = reject;
  });
  wasmProblem.catch(() => {});
  for (const name of Object.keys(msg.files)) {
    if (warmWasm && name === wasmName) continue;
    const pending = fetchVerified(name, msg);
    pending.catch(() => {}); // reported where awaited
    files.set(new URL(name, msg.indexURL).href, pending);
  }
  const get = (/** @type {string} */ name) =>
    /** @type {Promise<{buffer: ArrayBuffer, type: string}>} */ (
      files.get(new URL(name, msg.indexURL).href)
    );
  const executorSource = fetchAsset(msg.executorURL).then((r) => r.text());
  executorSource.catch(() => {});

  // Pyodide fetches the wasm and the standard library itself: hand it the verified bytes.
  self.fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (warmWasm && new URL(url, msg.indexURL).href === wasmURL) {
      try {
        const pending =
          earlyWasm ??
          networkFetch(wasmURL, { credentials: "same-origin", integrity: msg.files[wasmName] });
        earlyWasm = null; // a body is read once; a second boot (restore failed) fetches again
        return await pending;
      } catch (err) {
        // say precisely what is wrong (missing, wrong type, different bytes), then stop the boot
        await fetchVerified(wasmName, msg).then(
          () => wasmFailed(/** @type {Error} */ (err)),
          (precise) => wasmFailed(precise),
        );
        throw err;
      }
    }
    const file = files.get(new URL(url, msg.indexURL).href);
    if (!file) return networkFetch(input, init);
    const { buffer, type } = await file;
    return new Response(buffer, { status: 200, headers: { "Content-Type": type } });
  };
  // Start Python as soon as its scripts are verified (parsing overlaps the wasm download), but
  // let any failed file end the boot at once: a failed wasm fetch can leave loadPyodide waiting.
  const loading = (async () => {
    const [entry, asm, lock] = await Promise.all([
      get(msg.entry),
      get("pyodide.asm.mjs"),
      get("pyodide-lock.json"),
    ]);
    const { loadPyodide } = await import(moduleURL(entry));
    const createPyodideModule = (await import(moduleURL(asm))).default;
    packageBase = msg.indexURL; // to name the file of a package that fails to load
    const options = {
      indexURL: msg.indexURL,
      packageBaseUrl: msg.indexURL,
      lockFileContents: new TextDecoder().decode(lock.buffer),
      createPyodideModule,
      // Runtime chatter ("Loading micropip") stays out of the reader's output.
      stdout: () => {},
      stderr: () => {},
    };
    const wasmArrived = (earlyWasm ?? get(wasmName)).then(
      () => {},
      () => {},
    );
    return startInterpreter(loadPyodide, options, msg, snap, wasmArrived);
  })();
  loading.catch(() => {});
  const how = await Promise.race([
    loading,
    Promise.all(files.values()).then(() => loading),
    wasmProblem,
  ]);
  const pyodide = how.py;
  post({ type: "status", text: "Starting Python…" });
  if (msg.interruptBuffer) {
    // cross-origin isolated page: Stop raises KeyboardInterrupt instead of ending the worker
    interruptBuffer = msg.interruptBuffer;
    pyodide.setInterruptBuffer(interruptBuffer);
  }
  pyodideAPI = pyodide; // for loading packages before a run
  pyodide.FS.mkdirTree("/pyrun");
  pyodide.FS.writeFile("/pyrun/pyrun_executor.py", await executorSource);
  pyodide.runPython(
    "import sys\nif '/pyrun' not in sys.path: sys.path.insert(0, '/pyrun')\nimport pyrun_executor",
  );
  if (msg.transcripts && how.kind !== "snapshot") {
    // doctest judges every transcript; imported before the snapshot is made, a returning
    // reader's first transcript Run does not import it again (~0.6 s), and this first one
    // pays what it would have paid during its Run
    pyodide.runPython("import doctest", { globals: pyodide.toPy({}) });
  }
  settleSnapshot(pyodide, how, msg, snap); // before any reader code
  const module = pyodide.pyimport("pyrun_executor");
  executorModule = module;
  const emit = (/** @type {string} */ text) => post(JSON.parse(text));
  executor = module.Executor.callKwargs(emit, { output_limit: msg.outputLimit });
  const seconds = (performance.now() - started) / 1000;
  console.info(
    how.kind === "snapshot"
      ? `pyrun: Python restored from a memory snapshot in ${seconds.toFixed(2)} s`
      : `pyrun: Python started in ${seconds.toFixed(2)} s`,
  );
  post({ type: "ready", seconds, boot: how.kind });
  files.clear(); // the runtime's bytes are Python's now: a warm worker keeps no second copy
  if (deferredSnapshot) setTimeout(storeDeferredSnapshot, 3000); // no Run came (preload = boot)
}

/**
 * Boot MicroPython instead of Pyodide: its two files verified like Pyodide's (same progress and
 * cache), then the shared executor loaded into it by the MicroPython host module. No interrupt
 * buffer: Stop ends this worker.
 * @param {any} msg
 */
async function bootMicroPython(msg) {
  const started = performance.now();
  post({ type: "status", text: "Downloading Python…" });
  totalBytes = Object.values(msg.sizes || {}).reduce((a, b) => a + Number(b), 0);
  const hostURL = new URL(`pyrun-micropython.js${self.location.search}`, self.location.href);
  const host = import(hostURL.href);
  const executorSource = () => fetchAsset(msg.executorURL).then((r) => r.text());
  // the executor precompiled for MicroPython (executor.mpy, when the build had mpy-cross): no
  // compiling on every start; anything wrong with it and the source is fetched instead
  const executorCode = msg.executorMpyURL
    ? pageFetched
        .then(
          (given) =>
            given[msg.executorMpyURL]?.buffer ??
            fetchAsset(msg.executorMpyURL).then((r) => r.arrayBuffer()),
        )
        .then((buffer) => new Uint8Array(buffer))
        .catch((err) => {
          console.warn(`pyrun: ${err.message || err}; using the executor's source`);
          return executorSource();
        })
    : executorSource();
  const names = Object.keys(msg.files);
  const wasmName = names.find((name) => name.endsWith(".wasm")) || "micropython.wasm";
  // the runtime's script is parsed while its wasm still downloads
  const loader = fetchVerified(msg.entry, msg).then((entry) => import(moduleURL(entry)));
  const [{ loadMicroPython }, wasm, executor, { startMicroPython }] = await Promise.all([
    loader,
    fetchVerified(wasmName, msg),
    executorCode,
    host,
  ]);
  post({ type: "status", text: "Starting Python…" });
  const url = URL.createObjectURL(new Blob([wasm.buffer], { type: "application/wasm" }));
  try {
    micro = await startMicroPython(loadMicroPython, {
      executor,
      source: executorSource,
      emit: (/** @type {string} */ text) => post(JSON.parse(text)),
      outputLimit: msg.outputLimit,
      url,
    });
  } finally {
    URL.revokeObjectURL(url);
  }
  post({ type: "ready", seconds: (performance.now() - started) / 1000 });
}

/**
 * One of our own assets (the executor, as source or bytecode): same site, versioned URL, not
 * pinned, so not hash-checked; a failed request says which file.
 * @param {string} url
 */
async function fetchAsset(url) {
  const r = await networkFetch(url);
  if (!r.ok) throw new Error(`cannot load ${url} (HTTP ${r.status})`);
  return r;
}

// --- packages: what pyrun-lock.json (the build's resolved set, also the check's) names ---------

/** @type {any} the booted Pyodide (set by boot), for loading packages */
let pyodideAPI = null;
/** where Pyodide's own packages come from: the runtime's folder (self-hosted, or the CDN) */
let packageBase = "";
/** @type {Map<string, Promise<any>>} */
const packageLocks = new Map();

/**
 * The site's resolved packages (`pyrun-lock.json`), read once per worker; a site without one has
 * no packages. Never taken from a cache without asking the server: a rebuild may change it.
 * @param {string} url
 */
function readPackageLock(url) {
  let pending = packageLocks.get(url);
  if (!pending) {
    pending = networkFetch(url, { cache: "no-cache", credentials: "same-origin" }).then(
      (r) => {
        if (r.status === 404) return { packages: {}, site: [] };
        if (!r.ok) return { packages: {}, site: [], unavailable: `HTTP ${r.status}` };
        return r.json();
      },
      // the docs server is gone (an open page keeps running examples): try again next run
      (err) => ({ packages: {}, site: [], unavailable: String(err) }),
    );
    packageLocks.set(url, pending);
    pending.then(
      (lock) => lock.unavailable && packageLocks.delete(url),
      () => packageLocks.delete(url),
    );
  }
  return pending;
}

/** `Scikit_Learn>=1` -> `scikit-learn`, as the lock's keys are written. @param {string} text */
const canonicalName = (text) =>
  text.trim().split(/[[<>=!~ ;]/)[0].replace(/[-_.]+/g, "-").toLowerCase();

/** An SRI value for a hex SHA-256. @param {string} hex */
function sri256(hex) {
  const bytes = (hex.match(/../g) || []).map((h) => String.fromCharCode(parseInt(h, 16)));
  return `sha256-${btoa(bytes.join(""))}`;
}

/**
 * Load what a snippet needs before it runs: the site-wide set, its `packages` and the packages its
 * imports come from, with their dependencies, at the versions pyrun-lock.json names. Pyodide's own
 * packages load by name (from the self-hosted copy or the CDN, checked against its lock); ours
 * (PyPI wheels, the project) by URL with their SHA-256 enforced by the browser. loadPackage
 * resolves quietly when a download fails (FIELD.md pitfall 2): its chatter stays out of the
 * reader's output, its errors are collected, and what was loaded is checked afterwards.
 * @param {any} msg
 * @returns {Promise<string | null>} a message naming what failed, or null
 */
async function loadPackagesFor(msg) {
  if (!msg.lock || !pyodideAPI) return null;
  const lock = await readPackageLock(msg.lock);
  if (lock.unavailable) {
    // run without: what needs a package then fails on its import; an explicit request says why
    if (!msg.packages) return null;
    return `could not read the site's package list ${msg.lock} (${lock.unavailable}), so ` +
      `${msg.packages} cannot be loaded. Is the docs server running?`;
  }
  /** @type {Record<string, any>} */
  const entries = lock.packages || {};
  /** @type {Map<string, string>} */
  const byImport = new Map();
  for (const [name, entry] of Object.entries(entries)) {
    for (const module of entry.imports || []) if (!byImport.has(module)) byImport.set(module, name);
  }
  const wanted = new Set(lock.site || []);
  for (const text of String(msg.packages || "").split(/[\s,]+/)) if (text) wanted.add(canonicalName(text));
  // what the code imports, found as the check finds it (a transcript's statements, without
  // its prompts: Pyodide's find_imports could not parse it, so its packages never loaded)
  /** @type {string[]} */
  let imports = [];
  if (executorModule) {
    const found = executorModule.imports_of(String(msg.code), Boolean(msg.transcript));
    imports = found.toJs();
    found.destroy();
  }
  if (msg.module) imports.push(String(msg.module).split(".")[0]); // its namespace's module
  const elsewhere = imports.filter((module) => !byImport.has(module));
  for (const module of imports) if (byImport.has(module)) wanted.add(/** @type {string} */ (byImport.get(module)));
  const all = new Set();
  const stack = [...wanted];
  while (stack.length) {
    const name = /** @type {string} */ (stack.pop());
    if (all.has(name) || !entries[name]) continue;
    all.add(name);
    stack.push(...(entries[name].depends || []));
  }
  const loaded = pyodideAPI.loadedPackages;
  const todo = [...all].map((name) => entries[name]).filter((e) => !(e.key in loaded));
  /** @type {string[]} */
  const errors = [];
  const options = {
    messageCallback: () => {},
    errorCallback: (/** @type {string} */ text) => errors.push(text),
    checkIntegrity: true,
  };
  if (todo.length) {
    post({ type: "status", text: `Loading ${todo.map((e) => e.name).join(", ")}…` });
    const names = todo.filter((e) => e.source === "pyodide").map((e) => e.key);
    try {
      if (names.length) await pyodideAPI.loadPackage(names, options);
    } catch (err) {
      errors.push(String(err));
    }
    const integrity = new Map(
      todo.filter((e) => e.source !== "pyodide").map((e) => [new URL(e.url, msg.lock).href, sri256(e.sha256)]),
    );
    if (integrity.size) {
      const previous = self.fetch;
      self.fetch = (input, init) => {
        const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
        const sri = integrity.get(new URL(url, self.location.href).href);
        return previous(input, sri ? { ...init, integrity: sri } : init);
      };
      try {
        await pyodideAPI.loadPackage([...integrity.keys()], options);
      } catch (err) {
        errors.push(String(err));
      } finally {
        self.fetch = previous;
      }
    }
    // the code runs now: "Loading six…" stayed until the run was done (9 s of a first Run)
    post({ type: "status", text: "Running…" });
  }
  if (lock.mode === "cdn" && elsewhere.length) {
    // the reader imported another of Pyodide's packages: the CDN has it
    await pyodideAPI.loadPackagesFromImports(msg.code, options).catch(() => {});
  }
  const failed = todo.filter((e) => !(e.key in loaded));
  if (!failed.length) return null;
  const reasons = await Promise.all(failed.map((e) => whyNotLoaded(e, msg.lock)));
  const detail = errors.filter((text) => !/^The following error occurred/.test(text)).join("; ");
  const named = failed.map((e, i) => `${e.name} ${e.version}${reasons[i] ? ` (${reasons[i]?.text})` : ""}`);
  const unreachable = [...new Set(reasons.flatMap((r) => (r && r.unreachable ? [r.unreachable] : [])))];
  const advice = reasons.some((r) => r && r.site)
    ? "The package files of this site are missing or changed: the docs build's warnings say " +
      "why (one it could not copy, say, without the network); building the docs again with " +
      "them at hand puts them back."
    : unreachable.length
      ? `Check the connection to ${unreachable.join(", ")} (a firewall, a proxy or a content ` +
        "blocker may stop it), then Run again."
      : "Run again; if it keeps failing, the package files of this site may be missing or changed.";
  return `could not load ${named.join(", ")}${detail && !reasons.some(Boolean) ? ` (${detail})` : ""}. ${advice}`;
}

/**
 * Why a package did not load, naming the host and the file: unreachable (no answer: offline, a
 * blocked CDN), missing (an HTTP error) or bytes that differ from the lock. Our wheels are
 * relative to pyrun-lock.json; Pyodide's own come from the runtime's folder (maybe a CDN).
 * @param {any} entry @param {string} lockURL
 * @returns {Promise<{text: string, site?: boolean, unreachable?: string} | null>}
 */
async function whyNotLoaded(entry, lockURL) {
  const file = entry.url || entry.file_name;
  if (!file) return null;
  const url = new URL(file, entry.url ? lockURL : packageBase || lockURL).href;
  const where = new URL(url);
  const name = decodeURIComponent(where.pathname.split("/").pop() || file);
  const site = where.origin === self.location.origin; // this site's own files: a rebuild helps
  try {
    const response = await networkFetch(url, { cache: "no-store", credentials: "same-origin" });
    if (!response.ok) return { text: `${url} is missing: HTTP ${response.status} from ${where.host}`, site };
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await response.arrayBuffer()));
    const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
    if (entry.sha256 && hex !== entry.sha256) {
      return { text: `${url} does not match the SHA-256 in pyrun-lock.json`, site };
    }
  } catch (err) {
    const why = err && /** @type {Error} */ (err).message ? /** @type {Error} */ (err).message : String(err);
    return { text: `cannot reach ${where.host} for ${name}: ${why}`, unreachable: where.host };
  }
  return null;
}

/** @param {any} msg */
async function run(msg) {
  if (booting) await booting;
  if (micro) {
    post({ type: "done", run: msg.run, result: micro.run(msg) });
    return;
  }
  if (interruptBuffer) Atomics.store(interruptBuffer, 0, 0); // a Stop meant for an earlier run
  const missing = await loadPackagesFor(msg);
  if (missing) {
    const error = { type: "PackageError", message: missing, traceback: `PackageError: ${missing}\n`, line: null };
    post({ type: "done", run: msg.run, result: { ok: false, error } });
    return;
  }
  const kwargs = {
    run_id: msg.run,
    // undefined becomes Python None; null would become pyodide.ffi.jsnull
    session: msg.session ?? undefined,
    filename: msg.filename,
    raises: msg.raises ?? undefined,
    stdin: msg.stdin ?? undefined, // JSON list of lines for input()
    module: msg.module ?? undefined, // a docstring example also sees its module's globals
    docstring: msg.docstring ?? undefined, // and the names earlier blocks of its docstring set
  };
  // a transcript: judged by doctest with these flags, each example echoed with its prompts;
  // an edited one (console): every statement's value shown, as at the prompt
  const text = msg.transcript
    ? await executor.run_transcript.callKwargs(msg.code, {
        ...kwargs,
        flags: msg.flags ?? undefined,
        main: Boolean(msg.main), // a Markdown page's: __name__ == "__main__"
        echo: Boolean(msg.echo),
        want: msg.want ?? undefined, // a testcode block's expected output
      })
    : await executor.run.callKwargs(msg.code, { ...kwargs, console: Boolean(msg.console) });
  post({ type: "done", run: msg.run, result: JSON.parse(text) });
}

// Runs are serialised: a session's snippets must execute in the order the page sent them.
let queue = Promise.resolve();

self.onmessage = (event) => {
  const msg = event.data;
  if (msg.type === "init") {
    booting = (msg.runtime === "micropython" ? bootMicroPython(msg) : boot(msg)).catch((err) => {
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
    // the memory snapshot is stored once the first run's output is on its way to the page
    queue.then(() => setTimeout(storeDeferredSnapshot, 0));
  }
};

// A KeyboardInterrupt that lands in the asyncio loop itself (not in the reader's code) surfaces
// as an uncaught error here. Keep it out of the page's error console: the page's Stop notices
// the run did not finish and ends this worker.
self.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  post({ type: "status", text: "Stopping…" });
});
self.addEventListener("error", (event) => {
  event.preventDefault();
});
