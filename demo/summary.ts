/** The table printed once the demo's jobs have ended, and whether they all ended as meant. */
import { formatDuration, paint, paintStatus, type Style } from '../cli/render';
import type { ScenarioResult } from './scenario';

/** True when every job ended as expected and every webhook that was asked for verified. */
export function allAsExpected(results: readonly ScenarioResult[]): boolean {
  return results.every(
    (result) =>
      result.outcome === result.expected &&
      (result.webhook === 'verified' || result.webhook === 'none'),
  );
}

/** NAME TYPE OUTCOME DURATION WEBHOOK DETAIL, with a mark on anything unexpected. */
export function formatSummary(style: Style, results: readonly ScenarioResult[]): string {
  const header = ['NAME', 'TYPE', 'OUTCOME', 'DURATION', 'WEBHOOK', 'DETAIL'];
  const rows = results.map((result) => {
    const asExpected = result.outcome === result.expected;
    return [
      result.name,
      result.type,
      asExpected ? result.outcome : `${result.outcome} (expected ${result.expected})`,
      formatDuration(result.durationMs) ?? '-',
      result.webhook,
      result.detail ?? '',
    ];
  });
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  // Pad before painting: escape codes have no width on screen.
  const line = (cells: readonly string[], paintCell: (cell: string, i: number) => string) =>
    cells
      .map((cell, i) => paintCell(i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0), i))
      .join('  ')
      .trimEnd();
  const paintRow = (result: ScenarioResult) => (cell: string, i: number) => {
    if (i === 2) {
      return result.outcome === result.expected
        ? `${paintStatus(style, result.outcome)}${' '.repeat(cell.length - result.outcome.length)}`
        : paint(style, 'red', cell);
    }
    if (i === 4 && result.webhook !== 'verified' && result.webhook !== 'none') {
      return paint(style, 'red', cell);
    }
    return i === 5 ? paint(style, 'dim', cell) : cell;
  };
  return [
    line(header, (cell) => paint(style, 'bold', cell)),
    ...rows.map((row, index) => {
      const result = results[index];
      return result ? line(row, paintRow(result)) : '';
    }),
  ].join('\n');
}
