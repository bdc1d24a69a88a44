//! `wasmgdb`: the command line over the `wasmgdb` library.

mod remote;

use std::io::{self, IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use coredump_service_client::{TokenArg, parse_base_url};
use debuginfo::wasm_layout::{error_line, is_broken_pipe, read_input_file};
use wasmgdb::driver::{Output, Step};
use wasmgdb::{LoadOptions, Session};

const AFTER_HELP: &str = "\
Examples:
  wasmgdb app.wasm coredump
      the REPL: bt, frame N, info locals, print *thing, x/4xw ADDR, list, help
  wasmgdb --batch -ex bt -ex 'frame 13' -ex 'print *thing' app.wasm coredump
  echo 'info locals' | wasmgdb app.wasm coredump
  wasmgdb --batch --json -ex bt stripped.wasm coredump --debug-dir symbols/
  COREDUMP_SERVICE_TOKEN=... wasmgdb --debug-url https://crashes.example.com \\
      app.wasm https://crashes.example.com/coredumps/KEY
      the core dump and the debug file from coredump-service

MODULE is the module that ran, or the original module that wasm-coredump-rewriter rewritten
(the dump carries the original code offsets), or a stripped module whose debug-<build_id>.wasm
is next to it or in a --debug-dir. Notes about the dump (build_id or module name mismatch,
missing locals) go to stderr.

COREDUMP may be an http:// or https:// URL (coredump-service's URL/coredumps/KEY): it is
fetched, then debugged as a file. With --debug-url URL, the debug file of a stripped MODULE
that is not found on this machine is fetched from URL/debuginfo/<build_id>, checked (Wasm with
DWARF and that build_id) and kept in the cache directory, where the next run finds it without
asking. A 404 leaves MODULE's names only, with a note naming the URL. --token (or
COREDUMP_SERVICE_TOKEN) is sent to both as `Authorization: Bearer TOKEN`.

Exit status:
  0  success
  1  the module or the dump cannot be read; or in batch mode (-ex, --batch, commands on stdin)
     the last command failed, as in gdb; or fetching failed: a network error, or a status
     other than 200 (a 404 for --debug-url only leaves names, as a missing debug file does)
  2  invalid arguments";

/// A gdb-like debugger for WebAssembly core dumps.
///
/// Loads MODULE's DWARF and COREDUMP (from wasm-coredump-rewriter's runtime or from Wasmtime),
/// then runs the -ex commands, then reads commands: from the terminal in a REPL (history, tab
/// completion), or from stdin when it is not a terminal. gdb's commands, names and output:
/// backtrace, frame, up, down, info locals|args|frame|globals|functions|variables|types|symbol|
/// line|source|imports|threads, print, ptype, whatis, x, find, list, disassemble, help, quit.
#[derive(Parser, Debug)]
#[command(name = "wasmgdb", version, after_help = AFTER_HELP)]
#[command(mut_arg("token", |a| a.help("Bearer token for a COREDUMP URL and --debug-url")))]
struct Opts {
    /// The Wasm module (with DWARF, or with its debug file found by build_id)
    #[arg(value_name = "MODULE")]
    module: PathBuf,

    /// The core dump: a file, or an http:// or https:// URL to fetch it from
    #[arg(value_name = "COREDUMP")]
    coredump: PathBuf,

    /// Run CMD after loading (repeatable, in order); also spelled -ex
    #[arg(long = "ex", value_name = "CMD")]
    ex: Vec<String>,

    /// Exit after the -ex commands (also spelled -batch)
    #[arg(long)]
    batch: bool,

    /// Print each command's output as one line of JSON (bt, frame, info locals/args and print
    /// give structured fields)
    #[arg(long)]
    json: bool,

    /// Look for debug-<build_id>.wasm in DIR too (repeatable)
    #[arg(long, value_name = "DIR")]
    debug_dir: Vec<PathBuf>,

    /// When the debug file of a stripped MODULE is not on this machine, fetch it from the
    /// coredump-service at URL (GET URL/debuginfo/<build_id>) into the cache directory
    #[arg(long, value_name = "URL", value_parser = parse_base_url)]
    debug_url: Option<String>,

    /// Keep the debug files fetched with --debug-url in DIR, and look for them there [default:
    /// $XDG_CACHE_HOME/wasmgdb/debuginfo, else ~/.cache/wasmgdb/debuginfo]
    #[arg(
        long,
        value_name = "DIR",
        env = "WASMGDB_CACHE_DIR",
        hide_env_values = true
    )]
    cache_dir: Option<PathBuf>,

    #[command(flatten)]
    token: TokenArg,

    /// Look for source files in DIR (repeatable; gdb's `directory`)
    #[arg(long, short = 'd', value_name = "DIR")]
    source_dir: Vec<PathBuf>,

    /// Do not print notes about the dump
    #[arg(long, short)]
    quiet: bool,
}

/// gdb's single-dash long options (`-ex`, `-batch`) as clap's double-dash ones.
fn gdb_args() -> Vec<std::ffi::OsString> {
    std::env::args_os()
        .map(|a| match a.to_str() {
            Some("-ex") => "--ex".into(),
            Some("-batch") => "--batch".into(),
            Some("-q" | "-quiet" | "-silent") => "--quiet".into(),
            _ => a,
        })
        .collect()
}

fn main() -> ExitCode {
    let opts = Opts::parse_from(gdb_args());
    match run(&opts) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(err.as_ref()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, as every tool prints them (`what: why: ...`).
fn one_line(err: &anyhow::Error) -> String {
    error_line(err.as_ref())
}

fn run(opts: &Opts) -> Result<ExitCode> {
    let dump_url = remote::as_url(opts.coredump.as_os_str());
    let client =
        (dump_url.is_some() || opts.debug_url.is_some()).then(|| remote::client(opts.token.get()));
    if client.is_some() && !opts.module.exists() {
        // Said before anything is fetched.
        return Err(wasmgdb::Error::Missing(opts.module.clone()).into());
    }
    let bytes = match (dump_url, &client) {
        (Some(url), Some(client)) => remote::fetch_coredump(client, url)?,
        _ => read_input_file(&opts.coredump)
            .with_context(|| format!("cannot read {}", opts.coredump.display()))?,
    };
    let mut debug_dirs = opts.debug_dir.clone();
    let mut fetch_note = None;
    if let (Some(base), Some(client)) = (&opts.debug_url, &client) {
        // The cache is one more debug directory: a file fetched before is found there.
        let cache = remote::cache_dir(opts.cache_dir.as_deref())?;
        debug_dirs.push(cache.clone());
        fetch_note =
            remote::fetch_missing_debug_file(client, base, &opts.module, &debug_dirs, &cache)?;
    }
    let options = LoadOptions {
        debug_dirs,
        source_dirs: opts.source_dir.clone(),
    };
    // The module's errors name it (a file that cannot be read is named by the cause alone);
    // the dump's are told which file they are about.
    let mut session = Session::load(&opts.module, &bytes, &options).map_err(|e| match e {
        wasmgdb::Error::Module {
            source: io @ debuginfo::Error::Io { .. },
            ..
        } => io.into(),
        wasmgdb::Error::Dump(_) | wasmgdb::Error::NoThreads => anyhow::Error::new(e).context(
            format!("cannot read the core dump {}", opts.coredump.display()),
        ),
        e => e.into(),
    })?;
    if !opts.quiet {
        for note in fetch_note.iter().chain(session.notes()) {
            eprintln!("{note}");
        }
    }
    if !opts.json {
        // What gdb prints first for a core; a failed write (a closed pipe) ends the run quietly.
        writeln!(io::stdout(), "{}", session.termination())?;
    }
    let mut output = Output {
        out: io::stdout().lock(),
        err: io::stderr(),
        json: opts.json,
    };
    let mut last = output.run_all(&mut session, opts.ex.iter().map(String::as_str))?;
    if !opts.batch && last != Step::Quit {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            drop(output);
            wasmgdb::driver::repl(&mut session, opts.json)?;
            return Ok(ExitCode::SUCCESS);
        }
        last = output.run_script(&mut session, stdin.lock())?;
    }
    Ok(match last {
        Step::Failed => ExitCode::FAILURE,
        Step::Ok | Step::Quit => ExitCode::SUCCESS,
    })
}

#[cfg(test)]
mod tests {
    use super::one_line;

    /// Load errors ran to several lines: each cause on its own, a cause repeated by the one
    /// after it, wasmparser's byte arrays a byte a line.
    #[test]
    fn an_error_is_one_line_without_repeated_causes() {
        let bad_magic = "magic header not detected: bad magic number - expected=[\n    0x0,\n    \
                         0x61,\n] actual=[\n    0x68,\n]";
        let err = anyhow::anyhow!("unexpected end-of-file (at offset 0x0)")
            .context("invalid Wasm module: unexpected end-of-file (at offset 0x0)")
            .context(bad_magic)
            .context("cannot load app.wasm");
        assert_eq!(
            one_line(&err),
            "cannot load app.wasm: magic header not detected: bad magic number - expected=[ 0x0, \
             0x61, ] actual=[ 0x68, ]: invalid Wasm module: unexpected end-of-file (at offset 0x0)"
        );
        let err = anyhow::anyhow!("a\u{1b}[2Jb").context("cannot read x");
        assert_eq!(one_line(&err), "cannot read x: a\\u{1b}[2Jb");
    }
}
