#!/usr/bin/env node
// run-wasi.mjs: run a WebAssembly module under Node, catch a trap, and save linear memory.
//
// Usage:
//   node host/run-wasi.mjs [--core PATH] [--invoke EXPORT [--arg N ...]] MODULE.wasm [PROGRAM ARGS...]
//
// A module that imports `wasi_snapshot_preview1` (and no --invoke) runs as a WASI command: its
// `_start` runs under `node:wasi` with argv = [MODULE file name, PROGRAM ARGS...], this process's
// environment, and the current directory preopened as `.`.
// Any other module, and any module with --invoke, is instantiated with each import replaced by a
// function that throws a clear error, and the export EXPORT (default: `_start`) is called with the
// --arg integers (Numbers, or BigInts when the export takes i64). A returned value is printed on
// stdout as `result: VALUE`.
//
// On a trap (a WebAssembly.RuntimeError, or V8's RangeError "Maximum call stack size exceeded",
// which is how a Wasm stack overflow shows in V8) it prints `trap: MESSAGE` on stderr and, with
// --core PATH, writes the whole `memory.buffer` of the module's exported memory to PATH and prints
// `core written to PATH (N bytes)` on stderr. The file is raw linear memory as it was at the trap
// (a module rewritten by wasm-coredump-rewriter leaves a valid Wasm core dump there).
//
// Exit status:
//   the program's own status   on a normal exit: 0 when `_start` returns, N on `proc_exit(N)`;
//                              0 after a successful --invoke
//   134                        the module trapped (also when it trapped but had no memory to save)
//   2                          usage or IO error: bad arguments, unreadable or invalid module,
//                              missing export, unsupported import, a call to a stubbed import,
//                              the core file could not be written; one `error: ...` line on stderr
//
// Node standard library only (Node 20+).
//
// As a module (imported, not run), it exports its pieces for other hosts (host/test/record.mjs):
// `runModule` runs a module as the CLI does and returns the trap instead of handling it;
// `parseArgs` (which takes a host's own options too), `stubImports`, `isTrap`, `exportedMemory`,
// `callExport` and the exit statuses. Importing it runs nothing.

import { readFileSync, realpathSync, writeFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

export const EXIT_TRAP = 134;
export const EXIT_USAGE = 2;
const WASI_MODULES = new Set(['wasi_snapshot_preview1', 'wasi_unstable']);

const USAGE = `\
usage: node run-wasi.mjs [--core PATH] [--invoke EXPORT [--arg N ...]] MODULE.wasm [PROGRAM ARGS...]

Runs MODULE.wasm: a WASI command's _start under node:wasi (PROGRAM ARGS go to the program),
any other module's EXPORT (default _start) with its imports stubbed out.

options:
  --core PATH      on a trap, write the exported memory (memory.buffer) to PATH
  --invoke EXPORT  call this export instead of running a WASI command
  --arg N          an integer argument for EXPORT (repeatable)
  -h, --help       show this help

exit status: the program's own on a normal exit, 134 on a trap, 2 on a usage or IO error`;

/** Writes one line to stderr synchronously (it must be out before process.exit). */
export function eprint(line) {
  writeSync(2, `${line}\n`);
}

/** Thrown for usage and IO errors: reported as one line, exit status 2. */
export class UsageError extends Error {}

/** Thrown by the stubs that stand in for imports the runner does not provide. */
export class StubImportError extends Error {}

/**
 * Parses the command line into `{core, invoke, invokeArgs, path, programArgs, own}` (`path`:
 * MODULE; `help: true` for -h or --help, and nothing else parsed), what `runModule` takes; throws
 * a `UsageError`. A host built on this runner names in `ownOptions` its own options that take a
 * value (e.g. `['--endpoint']`): they may stand among the runner's, before MODULE, and their
 * values go to `own`, keyed by name without the dashes (`own.endpoint`).
 */
export function parseArgs(argv, ownOptions = []) {
  const opts = { core: null, invoke: null, invokeArgs: [], path: null, programArgs: [], own: {} };
  let i = 0;
  const value = (flag) => {
    if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
    i += 1;
    return argv[i];
  };
  for (; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      opts.help = true;
      return opts;
    } else if (arg === '--core') {
      opts.core = value(arg);
    } else if (arg === '--invoke') {
      opts.invoke = value(arg);
    } else if (arg === '--arg') {
      const text = value(arg);
      const m = /^([+-]?)(\d+|0x[0-9a-f]+)$/i.exec(text);
      if (m === null) {
        throw new UsageError(`--arg needs an integer, got ${JSON.stringify(text)}`);
      }
      const magnitude = BigInt(m[2]);
      opts.invokeArgs.push(m[1] === '-' ? -magnitude : magnitude);
    } else if (ownOptions.includes(arg)) {
      opts.own[arg.slice(2)] = value(arg);
    } else if (arg === '--') {
      i += 1;
      break;
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      break;
    }
  }
  if (i >= argv.length) throw new UsageError('no module given');
  opts.path = argv[i];
  opts.programArgs = argv.slice(i + 1);
  if (opts.invokeArgs.length > 0 && opts.invoke === null) {
    throw new UsageError('--arg needs --invoke');
  }
  return opts;
}

/** An import object whose every function throws, for the imports the runner does not provide. */
export function stubImports(module, provided = {}) {
  const imports = { ...provided };
  for (const imp of WebAssembly.Module.imports(module)) {
    if (provided[imp.module] !== undefined) continue;
    imports[imp.module] ??= {};
    if (imp.kind !== 'function') {
      throw new UsageError(
        `module imports ${imp.kind} ${imp.module}.${imp.name}, which this runner cannot provide`,
      );
    }
    imports[imp.module][imp.name] = () => {
      throw new StubImportError(
        `module called import ${imp.module}.${imp.name}, which this runner does not provide`,
      );
    };
  }
  return imports;
}

export function isTrap(err) {
  return (
    err instanceof WebAssembly.RuntimeError ||
    (err instanceof RangeError && /Maximum call stack size exceeded/.test(err.message))
  );
}

/** The module's exported memory: `memory`, else the first exported memory. */
export function exportedMemory(instance) {
  if (!instance) return null;
  const exports = instance.exports;
  if (exports.memory instanceof WebAssembly.Memory) return exports.memory;
  return Object.values(exports).find((e) => e instanceof WebAssembly.Memory) ?? null;
}

/** Calls `fn` with the integer arguments: as Numbers, or as BigInts if the export wants i64s. */
export function callExport(fn, args) {
  const asNumbers = args.map((a) => Number(a));
  try {
    return fn(...asNumbers);
  } catch (err) {
    // V8 converts arguments before it enters Wasm, so nothing ran if conversion failed.
    if (err instanceof TypeError && /BigInt/.test(err.message)) return fn(...args);
    throw err;
  }
}

/**
 * Runs a module as the CLI does: a WASI command's `_start` under `node:wasi` (when `invoke` is
 * null and the module imports WASI), or the export `invoke` (default `_start`) with `invokeArgs`
 * and every import stubbed out. Takes what `parseArgs` gives.
 *
 * Returns `{module, instance, exitCode, result}` when the program ended (`exitCode`: its own, 0
 * after a call), or `{module, instance, exitCode: 134, trap}` when it trapped (`instance` is null
 * when the trap came while instantiating). Throws a `UsageError` for a bad module, a missing
 * export or an unsupported import, a `StubImportError` when the program called a stubbed import,
 * and any other error that is not a trap as it was thrown.
 */
export async function runModule({ path, invoke = null, invokeArgs = [], programArgs = [] }) {
  let bytes;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read module ${path}: ${err.message}`);
  }
  let module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (err) {
    throw new UsageError(`${path} is not a valid WebAssembly module: ${err.message}`);
  }
  const isWasi = WebAssembly.Module.imports(module).some((i) => WASI_MODULES.has(i.module));

  let instance = null;
  try {
    if (isWasi && invoke === null) {
      // node:wasi still prints an ExperimentalWarning on Node 20; keep stderr for the program.
      const emitWarning = process.emitWarning;
      process.emitWarning = (warning, ...rest) => {
        const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
        if (type === 'ExperimentalWarning' && /WASI/.test(String(warning))) return;
        emitWarning.call(process, warning, ...rest);
      };
      const { WASI } = await import('node:wasi');
      const wasi = new WASI({
        version: 'preview1',
        args: [basename(path), ...programArgs],
        env: process.env,
        returnOnExit: true,
        preopens: { '.': '.' },
      });
      const wasiImports = wasi.getImportObject();
      instance = await WebAssembly.instantiate(module, stubImports(module, wasiImports));
      if (typeof instance.exports._start !== 'function') {
        throw new UsageError(`${path} imports WASI but exports no _start; use --invoke`);
      }
      return { module, instance, exitCode: wasi.start(instance) ?? 0 };
    }

    const name = invoke ?? '_start';
    instance = await WebAssembly.instantiate(module, stubImports(module));
    const fn = instance.exports[name];
    if (typeof fn !== 'function') {
      throw new UsageError(
        invoke === null
          ? `${path} exports no _start function; choose an export with --invoke`
          : `${path} exports no function named ${JSON.stringify(name)}`,
      );
    }
    return { module, instance, exitCode: 0, result: callExport(fn, invokeArgs) };
  } catch (err) {
    if (!isTrap(err)) throw err;
    return { module, instance, exitCode: EXIT_TRAP, trap: err };
  }
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    eprint(`error: ${err.message}`);
    eprint(`(run with --help for usage)`);
    return EXIT_USAGE;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  let run;
  try {
    run = await runModule(opts);
  } catch (err) {
    if (err instanceof UsageError || err instanceof StubImportError) {
      eprint(`error: ${err.message}`);
    } else {
      eprint(`error: ${err?.stack ?? err}`);
    }
    return EXIT_USAGE;
  }
  if (!run.trap) {
    if (run.result !== undefined) process.stdout.write(`result: ${run.result}\n`);
    return run.exitCode;
  }

  eprint(`trap: ${run.trap.message}`);
  if (opts.core !== null) {
    const memory = exportedMemory(run.instance);
    if (memory === null) {
      eprint('no core written: the module exports no memory');
      return EXIT_TRAP;
    }
    const image = new Uint8Array(memory.buffer);
    try {
      writeFileSync(opts.core, image);
    } catch (writeErr) {
      eprint(`error: cannot write core to ${opts.core}: ${writeErr.message}`);
      return EXIT_USAGE;
    }
    eprint(`core written to ${opts.core} (${image.byteLength} bytes)`);
  }
  return EXIT_TRAP;
}

/** Whether this file is the program Node runs (not a module another script imports). */
function isMainModule() {
  if (!process.argv[1]) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMainModule()) process.exit(await main());
