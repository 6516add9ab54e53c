// @ts-check
/**
 * pyrun-docs runner, loaded by pyrun.js on the first Run (never before): the page's workers, the
 * order of a session's snippets, and how output is shown. Kept out of the loader so a page with
 * widgets costs only a few KB until a reader acts.
 */

const HERE = import.meta.url;

/** @typedef {{type: string, [key: string]: any}} Message */

/** @type {{node: Element | null, value: any}} */
const configCache = { node: null, value: null };

/**
 * The page's settings: `<script type="application/json" id="pyrun-config">` in Sphinx's head, a
 * hidden `#pyrun-config` element with a `data-config` attribute in MkDocs' content (its instant
 * navigation runs a content script's text as JavaScript); re-read after a navigation swapped it.
 * @returns {any}
 */
export function readConfig() {
  const node = document.getElementById("pyrun-config");
  if (!node) throw new Error("this page has no #pyrun-config (rebuild the docs)");
  if (configCache.node !== node) {
    configCache.node = node;
    configCache.value = JSON.parse(node.getAttribute("data-config") || node.textContent || "{}");
  }
  return configCache.value;
}

/**
 * Register the site's service worker (on the first Run or preload, never at page load). Where there
 * is none (file://, private modes, no `serviceWorker` setting) everything works from the network.
 * @param {any} config
 */
async function registerServiceWorker(config) {
  const container = navigator.serviceWorker;
  if (!config.serviceWorker || !container || !/^https?:$/.test(location.protocol)) return;
  try {
    const url = new URL(config.serviceWorker, HERE);
    if (config.offlinePages) url.searchParams.set("pages", "1");
    await container.register(url.href);
  } catch {
    // blocked (private mode, a strict policy): the runtime simply comes from the network
  }
}

/** @typedef {Record<string, {buffer: ArrayBuffer, type: string}>} Files by URL, for the worker */

/**
 * The Cache Storage cache that holds a runtime's verified files (written by the worker, read by
 * the service worker): its presence means this browser ran that runtime on the site before.
 * @param {string} runtime @param {any} rt the runtime's entry in the page config
 */
const runtimeCache = (runtime, rt) => `pyrun-runtime-${runtime}-${rt.version}`;

/** @param {Response} response */
async function fileOf(response) {
  const type = (response.headers.get("content-type") || "").split(";")[0].trim();
  return { buffer: await response.arrayBuffer(), type };
}

/**
 * Fetch a small runtime's files (MicroPython's, and the precompiled executor) for a worker that is
 * still starting: the downloads overlap its start-up instead of following it. Only responses that
 * came back OK are handed over; the worker verifies them like its own downloads and fetches
 * anything missing itself (so a failure is reported there, precisely).
 * @param {any} rt the runtime's entry in the page config @param {any} config
 * @returns {Promise<Files>}
 */
async function prefetch(rt, config) {
  const base = new URL(rt.base, HERE);
  const urls = Object.keys(rt.files).map((name) => new URL(name, base).href);
  if (config.executorMpy) urls.push(assetURL(config.executorMpy));
  /** @type {Files} */
  const files = {};
  await Promise.all(
    urls.map(async (url) => {
      try {
        const response = await fetch(url, { credentials: "same-origin" });
        if (response.ok) files[url] = await fileOf(response);
      } catch {
        // the worker fetches it again and says what is wrong
      }
    }),
  );
  return files;
}

/**
 * A returning reader's Pyodide files (not the wasm), read here from our runtime cache while the
 * worker starts and handed to it, like the stored snapshot: in the worker these reads queue
 * behind its own work (measured: a returning visit's output ~0.1 s sooner). The wasm stays the
 * worker's, streamed from its response so Chromium reuses the compiled code. A first visit has
 * nothing cached: the worker downloads, with progress. The worker verifies every file it is given.
 * @param {any} rt @param {string} runtime
 * @returns {Promise<Files>}
 */
async function fromCache(rt, runtime) {
  /** @type {Files} */
  const files = {};
  try {
    const name = runtimeCache(runtime, rt);
    if (!self.caches || !(await caches.has(name))) return files;
    const cache = await caches.open(name);
    const base = new URL(rt.base, HERE);
    const names = Object.keys(rt.files).filter((file) => !file.endsWith(".wasm"));
    await Promise.all(
      names.map(async (file) => {
        const url = new URL(file, base).href;
        const response = await cache.match(url);
        if (response) files[url] = await fileOf(response);
      }),
    );
  } catch {
    // storage off or a read failed: the worker fetches what it lacks
  }
  return files;
}

/**
 * A returning reader's stored memory snapshot, read here for the Pyodide worker being started and
 * then transferred to it: the worker's own thread is busy with Pyodide's scripts meanwhile, which
 * delays a read there (measured: a returning visit's output ~0.2 s sooner). The worker is always
 * told the outcome, `null` when there is nothing to read (another runtime, snapshots off, the
 * stored one already found bad, no IndexedDB): then Python starts normally.
 * @param {any} init the worker's init message
 * @returns {Promise<{bytes: Uint8Array, sha256: string} | null>}
 */
async function readSnapshot(init) {
  if (init.runtime !== "pyodide" || init.snapshot === "off" || init.snapshotBad) return null;
  if (typeof indexedDB === "undefined") return null;
  const read = import(assetURL("pyrun-snapshot.js"))
    .then((m) => m.readStored(init))
    .catch(() => null); // the worker boots normally
  // storage that never answers (it happens in some private modes) must not hold Python back
  const seconds = Number(readConfig().snapshotReadTimeout) || 5;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {Promise<null>} */
  const late = new Promise((resolve) => {
    timer = setTimeout(() => {
      console.warn(`pyrun: the stored memory snapshot was not read within ${seconds} s; Python starts normally`);
      resolve(null);
    }, seconds * 1000);
  });
  return Promise.race([read.finally(() => clearTimeout(timer)), late]);
}

/** @param {Record<string, {buffer: ArrayBuffer}>} files */
const transferables = (files) => Object.values(files).map((f) => f.buffer);

/**
 * An asset next to this file, with the site's asset version so caches never serve a stale copy.
 * @param {string} rel
 */
function assetURL(rel) {
  const url = new URL(rel, HERE);
  const version = readConfig().assetVersion;
  if (version) url.searchParams.set("v", version);
  return url.href;
}

/**
 * The first line of a snippet's code, short, to name a block the reader sees as plain code.
 * @param {any} el
 */
function firstLine(el) {
  const line = String(el.code || "").split("\n").find((l) => l.trim()) || "";
  return line.length > 40 ? `${line.slice(0, 39)}…` : line.trim();
}

/**
 * One worker per runtime per page. Snippets of a session run in document order: running a later
 * snippet first runs the earlier ones of its session that have not run in this worker yet.
 */
class Runner {
  /** @param {string} runtime @param {any} config */
  constructor(runtime, config) {
    this.runtime = runtime;
    this.config = config;
    /** @type {Worker | null} */
    this.worker = null;
    /** @type {Promise<void> | null} */
    this.ready = null;
    /** @type {(() => void) | null} rejects `ready` when Stop is pressed while Python starts */
    this.abortBoot = null;
    /** @type {Int32Array | null} shared with the worker where the page is cross-origin isolated */
    this.interruptBuffer = null;
    /** @type {Map<string, {el: any, done: Promise<any>, resolve: (r: any) => void, held?: any[]}>} */
    this.pending = new Map();
    /** @type {WeakSet<Element>} snippets that ran in the current worker */
    this.ran = new WeakSet();
    /** @type {WeakSet<Element>} of those, the ones whose last run was of the reader's edit */
    this.ranEdited = new WeakSet();
    /** @type {WeakSet<Element>} of those, the ones the reader has reset since (`undo`) */
    this.undone = new WeakSet();
    /** @type {WeakSet<Element>} snippets whose edit the reader stopped (kept over a restart) */
    this.stoppedEdits = new WeakSet();
    this.counter = 0;
    /** @type {Promise<any>} */
    this.chain = Promise.resolve();
    /** how the current worker's Python started: "snapshot" (restored) or "cold" */
    this.bootKind = "";
  }

  /** @param {any} el */
  start(el) {
    if (this.ready) return this.ready;
    const rt = this.config.runtimes[this.runtime];
    if (!rt) {
      return Promise.reject(
        new Error(`the ${this.runtime} runtime is not available in this version of pyrun-docs`),
      );
    }
    /** @type {Promise<void>} */
    const ready = new Promise((resolve, reject) => {
      const seconds = Number(this.config.loadTimeout) || 60;
      const timer = setTimeout(() => {
        reject(
          new Error(
            `Python did not start within ${seconds} s. The network may be slow or the runtime ` +
              "files unreachable; reload the page to try again.",
          ),
        );
        this.kill();
      }, seconds * 1000);
      this.abortBoot = () => {
        clearTimeout(timer);
        reject(Object.assign(new Error("stopped while Python was starting"), { stopped: true }));
      };
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let watchdog;
      /** @param {string | null} snapshotBad why the stored memory snapshot must not be used */
      const spawn = (snapshotBad) => {
        if (this.ready !== ready) return; // stopped meanwhile
        // MicroPython's files are small: fetched here on the click, while the worker starts;
        // Pyodide's, when this browser has them, are read here from the cache (for every worker:
        // they are transferred, so a second worker after a failed restore gets its own)
        const early =
          this.runtime === "micropython" ? prefetch(rt, this.config) : fromCache(rt, this.runtime);
        // named after its runtime, so it can load what that runtime needs before the init message
        const worker = new Worker(assetURL(this.config.worker), { type: "module", name: this.runtime });
        this.worker = worker;
        worker.onmessage = (event) => {
          const msg = /** @type {Message} */ (event.data);
          if (msg.type === "ready") {
            clearTimeout(timer);
            clearTimeout(watchdog);
            this.abortBoot = null;
            this.bootKind = msg.boot || "cold";
            resolve();
          } else if (msg.type === "snapshot") {
            // A damaged snapshot can make a restore spin forever inside the worker, where nothing
            // can stop it: end that worker and start Python normally.
            clearTimeout(watchdog);
            const limit = Number(this.config.snapshotWatchdog) || 8;
            if (msg.phase === "restoring") {
              watchdog = setTimeout(() => {
                if (this.worker !== worker) return;
                console.warn(`pyrun: restoring the memory snapshot took over ${limit} s; starting Python normally`);
                worker.terminate();
                spawn(`restoring it did not finish within ${limit} s`);
              }, limit * 1000);
            }
            document.dispatchEvent(new CustomEvent("pyrun:snapshot", { detail: msg }));
          } else if (msg.type === "boot-error") {
            clearTimeout(timer);
            reject(new Error(msg.message));
            this.kill();
          } else if (msg.type === "status") {
            // the running snippet's (loading its packages), else the one Python starts for
            const running = [...this.pending.values()].pop();
            (running ? running.el : el).setStatus(msg.text);
          } else {
            this.dispatch(msg);
          }
        };
        worker.onerror = (event) => {
          event.preventDefault();
          clearTimeout(timer);
          reject(new Error(`the pyrun worker failed to load: ${event.message || "script error"}`));
          this.kill();
        };
        // MicroPython has no interrupt buffer: its Stop always ends the worker
        this.interruptBuffer = self.crossOriginIsolated && this.runtime === "pyodide"
          ? new Int32Array(new SharedArrayBuffer(4))
          : null;
        const init = {
          type: "init",
          interruptBuffer: this.interruptBuffer,
          runtime: this.runtime,
          version: rt.version,
          files: rt.files,
          sizes: rt.sizes,
          indexURL: new URL(rt.base, HERE).href,
          entry: rt.entry,
          executorURL: assetURL(this.config.executor),
          executorMpyURL: this.config.executorMpy ? assetURL(this.config.executorMpy) : null,
          outputLimit: this.config.outputLimit,
          buildId: rt.buildId,
          assetVersion: this.config.assetVersion,
          snapshot: this.config.snapshot ?? "browser",
          snapshotBad,
          transcripts: document.querySelector("py-repl[data-transcript]") !== null,
        };
        worker.postMessage(init);
        readSnapshot(init).then((record) =>
          worker.postMessage({ type: "stored", record }, record ? [record.bytes.buffer] : []),
        );
        early.then((files) => worker.postMessage({ type: "files", files }, transferables(files)));
      };
      Promise.resolve().then(() => spawn(null));
    });
    this.ready = ready;
    // The service worker registers once Python is up, off the critical path (its script and
    // install would compete with the boot); this first download is cached by the worker itself.
    ready.then(() => registerServiceWorker(this.config), () => {});
    return ready;
  }

  /** @param {Message} msg */
  dispatch(msg) {
    const job = this.pending.get(msg.run);
    if (!job) return;
    if (msg.type === "done") {
      this.pending.delete(msg.run);
      job.resolve(msg.result);
    } else if (job.held) {
      job.held.push(msg); // shown when the examples above are all done (runOne's `held`)
    } else {
      job.el.receive(msg);
    }
  }

  /**
   * Run `el`, after the not-yet-run snippets of its session that precede it. One of those that
   * fails does not stop the rest, as doctest (and the check) runs a session's later examples
   * after a failure: `el` runs and says an earlier one failed. (It returned without ending
   * `el`'s run, which showed "Loading…" for good with its Stop button off.) Stopped, or
   * without a Python, `el` ends so too.
   * @param {any} el
   */
  run(el) {
    const task = this.chain.then(async () => {
      // its time is the reader's wait: Python's start and the earlier snippets' runs too (a
      // first Run said "Done in 0.11 s" after 4 s, Python's start counted on a hidden setup)
      const since = performance.now();
      if (el.session && (this.ranAfter(el) || this.undoneIn(el))) this.restartSession();
      const earlier = el.session ? sessionMembers(el).filter((o) => o !== el && !this.ran.has(o)) : [];
      if (earlier.length) el.awaitEarlier();
      /** @type {any} */
      let failed = null;
      // what the examples above show is put on the page once they have all run: each one's
      // output and status, written as it ran, made the browser lay out the page again between
      // two runs (an API page of 300 docstring examples: ~15 ms a run, 21 s before an answer)
      /** @type {(() => void)[]} */
      const held = [];
      const show = () => held.splice(0).forEach((write) => write());
      try {
        for (const other of earlier) {
          // an edit the reader stopped (an endless loop typed in) runs as written: the fresh
          // Python replaying it looped again, and the clicked example waited for good
          const asWritten = this.stoppedEdits.has(other);
          const result = await this.runOne(other, asWritten ? AS_WRITTEN : "", undefined, asWritten, held);
          if (result.stopped) {
            show();
            el.endRun(result);
            return { ...result, blockedBy: other };
          }
          if (!result.ok && !failed) failed = other;
        }
      } catch (err) {
        show();
        el.endRun({ ok: false, boot: true, error: { message: String(/** @type {any} */ (err).message || err) } });
        throw err;
      }
      show();
      // a block kept static runs hidden in its place (the page shows its plain block, with a
      // note); a :hide: example or a setup is behind a toggle
      const which = !failed
        ? ""
        : failed.closest(".pyrun-widget[hidden]")
          ? `the plain block above starting “${firstLine(failed)}”, which runs hidden in its place`
          : failed.hasAttribute("data-hidden")
            ? "a hidden one"
            : failed.number
              ? `example ${failed.number}`
              : "one above";
      // said only under one that fails: after a passing run it is no concern of the reader's
      // (every example after a thread's, which fails in any browser, said so: more-itertools)
      const note = failed ? `\nAn earlier example of this session failed (${which}): this one ran after it.\n` : "";
      const result = await this.runOne(el, note, since, false, undefined, true);
      return failed ? { ...result, after: failed } : result;
    });
    this.chain = task.catch(() => {});
    return task;
  }

  /**
   * Whether a snippet after `el` in its session already ran here: the session then holds what
   * the page defines further down (attrs' examples page redefines `Coordinates` below: the
   * example above, run again, failed where its verified output showed a result).
   * @param {any} el
   */
  ranAfter(el) {
    const same = sessionOf(el);
    // (a setup snippet written further down ran first, as it always does)
    return same.slice(same.indexOf(el) + 1).some((o) => !isSetup(o) && this.ran.has(o));
  }

  /**
   * Reset on `el`: when what last ran of it was the reader's edit, its session holds what the
   * page no longer shows (python-ulid: an edit set `a = 100`, and after Reset a later example
   * printed 102 where the page's verified output showed 3); the next Run in it starts over.
   * @param {Element} el
   */
  undo(el) {
    if (this.ranEdited.has(el)) this.undone.add(el);
  }

  /** Whether a snippet of `el`'s session was reset after an edited run. @param {any} el */
  undoneIn(el) {
    return sessionOf(el).some((o) => this.undone.has(o));
  }

  /**
   * Start over in a fresh Python, as the check runs each page: the run that follows runs `el`'s
   * session up to `el` again, in the page's order. Emptying the session's namespace was not
   * enough: a later example that set a module's attribute (bitmath's `format_string`) kept it,
   * and the example above, run again, failed where its verified output showed a result.
   */
  restartSession() {
    this.kill();
  }

  /**
   * @param {any} el
   * @param {string} [note] said after its output, before its run ends
   * @param {number} [since] when the reader asked for it (its "Done in" counts from there)
   * @param {boolean} [asWritten] run the code the page shows, not the reader's edit
   * @param {(() => void)[]} [held] put what the run shows on the page later: a function
   *   writing it is added here (an example above the clicked one: see :meth:`run`)
   * @param {boolean} [noteOnFailure] say *note* only if the run fails
   */
  async runOne(el, note = "", since = undefined, asWritten = false, held = undefined, noteOnFailure = false) {
    const began = since ?? performance.now();
    /** @type {any[] | undefined} its messages, while held */
    const messages = held ? [] : undefined;
    /** What the run shows, now or (held) later. @param {any} result */
    const shown = (result) => {
      const took = performance.now() - began; // its own run, not the wait for the others
      const write = () => {
        if (held) {
          el.beginRun();
          el.started = performance.now() - took;
          if (!result.stopped && !result.boot) el.setAttribute("data-pyrun-boot", this.bootKind);
          for (const msg of /** @type {any[]} */ (messages)) el.receive(msg);
        }
        const said = note && !result.stopped && !result.boot && !(noteOnFailure && result.ok);
        if (said) el.appendText(note, "pyrun-note");
        el.endRun(result);
      };
      if (held) {
        held.push(write);
        // it ran: said at once, as it cannot change the page's layout (the rest comes later)
        el.setStatus(result.stopped ? "Stopped" : result.ok ? "Done" : "Error");
      } else write();
    };
    if (!held) {
      el.beginRun();
      el.started = began;
    }
    try {
      await this.start(el);
    } catch (err) {
      const e = /** @type {any} */ (err);
      if (e && e.stopped) {
        const stopped = { ok: false, stopped: true };
        shown(stopped);
        return stopped;
      }
      shown({ ok: false, boot: true, error: { message: String(e.message || e) } });
      throw err;
    }
    const id = `r${++this.counter}`;
    const worker = /** @type {Worker} */ (this.worker);
    if (!held) el.setAttribute("data-pyrun-boot", this.bootKind); // how the Python that runs this started
    el.setStatus("Running…"); // (held: which one runs now, a long one too; its size stays)
    /** @type {(r: any) => void} */
    let finish = () => {};
    const done = new Promise((resolve) => {
      finish = resolve;
    });
    const result = await new Promise((resolve) => {
      this.pending.set(id, {
        el,
        done,
        held: messages,
        resolve: (/** @type {any} */ r) => {
          finish(r);
          resolve(r);
        },
      });
      // A transcript the reader left as it was is judged as doctest judges it (its expected
      // outputs are in data-transcript); edited, it runs as typed at the prompt.
      // Code with an expected output (an upgraded testcode block, data-expected) is judged the
      // same way while unchanged.
      const transcript = el.dataset.transcript;
      const expected = el.dataset.expected;
      const code = asWritten ? el.originalCode : el.code;
      const unchanged = code.replace(/\n+$/, "") === el.originalCode.replace(/\n+$/, "");
      const judged = unchanged && (transcript != null || expected != null);
      worker.postMessage({
        type: "run",
        run: id,
        code: unchanged && transcript != null ? transcript : code,
        transcript: judged,
        console: transcript != null && !unchanged,
        flags: el.dataset.flags ?? null,
        main: el.hasAttribute("data-main"),
        echo: transcript != null,
        want: judged && expected != null ? expected : null,
        module: el.dataset.module ?? null,
        docstring: el.dataset.docstring ?? null,
        session: el.session,
        filename: `<example ${el.number}>`,
        raises: el.dataset.raises || null,
        stdin: el.dataset.stdin ?? null,
        packages: el.dataset.packages || null,
        lock: this.config.packageLock ? new URL(this.config.packageLock, HERE).href : null,
      });
    });
    const edited = el.hasAttribute("data-edited") && !asWritten;
    if (!result.stopped) {
      this.ran.add(el);
      if (edited) this.ranEdited.add(el);
      else this.ranEdited.delete(el);
      this.stoppedEdits.delete(el);
    } else if (edited) {
      this.stoppedEdits.add(el);
    }
    shown(result);
    return result;
  }

  /**
   * Where the page is cross-origin isolated, raise KeyboardInterrupt in the running code through a
   * shared interrupt buffer and keep the session; resolves false when that is not possible or the
   * code did not stop within two seconds (then the caller terminates the worker: on a busy or slow
   * machine an interrupt took more than one second to land, and the session was reset for it).
   * @returns {Promise<boolean>}
   */
  async interrupt() {
    if (!this.interruptBuffer || !this.pending.size || this.abortBoot) return false;
    const jobs = [...this.pending.values()];
    const settled = Promise.all(jobs.map((job) => job.done));
    Atomics.store(this.interruptBuffer, 0, 2); // SIGINT
    const stopped = await Promise.race([
      settled.then(() => true),
      new Promise((resolve) => setTimeout(() => resolve(false), 2000)),
    ]);
    return /** @type {boolean} */ (stopped);
  }

  /** Terminate the worker: the only Stop that works without cross-origin isolation. */
  kill() {
    if (this.abortBoot) {
      const abort = this.abortBoot;
      this.abortBoot = null;
      abort();
    }
    if (this.worker) this.worker.terminate();
    this.worker = null;
    this.ready = null;
    this.ran = new WeakSet();
    this.ranEdited = new WeakSet();
    this.undone = new WeakSet();
    for (const [, job] of this.pending) job.resolve({ ok: false, stopped: true });
    this.pending.clear();
  }
}

/** said under an earlier example replayed as written (:func:`Runner.run`) */
const AS_WRITTEN = "\nRan as written: your edit of it was stopped.\n";

/** @type {Map<string, Runner>} */
const runners = new Map();
document.addEventListener("pyrun:reset", (event) => {
  for (const runner of runners.values()) runner.undo(/** @type {Element} */ (event.target));
});

/** The page the runners belong to: instant navigation (mkdocs-material) swaps pages in place. */
let runnersPage = location.pathname;

/** End every worker: sessions never leak from one page into another. */
function killAll() {
  for (const runner of runners.values()) runner.kill();
  runners.clear();
}

function checkPage() {
  if (location.pathname !== runnersPage) {
    runnersPage = location.pathname;
    killAll();
  }
}

/** @param {string} runtime */
function runnerFor(runtime) {
  let runner = runners.get(runtime);
  if (!runner) {
    runner = new Runner(runtime, readConfig());
    runners.set(runtime, runner);
  }
  return runner;
}

/**
 * Every widget of `el`'s session (its runtime's), in the page's order.
 * @param {any} el
 * @returns {any[]}
 */
function sessionOf(el) {
  const all = /** @type {any[]} */ (Array.from(document.querySelectorAll("py-repl")));
  return all.filter((o) => o.session === el.session && o.runtimeName === el.runtimeName);
}

/**
 * The snippets of `el`'s session on this page, hidden setup snippets first, then document order
 * (a hidden snippet marked `data-in-order`, a doctest block with `:hide:`, is no setup: it runs
 * in its place, as in the check; `sessions.session_members` in Python).
 * @param {any} el
 * @returns {any[]}
 */
function sessionMembers(el) {
  const same = sessionOf(el);
  const upto = same.indexOf(el);
  const hidden = same.filter(isSetup);
  const before = same.slice(0, upto + 1).filter((o) => !isSetup(o));
  return isSetup(el) ? hidden.slice(0, hidden.indexOf(el) + 1) : [...hidden, ...before];
}

/**
 * Whether `el` is a setup snippet: hidden and run before its session's others, wherever it is
 * written (not a hidden one marked `data-in-order`, which runs in its place).
 * @param {any} el
 */
function isSetup(el) {
  return el.hasAttribute("data-hidden") && !el.hasAttribute("data-in-order");
}


/** Output and run-state methods, mixed into the `<py-repl>` element when this module loads. */
class OutputMixin extends HTMLElement {
  clearOutput() {
    const out = /** @type {HTMLElement} */ (/** @type {any} */ (this).output);
    out.replaceChildren();
    out.hidden = true;
    const self = /** @type {any} */ (this);
    clearTimeout(self.flushTimer);
    self.flushTimer = null;
    self.queued = [];
    this.textSize = 0;
    this.cut = 0;
    for (const mark of this.querySelectorAll(".pyrun-error-line")) mark.classList.remove("pyrun-error-line");
    const editor = /** @type {any} */ (this).editor;
    if (editor) editor.markLine(null);
  }

  /**
   * While the examples above it (a hidden setup too) run first, and Python starts: its own Stop
   * works (it stayed off, "Loading…", until its turn, so an endless loop above could be stopped
   * only from that example, maybe behind a closed "Setup code" toggle).
   */
  awaitEarlier() {
    this.busyButtons();
    this.classList.add("pyrun-running");
    this.setStatus("Running the examples above first…");
    this.waiting = true;
  }

  /**
   * Run off and Stop on while it runs (*busy*), the other way round after; a keyboard reader's
   * focus goes along, from Run to Stop and back: disabling the focused Run dropped it to the
   * page, and a second Enter ran nothing.
   */
  busyButtons(busy = true) {
    const self = /** @type {any} */ (this); // the element's own parts (pyrun.js)
    const [on, off] = /** @type {HTMLButtonElement[]} */ (busy ? [self.stopBtn, self.runBtn] : [self.runBtn, self.stopBtn]);
    const focused = document.activeElement === off;
    on.disabled = false;
    off.disabled = true;
    if (focused) on.focus();
  }

  beginRun() {
    this.waiting = false;
    this.running = true;
    this.clearOutput();
    // the output the build verified gives way to the live one (Reset brings it back)
    const verified = /** @type {HTMLElement | null} */ (this.querySelector(":scope > .pyrun-verified"));
    if (verified) verified.hidden = true;
    this.busyButtons();
    this.classList.add("pyrun-running");
    this.setStatus("Loading…");
    this.started = performance.now();
  }

  /** @param {any} result */
  endRun(result) {
    this.flushText();
    this.waiting = false;
    this.running = false;
    this.busyButtons(false);
    this.classList.remove("pyrun-running");
    const secs = ((performance.now() - (this.started || 0)) / 1000).toFixed(2);
    if (result.stopped) {
      this.setStatus("Stopped");
    } else if (result.boot) {
      this.appendText(`Python could not start: ${result.error.message}\n`, "pyrun-error");
      this.setStatus("Error");
    } else if (result.error && !result.expected) {
      // a transcript's failures were shown where they happened (`shown`)
      if (!result.error.shown) this.appendText(result.error.traceback || result.error.message, "pyrun-stderr");
      if (result.offline && !String(result.error.message).includes("has no network")) {
        // the code caught the lookup's error and failed later, saying nothing of the network
        const hosts = result.offline.slice(0, 3).join(", ");
        this.appendText(`(It looked up ${hosts}: Python in the browser has no network.)\n`, "pyrun-stderr");
      }
      this.markLine(result.error.editor_line ?? result.error.line);
      this.setStatus(`Error (${secs} s)`);
    } else {
      if (result.error) this.appendText(result.error.traceback, "pyrun-stderr");
      this.setStatus(`Done in ${secs} s`);
    }
    this.flushText();
    this.dispatchEvent(new CustomEvent("pyrun:done", { bubbles: true, detail: result }));
  }

  /** @param {number | null} line */
  markLine(line) {
    const editor = /** @type {any} */ (this).editor;
    if (editor) return editor.markLine(line);
    const pre = /** @type {HTMLElement | undefined} */ (/** @type {any} */ (this).pre);
    if (!line || !pre) return;
    const span = pre.querySelector(`[id$="-line-${line}"]`);
    if (span) span.classList.add("pyrun-error-line");
  }

  /** @param {string} text */
  setStatus(text) {
    const status = /** @type {HTMLElement | undefined} */ (/** @type {any} */ (this).status);
    if (status) status.textContent = text;
  }

  /** @param {Message} msg */
  receive(msg) {
    if (msg.type === "stream") {
      if (msg.dropped) this.cut = (this.cut || 0) + msg.dropped;
      // `skipped`: a +SKIP example's output as written (it did not run)
      const kind = { stderr: "pyrun-stderr", echo: "pyrun-echo", skipped: "pyrun-skipped" }[
        /** @type {string} */ (msg.stream)
      ];
      // a transcript's `# doctest: +FLAG` comments are not shown (`doctest_flags.trim_directives`)
      const trim = msg.stream === "echo" && this.hasAttribute("data-trim-flags");
      this.appendText(trim ? msg.text.replace(/[ \t]*#\s*doctest:.+$/gm, "") : msg.text, kind || "pyrun-stdout");
    } else if (msg.type === "display") {
      this.appendBundle(msg.bundle);
    }
  }

  /** The output area's text box, created on first output. */
  textBox() {
    const out = /** @type {HTMLElement} */ (/** @type {any} */ (this).output);
    out.hidden = false;
    let box = /** @type {HTMLElement | null} */ (out.lastElementChild);
    if (!box || box.tagName !== "PRE") {
      box = document.createElement("pre");
      box.className = "pyrun-text";
      out.append(box);
    }
    return box;
  }

  /**
   * Append text (always as text, never HTML), keeping at most `outputLimit` characters.
   * @param {string} text
   * @param {string} cls
   */
  appendText(text, cls) {
    if (!text) return;
    // Streams arrive in many small messages; the DOM is touched at most every 50 ms, so a print
    // loop cannot keep the page busy re-laying out its output.
    const self = /** @type {any} */ (this);
    (self.queued ??= []).push([text, cls]);
    self.flushTimer ??= setTimeout(() => this.flushText(), 50);
  }

  /** Write queued text into the output (always as text, never HTML), keeping the newest part. */
  flushText() {
    const self = /** @type {any} */ (this);
    clearTimeout(self.flushTimer);
    self.flushTimer = null;
    const queued = /** @type {[string, string][]} */ (self.queued || []);
    self.queued = [];
    if (!queued.length) return;
    const limit = Number(readConfig().outputLimit) || 100000;
    // merge runs of the same class and drop what would be cut anyway before touching the DOM
    /** @type {[string, string][]} */
    const merged = [];
    for (const [text, cls] of queued) {
      const last = merged[merged.length - 1];
      if (last && last[1] === cls) last[0] += text;
      else merged.push([text, cls]);
    }
    let total = merged.reduce((n, [t]) => n + t.length, 0);
    while (total > limit && merged.length) {
      const excess = total - limit;
      const first = merged[0];
      const drop = Math.min(excess, first[0].length);
      first[0] = first[0].slice(drop);
      this.cut = (this.cut || 0) + drop;
      total -= drop;
      if (!first[0]) merged.shift();
    }
    keepingTail(/** @type {HTMLElement} */ (self.output), () => {
      for (const [text, cls] of merged) this.writeText(text, cls);
    });
  }

  /** @param {string} text @param {string} cls */
  writeText(text, cls) {
    const box = this.textBox();
    const last = /** @type {HTMLElement | null} */ (box.lastElementChild);
    if (last && last.className === cls) last.append(text);
    else {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      box.append(span);
    }
    this.textSize = (this.textSize || 0) + text.length;
    this.trim(box);
  }

  /** @param {HTMLElement} box */
  trim(box) {
    const limit = Number(readConfig().outputLimit) || 100000;
    while ((this.textSize || 0) > limit && box.firstElementChild) {
      const first = /** @type {HTMLElement} */ (box.firstElementChild);
      if (first.classList.contains("pyrun-cut")) {
        if (first === box.lastElementChild) break;
        const next = /** @type {HTMLElement} */ (first.nextElementSibling);
        const excess = (this.textSize || 0) - limit;
        const text = next.textContent || "";
        const drop = Math.min(excess, text.length);
        next.textContent = text.slice(drop);
        this.textSize = (this.textSize || 0) - drop;
        this.cut = (this.cut || 0) + drop;
        if (!next.textContent) next.remove();
        first.textContent = `[… ${this.cut} characters of earlier output cut …]\n`;
      } else {
        const note = document.createElement("span");
        note.className = "pyrun-cut";
        box.prepend(note);
      }
    }
    let note = box.querySelector(".pyrun-cut");
    if (!note && this.cut) {
      // the executor already dropped the head of one huge write: say so all the same
      note = document.createElement("span");
      note.className = "pyrun-cut";
      box.prepend(note);
    }
    if (note && this.cut) note.textContent = `[… ${this.cut} characters of earlier output cut …]\n`;
  }

  /** @param {Record<string, string>} bundle */
  appendBundle(bundle) {
    this.flushText(); // keep text and rich output in the order they were produced
    const out = /** @type {HTMLElement} */ (/** @type {any} */ (this).output);
    out.hidden = false;
    const box = document.createElement("div");
    box.className = "pyrun-display";
    if (bundle["image/png"] || bundle["image/jpeg"]) {
      const img = document.createElement("img");
      const mime = bundle["image/png"] ? "image/png" : "image/jpeg";
      img.src = `data:${mime};base64,${bundle[mime]}`;
      img.alt = bundle["text/plain"] || "image output";
      box.append(img);
    } else if (bundle["image/svg+xml"]) {
      const img = document.createElement("img");
      img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(bundle["image/svg+xml"])}`;
      img.alt = bundle["text/plain"] || "SVG output";
      box.append(img);
    } else if (bundle["text/html"]) {
      // Rich HTML comes from the documentation's own examples (a trust decision documented in
      // the README); plain text output is always escaped.
      box.innerHTML = bundle["text/html"];
    } else if (bundle["text/markdown"]) {
      box.classList.add("pyrun-markdown");
      box.innerHTML = renderMarkdown(bundle["text/markdown"]);
    } else {
      this.appendText(`${bundle["text/plain"] ?? ""}\n`, "pyrun-result");
      return;
    }
    keepingTail(out, () => out.append(box));
  }
}

/**
 * Add to an output box with `write`, keeping its end in view if it showed its end (or did not
 * scroll yet), as a console does; a reader who scrolled up stays where they are. A long or
 * endless output stayed at its top, the newest lines, a final traceback and the Stop note out
 * of view.
 * @param {HTMLElement} out
 * @param {() => void} write
 */
function keepingTail(out, write) {
  const atEnd = out.scrollHeight - out.scrollTop - out.clientHeight < 8;
  write();
  if (atEnd) out.scrollTop = out.scrollHeight;
}

// --- Markdown output (`_repr_markdown_`) -------------------------------------------------------

/** @param {string} text */
const escapeHTML = (text) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] || c);

/**
 * Inline Markdown: code spans, bold, italic, links. Escapes the text itself; a link target must be
 * http(s), mailto, relative or an anchor, so no `javascript:` URL gets through.
 * @param {string} raw
 */
function inlineMarkdown(raw) {
  /** @type {string[]} */
  const codes = [];
  let out = escapeHTML(raw).replace(/`([^`]+)`/g, (_, code) => `\u0000${codes.push(code) - 1}\u0000`);
  out = out
    .replace(/\*\*(.+?)\*\*|__(.+?)__/g, (_, a, b) => `<strong>${a ?? b}</strong>`)
    .replace(/(^|[^\w*])\*(?!\s)(.+?)\*(?!\w)|(^|\W)_(?!\s)(.+?)_(?!\w)/g, (_, p1, a, p2, b) =>
      `${p1 ?? p2}<em>${a ?? b}</em>`,
    )
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_, label, url) => {
      const safe = /^(https?:|mailto:|[./#?])/i.test(url) || !/^[\w+.-]*:/.test(url);
      return `<a href="${safe ? url : "#"}" rel="noopener">${label}</a>`;
    });
  return out.replace(/\u0000(\d+)\u0000/g, (_, i) => `<code>${codes[Number(i)]}</code>`);
}

const LIST_ITEM = /^\s*([-*+]|\d+[.)])\s+/;
const BLOCK_START = /^\s*(```|~~~|#{1,6}\s|>|[-*+]\s|\d+[.)]\s)/;

/**
 * Render the Markdown of a `text/markdown` bundle: headings, paragraphs, lists, block quotes,
 * fenced code and pipe tables. Every piece of text is escaped, so Markdown output can never inject
 * markup (only the author's `_repr_html_` is trusted as HTML).
 * @param {string} source
 * @returns {string}
 */
export function renderMarkdown(source) {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  /** @type {string[]} */
  const html = [];
  const cells = (/** @type {string} */ row) =>
    row.trim().replace(/^\||\|$/g, "").split("|").map((c) => inlineMarkdown(c.trim()));
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (!line.trim()) {
      i++;
    } else if ((m = /^\s*(```|~~~)/.exec(line))) {
      const code = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith(m[1]); i++) code.push(lines[i]);
      i++;
      html.push(`<pre><code>${escapeHTML(code.join("\n"))}</code></pre>`);
    } else if ((m = /^(#{1,6})\s+(.*?)\s*#*$/.exec(line))) {
      html.push(`<h${m[1].length}>${inlineMarkdown(m[2])}</h${m[1].length}>`);
      i++;
    } else if (/^\s*(---|\*\*\*|___)\s*$/.test(line)) {
      html.push("<hr>");
      i++;
    } else if (/^\s*>/.test(line)) {
      const quote = [];
      for (; i < lines.length && /^\s*>/.test(lines[i]); i++) quote.push(lines[i].replace(/^\s*>\s?/, ""));
      html.push(`<blockquote>${renderMarkdown(quote.join("\n"))}</blockquote>`);
    } else if (LIST_ITEM.test(line)) {
      const tag = /^\s*\d/.test(line) ? "ol" : "ul";
      const items = [];
      for (; i < lines.length && LIST_ITEM.test(lines[i]); i++) {
        items.push(`<li>${inlineMarkdown(lines[i].replace(LIST_ITEM, ""))}</li>`);
      }
      html.push(`<${tag}>${items.join("")}</${tag}>`);
    } else if (line.includes("|") && /^\s*\|?\s*:?-{2,}/.test(lines[i + 1] || "")) {
      const head = cells(line).map((c) => `<th>${c}</th>`).join("");
      const rows = [];
      for (i += 2; i < lines.length && lines[i].includes("|") && lines[i].trim(); i++) {
        rows.push(`<tr>${cells(lines[i]).map((c) => `<td>${c}</td>`).join("")}</tr>`);
      }
      html.push(`<table><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`);
    } else {
      const para = [line.trim()];
      for (i++; i < lines.length && lines[i].trim() && !BLOCK_START.test(lines[i]); i++) {
        para.push(lines[i].trim());
      }
      html.push(`<p>${inlineMarkdown(para.join(" "))}</p>`);
    }
  }
  return html.join("\n");
}

/**
 * Give the element class its output methods.
 * @param {any} proto
 */
function install(proto) {
  for (const [name, desc] of Object.entries(Object.getOwnPropertyDescriptors(OutputMixin.prototype))) {
    if (name !== "constructor" && !(name in proto)) Object.defineProperty(proto, name, desc);
  }
}

/**
 * Run a widget (and the earlier snippets of its session that have not run yet).
 * @param {any} el
 */
export function run(el) {
  install(Object.getPrototypeOf(el));
  checkPage();
  // failures are shown in the widget itself; the loader only reports a runner that failed to load
  return runnerFor(el.runtimeName)
    .run(el)
    .catch(() => {});
}

/**
 * Stop: end the worker of the widget's runtime.
 * @param {any} el
 */
export async function stop(el) {
  install(Object.getPrototypeOf(el));
  const runner = runners.get(el.runtimeName);
  if (!runner) return;
  // waiting for the examples above: all of it stops, whatever is running up there
  if (!el.waiting && (await runner.interrupt())) {
    el.appendText("\nInterrupted (KeyboardInterrupt). The session keeps its state.\n", "pyrun-note");
    return;
  }
  runner.kill();
  el.appendText("\nStopped. The Python session was reset: the next Run starts a fresh one.\n", "pyrun-note");
}

/**
 * Get ready before the first Run: fetch the runtime into the caches at low priority, or boot it.
 * @param {any} el a visible widget
 * @param {boolean} boot start Python too
 */
export async function preload(el, boot) {
  install(Object.getPrototypeOf(el));
  const config = readConfig();
  if (boot) {
    const quiet = { setStatus() {} }; // boot progress belongs to no widget yet
    await runnerFor(el.runtimeName).start(quiet).catch(() => {});
    return;
  }
  const rt = config.runtimes[el.runtimeName];
  if (!rt) return;
  await registerServiceWorker(config);
  for (const name of Object.keys(rt.files)) {
    const url = new URL(name, new URL(rt.base, HERE)).href;
    // read the body so the service worker (or the HTTP cache) keeps it
    await fetch(url, /** @type {any} */ ({ priority: "low" }))
      .then((r) => r.arrayBuffer())
      .catch(() => {});
  }
}

/** runtimes whose cache is being looked at for a warm start */
const checking = new Set();

/**
 * A returning reader is about to run an example: start that runtime's Python now, so its start (a
 * restore from the memory snapshot, 0.7-1 s on a slow machine) is over, or under way, when
 * Run is clicked. Called when the reader points at Run (or tabs to it) and, with `onView`, when a
 * widget is on screen and the page is idle (`preload = "returning"`, the default). Only when the
 * runtime is in the site's cache (never a download) and the reader does not save data; on view
 * also not on devices that report under 4 GB of memory, and only while the page is visible. A
 * Python started this way and never used is ended after the page has been hidden for a while
 * (`releaseHidden`, 120 s), so tabs left open do not each keep an interpreter in memory.
 * @param {any} el @param {boolean} [onView]
 */
export async function warm(el, onView = false) {
  const name = el.runtimeName;
  const rt = readConfig().runtimes[name];
  const nav = /** @type {any} */ (navigator);
  if (!rt || checking.has(name) || runners.get(name)?.ready || nav.connection?.saveData) return;
  if (!self.caches || (onView && nav.deviceMemory && nav.deviceMemory < 4)) return;
  checking.add(name);
  try {
    if (!(await caches.has(runtimeCache(name, rt)))) return;
    if (onView) await pageVisible();
  } catch {
    return; // storage off
  } finally {
    checking.delete(name);
  }
  const runner = runnerFor(name);
  if (runner.ready) return; // a click came first
  const runs = runner.counter;
  const started = preload(el, true);
  releaseWhenHidden(runner, runs);
  await started;
}

/** Resolves when the page is visible (a tab opened in the background starts nothing). */
function pageVisible() {
  return new Promise((resolve) => {
    const check = () => {
      if (document.visibilityState !== "visible") return;
      document.removeEventListener("visibilitychange", check);
      resolve(undefined);
    };
    document.addEventListener("visibilitychange", check);
    check();
  });
}

/**
 * End `runner`'s worker, started by `warm`, if it has run nothing (`runs` unchanged) by the time
 * the page has been hidden for `releaseHidden` seconds; a later hover or view starts it again.
 * @param {Runner} runner @param {number} runs
 */
function releaseWhenHidden(runner, runs) {
  const boot = runner.ready;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const unused = () => runner.ready === boot && runner.counter === runs;
  const changed = () => {
    clearTimeout(timer);
    if (!unused()) {
      document.removeEventListener("visibilitychange", changed);
    } else if (document.visibilityState === "hidden") {
      const seconds = Number(runner.config.releaseHidden) || 120;
      timer = setTimeout(() => {
        if (!unused() || document.visibilityState !== "hidden") return;
        document.removeEventListener("visibilitychange", changed);
        console.info(`pyrun: the page was hidden for ${seconds} s; Python, never used, was ended to free memory`);
        runner.kill();
      }, seconds * 1000);
    }
  };
  document.addEventListener("visibilitychange", changed);
  changed();
}

/** A widget left the page: when none is left (instant navigation away), free the workers. */
export function disconnected() {
  setTimeout(() => {
    if (!document.querySelector("py-repl")) killAll();
    else checkPage();
  }, 0);
}

export { checkPage, killAll, sessionMembers, Runner };
