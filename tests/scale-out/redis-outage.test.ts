import { afterAll, beforeAll, expect, it } from 'vitest';
import { codes, createRun, subscribe, type TestServer } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';
import {
  POSTGRES_URL,
  RedisProcess,
  createToken,
  describeWithServices,
  endCodes,
  eventually,
  expectShutOut,
  freePort,
  note,
  openStream,
  outcome,
  postgresProblem,
  revokeToken,
  redisProblem,
  redisServerProblem,
  redisSubscribers,
  startCluster,
  startRun,
  storedLog,
  tokenSubscription,
  uniquePrefix,
  type Cluster,
  type Subscription,
} from './cluster.js';

/**
 * Issue 11: two gateways over one PostgreSQL database and a Redis of this
 * file's own (redis-server on a free port, no persistence), which the tests
 * kill and start again. Redis only carries notices: while it is away,
 * HTTP keeps working from the database, notice streams end with
 * UNAVAILABLE, and runEvents subscribers get whatever was committed
 * meanwhile once it is back.
 */
const problem = redisServerProblem() ?? (await postgresProblem(POSTGRES_URL));

interface EventRow {
  id: string;
  cursor: string;
  kind: string;
}

describeWithServices('scale-out: Redis outages', problem, () => {
  let redis: RedisProcess;
  let cluster: Cluster;
  let a: TestServer;
  let b: TestServer;
  const prefix = uniquePrefix('outage');

  beforeAll(async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
    // A rate limit that is on, so that mutations go through the (Redis, then fallback) counter during the outage.
    cluster = await startCluster(2, {
      redisUrl: redis.url,
      prefix,
      jobs: { reaperIntervalMs: 200, heartbeatFlushMs: 500 },
      limits: { mutationsPerMinute: 100_000, heartbeatsPerMinute: 0 },
    });
    [a, b] = cluster.servers as [TestServer, TestServer]; // the two started above
  });
  afterAll(async () => {
    // Closing the instances' Redis connections wants a Redis to say goodbye to.
    if (redis && (await redisProblem(redis.url)) !== null) await redis.start().catch(() => {});
    await cluster?.stop();
    await redis?.kill();
  });

  const ready = async (server: TestServer) => {
    const res = await fetch(server.url.replace(/\/graphql$/, '/readyz'));
    return { http: res.status, ...((await res.json()) as { status: string; eventBus?: string }) };
  };
  const EVENTS = `subscription($r: ID, $after: String) { runEvents(runId: $r, after: $after) { id cursor kind } }`;

  /**
   * A runEvents subscriber that, should its stream end, resumes from the
   * last cursor it got (as a client is told to): `all()` is everything it
   * received, across its subscriptions.
   */
  function follower(server: TestServer, runId: string, after: string) {
    const received: EventRow[] = [];
    const ends: unknown[] = [];
    let current: Subscription;
    let stopped = false;
    const open = (from: string) => {
      const sub = subscribe<{ runEvents: EventRow }>(server.wsClient(), EVENTS, { r: runId, after: from });
      current = sub;
      let seen = 0;
      const pump = setInterval(() => {
        for (; seen < sub.results.length; seen++) {
          const row = sub.results[seen];
          if (row?.data) received.push(row.data.runEvents);
        }
      }, 5);
      void outcome(sub.done).then(async (end) => {
        clearInterval(pump);
        for (; seen < sub.results.length; seen++) if (sub.results[seen]?.data) received.push(sub.results[seen]!.data!.runEvents);
        if (stopped) return;
        ends.push(end);
        // Resubscribe once the bus is back (the instance can serve it then), from the last cursor received.
        await until(() => server.engine.bus.connected(), 'the bus to come back', 20_000).catch(() => {});
        if (!stopped) open(received.at(-1)?.cursor ?? from);
      });
    };
    open(after);
    return {
      all: () => received,
      ends,
      stop() {
        stopped = true;
        current.stop();
      },
    };
  }

  it('while Redis is down HTTP keeps working, notice streams end UNAVAILABLE, and runEvents subscribers get every event committed meanwhile once it is back', async () => {
    const project = `outage-${prefix}`;
    const runId = await createRun(a, { projectId: project });
    const [created] = await storedLog(a, runId);
    if (!created) throw new Error('createRun stored no event');
    await startRun(a, runId);
    const onA = follower(a, runId, created.cursor);
    const onB = follower(b, runId, created.cursor);
    const workersOnA = await openStream(a, `subscription { workerStateChanged { to worker { id } } }`);
    const runsOnB = await openStream(b, `subscription($p: ID) { runStateChanged(projectId: $p) { id state } }`, { p: project });
    await eventually(
      () => redisSubscribers(redis.url, `${prefix}run.state`),
      (n) => n >= 1,
      'B subscribed to run states',
    );
    for (let i = 0; i < 3; i++) await note(i % 2 ? b : a, runId, `before ${i}`);
    await until(() => onA.all().length === 4 && onB.all().length === 4, 'the events before the outage');
    expect(await ready(a)).toEqual({ http: 200, status: 'ready', eventBus: 'connected' });
    expect(await ready(b)).toEqual({ http: 200, status: 'ready', eventBus: 'connected' });

    await redis.kill();
    await until(() => !a.engine.bus.connected() && !b.engine.bus.connected(), 'both instances to see the bus lost');
    expect(await ready(a)).toEqual({ http: 200, status: 'ready', eventBus: 'disconnected' });
    expect(await ready(b)).toEqual({ http: 200, status: 'ready', eventBus: 'disconnected' });

    // Open notice streams end with UNAVAILABLE.
    for (const sub of [workersOnA, runsOnB]) expect(endCodes(await outcome(sub.done), sub.results)).toEqual(['UNAVAILABLE']);
    // A new one is refused the same way while the bus is away.
    const refused = subscribe(b.wsClient(), `subscription { workerStateChanged { to } }`);
    expect(endCodes(await outcome(refused.done), refused.results)).toEqual(['UNAVAILABLE']);

    // HTTP: queries and mutations on both instances, with nothing to publish to.
    const during: string[] = [];
    for (let i = 0; i < 10; i++) during.push((await note(i % 2 ? a : b, runId, `during ${i}`)).addRunNote.event.id);
    const workerId = (await b.ok(`mutation { registerWorker(input: {type: MONITOR}) { worker { id } } }`)).registerWorker.worker.id;
    await a.ok(`mutation($w: ID!) { heartbeat(input: {workerId: $w, progress: 5}) { worker { id } } }`, { w: workerId });
    const second = await createRun(b, { projectId: project });
    expect((await a.ok(`query($id: ID!) { run(id: $id) { state } worker: node(id: "${workerId}") { ... on Worker { state } } }`, { id: second })).run.state).toBe('PENDING');
    const stored = await storedLog(b, runId, created.cursor);
    expect(stored.slice(-10).map((e) => e.id)).toEqual(during);

    await redis.start();
    await until(() => a.engine.bus.connected() && b.engine.bus.connected(), 'both instances to reconnect', 10_000);
    expect(await ready(a)).toEqual({ http: 200, status: 'ready', eventBus: 'connected' });
    expect(await ready(b)).toEqual({ http: 200, status: 'ready', eventBus: 'connected' });

    // ...and once it is back each subscriber gets them, woken by the reconnection alone (nothing is written meanwhile).
    const log = await storedLog(a, runId, created.cursor);
    expect(log).toHaveLength(1 + 3 + 10);
    for (const follower of [onA, onB]) {
      await until(() => follower.all().length >= log.length, 'the events committed during the outage', 10_000);
      await sleep(100);
      expect(follower.all().map((e) => e.id)).toEqual(log.map((e) => e.id));
    }
    // The runEvents streams kept going through the outage (no error, no resubscription needed), and go on live.
    expect([onA.ends, onB.ends]).toEqual([[], []]);
    const after = (await note(b, runId, 'after')).addRunNote.event.id;
    for (const follower of [onA, onB]) {
      await until(() => follower.all().length >= log.length + 1, 'the event after the outage');
      expect(follower.all().map((e) => e.id)).toEqual([...log.map((e) => e.id), after]);
    }

    // New notice subscriptions work again, across instances.
    const runsOnA = await openStream(a, `subscription($p: ID) { runStateChanged(projectId: $p) { id state } }`, { p: project });
    const workersOnB = await openStream(b, `subscription($w: ID) { workerStateChanged(workerId: $w) { from to } }`, { w: workerId });
    await eventually(
      () => redisSubscribers(redis.url, `${prefix}run.state`),
      (n) => n >= 1,
      'A subscribed to run states',
    );
    await eventually(
      () => redisSubscribers(redis.url, `${prefix}worker.state`),
      (n) => n >= 2,
      'both subscribed to worker states',
    );
    await startRun(b, second);
    await a.ok(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { id } } }`, { id: workerId });
    await runsOnA.next(1);
    await workersOnB.next(1);
    expect(runsOnA.results.map((r) => r.data!.runStateChanged)).toEqual([{ id: second, state: 'RUNNING' }]);
    expect(workersOnB.results.map((r) => r.data!.workerStateChanged)).toEqual([{ from: 'IDLE', to: 'PAUSED' }]);
    runsOnA.stop();
    workersOnB.stop();
    onA.stop();
    onB.stop();
  });

  it('a Redis restart during subscriptions: runEvents subscribers on both instances miss nothing and repeat nothing', async () => {
    const runId = await createRun(b);
    const [created] = await storedLog(b, runId);
    if (!created) throw new Error('createRun stored no event');
    const onA = follower(a, runId, created.cursor);
    const onB = follower(b, runId, created.cursor);
    const notices = await openStream(a, `subscription { workerStateChanged { to } }`);
    // A writer on both instances all along; the ones that run into the restart still commit.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await note(i % 2 ? a : b, runId, `w${i}`);
        written++;
      }
    })();
    await until(() => onA.all().length > 20 && onB.all().length > 20, 'events before the restart');
    await redis.kill();
    await until(() => !a.engine.bus.connected() && !b.engine.bus.connected(), 'both instances to see the bus lost');
    const atRestart = written;
    await redis.start();
    await until(() => a.engine.bus.connected() && b.engine.bus.connected(), 'both instances to reconnect', 10_000);
    await until(() => written > atRestart + 20, 'writes after the restart');
    writing = false;
    await writer;

    expect(endCodes(await outcome(notices.done), notices.results)).toEqual(['UNAVAILABLE']);
    const log = await storedLog(a, runId, created.cursor);
    expect(log).toHaveLength(written);
    for (const follower of [onA, onB]) {
      await until(() => follower.all().length >= log.length, 'every stored event', 10_000);
      await sleep(100);
      const ids = follower.all().map((e) => e.id);
      expect(ids).toEqual(log.map((e) => e.id));
    }
    expect([onA.ends, onB.ends]).toEqual([[], []]);
    onA.stop();
    onB.stop();
  });

  it('a token revoked on A while Redis is down is refused on A at once and on B once it is back, and B’s sockets of it close with 4403', async () => {
    const { token, id } = await createToken(a, 'revoked-in-outage');
    const runId = await createRun(a);
    // Both instances know the token (a request on each), and B has a subscription of it open.
    for (const server of [a, b]) expect((await server.gql(`{ viewer { tokenName } }`, {}, { token })).data).toEqual({ viewer: { tokenName: 'revoked-in-outage' } });
    const sub = await tokenSubscription(b, token, runId, a);

    await redis.kill();
    await until(() => !a.engine.bus.connected() && !b.engine.bus.connected(), 'both instances to see the bus lost');
    await revokeToken(a, id);
    // The instance that revoked it does not wait for its own notice to come back through Redis.
    expect(codes(await a.gql(`{ viewer { tokenName } }`, {}, { token }))).toEqual(['UNAUTHENTICATED']);
    await redis.start();
    await until(() => a.engine.bus.connected() && b.engine.bus.connected(), 'both instances to reconnect', 10_000);

    // Once the bus is back (well before B's 30 s identity cache would run out): refused over HTTP, its socket closed.
    await eventually(
      () => b.gql(`{ viewer { tokenName } }`, {}, { token }).then(codes),
      (got) => got[0] === 'UNAUTHENTICATED',
      'B to refuse the revoked token',
      3_000,
    );
    const ended = await Promise.race([outcome(sub.done), sleep(3_000).then(() => 'still open after 3 s')]);
    expect(ended).toMatchObject({ code: 4403 });
    await expectShutOut(b, token, runId, a, sub);
  });
});
