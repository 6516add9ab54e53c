// @ts-check
/// <reference lib="webworker" />
/**
 * pyrun-docs service worker: a returning reader downloads no runtime bytes, online or offline.
 *
 * Served from the site root (so its scope covers every page) and registered on the first Run, never
 * at page load. It caches only *versioned* URLs, cache-first:
 *   - runtime files under a versioned folder (`.../pyodide-314.0.7/...`, or the CDN's `/v314.0.7/`
 *     and `.../micropython-webassembly-pyscript@1.27.0/`),
 *     one cache per runtime version (`pyrun-runtime-pyodide-314.0.7`), so two versions never mix;
 *   - pyrun's own assets with a `?v=` content version (`pyrun-assets`), older versions of the same
 *     file are dropped when a new one is stored;
 *   - the site's package wheels, under their content hash (`pyrun/wheels/<hash>/`, `pyrun-wheels`);
 *     the package list `pyrun-lock.json` goes network-first into the same cache.
 * HTML is never cached unless the site opts in (`?pages=1` on this script's URL): then pages are
 * network-first, so the docs also read offline.
 *
 * Cache Storage is shared by every docs version on the origin (`/en/stable/`, `/en/latest/`), so a
 * runtime cache is deleted only when no page has used it for MAX_IDLE_DAYS, never because this
 * site uses another version.
 */

const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));
const OFFLINE_PAGES = new URL(sw.location.href).searchParams.get("pages") === "1";
const RUNTIME = /\/(pyodide|micropython)-(\d[^/]*)\/[^/]+$/;
const CDN = /\/pyodide\/v(\d[^/]*)\/full\/[^/]+$/;
const MICROPYTHON_CDN = /\/@micropython\/micropython-webassembly-pyscript@(\d[^/]*)\/[^/]+$/;
const ASSETS = "pyrun-assets";
const PAGES = "pyrun-pages";
const META = "pyrun-meta";
const MAX_IDLE_DAYS = 30;
/** the site's package wheels (PyPI, the project) and its package list, pyrun-lock.json */
const WHEELS = "pyrun-wheels";
const WHEEL = /\/pyrun\/wheels\/[0-9a-f]{16}\/[^/]+\.whl$/;
const PACKAGE_LOCK = /\/pyrun\/pyrun-lock\.json$/;
/** @type {Map<string, number>} */
const touched = new Map();

/** @param {URL} url */
function cacheFor(url) {
  let m = url.pathname.match(RUNTIME);
  if (m) return `pyrun-runtime-${m[1]}-${m[2]}`;
  m = url.pathname.match(CDN);
  if (m) return `pyrun-runtime-pyodide-${m[1]}`;
  m = url.pathname.match(MICROPYTHON_CDN);
  if (m) return `pyrun-runtime-micropython-${m[1]}`;
  if (url.searchParams.has("v") && /\/pyrun\/[^/]+$/.test(url.pathname)) return ASSETS;
  // the site's own wheels live under their content hash: never stale, so cache-first is safe
  if (WHEEL.test(url.pathname)) return WHEELS;
  return null;
}

/** Remember when a cache was last used (at most once an hour per cache). @param {string} name */
async function touch(name) {
  const now = Date.now();
  if (now - (touched.get(name) || 0) < 3600_000) return;
  touched.set(name, now);
  const meta = await caches.open(META);
  await meta.put(`/__pyrun__/${name}`, new Response(JSON.stringify({ lastUsed: now })));
}

/**
 * Delete runtime caches that no page on this origin has used for MAX_IDLE_DAYS, and with each the
 * memory snapshots made for that runtime version (IndexedDB, written by pyrun-snapshot.js).
 */
async function cleanup() {
  const meta = await caches.open(META);
  const names = new Set((await caches.keys()).filter((n) => n.startsWith("pyrun-runtime-")));
  const snapshotKeys = await snapshotEntries().catch(() => []);
  for (const key of snapshotKeys) names.add(key.slice(0, key.indexOf("/")));
  const idle = [];
  for (const name of names) {
    const entry = await meta.match(`/__pyrun__/${name}`);
    if (!entry) {
      await touch(name); // unknown age: start counting now
      continue;
    }
    const { lastUsed } = await entry.json();
    if (Date.now() - lastUsed > MAX_IDLE_DAYS * 86400_000) {
      await caches.delete(name);
      await meta.delete(`/__pyrun__/${name}`);
      idle.push(name);
    }
  }
  const gone = snapshotKeys.filter((key) => idle.includes(key.slice(0, key.indexOf("/"))));
  if (gone.length) await snapshotEntries(gone).catch(() => {});
}

/**
 * The keys of the stored memory snapshots (`pyrun-runtime-NAME-VERSION/BUILD/ASSETS`), after
 * deleting *remove*. Same database layout as pyrun-snapshot.js.
 * @param {string[]} [remove]
 * @returns {Promise<string[]>}
 */
function snapshotEntries(remove = []) {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === "undefined") return resolve([]);
    const request = indexedDB.open("pyrun-snapshots", 1);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains("snapshots")) {
        request.result.createObjectStore("snapshots");
      }
    };
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const tx = db.transaction("snapshots", "readwrite");
      const store = tx.objectStore("snapshots");
      for (const key of remove) store.delete(key);
      const keys = store.getAllKeys();
      tx.oncomplete = () => {
        db.close();
        resolve(keys.result.map(String).filter((k) => k.startsWith("pyrun-runtime-")));
      };
      tx.onerror = () => {
        db.close();
        reject(tx.error);
      };
    };
  });
}

/** @param {Request} request @param {string} name */
async function cacheFirst(request, name) {
  const cache = await caches.open(name);
  const hit = await cache.match(request, { ignoreVary: true });
  if (hit) {
    touch(name).catch(() => {});
    return hit;
  }
  const response = await fetch(request);
  if (response.ok && response.type !== "opaque") {
    try {
      await cache.put(request, response.clone());
      if (name === ASSETS) await dropOlderAssets(cache, new URL(request.url));
      await touch(name);
    } catch {
      // quota exceeded or storage off: the reader still gets the response from the network
    }
  }
  return response;
}

/** Keep one version of each pyrun asset. @param {Cache} cache @param {URL} url */
async function dropOlderAssets(cache, url) {
  for (const request of await cache.keys()) {
    const other = new URL(request.url);
    if (other.pathname === url.pathname && other.href !== url.href) await cache.delete(request);
  }
}

/** @param {Request} request */
async function networkFirst(request) {
  try {
    const response = await fetch(request);
    if (response.ok) {
      const cache = await caches.open(PAGES);
      cache.put(request, response.clone()).catch(() => {});
    }
    return response;
  } catch (err) {
    const hit = await caches.match(request, { cacheName: PAGES, ignoreSearch: true });
    if (hit) return hit;
    throw err;
  }
}

/**
 * The package list changes with a rebuild: from the network, the last copy when offline.
 * @param {Request} request
 */
async function packageLockFirstFromNetwork(request) {
  try {
    const response = await fetch(request);
    if (response.ok) {
      const cache = await caches.open(WHEELS);
      await cache.put(request.url, response.clone()).catch(() => {});
    }
    return response;
  } catch (err) {
    const hit = await caches.match(request.url, { cacheName: WHEELS });
    if (hit) return hit;
    throw err;
  }
}

sw.addEventListener("install", () => {
  sw.skipWaiting();
});

sw.addEventListener("activate", (event) => {
  event.waitUntil(Promise.all([sw.clients.claim(), cleanup().catch(() => {})]));
});

sw.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  const name = cacheFor(url);
  if (name) {
    event.respondWith(cacheFirst(request, name));
  } else if (PACKAGE_LOCK.test(url.pathname) && url.origin === sw.location.origin) {
    event.respondWith(packageLockFirstFromNetwork(request));
  } else if (OFFLINE_PAGES && request.mode === "navigate" && url.origin === sw.location.origin) {
    event.respondWith(networkFirst(request));
  }
});
