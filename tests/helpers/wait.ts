export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls (with awaits) until `check` holds, or fails after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
