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

/** The command line: run-wasi's, with this driver's own options among them. */
function parseRecordArgs(argv) {
  const opts = parseArgs(argv, ['--endpoint', '--token', '--request']);
  if (!opts.help && opts.own.endpoint === undefined) {
    throw new UsageError('--endpoint URL is required');
  }
  return opts;
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
  let opts, request, run;
  try {
    opts = parseRecordArgs(process.argv.slice(2));
    if (opts.help) {
      process.stdout.write('usage: see the comment at the top of host/test/record.mjs\n');
      return 0;
    }
    request = requestFor(opts.own.request, opts.path);
    run = await runModule(opts);
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
        endpoint: opts.own.endpoint,
        token: opts.own.token,
      });
    }
    report = { trapped: true, trap: run.trap.message, ...outcome };
  }
  writeSync(1, `${JSON.stringify(report)}\n`);
  return 0;
}

process.exit(await main());
