import { afterAll, beforeAll, expect } from 'vitest';
import { DomainError, type Engine } from '../../src/engine/index.js';
import { createTestEngine } from './engine.js';

/**
 * Helpers for the engine-level domain tests (tests/engine/gates, costs,
 * patches): the rules without HTTP. They reach the engine only through
 * src/engine/index.ts, so moving a module's files does not touch them.
 */

export type TestEngine = Awaited<ReturnType<typeof createTestEngine>>;

/** Who reports through an admin or operator token: any worker, any task. */
export const operator: Parameters<Engine['gates']['start']>[0] = { tokenId: null, tokenName: 'test', anyWorker: true };

/** One engine for the test file, on the run's test database, with its clock at `start`. */
export function engineForFile(start?: string): () => TestEngine {
  let engine: TestEngine | undefined;
  beforeAll(async () => {
    engine = await createTestEngine(undefined, start);
  });
  afterAll(() => engine?.dispose());
  return () => engine!;
}

/** The DomainError `work` fails with (thrown, or rejected: input checks run before any write), after checking its code. */
export async function refused(work: () => unknown, code: DomainError['code']): Promise<DomainError> {
  const error = await (async () => work())().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(DomainError);
  expect((error as DomainError).code, (error as DomainError).message).toBe(code);
  return error as DomainError;
}

/** A running run of `projectId`. */
export async function runningRun(engine: TestEngine, projectId: string): Promise<string> {
  const run = await engine.runs.createRun({ projectId, phaseId: 'build' });
  await engine.runs.startRun(run.id);
  return run.id;
}

/** The run's log, in order: each event's kind and payload. */
export async function runLog(engine: TestEngine, runId: string): Promise<{ kind: string; payload: Record<string, unknown> }[]> {
  const events = await engine.events.after({ runId, after: 0, limit: 10_000 });
  return events.map((e) => ({ kind: e.kind, payload: e.payload }));
}
