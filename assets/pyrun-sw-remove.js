// @ts-check
/// <reference lib="webworker" />
/**
 * pyrun-docs removal service worker: takes pyrun off a site in its returning readers' browsers.
 *
 * A site that used pyrun registered `pyrun-sw.js` at its root; deleting that file does not remove
 * the worker (a failed update check keeps the old one). `pyrun-docs remove DIR` writes this file
 * as `pyrun-sw.js` instead: the next time a reader's browser checks the registered script (on a
 * navigation, at most 24 hours after its last check), it installs this one, which deletes pyrun's
 * caches (`pyrun-*`: runtimes, assets, wheels, pages, metadata) and memory snapshots (IndexedDB
 * `pyrun-snapshots`), then unregisters itself. It has no fetch handler: nothing is intercepted
 * while it lives.
 */

// one function scope: a classic worker script's top-level names would be globals
(() => {
  const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));
  /** every Cache Storage name pyrun-sw.js uses starts with this */
  const CACHE_PREFIX = "pyrun-";
  /** the memory snapshots' database (pyrun-snapshot.js) */
  const SNAPSHOT_DB = "pyrun-snapshots";

  /**
   * Delete the snapshot database. A page still holding it open blocks the deletion until it closes;
   * the deletion is then queued, so this does not wait for it.
   * @returns {Promise<void>}
   */
  function deleteSnapshots() {
    return new Promise((resolve) => {
      if (typeof indexedDB === "undefined") return resolve();
      const request = indexedDB.deleteDatabase(SNAPSHOT_DB);
      request.onsuccess = () => resolve();
      request.onerror = () => resolve();
      request.onblocked = () => resolve();
    });
  }

  async function removePyrun() {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith(CACHE_PREFIX)).map((n) => caches.delete(n)));
    await deleteSnapshots();
    await sw.registration.unregister();
  }

  sw.addEventListener("install", () => {
    sw.skipWaiting();
  });

  sw.addEventListener("activate", (event) => {
    event.waitUntil(removePyrun().catch(() => sw.registration.unregister()));
  });
})();
