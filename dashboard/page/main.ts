/**
 * The eventjobs dashboard page: a list view (`#/`, filters in the hash) and a
 * job view (`#/jobs/<name>`), fed by the dashboard server's API and its
 * server-sent events. No framework and no library: DOM APIs, text nodes for
 * every piece of job data, and inline SVG.
 */
import { h } from './dom';
import { api, openStream } from './http';
import { jobView } from './job';
import { type ListView, listView } from './list';
import type { Session } from './types';
import { showError } from './view';

const main = document.getElementById('main') as HTMLElement;
const liveLine = document.getElementById('live') as HTMLElement;
const who = document.getElementById('who') as HTMLElement;

let list: ListView | undefined;
let closeView: (() => void) | undefined;

async function start(): Promise<void> {
  let session: Session;
  try {
    session = await api<Session>('GET', '/api/session');
  } catch (error) {
    liveLine.textContent = 'Not connected.';
    showError(main, error);
    return;
  }
  who.textContent = `${session.description}${session.owner ? ` · signed as ${session.owner}` : ''}`;
  liveLine.textContent = session.live.description;
  if (session.live.kind !== 'none') {
    openStream(
      '/api/stream',
      {
        onEvent: (event) => list?.onEvent(event),
        onOpen: () => {
          liveLine.textContent = session.live.description;
          document.body.dataset.live = 'open';
        },
        onError: (error, retrying) => {
          document.body.dataset.live = 'closed';
          liveLine.textContent = `Live updates interrupted: ${error.message}${retrying ? '; reconnecting…' : ''}`;
        },
      },
      true,
    );
  }
  const route = () => {
    closeView?.();
    closeView = undefined;
    list = undefined;
    const hash = location.hash.replace(/^#/, '') || '/';
    const job = /^\/jobs\/(.+)$/.exec(hash);
    if (job?.[1]) {
      let name: string;
      try {
        name = decodeURIComponent(job[1]);
      } catch {
        main.replaceChildren(h('p', { class: 'error' }, 'That job name is not valid.'));
        return;
      }
      const view = jobView(session, name);
      closeView = view.close;
      main.replaceChildren(view.element);
    } else {
      const query = new URLSearchParams(hash.split('?')[1] ?? '');
      list = listView(session, {
        status: query.get('status') || undefined,
        type: query.get('type') || undefined,
      });
      main.replaceChildren(list.element);
    }
    main.querySelector<HTMLElement>('h1')?.focus();
  };
  window.addEventListener('hashchange', route);
  route();
}

void start();
