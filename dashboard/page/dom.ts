/**
 * Building the page with DOM APIs only. Job data (names, inputs, results,
 * errors) is untrusted: it becomes text nodes (`textContent`), never markup;
 * nothing here sets `innerHTML`.
 */
type Child = Node | string | number | null | undefined | false;
type Attrs = Readonly<Record<string, string | number | boolean | undefined>>;

/** An element with attributes (`false`/`undefined` ones left out) and children as text or nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  setAttrs(element, attrs);
  append(element, children);
  return element;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element, the same way. */
export function svg(tag: string, attrs: Attrs = {}, ...children: Child[]): SVGElement {
  const element = document.createElementNS(SVG_NS, tag);
  setAttrs(element, attrs);
  append(element, children);
  return element as SVGElement;
}

function setAttrs(element: Element, attrs: Attrs): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(element: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** JSON as indented text, for a `<pre>`. */
export function json(value: unknown): string {
  return value === undefined ? '—' : JSON.stringify(value, null, 2);
}

/** A time as the reader's local date and time; '—' for none. */
export function when(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** A duration in ms, short: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) {
    return `${Math.floor(ms / 60_000)} min ${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')} s`;
  }
  return `${Math.floor(ms / 3_600_000)} h ${String(Math.round((ms % 3_600_000) / 60_000)).padStart(2, '0')} min`;
}

/** A status badge. */
export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `status s-${status}`, 'data-status': status }, status);
}

/** A progress bar with its percentage as text. */
export function progressBar(percent: number | undefined, label: string): HTMLElement {
  if (percent === undefined) return h('span', { class: 'muted' }, '—');
  const value = Math.max(0, Math.min(100, Math.round(percent)));
  return h(
    'span',
    { class: 'bar' },
    h('progress', { max: 100, value, 'aria-label': label }),
    h('span', {}, `${value}%`),
  );
}
