/**
 * Runs a task (a read of a log past what was last read) one at a time, after
 * `ready`: a request made while it runs is not lost but coalesced into one
 * more run once it ends, however many came, so every request is followed by
 * a complete run that started after it.
 */
export class CoalescedRunner {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly ready: Promise<void>,
    private readonly task: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.ready
      .then(this.task)
      .catch(this.onError)
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.request();
        }
      });
  }
}
