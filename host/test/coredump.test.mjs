// Tests of host/coredump.mjs: `node --test host/test/coredump.test.mjs` (Node 20+, no packages).
//
// The memories and modules are made here byte by byte: a memory that starts with "\0asm" stands
// for a core dump, and a module made only of custom sections stands for the one that ran.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { recordCoredump } from '../coredump.mjs';

/** A one-page memory whose first bytes are `prefix`. */
function memoryWith(prefix) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  new Uint8Array(memory.buffer).set(prefix);
  return memory;
}

const DUMP_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** A module made of custom sections: `[[name, bytes], ...]` (names and payloads under 128 bytes). */
function moduleWith(sections) {
  const bytes = [...DUMP_HEADER];
  for (const [name, payload] of sections) {
    const encodedName = [...new TextEncoder().encode(name)];
    const content = [encodedName.length, ...encodedName, ...payload];
    bytes.push(0x00, content.length, ...content);
  }
  return new WebAssembly.Module(new Uint8Array(bytes));
}

/** A service binding stand-in: records what was posted and answers `answer`. */
function fakeService(answer = () => Response.json({ key: 'coredump.1' })) {
  const calls = [];
  return {
    calls,
    async fetch(url, init) {
      const request = new Request(url, init);
      calls.push({ url, headers: request.headers, form: await request.formData() });
      return answer();
    },
  };
}

/** The form's fields as `[name, filename or null]`, in order. */
function fields(form) {
  return [...form.entries()].map(([name, value]) => [
    name,
    typeof value === 'string' ? null : value.name,
  ]);
}

const crashed = new Request('https://example.com/path?q=1', {
  method: 'PUT',
  headers: { 'x-test': 'yes' },
});

test('sends the gzipped memory, the request and the build_id sections', async () => {
  const memory = memoryWith([...DUMP_HEADER, 42]);
  const service = fakeService();
  const buildId = [16, ...Array.from({ length: 16 }, (_, i) => i)];
  const wasmModule = moduleWith([
    ['build_id', buildId],
    ['.debug_info', [1, 2, 3]],
  ]);

  const result = await recordCoredump({ memory, wasmModule, request: crashed, fetcher: service });

  assert.deepEqual(result, { ok: true, key: 'coredump.1' });
  assert.equal(service.calls.length, 1);
  const { url, headers, form } = service.calls[0];
  assert.equal(url, 'http://coredump-service/');
  assert.equal(headers.get('authorization'), null);
  assert.deepEqual(fields(form), [
    ['coredump', 'coredump.gz'],
    ['request', null],
    ['build_id-section', 'build_id-section'],
  ]);
  const dump = form.get('coredump');
  assert.equal(dump.type, 'application/gzip');
  const image = gunzipSync(Buffer.from(await dump.arrayBuffer()));
  assert.deepEqual(image, Buffer.from(memory.buffer));
  assert.deepEqual(JSON.parse(form.get('request')), {
    method: 'PUT',
    url: 'https://example.com/path?q=1',
    headers: { 'x-test': 'yes' },
  });
  assert.deepEqual([...new Uint8Array(await form.get('build_id-section').arrayBuffer())], buildId);
});

test('without build_id, sends the name and DWARF sections of the older list only', async () => {
  const service = fakeService();
  const wasmModule = moduleWith([
    ['.debug_line', [7]],
    ['name', [1]],
    ['.debug_str_offsets', [9]], // DWARF 5: not in the older client's list
    ['.debug_info', [2]],
    ['.debug_info', [3]],
  ]);
  await recordCoredump({
    memory: memoryWith(DUMP_HEADER),
    wasmModule,
    coredumpService: service, // the older client's name
  });
  const { form } = service.calls[0];
  assert.deepEqual(
    fields(form).map(([name]) => name),
    ['coredump', 'name-section', '.debug_info-section', '.debug_info-section', '.debug_line-section'],
  );
  const infos = await Promise.all(form.getAll('.debug_info-section').map((b) => b.arrayBuffer()));
  assert.deepEqual(infos.map((b) => [...new Uint8Array(b)]), [[2], [3]]);
});

test('sends nothing when memory holds no core dump', async () => {
  const service = fakeService();
  const result = await recordCoredump({
    memory: memoryWith([1, 2, 3, 4]),
    wasmModule: moduleWith([]),
    fetcher: service,
  });
  assert.equal(result.ok, false);
  assert.equal(service.calls.length, 0);
});

test('never throws: a failing service, a bad answer, bad arguments', async (t) => {
  t.mock.method(console, 'error', () => {});
  const memory = memoryWith(DUMP_HEADER);
  const down = fakeService(() => new Response('no room', { status: 507 }));
  assert.deepEqual(await recordCoredump({ memory, fetcher: down }), {
    ok: false,
    error: 'service answered 507: no room',
  });
  const noKey = fakeService(() => Response.json({}));
  assert.equal((await recordCoredump({ memory, fetcher: noKey })).ok, false);
  const throwing = { fetch: () => Promise.reject(new Error('binding gone')) };
  assert.deepEqual(await recordCoredump({ memory, fetcher: throwing }), {
    ok: false,
    error: 'binding gone',
  });
  assert.equal((await recordCoredump({ memory })).ok, false); // nowhere to send
  assert.equal((await recordCoredump({})).ok, false); // no memory
  assert.equal(console.error.mock.callCount(), 5);
});

test('posts to an endpoint with the global fetch, with the token', async () => {
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const form = await new Request('http://x/', {
      method: 'POST',
      headers: { 'content-type': req.headers['content-type'] },
      body: Buffer.concat(chunks),
    }).formData();
    const ok = req.headers.authorization === 'Bearer t0k' && form.has('coredump');
    res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { key: 'coredump.77' } : { error: 'bad' }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const endpoint = `http://127.0.0.1:${server.address().port}/`;
    const result = await recordCoredump({
      memory: memoryWith(DUMP_HEADER),
      request: { method: 'GET', url: 'http://a/', headers: { h: 'v' } },
      endpoint,
      token: 't0k',
    });
    assert.deepEqual(result, { ok: true, key: 'coredump.77' });
  } finally {
    server.close();
  }
});
