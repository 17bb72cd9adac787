/** Shared bits of the views: errors as the API sent them. */
import { h, json } from './dom';
import { ApiFailure } from './http';

/** Shows an error in `box`: its message and, for an API answer, the JSON body as text. */
export function showError(box: HTMLElement, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  box.replaceChildren(
    h(
      'div',
      { class: 'error' },
      h('p', {}, error instanceof ApiFailure ? `${error.status}: ${message}` : message),
      error instanceof ApiFailure ? h('pre', { class: 'error-body' }, json(error.body)) : null,
    ),
  );
}
