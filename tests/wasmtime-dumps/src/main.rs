//! Runs a crash fixture under Wasmtime with `Config::coredump_on_trap` and
//! writes the core dump Wasmtime makes, plus the program's stdout beside it.
//!
//! Usage:
//!   wasmtime-dumps MODULE.wasm OUT.coredump [PROGRAM ARGS...]
//!   wasmtime-dumps --invoke EXPORT [--arg N]... MODULE.wasm OUT.coredump
//!
//! The first form runs a WASI preview1 program's `_start`; the second calls an
//! export of a module without imports. Writes `OUT.coredump` and `OUT.stdout`.
//! Exit status: 0 when a dump was written, 1 on any error (including a program
//! that did not trap).

use std::path::{Path, PathBuf};

use wasmtime::error::Context;
use wasmtime::{Config, Engine, Linker, Module, Result, Store, Val, WasmCoreDump, bail};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// What to run and where to write the dump.
struct Opts {
    invoke: Option<String>,
    invoke_args: Vec<i32>,
    module: PathBuf,
    out: PathBuf,
    program_args: Vec<String>,
}

fn parse_args() -> Result<Opts> {
    let mut args = std::env::args().skip(1);
    let mut invoke = None;
    let mut invoke_args = Vec::new();
    let mut positional = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--invoke" => invoke = Some(args.next().context("--invoke needs an export name")?),
            "--arg" => invoke_args.push(
                args.next()
                    .context("--arg needs a value")?
                    .parse::<i32>()
                    .context("--arg takes an i32")?,
            ),
            _ => {
                positional.push(arg);
                if positional.len() == 2 {
                    break;
                }
            }
        }
    }
    let [module, out] = <[String; 2]>::try_from(positional)
        .ok()
        .context("usage: wasmtime-dumps [--invoke EXPORT [--arg N]...] MODULE.wasm OUT.coredump [PROGRAM ARGS...]")?;
    Ok(Opts {
        invoke,
        invoke_args,
        module: module.into(),
        out: out.into(),
        program_args: args.collect(),
    })
}

fn main() {
    if let Err(err) = parse_args().and_then(|opts| run(&opts)) {
        eprintln!("error: {err}");
        err.chain()
            .skip(1)
            .for_each(|cause| eprintln!("  caused by: {cause}"));
        std::process::exit(1);
    }
}

fn run(opts: &Opts) -> Result<()> {
    let mut config = Config::new();
    config.coredump_on_trap(true);
    // Wasmtime keeps 20 frames by default (`None` keeps none); a core dump
    // wants them all.
    config.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(1 << 20));
    let engine = Engine::new(&config)?;
    let module = Module::from_file(&engine, &opts.module)
        .with_context(|| format!("loading {}", opts.module.display()))?;
    let name = opts
        .module
        .file_name()
        .map_or("module.wasm".into(), |n| n.to_string_lossy().into_owned());

    let stdout = MemoryOutputPipe::new(1 << 20);
    let mut argv = vec![name.clone()];
    argv.extend(opts.program_args.iter().cloned());
    let wasi = wasmtime_wasi::WasiCtxBuilder::new()
        .args(&argv)
        .stdout(stdout.clone())
        .inherit_stderr()
        .build_p1();
    let mut store = Store::new(&engine, wasi);
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx)?;
    let instance = linker.instantiate(&mut store, &module)?;

    let export = opts.invoke.as_deref().unwrap_or("_start");
    let func = instance
        .get_func(&mut store, export)
        .with_context(|| format!("no exported function `{export}`"))?;
    let params: Vec<Val> = opts.invoke_args.iter().map(|&n| Val::I32(n)).collect();
    let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
    let err = match func.call(&mut store, &params, &mut results) {
        Ok(()) => bail!("{} did not trap", opts.module.display()),
        Err(err) => err,
    };
    let Some(dump) = err.downcast_ref::<WasmCoreDump>() else {
        bail!(
            "{} failed without a core dump: {err:?}",
            opts.module.display()
        );
    };
    let bytes = dump.serialize(&mut store, &name);
    write(&opts.out, &bytes)?;
    write(&opts.out.with_extension("stdout"), &stdout.contents())?;
    eprintln!(
        "{}: {} frames, {} bytes written to {}",
        name,
        dump.frames().len(),
        bytes.len(),
        opts.out.display()
    );
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
