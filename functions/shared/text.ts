/** Error and progress messages are cut to this many characters, so an event always fits. */
export const MAX_MESSAGE_CHARS = 4000;

/** `text`, cut to `max` characters with an ellipsis when it is longer. */
export function truncate(text: string, max: number = MAX_MESSAGE_CHARS): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
