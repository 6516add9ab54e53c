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
  // MkDocs' pages carry it in an attribute (`render.page_config_element`), Sphinx's in a script
  return node ? JSON.parse(node.getAttribute("data-config") || node.textContent || "{}") : {};
}

/** @param {string} name a sibling module, with the site's asset version */
function moduleURL(name) {
  const url = new URL(name, import.meta.url);
  const version = pageConfig().assetVersion;
  if (version) url.searchParams.set("v", version);
  return url.href;
}

function loadRunner() {
  if (!runner) {
    runner = import(moduleURL("pyrun-runner.js"));
    runner.catch(() => {
      runner = null;
    });
  }
  return runner;
}

/** @type {Promise<any> | null} */
let editorModule = null;

/** The drafts of this page's widgets survive a reload within the browsing session. */
const draftKey = (/** @type {HTMLElement} */ el) => `pyrun:${location.pathname}#${el.id}`;

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
 * `preload`: once a widget is on screen and the page is idle, a returning reader's Python starts
 * (restored from its memory snapshot; `returning`, `visible`, `boot`); on a first visit
 * `visible` fetches the runtime at low priority and `boot` starts Python. Skipped when the
 * reader asked to save data.
 * @param {HTMLElement} el
 */
function watchForPreload(el) {
  const mode = pageConfig().preload;
  const connection = /** @type {any} */ (navigator).connection;
  // our service worker controls only pages of a site where the reader ran Python before
  const back = navigator.serviceWorker?.controller && mode !== "boot";
  if (!mode || mode === "none" || (mode === "returning" && !back) || connection?.saveData) return;
  if (!("IntersectionObserver" in window)) return;
  observer ??= new IntersectionObserver((entries) => {
    const seen = entries.find((e) => e.isIntersecting);
    if (!seen) return;
    /** @type {IntersectionObserver} */ (observer).disconnect();
    observer = null;
    const idle = window.requestIdleCallback || ((/** @type {() => void} */ f) => setTimeout(f, 200));
    idle(() =>
      loadRunner().then((m) => (back ? m.warm(seen.target, true) : m.preload(seen.target, mode === "boot"))),
    );
  });
  observer.observe(el);
}

/**
 * The reader's selection inside the static code as text offsets, so typing that began before the
 * editor arrived carries on at the same place.
 * @param {HTMLElement} pre
 * @returns {[number, number] | null}
 */
function caretIn(pre) {
  const sel = document.getSelection();
  if (!sel || !sel.rangeCount || !pre.contains(sel.anchorNode) || !pre.contains(sel.focusNode)) {
    return null;
  }
  const offset = (/** @type {Node} */ node, /** @type {number} */ at) => {
    const range = document.createRange();
    range.setStart(pre, 0);
    range.setEnd(node, at);
    const part = range.cloneContents(); // without the line numbers, as in the editor
    for (const n of part.querySelectorAll(".linenos")) n.remove();
    return (part.textContent || "").length;
  };
  return [offset(/** @type {Node} */ (sel.anchorNode), sel.anchorOffset), offset(/** @type {Node} */ (sel.focusNode), sel.focusOffset)];
}

/**
 * The code in the static `<pre>`, without the line numbers Pygments writes into it (`linenos`).
 * @param {HTMLElement} pre
 */
function codeText(pre) {
  const copy = /** @type {HTMLElement} */ (pre.cloneNode(true));
  for (const n of copy.querySelectorAll(".linenos")) n.remove();
  // Chromium inserts <br> for Enter in an editable <pre>; textContent would drop it.
  for (const br of copy.querySelectorAll("br")) br.replaceWith("\n");
  return copy.textContent || "";
}

class PyRepl extends HTMLElement {
  connectedCallback() {
    if (runner) runner.then((m) => m.checkPage());
    if (this.querySelector(":scope > .pyrun-toolbar")) return; // already upgraded (re-attached)
    const pre = this.querySelector(".pyrun-code pre");
    if (!pre) return;
    this.pre = /** @type {HTMLElement} */ (pre);
    // the output in the code's own font, whatever the theme (sphinx_rtd_theme's 12px code face
    // stood above 14px generic monospace output): pyrun.css reads these. The <code> inside, where
    // there is one: mkdocs-material sizes that, not the <pre> (output 16px under 13.6px code)
    const font = getComputedStyle(this.pre.querySelector(":scope > code") || this.pre);
    this.style.setProperty("--pyrun-code-font", font.fontFamily);
    this.style.setProperty("--pyrun-code-size", font.fontSize);
    this.originalHTML = this.pre.innerHTML;
    this.originalCode = codeText(this.pre).replace(/\n$/, "");
    /** @type {any} */
    this.editor = null;
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
    // a long snippet is shown at its `lines` (default 30) and scrolls inside; this lets it grow
    // to the screen's height
    this.expandBtn = button("Expand", "pyrun-expand", "Show more of the code");
    this.expandBtn.setAttribute("aria-expanded", "false");
    this.expandBtn.hidden = true;
    this.expandBtn.addEventListener("click", () => this.toggleExpanded());
    bar.append(this.runBtn, this.stopBtn, resetBtn, copyBtn, this.expandBtn, this.status);
    // the build's take-away links (plain links, so they work without JavaScript) join the toolbar
    const takeaway = /** @type {HTMLDetailsElement | null} */ (this.querySelector(":scope > .pyrun-takeaway"));
    if (takeaway) {
      bar.insertBefore(takeaway, this.status);
      document.addEventListener("click", (event) => {
        if (takeaway.open && !takeaway.contains(/** @type {Node} */ (event.target))) takeaway.open = false;
      });
    }
    // a returning reader (our service worker is here) pointing at Run: maybe start Python now
    this.runBtn.onpointerenter = this.runBtn.onfocus = () =>
      navigator.serviceWorker?.controller && loadRunner().then((m) => m.warm(this));

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
      // a theme may take the code out of the Tab order (pydata-sphinx-theme gives every <pre>
      // that does not scroll tabIndex -1, again after each change of the page): put it back
      const pre = this.pre;
      new MutationObserver(() => {
        if (pre.hasAttribute("contenteditable") && pre.tabIndex !== 0) pre.tabIndex = 0;
      }).observe(pre, { attributes: true, attributeFilter: ["tabindex"] });
      // CodeMirror loads on the first focus or click, never before
      this.pre.addEventListener("focus", () => this.activateEditor(false), { once: true });
      this.pre.addEventListener("pointerdown", () => this.activateEditor(true), { once: true });
      this.restoreDraft();
    }
    this.runBtn.addEventListener("click", () => this.run());
    this.stopBtn.addEventListener("click", () => this.stop());
    resetBtn.addEventListener("click", () => this.reset());
    copyBtn.addEventListener("click", () => this.copy());
    this.addEventListener("keydown", (event) => {
      // keys typed into the code are the code's: a theme's shortcuts listen on the document and
      // skip only inputs and textareas, not the editor (Sphinx's "/" focused the search box,
      // the mkdocs theme's "s", "?", "n" and "p" opened search or left the page mid-edit)
      if (event.target instanceof HTMLElement && event.target.isContentEditable) event.stopPropagation();
      if (event.defaultPrevented) return; // the editor's own Shift/Ctrl+Enter binding ran it
      if (event.key === "Enter" && (event.shiftKey || event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.run();
      }
    });
    // the code's size changes when it is first laid out (also in a closed <details> or a hidden
    // tab opened later), when the editor replaces it and as it is edited
    if ("ResizeObserver" in window) new ResizeObserver(() => this.fitHeight()).observe(this.pre);
    else this.fitHeight();
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
    if (this.editor) {
      text = this.editor.getCode();
    } else if (this.pre) {
      text = codeText(this.pre);
    }
    return text.endsWith("\n") ? text : `${text}\n`;
  }

  run() {
    // `running` is set by the runner once it has loaded; `starting` covers the time before, so a
    // double press never queues two runs
    if (this.running || this.starting) return Promise.resolve();
    this.starting = true;
    this.setStatus("Loading…");
    return loadRunner()
      .then((m) => m.run(this))
      .catch((err) => this.setStatus(`Error: ${err && err.message ? err.message : err}`))
      .finally(() => {
        this.starting = false;
      });
  }

  stop() {
    if (runner) runner.then((m) => m.stop(this));
  }

  /**
   * Swap the static code for CodeMirror 6 (a lazily loaded chunk), keeping edits made meanwhile.
   * @param {boolean} [pointer] asked for by a click or a touch (not a Tab into the code)
   */
  activateEditor(pointer = false) {
    if (this.editor || this.editorLoading || !this.pre) return;
    const pre = this.pre;
    editorModule ??= import(moduleURL("pyrun-editor.js"));
    this.editorLoading = editorModule
      // after the click that asked for it has put the caret in the code: with the module loaded
      // already (a second widget), it mounted inside the pointerdown, before the browser focused
      // the code, so the focus fell to <body> and what the reader typed went nowhere
      .then((m) => new Promise((resolve) => setTimeout(() => resolve(m), 0)))
      .then((/** @type {any} */ m) => {
        const hadFocus = document.activeElement === pre;
        const code = this.code.replace(/\n$/, "");
        const caret = caretIn(pre);
        // no layout jump (min-height sizes the content box unless the theme says border-box)
        const cs = getComputedStyle(pre);
        const edges = cs.boxSizing === "border-box" ? 0 : pre.offsetHeight - pre.clientHeight +
          parseFloat(cs.paddingTop) + parseFloat(cs.paddingBottom);
        const shown = Math.min(pre.offsetHeight, this.querySelector(".pyrun-code")?.clientHeight ?? Infinity);
        pre.style.minHeight = `${shown - edges}px`;
        for (const a of ["contenteditable", "role", "aria-multiline", "aria-label", "tabindex"]) {
          pre.removeAttribute(a);
        }
        // in the <code> a theme styles where there is one (mkdocs-material sizes, pads and
        // shades `pre > code`: mounted in the <pre>, the code grew from 13.6 to 16 px and lost
        // its grey box on the first click)
        const host = pre.querySelector(":scope > code") || pre;
        host.replaceChildren();
        if (host !== pre) pre.replaceChildren(host);
        pre.classList.add("pyrun-has-editor");
        this.editor = m.createEditor(host, {
          doc: code,
          linenos: this.hasAttribute("data-linenos"),
          firstLine: Number(this.dataset.linenoStart || 1),
          emphasize: (this.dataset.emphasizeLines || "").split(" ").filter(Boolean).map(Number),
          onRun: () => this.run(),
          onChange: (/** @type {string} */ text) => {
            this.editor?.view.setTabFocusMode?.(false); // editing: Tab indents, as in any editor
            this.saveDraft(text);
          },
        });
        // Tab moves on from code reached with the keyboard, until the reader edits it: a
        // keyboard-only reader was caught, every Tab indenting the code (which then counted as
        // edited); Escape then Tab, and Ctrl-M, are CodeMirror's own ways out once editing
        const view = this.editor.view;
        let pointed = pointer ? performance.now() : -Infinity;
        host.addEventListener("pointerdown", () => {
          pointed = performance.now();
          view.setTabFocusMode?.(false); // clicked into: Tab indents
        }, true);
        view.contentDOM.addEventListener("focus", () => {
          if (performance.now() - pointed > 1000) view.setTabFocusMode?.(true);
        });
        if (caret) {
          const clamp = (/** @type {number} */ n) => Math.min(n, code.length);
          this.editor.view.dispatch({ selection: { anchor: clamp(caret[0]), head: clamp(caret[1]) } });
        }
        if (hadFocus) this.editor.focus();
        // what was typed into the code before the editor came is a draft too (only the
        // editor's changes were kept: a paste while it loaded was lost on a reload)
        if (code !== this.originalCode.replace(/\n$/, "")) this.saveDraft(code);
        this.fitHeight();
        this.dispatchEvent(new CustomEvent("pyrun:editor", { bubbles: true }));
      })
      .catch(() => {
        editorModule = null; // offline or blocked: the plain editable code keeps working
      });
  }

  /**
   * Cap the code at `lines` (default 30) of its real line height, which depends on the theme;
   * the stylesheet's estimate in `em` holds until then (and without JavaScript). Offer Expand
   * only when something is hidden.
   */
  fitHeight() {
    const box = /** @type {HTMLElement | null} */ (this.querySelector(".pyrun-code"));
    if (!box || !this.pre || !this.expandBtn) return;
    // the editor scrolls itself (it draws only the lines in view), the static code in its box
    const cm = /** @type {HTMLElement | null} */ (this.pre.querySelector(".cm-editor"));
    const line = cm && cm.querySelector(".cm-line");
    const lineHeight = line ? line.getBoundingClientRect().height : parseFloat(getComputedStyle(this.pre).lineHeight);
    const lines = Number(this.dataset.lines || 30);
    if (lineHeight > 0) {
      const style = getComputedStyle(this.pre);
      const chrome = cm ? 4 : parseFloat(style.paddingTop) + parseFloat(style.paddingBottom) + 2;
      const cap = `${Math.ceil(lines * lineHeight + chrome)}px`;
      if (cm) cm.style.maxHeight = cap;
      box.style.maxHeight = cm ? "none" : cap;
    }
    // the code's box, or the pre inside it where a theme's rule makes that one scroll (pydata
    // with sphinx-copybutton: Expand was never offered for 5,000 lines)
    const pre = this.pre.scrollHeight > this.pre.clientHeight + 1 ? this.pre : box;
    const scroller = (cm && /** @type {HTMLElement | null} */ (cm.querySelector(".cm-scroller"))) || pre;
    const expanded = this.hasAttribute("data-expanded");
    this.expandBtn.hidden = !expanded && scroller.scrollHeight <= scroller.clientHeight + 1;
  }

  toggleExpanded() {
    const expanded = this.toggleAttribute("data-expanded");
    if (!this.expandBtn) return;
    this.expandBtn.textContent = expanded ? "Collapse" : "Expand";
    this.expandBtn.setAttribute("aria-expanded", String(expanded));
    // keep Run on screen (a theme's sticky header may cover the top of the page)
    this.expandBtn.scrollIntoView({ block: "nearest" });
  }

  /**
   * Keep the reader's draft for a reload, and mark the widget edited while its code is not the
   * original: the verified output below is then the original's (a restored draft sat above it
   * with nothing to say so).
   * @param {string} text
   */
  saveDraft(text) {
    this.toggleAttribute("data-edited", text !== this.originalCode);
    try {
      const key = draftKey(this);
      if (text === this.originalCode) sessionStorage.removeItem(key);
      else sessionStorage.setItem(key, JSON.stringify({ digest: this.dataset.digest, code: text }));
    } catch {
      // storage disabled: drafts are simply not kept
    }
  }

  restoreDraft() {
    try {
      const raw = sessionStorage.getItem(draftKey(this));
      if (!raw) return;
      const draft = JSON.parse(raw);
      if (draft.digest !== this.dataset.digest) {
        sessionStorage.removeItem(draftKey(this)); // the author changed the example: drop it
        return;
      }
      /** @type {HTMLElement} */ (this.pre).textContent = draft.code;
      this.toggleAttribute("data-edited", draft.code !== this.originalCode);
      this.activateEditor();
    } catch {
      // unreadable draft: show the original
    }
  }

  reset() {
    if (this.editor) this.editor.setCode(this.originalCode);
    else if (this.pre && this.originalHTML !== undefined) this.pre.innerHTML = this.originalHTML;
    this.saveDraft(this.originalCode);
    const self = /** @type {any} */ (this);
    if (self.clearOutput) self.clearOutput();
    const verified = /** @type {HTMLElement | null} */ (this.querySelector(":scope > .pyrun-verified"));
    if (verified) verified.hidden = false;
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
