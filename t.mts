import WebSocket from 'ws';
import { createRun, startTestServer, subscribe } from './tests/helpers/server.js';
const server = await startTestServer();
const runId = await createRun(server);
const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
await new Promise<void>((resolve) => socket.once('open', () => { socket.send(JSON.stringify({ type: 'connection_init' })); socket.once('message', () => resolve()); }));
const sub = subscribe(server.wsClient(), `subscription($runId: ID) { runEvents(runId: $runId) { id } }`, { runId });
while (server.engine.openStreams() === 0) await new Promise((r) => setTimeout(r, 5));
let release = () => {};
const held = server.engine.orm.em.fork().transactional(() => new Promise<void>((r) => (release = r)));
const pool = (server.engine.orm.em.getKnex().client as any).pool;
const inFlight = server.gql(`{ runs(first: 1) { totalCount } }`).then((r) => console.log('resp', JSON.stringify(r)), (e) => console.log('err', e));
for (let i = 0; i < 20; i++) { await new Promise((r) => setTimeout(r, 50)); console.log('used', pool.numUsed(), 'pending', pool.numPendingAcquires()); if (pool.numPendingAcquires()) break; }
release(); await held; await inFlight;
console.log(server.logs.join('\n'));
await server.stop();
