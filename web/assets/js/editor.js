// A small code editor without a build step: a transparent <textarea> (the
// browser's own editing, undo, selection and accessibility) over a <pre>
// holding the same text highlighted, with line numbers. The highlighter is
// a regex tokenizer for JavaScript/TypeScript (comments, strings, template
// literals, numbers, keywords) — enough to read a k6 script, not a parser.
// `mark(line)` tints a line (the server's 422 errors point at one).

const KEYWORDS = new Set(('await break case catch class const continue default delete do else export extends ' +
  'finally for from function if import in instanceof let new of return static switch throw try typeof var ' +
  'void while yield async true false null undefined this').split(' '));
const TOKEN = /(\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|('(?:\\.|[^'\\\n])*'?|"(?:\\.|[^"\\\n])*"?|`(?:\\[\s\S]|[^`\\])*`?)|(\b\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?\b)|([A-Za-z_$][\w$]*)/g;

/** `text` as [class, text] tokens (class '' for plain text). */
export function tokens(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    if (m.index > last) out.push(['', text.slice(last, m.index)]);
    let cls = '';
    if (m[1]) cls = 'tk-com';
    else if (m[2]) cls = 'tk-str';
    else if (m[3]) cls = 'tk-num';
    else if (KEYWORDS.has(m[4])) cls = 'tk-kw';
    out.push([cls, m[0]]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(['', text.slice(last)]);
  return out;
}

/** Wires a `.editor` box holding a textarea and a pre. */
export class Editor {
  constructor(box) {
    this.ta = box.querySelector('textarea');
    this.pre = box.querySelector('pre');
    this.errLine = null;
    this.ta.addEventListener('input', () => { this.errLine = null; this.render(); });
    this.ta.addEventListener('scroll', () => this.sync());
    this.ta.addEventListener('keydown', (ev) => {
      // Tab indents (two spaces); Escape then Tab leaves the editor, as usual.
      if (ev.key === 'Tab' && !ev.shiftKey && !this.escaped) {
        ev.preventDefault();
        this.ta.setRangeText('  ', this.ta.selectionStart, this.ta.selectionEnd, 'end');
        this.render();
      }
      this.escaped = ev.key === 'Escape';
    });
  }

  get value() { return this.ta.value; }

  set value(v) { this.ta.value = v; this.errLine = null; this.render(); }

  /** Tints line `n` (1-based), or none. */
  mark(n) { this.errLine = n; this.render(); }

  render() {
    const frag = document.createDocumentFragment();
    let n = 1;
    let line = this.newLine(n);
    for (const [cls, text] of tokens(this.ta.value)) {
      const parts = text.split('\n');
      parts.forEach((part, i) => {
        if (i > 0) {
          line.append('\n');
          frag.append(line);
          line = this.newLine(++n);
        }
        if (!part) return;
        if (cls) {
          const s = document.createElement('span');
          s.className = cls;
          s.textContent = part;
          line.append(s);
        } else line.append(part);
      });
    }
    frag.append(line);
    this.pre.replaceChildren(frag);
    this.sync();
  }

  newLine(n) {
    const line = document.createElement('span');
    line.className = n === this.errLine ? 'line err' : 'line';
    const ln = document.createElement('span');
    ln.className = 'ln';
    ln.textContent = String(n);
    line.append(ln);
    return line;
  }

  sync() {
    this.pre.scrollTop = this.ta.scrollTop;
    this.pre.scrollLeft = this.ta.scrollLeft;
  }
}

/** The line a loader's error message points at (`script.js:3:5`, `(3:5)`), if any. */
export function errorLine(message) {
  const m = /\.(?:[cm]?[jt]s|ya?ml|json):(\d+)(?::\d+)?/.exec(message) || /\((\d+):\d+\)/.exec(message) || /\bline (\d+)/i.exec(message);
  return m ? Number(m[1]) : null;
}

/** A line diff of `a` → `b`: [['same'|'del'|'add', line], ...] (LCS). */
export function diff(a, b) {
  const x = a.split('\n'), y = b.split('\n');
  if (x.length * y.length > 4e6) return [...x.map((l) => ['del', l]), ...y.map((l) => ['add', l])];
  const w = y.length + 1;
  const t = new Uint32Array((x.length + 1) * w);
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      t[i * w + j] = x[i] === y[j] ? t[(i + 1) * w + j + 1] + 1 : Math.max(t[(i + 1) * w + j], t[i * w + j + 1]);
    }
  }
  const out = [];
  let i = 0, j = 0;
  while (i < x.length && j < y.length) {
    if (x[i] === y[j]) { out.push(['same', x[i]]); i++; j++; }
    else if (t[(i + 1) * w + j] >= t[i * w + j + 1]) out.push(['del', x[i++]]);
    else out.push(['add', y[j++]]);
  }
  while (i < x.length) out.push(['del', x[i++]]);
  while (j < y.length) out.push(['add', y[j++]]);
  return out;
}
