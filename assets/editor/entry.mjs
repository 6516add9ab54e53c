// Source of ../pyrun-editor.js: CodeMirror 6 set up for <py-repl>. Build with `node build.mjs`.
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { bracketMatching, indentOnInput, indentUnit, syntaxHighlighting } from "@codemirror/language";
import { EditorState, StateEffect, StateField } from "@codemirror/state";
import {
  Decoration,
  EditorView,
  drawSelection,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import { tagHighlighter, tags as t } from "@lezer/highlight";

// Tokens get Pygments' short class names, so the page's own Pygments stylesheet (light or dark,
// whatever the theme) colours the editor exactly like the static code it replaces.
const pygments = tagHighlighter([
  { tag: [t.keyword, t.controlKeyword, t.definitionKeyword, t.moduleKeyword], class: "k" },
  { tag: [t.operatorKeyword], class: "ow" },
  { tag: [t.bool, t.null], class: "kc" },
  { tag: [t.self], class: "bp" },
  { tag: [t.string, t.special(t.string)], class: "s" },
  { tag: [t.docString], class: "sd" },
  { tag: [t.escape], class: "se" },
  { tag: [t.number, t.integer, t.float], class: "m" },
  { tag: [t.lineComment, t.comment], class: "c1" },
  { tag: [t.operator, t.compareOperator, t.arithmeticOperator, t.updateOperator], class: "o" },
  { tag: [t.function(t.definition(t.variableName))], class: "nf" },
  { tag: [t.definition(t.className), t.className], class: "nc" },
  { tag: [t.standard(t.variableName)], class: "nb" },
  { tag: [t.meta], class: "nd" },
  { tag: [t.paren, t.brace, t.squareBracket, t.punctuation], class: "p" },
]);

const markError = StateEffect.define();
const errorLine = StateField.define({
  create: () => Decoration.none,
  update(deco, tr) {
    if (tr.docChanged) deco = Decoration.none;
    for (const e of tr.effects) {
      if (e.is(markError)) {
        const n = e.value;
        deco =
          n && n >= 1 && n <= tr.state.doc.lines
            ? Decoration.set([
                Decoration.line({ class: "pyrun-error-line" }).range(tr.state.doc.line(n).from),
              ])
            : Decoration.none;
      }
    }
    return deco;
  },
  provide: (f) => EditorView.decorations.from(f),
});

// The author's `emphasize-lines` as line decorations with the class Pygments gives them (`hll`),
// so the theme paints them as in the static code; they follow the lines through edits.
const emphasis = (/** @type {number[]} */ lines) =>
  StateField.define({
    create(state) {
      const wanted = lines.filter((n) => n >= 1 && n <= state.doc.lines).sort((a, b) => a - b);
      return Decoration.set(wanted.map((n) => Decoration.line({ class: "hll" }).range(state.doc.line(n).from)));
    },
    update: (deco, tr) => deco.map(tr.changes),
    provide: (f) => EditorView.decorations.from(f),
  });

/**
 * @param {HTMLElement} parent
 * @param {{doc: string, readonly?: boolean, linenos?: boolean, firstLine?: number,
 *          emphasize?: number[], label?: string,
 *          onRun: () => void, onChange?: (code: string) => void}} options
 */
export function createEditor(parent, options) {
  const run = () => {
    options.onRun();
    return true;
  };
  const extensions = [
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    python(),
    indentUnit.of("    "), // PEP 8
    EditorState.tabSize.of(4),
    syntaxHighlighting(pygments),
    errorLine,
    keymap.of([
      { key: "Shift-Enter", run },
      { key: "Mod-Enter", run },
      ...defaultKeymap,
      ...historyKeymap,
      indentWithTab,
    ]),
    EditorView.contentAttributes.of({ "aria-label": options.label || "Python code, editable" }),
    EditorView.updateListener.of((u) => {
      if (u.docChanged && options.onChange) options.onChange(u.state.doc.toString());
    }),
    EditorView.theme({
      "&": { fontSize: "inherit", backgroundColor: "transparent" },
      ".cm-scroller": { fontFamily: "inherit", lineHeight: "inherit" },
      ".cm-content": { padding: "0" },
      "&.cm-focused": { outline: "none" },
      ".cm-gutters": { backgroundColor: "transparent", border: "none", opacity: "0.5" },
    }),
  ];
  if (options.linenos) {
    const first = options.firstLine || 1; // `lineno-start`
    extensions.push(lineNumbers({ formatNumber: (n) => String(n + first - 1) }));
  }
  if (options.emphasize && options.emphasize.length) extensions.push(emphasis(options.emphasize));
  if (options.readonly) extensions.push(EditorState.readOnly.of(true));
  const view = new EditorView({ doc: options.doc, extensions, parent });
  return {
    view,
    getCode: () => view.state.doc.toString(),
    setCode(/** @type {string} */ code) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } });
    },
    markLine(/** @type {number | null} */ line) {
      view.dispatch({ effects: markError.of(line) });
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
