/**
 * Live means subscriptions: every panel of the console, open and idle for
 * 30 s side by side, sends the gateway no query at all, and keeps its one
 * graphql-ws socket open all along (./console-harness.ts).
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'playwright-core';
import { onPostgres } from '../helpers/database.js';
import { sleep } from '../helpers/wait.js';
import { haveChromium, seededConsoleForSuite, signIn, watchUpgrades, type ConsolePage } from './console-harness.js';

const IDLE_MS = 30_000;

describe.skipIf(!haveChromium || onPostgres)('an idle console', () => {
  const seeded = seededConsoleForSuite();

  it('sends no query over 30 s on any panel, only its WebSocket traffic', async () => {
    const { runs } = await seeded.server.ok('{ runs(first: 1) { edges { node { id } } } }');
    const paths = ['/', '/runs', `/runs/${encodeURIComponent(runs.edges[0].node.id)}`, '/workers', '/patches', '/tools', '/costs'];
    const opened: (ConsolePage & { sockets: WebSocket[] })[] = [];
    try {
      for (const path of paths) {
        const page = await seeded.open(path);
        const sockets: WebSocket[] = [];
        page.page.on('websocket', (socket) => sockets.push(socket));
        opened.push({ ...page, sockets });
        await signIn(page.page);
        await page.page.getByRole('heading', { level: 1 }).waitFor({ timeout: 10_000 });
      }
      // Each panel has read what it shows and opened its subscriptions.
      await expect.poll(() => opened.map(({ sockets }) => sockets.length), { timeout: 10_000 }).toEqual(paths.map(() => 1));
      await sleep(1_000);

      const posts: string[] = [];
      const onRequest = (req: IncomingMessage) => req.method === 'POST' && posts.push(req.url ?? '');
      const upgrades = watchUpgrades(seeded.server);
      seeded.server.app.server.on('request', onRequest);
      try {
        await sleep(IDLE_MS);
      } finally {
        seeded.server.app.server.off('request', onRequest);
        upgrades.stop();
      }
      expect(posts, 'queries sent by idle panels').toEqual([]);
      expect(upgrades.sockets, 'sockets opened again (a reconnect)').toEqual([]);
      expect(opened.map(({ sockets }) => sockets[0]!.isClosed())).toEqual(paths.map(() => false));
      for (const { errors } of opened) expect(errors).toEqual([]);
    } finally {
      for (const { context } of opened) await context.close();
    }
  }, 90_000);
});
