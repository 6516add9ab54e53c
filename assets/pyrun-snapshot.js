// @ts-check
/**
 * pyrun-docs memory snapshots in the reader's browser, imported by the worker (pyrun-worker.js)
 * and, to read the stored snapshot for the worker, by the page's runner (pyrun-runner.js).
 *
 * The first boot of the pinned Pyodide in a browser takes a snapshot of the clean interpreter (the
 * executor imported, no reader code run) and stores it here; every later boot on the origin restores
 * it in ~0.4 s instead of booting for ~2-3 s. Pyodide's snapshot API is private and checks only a
 * magic number and a build id, so:
 *
 *  - entries are keyed by the exact build: `pyrun-runtime-<runtime>-<version>/<build id>/<asset
 *    version>` (the asset version covers this worker and the executor frozen into the snapshot), and
 *    the record repeats those fields;
 *  - a SHA-256 of the bytes is stored beside them and checked on every restore, alongside it (the
 *    digest of 31 MB costs ~50 ms): a mismatch throws the restored interpreter away before any
 *    reader code runs (a damaged snapshot can also fail to load, or spin forever; the page's
 *    watchdog handles the latter);
 *  - any problem deletes the entry (the cold boot that follows stores a good one) and says so in the
 *    console, never in the widget.
 *
 * Storage is IndexedDB (`pyrun-snapshots`): Chromium compresses the 31 MB snapshot to ~9 MB on
 * disk, where Cache Storage keeps all of it. (A Blob value reads back faster alone, ~35 vs ~95 ms,
 * but not during a boot, where the worker's thread is busy parsing Pyodide's scripts meanwhile:
 * measured the same, for 31 MB on disk.) The service worker deletes the entries of a runtime
 * version together with its `pyrun-runtime-*` cache; this module keeps at most KEEP entries.
 */

export const DB_NAME = "pyrun-snapshots";
export const STORE = "snapshots";
/** entries kept on an origin (other docs versions may use other runtimes or pyrun-docs versions) */
const KEEP = 3;

/**
 * What a snapshot is made for: the runtime build and the worker/executor version.
 * @param {any} msg the worker's init message
 */
export function snapshotKey(msg) {
  return `pyrun-runtime-${msg.runtime}-${msg.version}/${msg.buildId}/${msg.assetVersion || ""}`;
}

/** @param {string} text */
function warn(text) {
  console.warn(`pyrun: ${text}`);
}

/** @returns {Promise<IDBDatabase>} */
function openDB() {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === "undefined") {
      reject(new Error("IndexedDB is not available here"));
      return;
    }
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error("IndexedDB is blocked"));
  });
}

/**
 * One request in one transaction; resolves when the transaction completes (a read: as soon as
 * its result is there, a task earlier, which a restore waiting for it notices).
 * @param {"readonly" | "readwrite"} mode
 * @param {(store: IDBObjectStore) => IDBRequest | void} body
 * @returns {Promise<any>}
 */
async function withStore(mode, body) {
  const db = await openDB();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = body(tx.objectStore(STORE));
      if (request && mode === "readonly") request.onsuccess = () => resolve(request.result);
      tx.oncomplete = () => resolve(request ? request.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
    });
  } finally {
    db.close();
  }
}

/** @param {Uint8Array} bytes */
export async function sha256hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", /** @type {BufferSource} */ (bytes)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The stored snapshot for this exact build with the SHA-256 stored beside it; `null` when there
 * is none or it is unusable (then it is deleted, with a console message saying why). The page
 * reads it for the worker (see pyrun-runner.js) and transfers the bytes; the worker checks them
 * with `checked`.
 * @param {any} msg the worker's init message
 * @returns {Promise<{bytes: Uint8Array, sha256: string} | null>}
 */
export async function readStored(msg) {
  const key = snapshotKey(msg);
  /** @type {any} */
  let record;
  try {
    record = await withStore("readonly", (store) => store.get(key));
  } catch (err) {
    warn(`cannot read the stored memory snapshot (${err}); starting Python normally`);
    return null;
  }
  if (!record) return null;
  const problem = checkRecord(record, msg);
  if (!problem) return { bytes: record.bytes, sha256: record.sha256 };
  await discard(msg, problem);
  return null;
}

/**
 * A read snapshot and a promise of its SHA-256 check, to await before reader code runs (the
 * restore does not wait for it).
 * @param {{bytes: Uint8Array, sha256: string}} record
 * @returns {{bytes: Uint8Array, intact: Promise<boolean>}}
 */
export function checked(record) {
  return { bytes: record.bytes, intact: sha256hex(record.bytes).then((digest) => digest === record.sha256) };
}

/** What the worker says when a restored snapshot's bytes fail their SHA-256 check. */
export const DAMAGED = "its SHA-256 does not match: the stored bytes are damaged";

/**
 * The snapshot the site ships (`snapshot = "site"`, made by the docs build from the same pinned
 * runtime): `pyrun-snapshot.json` next to this file names it; it is checked like a stored one.
 * `null` (with a console message) when there is none or it does not fit.
 * @param {any} msg
 * @returns {Promise<Uint8Array | null>}
 */
export async function loadSite(msg) {
  const manifestURL = new URL("pyrun-snapshot.json", import.meta.url);
  try {
    if (typeof DecompressionStream === "undefined") throw new Error("no DecompressionStream here");
    const response = await fetch(manifestURL, { credentials: "same-origin", cache: "no-cache" });
    if (!response.ok) throw new Error(`${manifestURL} is missing (HTTP ${response.status})`);
    const manifest = await response.json();
    const problem = checkRecord({ ...manifest, bytes: new Uint8Array(0), size: 0 }, msg);
    if (problem) throw new Error(`the site's snapshot does not fit: ${problem}`);
    const file = await fetch(new URL(manifest.file, manifestURL), { credentials: "same-origin" });
    if (!file.ok || !file.body) throw new Error(`${manifest.file} is missing (HTTP ${file.status})`);
    const stream = file.body.pipeThrough(new DecompressionStream("gzip"));
    const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    if (bytes.length !== manifest.size) {
      throw new Error(`the site's snapshot is truncated (${bytes.length} of ${manifest.size} bytes)`);
    }
    if ((await sha256hex(bytes)) !== manifest.sha256) {
      throw new Error("the site's snapshot is damaged (its SHA-256 does not match)");
    }
    return bytes;
  } catch (err) {
    warn(`the site's memory snapshot is not used (${err instanceof Error ? err.message : err}); Python starts normally`);
    return null;
  }
}

/**
 * @param {any} record @param {any} msg
 * @returns {string | null} what is wrong with a stored record, if anything
 */
function checkRecord(record, msg) {
  if (record.runtime !== msg.runtime || record.version !== msg.version) {
    return `it was made by ${record.runtime} ${record.version}`;
  }
  if (record.buildId !== msg.buildId) return `it was made by another build (${record.buildId})`;
  if (record.assetVersion !== (msg.assetVersion || "")) return "it was made by another pyrun-docs";
  if (!(record.bytes instanceof Uint8Array) || typeof record.sha256 !== "string") {
    return "the entry is malformed";
  }
  if (record.bytes.length !== record.size) {
    return `it is truncated (${record.bytes.length} of ${record.size} bytes)`;
  }
  return null;
}

/**
 * Delete this build's snapshot, saying why (in the console only).
 * @param {any} msg @param {string} reason
 */
export async function discard(msg, reason) {
  warn(`the stored memory snapshot is not used (${reason}); Python starts normally and a new one is stored`);
  try {
    await withStore("readwrite", (store) => store.delete(snapshotKey(msg)));
  } catch {
    // storage gone: nothing to delete
  }
}

/**
 * Store a freshly made snapshot with its SHA-256; keep only the KEEP newest entries.
 * @param {any} msg @param {Uint8Array} bytes
 * @returns {Promise<boolean>} whether it was stored
 */
export async function store(msg, bytes) {
  const key = snapshotKey(msg);
  try {
    const record = {
      runtime: msg.runtime,
      version: msg.version,
      buildId: msg.buildId,
      assetVersion: msg.assetVersion || "",
      size: bytes.length,
      sha256: await sha256hex(bytes),
      created: Date.now(),
      bytes,
    };
    await withStore("readwrite", (s) => s.put(record, key));
    console.info(
      `pyrun: memory snapshot stored (${(bytes.length / 1e6).toFixed(1)} MB); ` +
        "the next start of Python on this site restores it",
    );
  } catch (err) {
    warn(`could not store the memory snapshot (${err}); the next visit starts Python normally`);
    return false;
  }
  await trim(key).catch(() => {});
  return true;
}

/**
 * Keep at most KEEP entries without reading any (each holds a 31 MB snapshot): drop the same
 * runtime build's entries for other pyrun-docs versions first (most likely an older build of these
 * docs), then entries of other runtimes.
 * @param {string} keep
 */
async function trim(keep) {
  /** @type {IDBValidKey[]} */
  const keys = await withStore("readonly", (s) => s.getAllKeys());
  if (keys.length <= KEEP) return;
  const build = keep.slice(0, keep.lastIndexOf("/") + 1);
  const others = keys.filter((k) => k !== keep).map(String);
  others.sort((a, b) => Number(b.startsWith(build)) - Number(a.startsWith(build)));
  const old = others.slice(0, keys.length - KEEP);
  await withStore("readwrite", (s) => {
    for (const key of old) s.delete(key);
  });
}
