/**
 * The per-type chart, hand-made inline SVG: for each type, its outcomes as a
 * stacked bar (counts as text under it, where a long list still fits) and its p50 and p95 durations as two
 * bars on one scale. Every number is also written as text.
 */
import { duration, h, svg } from './dom';
import { OUTCOMES, type Stats } from './types';

const WIDTH = 640;
const LABEL = 120;
const BAR = 360;
const ROW = 80;

export function outcomeChart(stats: Stats): HTMLElement {
  if (stats.types.length === 0) {
    return h('p', { class: 'muted' }, 'No retained outcomes yet.');
  }
  const maxCount = Math.max(1, ...stats.types.map((t) => total(t.counts)));
  const maxMs = Math.max(1, ...stats.types.map((t) => t.p95Ms ?? 0));
  const height = stats.types.length * ROW + 8;
  const chart = svg('svg', {
    class: 'chart',
    viewBox: `0 0 ${WIDTH} ${height}`,
    role: 'img',
    'aria-labelledby': 'chart-caption',
  });
  stats.types.forEach((t, i) => {
    const y = i * ROW + 4;
    const count = total(t.counts);
    chart.append(svg('text', { x: 0, y: y + 13 }, t.type));
    let x = LABEL;
    for (const outcome of OUTCOMES) {
      const n = t.counts[outcome];
      if (n === 0) continue;
      const w = (n / maxCount) * BAR;
      chart.append(
        svg(
          'rect',
          { x, y, width: Math.max(w, 1), height: 16, class: `c-${outcome}` },
          svg('title', {}, `${outcome}: ${n}`),
        ),
      );
      x += w;
    }
    const parts = OUTCOMES.filter((o) => t.counts[o] > 0).map(
      (o) => `${t.counts[o]} ${o.toLowerCase().replace('_', ' ')}`,
    );
    const p50 = ((t.p50Ms ?? 0) / maxMs) * BAR;
    const p95 = ((t.p95Ms ?? 0) / maxMs) * BAR;
    chart.append(
      svg('rect', { x: LABEL, y: y + 22, width: Math.max(p95, 1), height: 8, class: 'c-p95' }),
      svg('rect', { x: LABEL, y: y + 22, width: Math.max(p50, 1), height: 8, class: 'c-p50' }),
      svg(
        'text',
        { x: LABEL, y: y + 46, class: 'dim' },
        `p50 ${duration(t.p50Ms)} · p95 ${duration(t.p95Ms)} (${t.timed} timed)`,
      ),
      svg('text', { x: LABEL, y: y + 66, class: 'dim' }, `${count}: ${parts.join(', ')}`),
    );
  });
  const legend = h(
    'ul',
    { class: 'legend' },
    ...OUTCOMES.map((o) => h('li', {}, h('i', { class: `c-${o}` }), o)),
    h('li', {}, h('i', { class: 'c-p50' }), 'p50 duration'),
    h('li', {}, h('i', { class: 'c-p95' }), 'p95 duration'),
  );
  return h(
    'figure',
    {},
    h(
      'figcaption',
      { id: 'chart-caption' },
      `Outcomes and durations by type, over ${stats.outcomes} retained outcomes${stats.truncated ? ' (the newest of each status only)' : ''}. Duration: from the start request to the end, queue wait included.`,
    ),
    chart,
    legend,
  );
}

function total(counts: Stats['types'][number]['counts']): number {
  return OUTCOMES.reduce((sum, o) => sum + counts[o], 0);
}
