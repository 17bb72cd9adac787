/**
 * Renders a stage's access log format: every `$context.<name>` variable is
 * replaced with its value, and a variable with no value (or one the local
 * cloud does not know) with `-`, as API Gateway does. Values are escaped as
 * inside a JSON string, so that a message with quotes or line breaks keeps a
 * JSON format parseable and a log entry on one line.
 */

/** Values by variable name without the `$context.` prefix, e.g. `requestId`, `identity.sourceIp`. */
export type AccessLogValues = Readonly<Record<string, string | number | undefined>>;

const VARIABLE = /\$context\.([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)/g;

export function renderAccessLog(format: string, values: AccessLogValues): string {
  return format.replace(VARIABLE, (_whole, name: string) => {
    const value = values[name];
    if (value === undefined || value === '') return '-';
    return JSON.stringify(String(value)).slice(1, -1);
  });
}
