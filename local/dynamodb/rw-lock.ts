/**
 * A readers-writer lock for promises. Waiters are served in arrival order, so
 * a waiting writer is not starved by a stream of readers: a reader that
 * arrives after a waiting writer waits behind it.
 */
export class ReadWriteLock {
  private readers = 0;
  private writing = false;
  private readonly waiting: { readonly exclusive: boolean; readonly grant: () => void }[] = [];

  /** Runs `work` while no exclusive holder runs; other shared holders may run alongside. */
  shared<T>(work: () => Promise<T>): Promise<T> {
    return this.run(false, work);
  }

  /** Runs `work` alone. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.run(true, work);
  }

  private async run<T>(exclusive: boolean, work: () => Promise<T>): Promise<T> {
    await new Promise<void>((grant) => {
      this.waiting.push({ exclusive, grant });
      this.pump();
    });
    try {
      return await work();
    } finally {
      if (exclusive) this.writing = false;
      else this.readers -= 1;
      this.pump();
    }
  }

  private pump(): void {
    for (;;) {
      const next = this.waiting[0];
      if (!next || this.writing) return;
      if (next.exclusive) {
        if (this.readers > 0) return;
        this.writing = true;
      } else {
        this.readers += 1;
      }
      this.waiting.shift();
      next.grant();
    }
  }
}
