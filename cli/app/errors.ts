/** An app command (`init`, `dev`, `types`) cannot go on: a message for people and a hint. */
export class AppCommandError extends Error {
  override name = 'AppCommandError';
  readonly hint?: string;
  /** The process's exit code: 2 for a usage mistake, 1 otherwise. */
  readonly exitCode: number;

  constructor(message: string, hint?: string, options?: ErrorOptions & { exitCode?: number }) {
    super(message, options);
    this.hint = hint;
    this.exitCode = options?.exitCode ?? 1;
  }
}
