// coredump.mjs: send the core dump a rewritten module left in its memory to the coredump service.
//
// For any host with the web platform's globals (Node 20+, Cloudflare Workers / workerd, Deno,
// browsers): it uses only fetch, FormData, Blob, CompressionStream, Response and WebAssembly.
// The form it posts is the one Cloudflare's Wasm Coredump Service client sent (see DESIGN.md §4),
// except that the dump is gzip-compressed (the service detects gzip by its magic bytes).

/** The custom sections sent when the module has no `build_id` (the older client's list). */
const DEBUG_SECTIONS = [
  'name',
  '.debug_info',
  '.debug_pubtypes',
  '.debug_loc',
  '.debug_ranges',
  '.debug_abbrev',
  '.debug_line',
  '.debug_str',
  '.debug_pubnames',
];

/** "\0asm" read as a little-endian u32: a rewritten module left a core dump at address 0. */
const WASM_MAGIC = 0x6d736100;

/** The URL the request goes to when it is sent through a service binding. */
const SERVICE_BINDING_URL = 'http://coredump-service/';

/**
 * Sends the core dump left in `memory` to the coredump service, if there is one.
 *
 * Call it from the `catch` around a call into a module rewritten by wasm-coredump-rewriter: on a
 * trap, the module's whole `memory.buffer` is a Wasm core dump (it starts with "\0asm"). When it
 * is not (the module was not rewritten, or it did not trap), nothing is sent.
 *
 * The POST is a multipart form: `coredump` (the whole buffer, gzip-compressed, file
 * `coredump.gz`), `request` (JSON `{method, url, headers}` of `request`, when given), and either
 * one `build_id-section` file per `build_id` custom section of `wasmModule`, or, when it has none,
 * one `<name>-section` file per custom section named `name` or `.debug_*` (the older client's
 * list: `.debug_info`, `.debug_pubtypes`, `.debug_loc`, `.debug_ranges`, `.debug_abbrev`,
 * `.debug_line`, `.debug_str`, `.debug_pubnames`).
 *
 * It never throws: any failure is logged as one `console.error` line and returned.
 *
 * @param {object} options
 * @param {WebAssembly.Memory} options.memory the trapped instance's exported memory
 * @param {WebAssembly.Module} [options.wasmModule] the module it was instantiated from; its
 *   custom sections tell the service which debug file to use
 * @param {Request | {method?: string, url?: string, headers?: Headers | Record<string, string>}}
 *   [options.request] the request being served when the module trapped
 * @param {string | URL} [options.endpoint] the service's URL, posted to with the global `fetch`
 * @param {{fetch: typeof fetch}} [options.fetcher] a Workers service binding (or any object with
 *   `fetch`) to post through instead, to `http://coredump-service/`; takes precedence over
 *   `endpoint`
 * @param {{fetch: typeof fetch}} [options.coredumpService] the older client's name for `fetcher`
 * @param {string} [options.token] sent as `Authorization: Bearer <token>` when set
 * @returns {Promise<{ok: true, key: string} | {ok: false, error: string}>} the key under which
 *   the service stored the dump, or why nothing was stored
 */
export async function recordCoredump({
  memory,
  wasmModule,
  request,
  endpoint,
  fetcher,
  coredumpService,
  token,
} = {}) {
  try {
    const buffer = memory.buffer;
    if (buffer.byteLength < 4 || new Uint32Array(buffer, 0, 1)[0] !== WASM_MAGIC) {
      return { ok: false, error: 'no core dump: memory does not start with \\0asm' };
    }
    // The Blob copies the memory now, before anything else can run in the instance.
    const image = new Blob([buffer]);
    const service = fetcher ?? coredumpService;
    if (!service && !endpoint) throw new Error('no endpoint or fetcher given');

    const body = new FormData();
    body.append('coredump', await gzip(image), 'coredump.gz');
    if (request) body.append('request', JSON.stringify(describeRequest(request)));
    for (const [name, payload] of debugSections(wasmModule)) {
      body.append(`${name}-section`, new Blob([payload]), `${name}-section`);
    }

    const init = { method: 'POST', body };
    if (token) init.headers = { Authorization: `Bearer ${token}` };
    const response = service
      ? await service.fetch(SERVICE_BINDING_URL, init)
      : await fetch(endpoint, init);
    const text = await response.text();
    if (!response.ok) throw new Error(`service answered ${response.status}: ${text.slice(0, 200)}`);
    const { key } = JSON.parse(text);
    if (typeof key !== 'string') throw new Error(`service answer has no key: ${text.slice(0, 200)}`);
    return { ok: true, key };
  } catch (err) {
    // fetch's own errors ("fetch failed") keep what failed in their cause.
    const cause = err?.cause?.message ? ` (${err.cause.message})` : '';
    const error = `${err instanceof Error ? err.message : String(err)}${cause}`;
    console.error(`coredump: not recorded: ${error}`);
    return { ok: false, error };
  }
}

/** `blob` gzip-compressed, as a Blob of type application/gzip. */
async function gzip(blob) {
  const compressed = blob.stream().pipeThrough(new CompressionStream('gzip'));
  const bytes = await new Response(compressed).arrayBuffer();
  return new Blob([bytes], { type: 'application/gzip' });
}

/** `{method, url, headers}` of a Request (or of a plain object shaped like one). */
function describeRequest(request) {
  const headers = {};
  const source = request.headers ?? {};
  const entries = typeof source.entries === 'function' ? source.entries() : Object.entries(source);
  for (const [name, value] of entries) headers[name] = String(value);
  return { method: request.method, url: request.url, headers };
}

/** `[name, payload]` of the custom sections that identify the module's debug info. */
function debugSections(wasmModule) {
  if (!wasmModule) return [];
  const sections = (name) => WebAssembly.Module.customSections(wasmModule, name);
  const buildIds = sections('build_id');
  if (buildIds.length > 0) return buildIds.map((payload) => ['build_id', payload]);
  return DEBUG_SECTIONS.flatMap((name) => sections(name).map((payload) => [name, payload]));
}
