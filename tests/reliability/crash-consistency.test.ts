import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killChildGateways, startChildGateway, type ChildGateway } from './child-gateway.js';
import { auditDatabase } from './db-audit.js';
import { size } from './mode.js';
import { PROJECT, WriteLoad, WriteModel, post, prng, setProjectBudget } from './write-load.js';

/**
 * Crash consistency (issue 10): a child-process gateway under a mixed write
 * load from concurrent clients is SIGKILLed at random moments and restarted
 * on the same SQLite file; after each restart every acknowledged write is
 * there, the state machines and the run log agree, the counters match, and
 * integrity_check is ok (db-audit.ts says exactly what is checked).
 *
 * UET_CRASH_SEED=<n> replays a seed's choices (the timing still varies).
 */

const KILLS = size(3, 20);
const CLIENTS = 4;
/** Besides: one client that only heartbeats, back to back. */
const HEARTBEATERS = 1;
/** UET_HEARTBEAT_FLUSH_MS, the documented most a crash may lose of heartbeat timestamps (its default). */
const FLUSH_MS = 1000;
/** On top of the flush window: a flush timer late on a loaded machine, and the flush's own write. */
const SCHEDULING_SLACK_MS = 2000;
/** Load before each kill: a random moment in [MIN, MIN + SPAN) (lives longer than the window check heartbeats). */
const MIN_LOAD_MS = size(1000, 300);
const LOAD_SPAN_MS = size(4000, 6000);
/** At least one life is this long, so that some heartbeats are old enough at the kill to be checked. */
const LONG_LIFE_MS = FLUSH_MS + SCHEDULING_SLACK_MS + 2000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('crash consistency', () => {
  afterAll(killChildGateways);

  it(
    `SIGKILLed ${KILLS} times under a mixed write load, loses no acknowledged write and keeps states, events and counters consistent`,
    async () => {
      const seed = Number(process.env.UET_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
      const rng = prng(seed);
      const lives = Array.from({ length: KILLS }, () => MIN_LOAD_MS + rng() * LOAD_SPAN_MS);
      if (!lives.some((ms) => ms >= LONG_LIFE_MS)) lives[Math.floor(rng() * KILLS)] = LONG_LIFE_MS + rng() * 1000;
      const dir = mkdtempSync(join(tmpdir(), 'uet-crash-'));
      const file = join(dir, 'gateway.sqlite');
      const env = { UET_HEARTBEAT_FLUSH_MS: String(FLUSH_MS) };
      const model = new WriteModel();
      const load = new WriteLoad(model, { clients: CLIENTS, heartbeaters: HEARTBEATERS, rng });
      const startups: number[] = [];
      const start = async () => {
        const started = Date.now();
        const child = await startChildGateway(file, env);
        startups.push(Date.now() - started);
        return child;
      };
      const figures = { checks: 0, lost: 0, inFlight: 0, unansweredApplied: 0, integrityOk: 0 };
      let gateway: ChildGateway | null = null;
      try {
        gateway = await start();
        await setProjectBudget(gateway.url, model);
        for (let kill = 1; kill <= KILLS; kill++) {
          const running = load.run(gateway.url);
          await sleep(lives[kill - 1]!);
          const before = model.outcomes.dropped;
          const killedAt = Date.now();
          gateway.signal('SIGKILL');
          expect((await gateway.exited).signal).toBe('SIGKILL');
          // Every client ends at its first request that fails (the one in flight, or the next one, refused).
          await running;
          figures.inFlight += model.outcomes.dropped - before;
          model.gatewayEnded(killedAt - FLUSH_MS - SCHEDULING_SLACK_MS);
          expect(model.unclean, 'answers that were neither a success nor a closed connection').toEqual([]);
          expect(gateway.errorLines, `gateway errors before kill ${kill}`).toEqual([]);

          gateway = await start();
          const audit = await auditDatabase(file, model);
          const when = `after kill ${kill} (seed ${seed}; killed ${new Date(killedAt).toISOString()}, last answer ${new Date(model.lastAckAt).toISOString()})`;
          expect(audit.problems, when).toEqual([]);
          expect(audit.lost).toBe(0);
          figures.checks += audit.checked;
          figures.lost += audit.lost;
          figures.unansweredApplied = audit.unansweredApplied;
          figures.integrityOk += 1;
          // The restarted gateway serves what the file holds.
          const read = await post(gateway.url, `query($p: String!) { runs(first: 1, filter: { projectId: $p }) { totalCount } }`, { p: PROJECT });
          expect(read).toEqual({ kind: 'ok', data: { runs: { totalCount: audit.rows.runs } } });
          if (kill === KILLS) {
            console.log(
              `crash-consistency: ${KILLS} SIGKILLs and restarts (seed ${seed}, ${CLIENTS} writers + ${HEARTBEATERS} heartbeater; ` +
                `start to listening ${Math.round(startups.reduce((a, b) => a + b, 0) / startups.length)} ms on average); ` +
                `acknowledged writes ${model.acked} (${Object.entries(model.ackedByOp)
                  .map(([op, n]) => `${op} ${n}`)
                  .join(', ')}), ` +
                `${figures.checks} checks after the ${KILLS} restarts, lost ${figures.lost}; in flight at a kill ${figures.inFlight}, of which committed ${figures.unansweredApplied}; ` +
                `heartbeats: ${audit.heartbeats.checked} checked stored, ${audit.heartbeats.inWindow} in the last ${FLUSH_MS} ms flush window (+${SCHEDULING_SLACK_MS} ms slack) before a kill, not checked; ` +
                `rows ${JSON.stringify(audit.rows)}; integrity_check ok ${figures.integrityOk}/${KILLS}`,
            );
          }
        }
        // The last life ends cleanly.
        gateway.signal('SIGTERM');
        expect((await gateway.exited).code).toBe(0);
        expect(gateway.errorLines).toEqual([]);
      } finally {
        await killChildGateways();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    size(240_000, 1_800_000),
  );
});
