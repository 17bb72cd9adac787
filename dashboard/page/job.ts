/**
 * A job's page: its facts, input, result or error, attempts, steps, queue
 * position and what started it; its lifecycle timeline (the run's events so
 * far, then live); Cancel and Replay.
 */
import { duration, h, json, progressBar, statusBadge, when } from './dom';
import { api, type JobEvent, openStream } from './http';
import type { JobView, Session, StartedBy } from './types';
import { showError } from './view';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

export function jobView(session: Session, name: string): { element: HTMLElement; close(): void } {
  const title = h('h1', { tabindex: -1 }, name);
  const details = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const notice = h('div', { role: 'alert', class: 'notice' });
  const timeline = h('ol', { class: 'timeline', 'aria-live': 'polite' });
  const timelineNote = h('p', { class: 'muted' });
  const cancel = h('button', { type: 'button', class: 'danger', disabled: true }, 'Cancel');
  const replayName = h('input', {
    name: 'replay-name',
    placeholder: 'same name',
    size: 16,
    autocomplete: 'off',
  });
  const replay = h('button', { type: 'button', class: 'primary', disabled: true }, 'Replay');
  let job: JobView | undefined;
  let closeStream: (() => void) | undefined;
  let refreshing: Promise<void> | undefined;

  const refresh = async () => {
    try {
      job = await api<JobView>('GET', `/api/jobs/${encodeURIComponent(name)}`);
      details.replaceChildren(renderJob(job, session));
      const finished = TERMINAL.has(job.status);
      cancel.disabled = finished;
      replay.disabled = !finished;
    } catch (error) {
      details.replaceChildren();
      showError(details, error);
    }
  };
  // Events come in bursts; one refresh at a time, and one more after it if needed.
  let again = false;
  const refreshSoon = () => {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = refresh().finally(() => {
      refreshing = undefined;
      if (again) {
        again = false;
        refreshSoon();
      }
    });
  };

  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      const answer = await api<{ cancelRequestedAt?: string }>(
        'DELETE',
        `/api/jobs/${encodeURIComponent(name)}`,
      );
      notice.replaceChildren(h('p', {}, `Cancel requested at ${when(answer.cancelRequestedAt)}.`));
    } catch (error) {
      showError(notice, error);
      cancel.disabled = false;
    }
  });
  replay.addEventListener('click', async () => {
    replay.disabled = true;
    const newName = replayName.value.trim();
    try {
      const answer = await api<{ jobName: string }>(
        'POST',
        `/api/jobs/${encodeURIComponent(name)}/replay`,
        newName ? { name: newName } : {},
      );
      location.hash = `#/jobs/${encodeURIComponent(answer.jobName)}`;
    } catch (error) {
      showError(notice, error);
      replay.disabled = false;
    }
  });

  const onEvent = (event: JobEvent) => {
    timeline.append(timelineEntry(event));
    if (event['detail-type'] === 'Job Progress' && job) {
      job = {
        ...job,
        progress: {
          percent: Number(event.detail.percent),
          message: String(event.detail.message ?? ''),
        },
      };
      details.replaceChildren(renderJob(job, session));
    } else {
      refreshSoon();
    }
  };

  void refresh().then(() => {
    if (session.live.kind === 'none') {
      timelineNote.textContent = 'No live stream: the timeline is not available.';
      return;
    }
    closeStream = openStream(
      `/api/jobs/${encodeURIComponent(name)}/events`,
      {
        onEvent,
        onEnd: () => {
          timelineNote.textContent = 'The run has ended.';
          refreshSoon();
        },
        onError: (error) => {
          timelineNote.textContent = `The timeline stream failed: ${error.message}`;
        },
      },
      false,
    );
  });

  const element = h(
    'article',
    { 'aria-labelledby': 'job-title' },
    h('p', {}, h('a', { href: '#/' }, '← All jobs')),
    Object.assign(title, { id: 'job-title' }),
    h(
      'div',
      { class: 'actions' },
      cancel,
      h('label', {}, 'Replay as (optional)', replayName),
      replay,
    ),
    notice,
    details,
    h('h2', {}, 'Timeline'),
    timeline,
    timelineNote,
  );
  return { element, close: () => closeStream?.() };
}

function renderJob(job: JobView, session: Session): HTMLElement {
  const facts: [string, Node | string][] = [
    ['Status', statusBadge(job.status)],
    ['Type', job.type],
    ['Run', job.runId],
    ['Owner', job.owner ?? session.owner ?? '—'],
    ['Created', when(job.createdAt)],
    ['Started', when(job.startedAt)],
    ['Finished', when(job.finishedAt)],
    ['Duration', duration(job.durationMs)],
  ];
  if (job.status === 'QUEUED')
    facts.push(['Queue position', job.queue ? `${job.queue.position} (1 is next)` : '—']);
  if (job.startedBy) facts.push(['Started by', startedBy(job.startedBy)]);
  if (job.attempt !== undefined) facts.push(['Attempt', String(job.attempt)]);
  if (job.invocations !== undefined) facts.push(['Invocations', String(job.invocations)]);
  if (job.deadlineAt) facts.push(['Deadline', when(job.deadlineAt)]);
  if (job.heartbeatAt) facts.push(['Last heartbeat', when(job.heartbeatAt)]);
  if (job.cancelRequestedAt) facts.push(['Cancel requested', when(job.cancelRequestedAt)]);
  if (job.sleep) facts.push(['Sleeping', `${job.sleep.name} until ${when(job.sleep.wakeAt)}`]);
  if (job.waiting) facts.push(['Waiting for signal', job.waiting.signal]);
  if (job.expiresAt) facts.push(['Kept until', when(job.expiresAt)]);
  const list = h('dl', { class: 'facts' });
  for (const [term, value] of facts) list.append(h('dt', {}, term), h('dd', {}, value));

  const percent = job.progress?.percent ?? (job.status === 'SUCCEEDED' ? 100 : undefined);
  return h(
    'div',
    { class: 'job', 'data-status': job.status },
    h(
      'div',
      { class: 'progress' },
      progressBar(percent, 'Progress'),
      job.progress?.message ? h('p', { class: 'muted' }, job.progress.message) : null,
    ),
    list,
    h('h2', {}, 'Input'),
    h('pre', { class: 'input' }, json(job.input)),
    job.error
      ? h(
          'section',
          {},
          h('h2', {}, 'Error'),
          h('pre', { class: 'job-error' }, `${job.error.name}: ${job.error.message}`),
        )
      : null,
    job.result !== undefined
      ? h('section', {}, h('h2', {}, 'Result'), h('pre', { class: 'result' }, json(job.result)))
      : null,
    job.attempts && job.attempts.length > 0 ? attemptsTable(job) : null,
    job.steps && job.steps.length > 0 ? stepsTable(job) : null,
  );
}

function startedBy(by: StartedBy): Node | string {
  switch (by.kind) {
    case 'schedule':
      return `schedule ${by.id} (for ${when(by.scheduledTime)})`;
    case 'trigger':
      return `trigger ${by.id} (event ${by.eventId}${by.source ? ` from ${by.source}` : ''})`;
    case 'replay':
      return h(
        'span',
        {},
        'replay of ',
        h('a', { href: `#/jobs/${encodeURIComponent(by.jobName)}` }, by.jobName),
        ` (run ${by.runId})`,
      );
    default:
      return JSON.stringify(by);
  }
}

function attemptsTable(job: JobView): HTMLElement {
  return h(
    'section',
    {},
    h('h2', {}, 'Attempts'),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Attempt'),
          h('th', { scope: 'col' }, 'At'),
          h('th', { scope: 'col' }, 'Error'),
        ),
      ),
      h(
        'tbody',
        {},
        ...(job.attempts ?? []).map((a) =>
          h(
            'tr',
            {},
            h('td', {}, String(a.attempt)),
            h('td', {}, when(a.at)),
            h('td', {}, `${a.error.name}: ${a.error.message}`),
          ),
        ),
      ),
    ),
  );
}

function stepsTable(job: JobView): HTMLElement {
  const cols = ['Step', 'Kind', 'Status', 'Started', 'Ended', 'Attempts', 'Error'];
  return h(
    'section',
    {},
    h('h2', {}, 'Steps'),
    h(
      'table',
      { class: 'steps' },
      h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        ...(job.steps ?? []).map((s) =>
          h(
            'tr',
            {},
            h('td', {}, s.name),
            h('td', {}, s.kind),
            h('td', {}, statusBadge(s.status)),
            h('td', {}, when(s.startedAt)),
            h('td', {}, s.wakeAt && !s.endedAt ? `wakes ${when(s.wakeAt)}` : when(s.endedAt)),
            h('td', {}, String(s.attempts ?? '—')),
            h('td', {}, s.error ? `${s.error.name}: ${s.error.message}` : ''),
          ),
        ),
      ),
    ),
  );
}

function timelineEntry(event: JobEvent): HTMLElement {
  const d = event.detail;
  const extra: string[] = [];
  if (typeof d.attempt === 'number') extra.push(`attempt ${d.attempt}`);
  if (typeof d.position === 'number') extra.push(`position ${d.position}`);
  if (typeof d.percent === 'number') extra.push(`${d.percent}%`);
  if (typeof d.message === 'string') extra.push(d.message);
  if (typeof d.durationMs === 'number') extra.push(duration(d.durationMs));
  const error = d.error as { name?: unknown; message?: unknown } | undefined;
  if (error && typeof error.message === 'string')
    extra.push(`${String(error.name)}: ${error.message}`);
  if (typeof d.reason === 'string') extra.push(d.reason);
  return h(
    'li',
    { 'data-event': event['detail-type'] },
    h('time', { datetime: event.time }, when(event.time)),
    h('strong', {}, event['detail-type']),
    extra.length > 0 ? ` — ${extra.join(' · ')}` : '',
  );
}
