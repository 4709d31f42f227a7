/**
 * Async work that runs one pass at a time: a call during a pass asks for one more pass
 * after it (not one per call), and resolves when that pass is done.
 */
export class CoalescedTask {
  #running: Promise<void> | undefined;
  #again = false;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#loop();
    return this.#running;
  }

  /** Resolves when no pass is running. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false;
        try {
          await this.work();
        } catch (err) {
          this.onError(err);
        }
      } while (this.#again);
    } finally {
      this.#running = undefined;
    }
  }
}
