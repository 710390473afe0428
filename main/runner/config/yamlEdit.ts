import { isDeepStrictEqual } from 'node:util';
import YAML, {
  isAlias,
  isCollection,
  isMap,
  isNode,
  isScalar,
  isSeq,
  Scalar,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';

/** yaml's defaults would fold long values at 80 columns and pad `[a, b]` as `[ a, b ]`. */
const LAYOUT = { lineWidth: 0, flowCollectionPadding: false } as const;

/** Scalars written on one line, whose source can be replaced in place. */
const INLINE_SCALARS: ReadonlySet<string | undefined> = new Set(['PLAIN', 'QUOTE_SINGLE', 'QUOTE_DOUBLE']);

type Mapping = Record<string, unknown>;
interface Splice {
  start: number;
  end: number;
  text: string;
}

/** The source does not have a shape the splices handle; the caller renders the whole document instead. */
class NotSpliceable extends Error {}

const isMapping = (v: unknown): v is Mapping => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `text` (parsed as `doc`, a YAML mapping or an empty document) with `patch` applied to its
 * top-level keys, where `undefined` deletes a key; undefined when no value changes. People
 * annotate these files, so only the lines of changed values are rewritten and everything else —
 * comments and the spaces before them, blank lines, anchors, folded scalars, CRLF line ends — stays
 * byte for byte. A changed one-line value keeps its quotes and its inline comment; a changed block
 * list keeps the lines (and the comments above them) of the items that stay; new keys are appended.
 * The result is parsed back and compared with the intended value: if the splices got anything
 * wrong, the document is rendered by the yaml library instead (comments kept, spacing normalised).
 */
export function patchYamlText(text: string, doc: Document, patch: Mapping): string | undefined {
  const current = (doc.toJS() as Mapping | null | undefined) ?? {};
  const expected: Mapping = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete expected[key];
    else expected[key] = value;
  }
  if (isDeepStrictEqual(expected, current)) return undefined;
  const eol = /\r\n/.test(text.slice(0, text.indexOf('\n') + 1)) ? '\r\n' : '\n';
  let spliced: string | undefined;
  try {
    spliced = new Splicer(text, doc, eol).patch(current, patch);
  } catch (err) {
    if (!(err instanceof NotSpliceable)) throw err;
  }
  if (spliced !== undefined) {
    const check = YAML.parseDocument(spliced);
    if (check.errors.length === 0 && isDeepStrictEqual(check.toJS(), expected)) return spliced;
  }
  return renderWhole(text, patch, eol);
}

class Splicer {
  readonly #text: string;
  readonly #doc: Document;
  readonly #eol: string;
  readonly #splices: Splice[] = [];

  constructor(text: string, doc: Document, eol: string) {
    this.#text = text;
    this.#doc = doc;
    this.#eol = eol;
  }

  patch(current: Mapping, patch: Mapping): string {
    const root = this.#doc.contents;
    if (root === null || (isScalar(root) && root.value === null && root.range?.[0] === root.range?.[1])) return this.#appendToEmpty(patch);
    if (!isMap(root) || root.flow) throw new NotSpliceable();
    this.#editMap(root, current, Object.entries(patch));
    let out = this.#text;
    for (const s of this.#splices.sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.text + out.slice(s.end);
    return out;
  }

  #appendToEmpty(patch: Mapping): string {
    const added = Object.entries(patch).filter(([, v]) => v !== undefined);
    const sep = this.#text === '' || this.#text.endsWith('\n') ? '' : this.#eol;
    return this.#text + sep + added.map(([k, v]) => this.#renderPair(k, v, '', undefined)).join('');
  }

  /** Apply `entries` to a block mapping whose keys start at the same column. */
  #editMap(map: YAMLMap, current: Mapping, entries: [string, unknown][]): void {
    const first = map.items[0];
    if (!first) throw new NotSpliceable();
    const indent = this.#indentOf(keyStart(first));
    const added: string[] = [];
    for (const [key, value] of entries) {
      const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
      if (!pair) {
        if (value !== undefined) added.push(this.#renderPair(key, value, indent, undefined));
        continue;
      }
      if (value === undefined) this.#splice(this.#lineStart(keyStart(pair)), this.#pairEnd(pair), '');
      else if (!isDeepStrictEqual(current[key], value)) this.#editValue(pair, key, current[key], value, indent);
    }
    if (added.length === 0) return;
    const last = map.items[map.items.length - 1]!;
    const at = this.#pairEnd(last);
    const sep = this.#text.slice(0, at).endsWith('\n') ? '' : this.#eol;
    this.#splice(at, at, sep + added.join(''));
  }

  #editValue(pair: Pair, key: string, old: unknown, value: unknown, indent: string): void {
    const node = pair.value;
    if (!isNode(node) || !node.range) return this.#rewritePair(pair, key, value, indent);
    const [start, end] = node.range;
    const source = this.#text.slice(start, end);
    const oneLine = start < end && !source.includes('\n');
    const inline = isAlias(node) || (isScalar(node) && INLINE_SCALARS.has(node.type)) || (isCollection(node) && keepsFlow(node, value));
    if (oneLine && inline) {
      const rendered = this.#renderInline(node, value);
      if (rendered !== undefined) return this.#splice(start, end, rendered);
    }
    if (isSeq(node) && !node.flow && Array.isArray(old) && Array.isArray(value) && value.length > 0 && this.#editBlockSeq(node, old, value))
      return;
    if (isMap(node) && !node.flow && isMapping(old) && isMapping(value) && Object.keys(value).length > 0) {
      const gone = Object.keys(old).filter((k) => !(k in value));
      return this.#editMap(node, old, [...gone.map((k): [string, unknown] => [k, undefined]), ...Object.entries(value)]);
    }
    this.#rewritePair(pair, key, value, indent);
  }

  /**
   * A block list edited item by item: an item whose value stays keeps its lines, inline comment and
   * the comment lines above it (comments above the first item stay with the list); new items are
   * written at the list's indentation. False when the list has a shape this does not handle.
   */
  #editBlockSeq(seq: Node & { items: unknown[] }, old: unknown[], value: unknown[]): boolean {
    const items = seq.items;
    if (items.length !== old.length || items.length === 0) return false;
    const regions: { start: number; end: number }[] = [];
    let indent = '';
    for (const [i, item] of items.entries()) {
      if (!isNode(item) || !item.range) return false;
      const lineStart = this.#lineStart(item.range[0]);
      const dash = /^( *)- +$/.exec(this.#text.slice(lineStart, item.range[0]));
      if (!dash) return false;
      if (i === 0) indent = dash[1] ?? '';
      else if (dash[1] !== indent) return false;
      const start = i === 0 ? lineStart : regions[i - 1]!.end;
      const end = this.#lineEnd(Math.max(item.range[1] - 1, item.range[0]));
      if (start > lineStart || end <= start) return false;
      regions.push({ start, end });
    }
    const used = new Set<number>();
    const chunks = value.map((v) => {
      const j = old.findIndex((o, k) => !used.has(k) && isDeepStrictEqual(o, v));
      if (j < 0) return this.#renderItem(v, indent);
      used.add(j);
      const { start, end } = regions[j]!;
      const chunk = this.#text.slice(start, end);
      return chunk.endsWith('\n') ? chunk : chunk + this.#eol;
    });
    const span = { start: regions[0]!.start, end: regions[regions.length - 1]!.end };
    let out = chunks.join('');
    if (!this.#text.slice(span.start, span.end).endsWith('\n')) out = out.slice(0, out.length - this.#eol.length);
    this.#splice(span.start, span.end, out);
    return true;
  }

  /** The pair's lines, from its key to the end of its value's last line, written afresh. */
  #rewritePair(pair: Pair, key: string, value: unknown, indent: string): void {
    const start = keyStart(pair);
    const end = this.#pairEnd(pair);
    let out = this.#renderPair(key, value, indent, isNode(pair.value) ? pair.value : undefined);
    if (!this.#text.slice(start, end).endsWith('\n')) out = out.slice(0, out.length - this.#eol.length);
    this.#splice(start, end, out.slice(indent.length));
  }

  /** `value` in the place of a one-line node: same quotes, same flow style; undefined when it needs more lines. */
  #renderInline(node: Node, value: unknown): string | undefined {
    let contents: Node;
    if (value === null || typeof value !== 'object') {
      const scalar = new Scalar(value);
      if (isScalar(node) && node.type !== 'PLAIN' && typeof value === 'string') scalar.type = node.type;
      contents = scalar;
    } else if (isCollection(node) && (isSeq(node) ? Array.isArray(value) : isMapping(value))) {
      const created = this.#doc.createNode(value);
      if (!isCollection(created)) return undefined;
      created.flow = true;
      contents = created;
    } else return undefined;
    const out = new YAML.Document(contents).toString(LAYOUT).replace(/\n$/, '');
    return out.includes('\n') ? undefined : out;
  }

  /** `key: value` lines at `indent`, keeping a replaced value's scalar type, list style and inline comment. */
  #renderPair(key: string, value: unknown, indent: string, prev: Node | undefined): string {
    const doc = new YAML.Document({ [key]: value });
    const node = doc.get(key, true);
    if (isNode(node) && prev) {
      if (isScalar(node) && isScalar(prev) && typeof value === 'string' && prev.type) node.type = prev.type;
      if (isCollection(node) && isCollection(prev)) node.flow = keepsFlow(prev, value);
      if (isScalar(prev) || isAlias(prev) || (isCollection(prev) && prev.flow)) node.comment = prev.comment;
    }
    return this.#indented(doc.toString(LAYOUT), indent);
  }

  /** One `- value` item (several lines for a mapping) at `indent`. */
  #renderItem(value: unknown, indent: string): string {
    return this.#indented(YAML.stringify([value], LAYOUT), indent);
  }

  #indented(rendered: string, indent: string): string {
    const lines = rendered.replace(/\n$/, '').split('\n');
    return lines.map((l) => (l ? indent + l : l)).join(this.#eol) + this.#eol;
  }

  #splice(start: number, end: number, text: string): void {
    this.#splices.push({ start, end, text });
  }

  /** The whitespace before a key; a key that does not start its line is not spliced. */
  #indentOf(at: number): string {
    const before = this.#text.slice(this.#lineStart(at), at);
    if (!/^ *$/.test(before)) throw new NotSpliceable();
    return before;
  }

  /** Just after the line break that ends the pair's last line (the text's end when none does). */
  #pairEnd(pair: Pair): number {
    const keyEnd = isNode(pair.key) && pair.key.range ? pair.key.range[1] : keyStart(pair);
    const valueEnd = isNode(pair.value) && pair.value.range ? pair.value.range[1] : keyEnd;
    return this.#lineEnd(Math.max(valueEnd - 1, keyEnd - 1));
  }

  #lineStart(at: number): number {
    return this.#text.lastIndexOf('\n', at - 1) + 1;
  }

  #lineEnd(at: number): number {
    const n = this.#text.indexOf('\n', at);
    return n < 0 ? this.#text.length : n + 1;
  }
}

/**
 * A flow collection stays one; only an empty one (`links: []`, as written for "none yet") that
 * now holds mappings or lists becomes a block, which is how people read those.
 */
function keepsFlow(prev: Node & { flow?: boolean; items: unknown[] }, value: unknown): boolean {
  if (!prev.flow) return false;
  if (prev.items.length > 0) return true;
  const items = Array.isArray(value) ? value : isMapping(value) ? Object.values(value) : [];
  return items.every((v) => v === null || typeof v !== 'object');
}

function keyStart(pair: Pair): number {
  if (!isNode(pair.key) || !pair.key.range) throw new NotSpliceable();
  return pair.key.range[0];
}

/** The yaml library's own rendering of the edited document: comments and key order kept, layout normalised. */
function renderWhole(text: string, patch: Mapping, eol: string): string {
  const doc: Document = YAML.parseDocument(text);
  if (!isMap(doc.contents)) doc.contents = doc.createNode({});
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) doc.delete(key);
    else setKeepingStyle(doc, key, value);
  }
  const out = doc.toString(LAYOUT);
  return eol === '\n' ? out : out.replace(/\r?\n/g, eol);
}

/** A scalar keeps its node (inline comment, quoting); a list keeps its flow or block style and its comments. */
function setKeepingStyle(doc: Document, key: string, value: unknown): void {
  const prev = doc.get(key, true);
  if (isScalar(prev) && (value === null || typeof value !== 'object')) {
    prev.value = value;
    return;
  }
  const node = doc.createNode(value);
  if (isNode(prev)) {
    node.comment = prev.comment;
    node.commentBefore = prev.commentBefore;
    node.spaceBefore = prev.spaceBefore;
    if (isCollection(prev) && isCollection(node)) node.flow = prev.flow;
  }
  doc.set(key, node);
}
