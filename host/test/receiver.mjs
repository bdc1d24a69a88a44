#!/usr/bin/env node
// receiver.mjs: a stand-in for the coredump service in tests. It accepts the multipart POSTs that
// host/coredump.mjs sends and writes every part to disk, so a test can look at what a host sent.
//
// Usage:
//   node host/test/receiver.mjs --out DIR [--port N] [--host ADDR] [--token TOKEN] [--once]
//
//   --out DIR      each POST's parts go to DIR/<n>/ (n = 1, 2, ...): one file per part, named
//                  after its field (`coredump`, `request`, `build_id-section`, `.debug_info-section`;
//                  a field sent again gets `.2`, `.3`, ...), plus `parts.json`: the list of
//                  {field, filename, type, size, file}, and `headers.json`: the request headers
//   --port N       default 0: any free port
//   --host ADDR    default 127.0.0.1
//   --token TOKEN  answer 401 unless the request has `Authorization: Bearer TOKEN`
//   --once         exit 0 after answering the first POST
//
// It prints `listening http://ADDR:PORT/` as its first line on stdout, then one line per POST:
// `received N DIR/N`. Each POST is answered `200 {"key": "coredump.<n>"}` (the older service's
// answer shape), or 400 with a one-line reason when the body is not a multipart form.
// Node standard library only (Node 20+: its Request parses multipart forms).

import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const { values: opts } = parseArgs({
  options: {
    out: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    token: { type: 'string' },
    once: { type: 'boolean', default: false },
  },
});
if (opts.out === undefined) throw new Error('--out DIR is required');
let count = 0;

const server = createServer(async (req, res) => {
  try {
    if (req.method !== 'POST') return answer(res, 405, { error: 'POST only' });
    if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) {
      return answer(res, 401, { error: 'bad or missing token' });
    }
    const body = await readBody(req);
    let form;
    try {
      form = await new Request('http://receiver/', {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? '' },
        body,
      }).formData();
    } catch (err) {
      return answer(res, 400, { error: `not a multipart form: ${err.message}` });
    }
    count += 1;
    const dir = join(opts.out, String(count));
    mkdirSync(dir, { recursive: true });
    const seen = new Map();
    const parts = [];
    for (const [field, value] of form.entries()) {
      const n = (seen.get(field) ?? 0) + 1;
      seen.set(field, n);
      const file = n === 1 ? field : `${field}.${n}`;
      const isFile = typeof value !== 'string';
      const bytes = isFile ? Buffer.from(await value.arrayBuffer()) : Buffer.from(value);
      writeFileSync(join(dir, file), bytes);
      parts.push({
        field,
        filename: isFile ? value.name : null,
        type: isFile ? value.type : null,
        size: bytes.length,
        file,
      });
    }
    writeFileSync(join(dir, 'parts.json'), `${JSON.stringify(parts, null, 1)}\n`);
    writeFileSync(join(dir, 'headers.json'), `${JSON.stringify(req.headers, null, 1)}\n`);
    answer(res, 200, { key: `coredump.${count}` });
    process.stdout.write(`received ${count} ${dir}\n`);
    if (opts.once) server.close(() => process.exit(0));
  } catch (err) {
    answer(res, 500, { error: String(err?.message ?? err) });
  }
});

server.listen(Number(opts.port), opts.host, () => {
  const { address, port } = server.address();
  process.stdout.write(`listening http://${address}:${port}/\n`);
});
