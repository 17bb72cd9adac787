import type { ZodError } from 'zod';

/** Error and progress messages are cut to this many characters, so an event always fits. */
export const MAX_MESSAGE_CHARS = 4000;

/** `text`, cut to `max` characters with an ellipsis when it is longer. */
export function truncate(text: string, max: number = MAX_MESSAGE_CHARS): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A zod error's issues as one line: `path: message; path: message`. */
export function describeZodIssues(error: ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
