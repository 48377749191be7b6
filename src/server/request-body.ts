import type { IncomingMessage, ServerResponse } from 'node:http';

function tooLarge(res: ServerResponse, maxBytes: number): false {
  res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ errors: [{ message: `request body exceeds ${maxBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] }));
  return false;
}

/**
 * The body read, as Yoga's adapter (@whatwg-node/server) takes it in place
 * of the stream: an async iterable with an own key. Not a string: the
 * adapter tests `Object.keys(body).length`, which for a string lists every
 * character, and a 1 MB body then blocked the event loop for seconds.
 */
function replayable(body: Buffer): { byteLength: number; [Symbol.asyncIterator](): AsyncGenerator<Buffer> } {
  return {
    byteLength: body.length,
    async *[Symbol.asyncIterator]() {
      yield body;
    },
  };
}

/**
 * Reads a request body up to `maxBytes` (0: no limit) and hands it on as
 * `req.body` (see replayable), which Yoga's adapter takes instead of the stream. A body over
 * the limit, declared or streamed, is answered 413 without being read on.
 */
export function readBodyWithin(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<boolean> {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return Promise.resolve(true);
  if (maxBytes > 0 && Number(req.headers['content-length'] ?? 0) > maxBytes) return Promise.resolve(tooLarge(res, maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (maxBytes > 0 && size > maxBytes) {
        settled = true;
        // Stop reading; the 413 goes out with `connection: close`.
        req.pause();
        resolve(tooLarge(res, maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (settled) return;
      settled = true;
      (req as IncomingMessage & { body?: unknown }).body = size === 0 ? '' : replayable(Buffer.concat(chunks));
      resolve(true);
    });
    req.once('error', (error) => {
      if (settled) return;
      settled = true;
      reject(error);
    });
  });
}
