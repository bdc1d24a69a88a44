//! `wasm-coredump-rewriter`: the command-line front of the `rewriter` library.

use std::io::{BufWriter, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use wasm_layout::{OutputFile, error_line, read_input_file, read_stdin};

/// Inject core dump generation into a WebAssembly module.
///
/// When the rewritten module traps, it unwinds every Wasm frame back to the
/// exported entry point, records each frame's function, code offset, params
/// and locals, and all globals, and leaves a standard Wasm core dump at the
/// start of linear memory; then the original trap is raised. The host saves
/// `memory.buffer` (it starts with "\0asm") and that file is the core dump.
#[derive(Parser, Debug)]
#[command(
    name = "wasm-coredump-rewriter",
    version,
    after_help = "Examples:
  wasm-coredump-rewriter app.wasm -o app.coredump.wasm
  wasm-coredump-rewriter < app.wasm > app.coredump.wasm

The input is a regular file or stdin. -o PATH is written whole or not at all
(a temporary file renamed over it; a symlink is written through; a device
other than /dev/null, a socket or a directory is refused), and stdout gets
the module only once it is complete.

Exit status: 0 on success, 1 on any error (unreadable or malformed input,
unsupported feature, unwritable output), said in one line on stderr."
)]
struct Opts {
    /// The module to rewrite; stdin when absent or `-`.
    input: Option<PathBuf>,
    /// Where to write the rewritten module; stdout when absent or `-`.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// The module name recorded in dumps (default: the name section's, else
    /// the input file name).
    #[arg(long)]
    module_name: Option<String>,
    /// The instance index recorded in every frame.
    #[arg(long, default_value_t = 0)]
    instance_id: u32,
    /// Also turn out-of-bounds loads and stores into dumps (costly: a check
    /// before every plain load and store; see the README for figures).
    #[arg(long)]
    check_memory: bool,
    /// Turn a call depth above N into a dump, so that stack exhaustion (a
    /// RangeError in V8) leaves one; the host still sees the RangeError.
    #[arg(long, value_name = "N")]
    max_call_depth: Option<u32>,
    /// Also turn failing indirect calls (index out of bounds, null slot,
    /// wrong signature in tables whose contents never change) into dumps.
    #[arg(long)]
    check_indirect_calls: bool,
    /// How a trap unwinds: `checks` (a flag check after each call: any
    /// engine; the cheaper on real programs), `exceptions` (a `try` around
    /// each call; needs the exception-handling instructions V8, SpiderMonkey
    /// and JavaScriptCore run; the cheaper on call-bound code), or `auto`
    /// (exceptions unless the module uses exception handling itself).
    #[arg(long, value_enum, default_value_t = UnwindArg::Checks)]
    unwind: UnwindArg,
    /// Which locals each frame records: `named` (at each call and trap
    /// point, those the DWARF names there; params where there is no DWARF),
    /// `params`, or `all`. Each local recorded is kept alive up to the
    /// sites that record it, which costs run time (README has the figures).
    #[arg(long, value_enum, default_value_t = RecordLocalsArg::Named)]
    record_locals: RecordLocalsArg,
    /// With `--record-locals all`, record every local in every frame. By default a local the program
    /// never reads again is recorded as missing where keeping it would slow
    /// a loop: a value left over from an earlier iteration, or one a loop
    /// without calls left that no DWARF variable lives in.
    #[arg(long)]
    keep_stale_locals: bool,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

/// The values of `--unwind`.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum UnwindArg {
    Auto,
    Exceptions,
    Checks,
}

/// The values of `--record-locals`.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum RecordLocalsArg {
    Named,
    Params,
    All,
}

impl From<RecordLocalsArg> for rewriter::RecordLocals {
    fn from(arg: RecordLocalsArg) -> Self {
        match arg {
            RecordLocalsArg::Named => rewriter::RecordLocals::Named,
            RecordLocalsArg::Params => rewriter::RecordLocals::Params,
            RecordLocalsArg::All => rewriter::RecordLocals::All,
        }
    }
}

impl From<UnwindArg> for rewriter::Unwind {
    fn from(arg: UnwindArg) -> Self {
        match arg {
            UnwindArg::Auto => rewriter::Unwind::Auto,
            UnwindArg::Exceptions => rewriter::Unwind::Exceptions,
            UnwindArg::Checks => rewriter::Unwind::Checks,
        }
    }
}

fn main() -> ExitCode {
    wasm_layout::clean_up_outputs_on_signals();
    let opts = Opts::parse();
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", error_line(&*err));
            ExitCode::FAILURE
        }
    }
}

fn is_stdio(path: &Option<PathBuf>) -> bool {
    path.as_deref().is_none_or(|p| p.as_os_str() == "-")
}

fn run(opts: &Opts) -> Result<()> {
    let started = Instant::now();
    let (input, input_name) = if is_stdio(&opts.input) {
        let bytes = read_stdin().context("cannot read stdin")?;
        (bytes, "<stdin>".to_string())
    } else {
        let path = opts.input.as_ref().expect("checked above");
        let bytes =
            read_input_file(path).with_context(|| format!("cannot read {}", path.display()))?;
        (bytes, path.display().to_string())
    };
    let module_name = opts.module_name.clone().or_else(|| {
        opts.input
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
    });
    let options = rewriter::Options {
        module_name,
        instance_id: opts.instance_id,
        check_memory: opts.check_memory,
        max_call_depth: opts.max_call_depth,
        check_indirect_calls: opts.check_indirect_calls,
        unwind: opts.unwind.into(),
        keep_stale_locals: opts.keep_stale_locals,
        record_locals: opts.record_locals.into(),
    };
    // Refused before the rewrite: a terminal, or what `-o` may not name.
    let mut file = if is_stdio(&opts.output) {
        if std::io::stdout().is_terminal() {
            bail!(
                "refusing to write a binary module to a terminal; use -o PATH or redirect stdout"
            );
        }
        None
    } else {
        let path = opts.output.as_deref().expect("checked above");
        Some(OutputFile::create(path)?)
    };
    let out_name = file
        .as_ref()
        .map_or("stdout".into(), |f| f.path().display().to_string());
    let rewrite = |out: &mut dyn Write| {
        rewriter::rewrite_to(&input, &options, out).map_err(|err| match err {
            rewriter::Error::Write { message, .. } => {
                anyhow!("cannot write {out_name}: {message}")
            }
            err => anyhow::Error::new(err).context(format!("cannot rewrite {input_name}")),
        })
    };
    let out = match &mut file {
        // Streamed into the temporary file as it is made, never held whole.
        Some(file) if !file.is_direct() => {
            rewrite(&mut BufWriter::with_capacity(1 << 16, file.file()))?
        }
        // Held until complete, in an unnamed temporary file (in memory only if there is none):
        // stdout, a pipe or /dev/null sees nothing of a rewrite that fails once part of the
        // module is made (an error in the DWARF, after the code), and the module is never held
        // whole in memory.
        direct => {
            let (out, mut module): (_, Box<dyn Read>) = match tempfile::tempfile() {
                Ok(mut held) => {
                    let out = rewrite(&mut BufWriter::with_capacity(1 << 16, &mut held))?;
                    held.seek(SeekFrom::Start(0))
                        .context("cannot read back the rewritten module")?;
                    (out, Box::new(held))
                }
                Err(_) => {
                    let mut held = Vec::with_capacity(input.len() + input.len() / 4);
                    let out = rewrite(&mut held)?;
                    (out, Box::new(std::io::Cursor::new(held)))
                }
            };
            let written = match direct {
                Some(file) => std::io::copy(&mut module, &mut file.file()).map(drop),
                None => {
                    let mut stdout = std::io::stdout().lock();
                    std::io::copy(&mut module, &mut stdout).and_then(|_| stdout.flush())
                }
            };
            written.with_context(|| format!("cannot write {out_name}"))?;
            out
        }
    };
    if let Some(file) = file {
        file.commit()?;
    }
    if !opts.quiet {
        let n = out.stats.dwarf_ranges_tombstoned;
        if n > 0 {
            let (ranges, were) = if n == 1 {
                ("range", "was")
            } else {
                ("ranges", "were")
            };
            eprintln!(
                "warning: {input_name}: {n} DWARF address {ranges} could not be mapped to the rewritten code and {were} tombstoned"
            );
        }
        let s = &out.stats;
        eprintln!(
            "{input_name}: {} functions instrumented, {} call sites, {} trap points, {} entry points, unwinding with {}; \
             code {} -> {} bytes ({:.2}x), module {} -> {} bytes, {:.0} ms{}",
            s.functions_instrumented,
            s.call_sites,
            s.trap_points,
            s.entry_points,
            match s.unwind {
                rewriter::Unwind::Checks => "checks",
                _ => "exceptions",
            },
            s.code_size_before,
            s.code_size_after,
            s.code_size_after as f64 / s.code_size_before.max(1) as f64,
            s.input_size,
            s.output_size,
            started.elapsed().as_secs_f64() * 1000.0,
            peak_rss_mib().map_or(String::new(), |m| format!(", peak RSS {m:.1} MiB")),
        );
    }
    Ok(())
}

/// The process's peak resident set size, where the OS tells (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
