/**
 * The base of every error this project throws on purpose. Each layer derives
 * its own classes from it (`functions/shared/errors.ts`, `core/job-errors.ts`).
 */
export class AppError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
