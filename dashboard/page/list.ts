/**
 * The job list: filters (status, type) kept in the URL's hash, the API's
 * pages (`nextCursor`, "Load more"), each row's progress bar, the per-type
 * chart, and live changes from the owner's events.
 */
import { outcomeChart } from './chart';
import { duration, h, progressBar, statusBadge, when } from './dom';
import { api, type JobEvent } from './http';
import {
  type JobPage,
  type JobSummary,
  type Session,
  STATUS_OF_EVENT,
  STATUSES,
  type Stats,
} from './types';
import { showError } from './view';

export interface ListFilters {
  readonly status?: string;
  readonly type?: string;
}

export interface ListView {
  readonly element: HTMLElement;
  /** A lifecycle event from the owner's stream. */
  onEvent(event: JobEvent): void;
}

export function listView(session: Session, filters: ListFilters): ListView {
  const rows = new Map<string, { job: JobSummary; row: HTMLTableRowElement }>();
  const tbody = h('tbody');
  const empty = h('p', { class: 'muted', hidden: true }, 'No jobs match.');
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more');
  const errors = h('div', { role: 'alert' });
  const chartBox = h('div', {}, h('p', { class: 'muted' }, 'Loading the chart…'));
  let cursor: string | undefined;

  const render = (job: JobSummary): HTMLTableRowElement => {
    const link = h('a', { href: `#/jobs/${encodeURIComponent(job.jobName)}` }, job.jobName);
    const finished = job.finishedAt
      ? Date.parse(job.finishedAt) - Date.parse(job.createdAt)
      : undefined;
    return h(
      'tr',
      { 'data-job': job.jobName, 'data-status': job.status },
      h('td', { class: 'name', 'data-label': 'Name' }, link),
      h('td', { 'data-label': 'Status' }, statusBadge(job.status)),
      h('td', { 'data-label': 'Type' }, job.type),
      h('td', { 'data-label': 'Owner', class: 'owner' }, shortOwner(job.owner ?? session.owner)),
      h('td', { 'data-label': 'Started' }, when(job.createdAt)),
      h('td', { 'data-label': 'Duration' }, duration(finished)),
      h(
        'td',
        { 'data-label': 'Progress', class: 'progress' },
        progressBar(
          job.status === 'SUCCEEDED' ? 100 : job.progress?.percent,
          `Progress of ${job.jobName}`,
        ),
        job.progress?.message ? h('div', { class: 'muted' }, job.progress.message) : null,
      ),
    );
  };

  const put = (job: JobSummary, atTop: boolean) => {
    const existing = rows.get(job.jobName);
    const row = render(job);
    if (existing) existing.row.replaceWith(row);
    else if (atTop) tbody.prepend(row);
    else tbody.append(row);
    rows.set(job.jobName, { job, row });
    empty.hidden = rows.size > 0;
  };

  const load = async () => {
    more.disabled = true;
    try {
      const query = new URLSearchParams({ limit: '20' });
      if (filters.status) query.set('status', filters.status);
      if (filters.type) query.set('type', filters.type);
      if (cursor) query.set('cursor', cursor);
      const page = await api<JobPage>('GET', `/api/jobs?${query}`);
      for (const job of page.jobs) put(job, false);
      cursor = page.nextCursor;
      more.hidden = cursor === undefined;
      empty.hidden = rows.size > 0;
    } catch (error) {
      showError(errors, error);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load());

  const loadChart = async () => {
    try {
      chartBox.replaceChildren(outcomeChart(await api<Stats>('GET', '/api/stats')));
    } catch (error) {
      chartBox.replaceChildren();
      showError(chartBox, error);
    }
  };
  const refreshChart = h('button', { type: 'button' }, 'Refresh the chart');
  refreshChart.addEventListener('click', () => void loadChart());
  // An outcome changes the chart: read again once the events of a burst have come (at most every 5 s).
  let chartTimer: number | undefined;
  const chartChanged = () => {
    if (chartTimer !== undefined) return;
    chartTimer = window.setTimeout(() => {
      chartTimer = undefined;
      void loadChart();
    }, 5000);
  };

  const element = h(
    'section',
    { 'aria-labelledby': 'list-title' },
    h('h1', { id: 'list-title', tabindex: -1 }, 'Jobs'),
    filterForm(filters),
    errors,
    h(
      'table',
      { class: 'jobs' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Name', 'Status', 'Type', 'Owner', 'Started', 'Duration', 'Progress'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      tbody,
    ),
    empty,
    more,
    h('h2', {}, 'By type'),
    chartBox,
    refreshChart,
  );
  void load();
  void loadChart();

  return {
    element,
    onEvent(event) {
      const { detail } = event;
      const status = STATUS_OF_EVENT[event['detail-type']];
      if (!status) return;
      if (typeof detail.finishedAt === 'string') chartChanged();
      const known = rows.get(detail.jobName);
      const sameRun = known?.job.runId === detail.runId;
      const base: JobSummary =
        sameRun && known
          ? known.job
          : {
              jobName: detail.jobName,
              runId: detail.runId,
              type: detail.type ?? '?',
              status,
              createdAt: String(detail.queuedAt ?? detail.startedAt ?? event.time),
            };
      if (!known && (filters.type ?? base.type) !== base.type) return;
      if (!known && filters.status && filters.status !== status) return;
      const progress =
        event['detail-type'] === 'Job Progress'
          ? {
              percent: Number(detail.percent),
              message: typeof detail.message === 'string' ? detail.message : undefined,
            }
          : base.progress;
      put(
        {
          ...base,
          status,
          owner: detail.owner ?? base.owner,
          progress,
          finishedAt: typeof detail.finishedAt === 'string' ? detail.finishedAt : base.finishedAt,
        },
        !known,
      );
    },
  };
}

function filterForm(filters: ListFilters): HTMLFormElement {
  const status = h('select', { name: 'status' }, h('option', { value: '' }, 'All'));
  for (const s of STATUSES)
    status.append(h('option', { value: s, selected: filters.status === s }, s));
  const type = h('input', {
    name: 'type',
    value: filters.type ?? '',
    placeholder: 'any',
    size: 14,
    autocomplete: 'off',
  });
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    h('label', {}, 'Status', status),
    h('label', {}, 'Type', type),
    h('button', { type: 'submit', class: 'primary' }, 'Filter'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (status.value) query.set('status', status.value);
    if (type.value.trim()) query.set('type', type.value.trim());
    location.hash = `#/${query.size > 0 ? `?${query}` : ''}`;
  });
  return form;
}

/** The last part of an ARN (`user/alice`), the whole ARN in a tooltip. */
function shortOwner(owner: string | undefined): HTMLElement | string {
  if (!owner) return '—';
  const short = owner.split(':').pop() ?? owner;
  return h('span', { title: owner }, short);
}
