// worker.mjs: a Worker that runs a rewritten crash fixture and reports its core dump.
//
// Each request instantiates `app.wasm` afresh (each gets its own dump: the rewriter's runtime
// keeps the first dump of an instance) and calls the export named by the query, `?invoke=EXPORT`
// (default `process`, the cdylib-panic fixture's) with the integers `?arg=N` (repeatable, default
// none). Every import of the module is a function that throws: the fixture must not need any on
// its way to the trap (wasm32-unknown-unknown fixtures import nothing).
//
// On a trap it calls host/coredump.mjs's recordCoredump and answers 500 with
// `{"trapped": true, "trap": MESSAGE, "ok": ..., "key" | "error": ...}`; otherwise 200
// `{"trapped": false, "result": VALUE}`. Where the dump goes, from the bindings (config.capnp):
//   COREDUMP_ENDPOINT  (text, from the environment variable of that name) when set: the global
//                      fetch posts to this URL (the Worker's globalOutbound reaches loopback only)
//   COREDUMP_SERVICE   otherwise: the service binding, as Cloudflare's client used it
//   COREDUMP_TOKEN     (text, from the environment) the bearer token, when set
// A production Worker would hand the promise to ctx.waitUntil and rethrow; this one waits, so
// the test sees the outcome in the response.

import wasmModule from './app.wasm';
import { recordCoredump } from './coredump.mjs';

/** Imports that throw: for modules that import functions their crash path never calls. */
function stubImports(module) {
  const imports = {};
  for (const { module: from, name, kind } of WebAssembly.Module.imports(module)) {
    if (kind !== 'function') throw new Error(`cannot provide ${kind} import ${from}.${name}`);
    imports[from] ??= {};
    imports[from][name] = () => {
      throw new Error(`the Worker does not provide import ${from}.${name}`);
    };
  }
  return imports;
}

/** Calls `fn` with integer arguments as Numbers, or as BigInts when it takes i64s. */
function call(fn, args) {
  try {
    return fn(...args.map(Number));
  } catch (err) {
    if (err instanceof TypeError && /BigInt/.test(err.message)) return fn(...args);
    throw err;
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const name = url.searchParams.get('invoke') ?? 'process';
    const args = url.searchParams.getAll('arg').map((a) => BigInt(a));
    const instance = new WebAssembly.Instance(wasmModule, stubImports(wasmModule));
    const fn = instance.exports[name];
    if (typeof fn !== 'function') {
      return Response.json({ error: `no exported function ${name}` }, { status: 400 });
    }
    try {
      const result = call(fn, args);
      return Response.json({ trapped: false, result: result?.toString() ?? null });
    } catch (err) {
      if (!(err instanceof WebAssembly.RuntimeError)) throw err;
      const endpoint = env.COREDUMP_ENDPOINT || undefined;
      const report = await recordCoredump({
        memory: instance.exports.memory,
        wasmModule,
        request,
        endpoint,
        fetcher: endpoint ? undefined : env.COREDUMP_SERVICE,
        token: env.COREDUMP_TOKEN || undefined,
      });
      return Response.json({ trapped: true, trap: err.message, ...report }, { status: 500 });
    }
  },
};
