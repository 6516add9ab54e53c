// @ts-check
/**
 * pyrun-docs loader: the `<py-repl>` custom element.
 *
 * The only script a page with snippets loads up front, kept small: it adds the toolbar and handles
 * Reset and Copy itself. The runner (pyrun-runner.js), the worker and the runtime load on the first
 * Run. Settings come from the page's `#pyrun-config`; relative URLs in it are relative to this file,
 * so pages at any depth resolve them the same way.
 */

/** @type {Promise<any> | null} */
let runner = null;

/** @returns {any} */
function pageConfig() {
  const node = document.getElementById("pyrun-config");
  return node ? JSON.parse(node.textContent || "{}") : {};
}

function loadRunner() {
  if (!runner) {
    const version = pageConfig().assetVersion;
    const url = new URL("pyrun-runner.js", import.meta.url);
    if (version) url.searchParams.set("v", version);
    runner = import(url.href);
    runner.catch(() => {
      runner = null;
    });
  }
  return runner;
}

/**
 * @param {string} label
 * @param {string} cls
 * @param {string} title
 */
function button(label, cls, title) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = `pyrun-btn ${cls}`;
  b.textContent = label;
  b.title = title;
  b.setAttribute("aria-label", title);
  return b;
}

/** @type {IntersectionObserver | null} */
let observer = null;

/**
 * `preload: visible | boot`: once a widget is on screen and the page is idle, fetch the runtime at
 * low priority (and, for `boot`, start Python) so the first Run answers at once. Skipped when the
 * reader asked to save data.
 * @param {HTMLElement} el
 */
function watchForPreload(el) {
  const mode = pageConfig().preload;
  const connection = /** @type {any} */ (navigator).connection;
  if ((mode !== "visible" && mode !== "boot") || (connection && connection.saveData)) return;
  if (!("IntersectionObserver" in window)) return;
  observer ??= new IntersectionObserver((entries) => {
    const seen = entries.find((e) => e.isIntersecting);
    if (!seen) return;
    /** @type {IntersectionObserver} */ (observer).disconnect();
    observer = null;
    const idle = window.requestIdleCallback || ((/** @type {() => void} */ f) => setTimeout(f, 200));
    idle(() => loadRunner().then((m) => m.preload(seen.target, mode === "boot")));
  });
  observer.observe(el);
}

class PyRepl extends HTMLElement {
  connectedCallback() {
    if (runner) runner.then((m) => m.checkPage());
    if (this.querySelector(":scope > .pyrun-toolbar")) return; // already upgraded (re-attached)
    const pre = this.querySelector(".pyrun-code pre");
    if (!pre) return;
    this.pre = /** @type {HTMLElement} */ (pre);
    this.originalHTML = this.pre.innerHTML;
    this.running = false;

    const bar = document.createElement("div");
    bar.className = "pyrun-toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "Example controls");
    this.runBtn = button("▶ Run", "pyrun-run", "Run (Shift+Enter)");
    this.stopBtn = button("■ Stop", "pyrun-stop", "Stop");
    this.stopBtn.disabled = true;
    const resetBtn = button("↺ Reset", "pyrun-reset", "Reset to the original code");
    const copyBtn = button("Copy", "pyrun-copy", "Copy the code");
    this.status = document.createElement("span");
    this.status.className = "pyrun-status";
    bar.append(this.runBtn, this.stopBtn, resetBtn, copyBtn, this.status);

    this.output = document.createElement("div");
    this.output.className = "pyrun-output";
    this.output.setAttribute("role", "log");
    this.output.setAttribute("aria-live", "polite");
    this.output.setAttribute("aria-label", "Output");
    this.output.hidden = true;
    /** @type {HTMLElement} */ (this.querySelector(".pyrun-code")).after(bar, this.output);

    if (!this.hasAttribute("data-readonly")) {
      this.pre.setAttribute("contenteditable", "plaintext-only");
      this.pre.setAttribute("spellcheck", "false");
      this.pre.setAttribute("role", "textbox");
      this.pre.setAttribute("aria-multiline", "true");
      this.pre.setAttribute("aria-label", "Python code, editable");
      this.pre.tabIndex = 0;
    }
    this.runBtn.addEventListener("click", () => this.run());
    this.stopBtn.addEventListener("click", () => this.stop());
    resetBtn.addEventListener("click", () => this.reset());
    copyBtn.addEventListener("click", () => this.copy());
    this.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.shiftKey || event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.run();
      }
    });
    this.dispatchEvent(new CustomEvent("pyrun:ready", { bubbles: true }));
    if (this.hasAttribute("data-autorun")) this.run();
    else watchForPreload(this);
  }

  disconnectedCallback() {
    if (runner) runner.then((m) => m.disconnected());
  }

  get session() {
    return this.dataset.session || null;
  }

  get runtimeName() {
    return this.dataset.runtime || "pyodide";
  }

  /** 1-based position on the page, for tracebacks ("<example 3>"). */
  get number() {
    return Number(this.dataset.index || 0) + 1;
  }

  get code() {
    let text = "";
    if (this.pre) {
      // Chromium inserts <br> for Enter in an editable <pre>; textContent would drop it.
      const copy = /** @type {HTMLElement} */ (this.pre.cloneNode(true));
      for (const br of copy.querySelectorAll("br")) br.replaceWith("\n");
      text = copy.textContent || "";
    }
    return text.endsWith("\n") ? text : `${text}\n`;
  }

  run() {
    if (this.running) return Promise.resolve();
    this.setStatus("Loading…");
    return loadRunner()
      .then((m) => m.run(this))
      .catch((err) => this.setStatus(`Error: ${err && err.message ? err.message : err}`));
  }

  stop() {
    if (runner) runner.then((m) => m.stop(this));
  }

  reset() {
    if (this.pre && this.originalHTML !== undefined) this.pre.innerHTML = this.originalHTML;
    const self = /** @type {any} */ (this);
    if (self.clearOutput) self.clearOutput();
    this.setStatus("");
    this.dispatchEvent(new CustomEvent("pyrun:reset", { bubbles: true }));
  }

  async copy() {
    const text = this.code;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = document.createElement("textarea");
      area.value = text;
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    this.setStatus("Copied");
  }

  /** @param {string} text */
  setStatus(text) {
    if (this.status) this.status.textContent = text;
  }
}

if (!customElements.get("py-repl")) customElements.define("py-repl", PyRepl);

export { PyRepl };
