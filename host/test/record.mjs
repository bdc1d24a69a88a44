#!/usr/bin/env node
// record.mjs: run a module the way host/run-wasi.mjs does and, if it traps, send its core dump to
// a coredump service with host/coredump.mjs's recordCoredump. A test driver.
//
// Usage:
//   node host/test/record.mjs --endpoint URL [--token TOKEN] [--request JSON|none]
//        [--core PATH] [--invoke EXPORT [--arg N ...]] MODULE.wasm [PROGRAM ARGS...]
//
//   --endpoint URL   where to POST the dump (e.g. http://127.0.0.1:8080/); required
//   --token TOKEN    sent as `Authorization: Bearer TOKEN`
//   --request JSON   the `request` field: `{"method", "url", "headers"}` of the request that
//                    "crashed"; `none` sends no request field. Default:
//                    {"method":"GET","url":"http://localhost/<MODULE file name>","headers":{"user-agent":"record.mjs"}}
//   --core, --invoke, --arg, MODULE and PROGRAM ARGS: as for host/run-wasi.mjs (a WASI command's
//                    `_start` under node:wasi, or EXPORT called with its imports stubbed out).
//
// Output: whatever the program prints, then, as the last line on stdout, one JSON object:
//   {"trapped": false, "exit_code": N}                          the program did not trap
//   {"trapped": true, "trap": "MESSAGE", "ok": true, "key": K}   the service stored the dump as K
//   {"trapped": true, "trap": "MESSAGE", "ok": false, "error": E} nothing was stored (E says why:
//                    no dump in memory, no exported memory, the service's error, ...)
// recordCoredump's own one-line error, if any, goes to stderr.
//
// Exit status: 0 once the JSON line is printed (trap or not, stored or not); 2 on a usage or IO
// error, an invalid module, a call to a stubbed import or any error other than a trap (one
// `error: ...` line on stderr, no JSON).

import { writeFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import process from 'node:process';

import { recordCoredump } from '../coredump.mjs';
import {
  EXIT_USAGE,
  StubImportError,
  UsageError,
  eprint,
  exportedMemory,
  parseArgs,
  runModule,
} from '../run-wasi.mjs';

/** Takes this driver's own options out of the options before MODULE; the rest is run-wasi's. */
function splitArgs(argv) {
  const own = { endpoint: null, token: null, request: undefined };
  const rest = [];
  let i = 0;
  const value = (flag) => {
    if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
    i += 1;
    return argv[i];
  };
  for (; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--endpoint') own.endpoint = value(arg);
    else if (arg === '--token') own.token = value(arg);
    else if (arg === '--request') own.request = value(arg);
    else if (arg === '--core' || arg === '--invoke' || arg === '--arg') rest.push(arg, value(arg));
    else if (arg.startsWith('-') && arg !== '-' && arg !== '--') rest.push(arg);
    else break;
  }
  rest.push(...argv.slice(i));
  if (own.endpoint === null) throw new UsageError('--endpoint URL is required');
  return { own, opts: parseArgs(rest) };
}

/** The request to report: the --request JSON, none, or a made-up GET of the module's name. */
function requestFor(text, modulePath) {
  if (text === 'none') return undefined;
  if (text === undefined) {
    return {
      method: 'GET',
      url: `http://localhost/${encodeURIComponent(basename(modulePath))}`,
      headers: { 'user-agent': 'record.mjs' },
    };
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--request needs JSON: ${err.message}`);
  }
}

async function main() {
  let own, opts, request, run;
  try {
    ({ own, opts } = splitArgs(process.argv.slice(2)));
    if (opts.help) {
      process.stdout.write('usage: see the comment at the top of host/test/record.mjs\n');
      return 0;
    }
    request = requestFor(own.request, opts.module);
    run = await runModule({
      path: opts.module,
      invoke: opts.invoke,
      invokeArgs: opts.invokeArgs,
      programArgs: opts.programArgs,
    });
  } catch (err) {
    const known = err instanceof UsageError || err instanceof StubImportError;
    eprint(`error: ${known ? err.message : (err?.stack ?? err)}`);
    return EXIT_USAGE;
  }

  let report;
  if (!run.trap) {
    report = { trapped: false, exit_code: run.exitCode };
  } else {
    eprint(`trap: ${run.trap.message}`);
    const memory = exportedMemory(run.instance);
    let outcome;
    if (memory === null) {
      outcome = { ok: false, error: 'the module exports no memory' };
    } else {
      if (opts.core !== null) {
        try {
          writeFileSync(opts.core, new Uint8Array(memory.buffer));
        } catch (err) {
          eprint(`error: cannot write core to ${opts.core}: ${err.message}`);
          return EXIT_USAGE;
        }
      }
      outcome = await recordCoredump({
        memory,
        wasmModule: run.module,
        request,
        endpoint: own.endpoint,
        token: own.token ?? undefined,
      });
    }
    report = { trapped: true, trap: run.trap.message, ...outcome };
  }
  writeSync(1, `${JSON.stringify(report)}\n`);
  return 0;
}

process.exit(await main());
