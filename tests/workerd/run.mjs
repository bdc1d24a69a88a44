#!/usr/bin/env node
// run.mjs: run a rewritten module inside workerd (Cloudflare's Workers runtime, from npm), send
// the Worker one request that makes the module trap, and let host/coredump.mjs post the dump.
//
// Usage:
//   node tests/workerd/run.mjs [--via binding|fetch] [--token TOKEN] [--invoke EXPORT]
//        [--arg N ...] MODULE.wasm SERVICE_URL
//
//   MODULE.wasm     the module the Worker imports (a rewritten module that needs no imports on
//                   its way to the trap, e.g. the cdylib-panic fixture after wasm-coredump-rewriter)
//   SERVICE_URL     the coredump service, e.g. http://127.0.0.1:8080/ (loopback)
//   --via binding   (default) post through the COREDUMP_SERVICE service binding, an external
//                   service at SERVICE_URL's host and port, as Cloudflare's client did (the
//                   request goes to http://coredump-service/, SERVICE_URL's path is not used)
//   --via fetch     post with the Worker's global fetch to SERVICE_URL itself
//   --token TOKEN   sent as `Authorization: Bearer TOKEN`
//   --invoke EXPORT the export the Worker calls (default `process`), with the --arg integers
//                   (default: one argument, 7: cdylib-panic's `process(7)` panics)
//
// It installs workerd first when tests/workerd/node_modules lacks the pinned version
// (`npm ci --prefer-offline`: npm's cache is enough once it has the packages), lays out
// config.capnp, worker.mjs, host/coredump.mjs and the module as app.wasm in a temporary
// directory, starts `workerd serve` there on a free loopback port (workerd reports the port on
// --control-fd), sends one GET, then stops workerd and removes the directory.
//
// Output: workerd's own output and the response's status on stderr; the Worker's JSON answer as
// the last line on stdout: {"trapped": true, "trap": "unreachable", "ok": true, "key": "..."} (or
// "ok": false and "error"), or {"trapped": false, "result": "..."}.
// Exit status: 0 when the Worker answered with JSON (whatever it says), 1 when it did not
// (workerd did not start, the request failed), 2 on bad arguments.

import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const HOST_CLIENT = join(HERE, '..', '..', 'host', 'coredump.mjs');
const START_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 60_000;

const eprint = (line) => process.stderr.write(`${line}\n`);

function parseArgs(argv) {
  const opts = { via: 'binding', token: null, invoke: 'process', args: [], positional: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      i += 1;
      return argv[i];
    };
    if (arg === '--via') opts.via = value();
    else if (arg === '--token') opts.token = value();
    else if (arg === '--invoke') opts.invoke = value();
    else if (arg === '--arg') opts.args.push(value());
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else opts.positional.push(arg);
  }
  if (opts.positional.length !== 2) throw new Error('expected MODULE.wasm SERVICE_URL');
  if (opts.via !== 'binding' && opts.via !== 'fetch') throw new Error('--via is binding or fetch');
  if (!opts.args.every((a) => /^-?\d+$/.test(a))) throw new Error('--arg needs an integer');
  if (opts.args.length === 0 && opts.invoke === 'process') opts.args = ['7'];
  [opts.module, opts.service] = opts.positional;
  opts.serviceUrl = new URL(opts.service);
  return opts;
}

/** Installs the pinned workerd unless it is there already; returns the binary's path. */
async function workerdBinary() {
  const pinned = JSON.parse(readFileSync(join(HERE, 'package.json'), 'utf8')).dependencies.workerd;
  const installed = join(HERE, 'node_modules', 'workerd', 'package.json');
  const version = existsSync(installed) ? JSON.parse(readFileSync(installed, 'utf8')).version : null;
  if (version !== pinned) {
    eprint(`installing workerd ${pinned} (npm ci)`);
    const npm = spawnSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: HERE,
      stdio: ['ignore', 2, 2],
    });
    if (npm.status !== 0) throw new Error(`npm ci failed (status ${npm.status})`);
  }
  // The package is CommonJS: `exports.default` is the path of the platform's binary.
  const { default: exports } = await import('workerd');
  return typeof exports === 'string' ? exports : exports.default;
}

/** Resolves with the port workerd reports for socket `http` on its control fd. */
function listeningPort(child) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('workerd did not start listening')), START_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`workerd exited (${signal ?? code}) before listening`));
    });
    createInterface({ input: child.stdio[3] }).on('line', (line) => {
      const event = JSON.parse(line);
      if (event.event === 'listen' && event.socket === 'http') {
        clearTimeout(timer);
        resolve(event.port);
      }
    });
  });
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    eprint(`error: ${err.message} (see the comment at the top of ${fileURLToPath(import.meta.url)})`);
    return 2;
  }

  const binary = await workerdBinary();
  const dir = mkdtempSync(join(tmpdir(), 'wasm-coredump-workerd-'));
  let child = null;
  try {
    copyFileSync(join(HERE, 'config.capnp'), join(dir, 'config.capnp'));
    copyFileSync(join(HERE, 'worker.mjs'), join(dir, 'worker.mjs'));
    copyFileSync(HOST_CLIENT, join(dir, 'coredump.mjs'));
    copyFileSync(opts.module, join(dir, 'app.wasm'));

    const { hostname, port, protocol } = opts.serviceUrl;
    const servicePort = port || (protocol === 'https:' ? '443' : '80');
    const args = [
      'serve',
      join(dir, 'config.capnp'),
      '--socket-addr=http=127.0.0.1:0',
      `--external-addr=coredump-service=${hostname}:${servicePort}`,
      '--control-fd=3',
    ];
    const env = {
      ...process.env,
      COREDUMP_ENDPOINT: opts.via === 'fetch' ? opts.service : '',
      COREDUMP_TOKEN: opts.token ?? '',
    };
    child = spawn(binary, args, { cwd: dir, env, stdio: ['ignore', 2, 2, 'pipe'] });
    const workerPort = await listeningPort(child);

    const query = new URLSearchParams({ invoke: opts.invoke });
    for (const a of opts.args) query.append('arg', a);
    const url = `http://127.0.0.1:${workerPort}/?${query}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await response.text();
    eprint(`GET ${url}: ${response.status}`);
    let answer;
    try {
      answer = JSON.parse(text);
    } catch {
      eprint(`error: the Worker did not answer JSON: ${text.slice(0, 500)}`);
      return 1;
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
    return 0;
  } catch (err) {
    eprint(`error: ${err.message}`);
    return 1;
  } finally {
    if (child !== null) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
