#!/usr/bin/env node
/**
 * A small order service whose memory depends on the allocator underneath it.
 * Its native work runs on the threads of libuv's pool, each of which glibc
 * gives an arena of its own:
 *
 *   POST /orders   a JSON order: parsed, checked, totalled; the receipt goes
 *                  back gzip-compressed (zlib sets up and runs its streams on
 *                  the pool)
 *   POST /login    a JSON {user, password}: an scrypt key (N 16384, r 8: OpenSSL
 *                  takes 16 MiB of scratch memory on a pool thread per call)
 *   POST /archive  any body, Brotli-compressed with a 4 MiB window (the
 *                  encoder's buffers are made on the pool)
 *   GET  /health
 *
 * usage: node server.mjs [PORT]   (default 0: any free port on 127.0.0.1)
 * Prints "listening on http://127.0.0.1:PORT" once ready; SIGTERM or SIGINT
 * closes it. The load for it is load.mjs beside this file.
 */
import { scrypt } from 'node:crypto';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

const deflate = promisify(gzip);
const brotli = promisify(brotliCompress);
/** scrypt with its cost parameters (promisify types only the overload without them). */
const deriveKey = (password, salt, length, options) =>
  new Promise((resolve, reject) =>
    scrypt(password, salt, length, options, (error, key) => (error ? reject(error) : resolve(key))),
  );

/** @param {import('node:http').IncomingMessage} request */
async function body(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** @param {any} order */
function receipt(order) {
  if (!Array.isArray(order?.items)) throw new RangeError('an order needs items');
  const lines = order.items.map((item) => {
    const quantity = Number(item.quantity);
    const price = Number(item.price);
    if (!Number.isFinite(quantity) || !Number.isFinite(price)) throw new RangeError(`bad item ${item.sku}`);
    return { sku: String(item.sku), quantity, price, total: Math.round(quantity * price * 100) / 100 };
  });
  const total = lines.reduce((sum, line) => sum + line.total, 0);
  return { id: order.id, customer: order.customer, lines, total, at: new Date().toISOString() };
}

const routes = {
  'POST /orders': async (request, response) => {
    const order = JSON.parse((await body(request)).toString('utf8'));
    const compressed = await deflate(Buffer.from(JSON.stringify(receipt(order))));
    response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    response.end(compressed);
  },
  'POST /login': async (request, response) => {
    const { user, password } = JSON.parse((await body(request)).toString('utf8'));
    const key = await deriveKey(String(password), `salt:${user}`, 32, { N: 16384, r: 8, p: 1 });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ user, token: key.toString('base64url') }));
  },
  'POST /archive': async (request, response) => {
    const compressed = await brotli(await body(request), {
      params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_LGWIN]: 22 },
    });
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.end(compressed);
  },
  'GET /health': async (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('ok\n');
  },
};

const server = createServer((request, response) => {
  const route = routes[`${request.method} ${request.url}`];
  if (route === undefined) {
    response.writeHead(404).end();
    return;
  }
  route(request, response).catch((error) => {
    response.writeHead(error instanceof SyntaxError || error instanceof RangeError ? 400 : 500);
    response.end(`${error.message}\n`);
  });
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  console.log(`listening on http://127.0.0.1:${port}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
