/**
 * The one rendering helper: `h(tag, props, ...children)` builds real DOM nodes. Screens keep
 * references to the nodes they update live (text, badges, lists) instead of re-rendering, so
 * focus and typed input are never lost to a state push.
 */

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type Handler = (event: Event) => void;
export type Props = Record<string, string | number | boolean | null | undefined | Handler>;

// Set as properties, not attributes, so they reflect the live state of form controls.
const PROPERTIES = new Set(['value', 'checked', 'disabled', 'selected', 'indeterminate']);

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) setProps(el, props);
  append(el, children);
  return el;
}

export function setProps(el: HTMLElement, props: Props): void {
  for (const [key, value] of Object.entries(props)) {
    if (typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (PROPERTIES.has(key)) {
      Reflect.set(el, key, value ?? (key === 'value' ? '' : false));
    } else if (value === false || value === null || value === undefined) {
      el.removeAttribute(key);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else
      parent.appendChild(
        child instanceof Node ? child : document.createTextNode(typeof child === 'string' ? child : String(child as number)),
      );
  }
}

/** Replace everything inside `parent`. */
export function mount(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Set text only when it changed, so screen readers and selections are not disturbed needlessly. */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

let idCounter = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled field: label, control, hint and an inline error slot wired with aria-describedby. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  opts: { hint?: string; extra?: Child } = {},
): { el: HTMLDivElement; error: HTMLElement; setError: (message: string) => void } {
  control.id ||= uid('f');
  const hintId = `${control.id}-hint`;
  const errorId = `${control.id}-error`;
  const error = h('div', { id: errorId, class: 'field-error', role: 'alert' });
  control.setAttribute('aria-describedby', opts.hint ? `${hintId} ${errorId}` : errorId);
  const el = h(
    'div',
    { class: 'field' },
    h('label', { for: control.id }, label),
    opts.extra ? h('div', { class: 'row' }, control, opts.extra) : control,
    opts.hint ? h('div', { id: hintId, class: 'hint' }, opts.hint) : null,
    error,
  );
  const setError = (message: string): void => {
    setText(error, message);
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  };
  return { el, error, setError };
}

export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): ((...args: A) => void) & { cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = (...args: A): void => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  return Object.assign(run, { cancel: () => clearTimeout(timer) });
}
