//! `debuginfo-split`: the command line over the `debuginfo_split` library.

mod upload;

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use coredump_service_client::{TokenArg, parse_base_url};
use debuginfo_split::{
    BuildId, BuildIdEncoding, BuildIdSource, Error, NewBuildId, Output, Split, SplitOptions,
};
use wasm_layout::{OutputFile, error_line, is_broken_pipe, read_input_file};

const AFTER_HELP: &str = "\
Examples:
  debuginfo-split build/worker/index.wasm
      strip index.wasm in place, write ./debug-<ID>.wasm
  debuginfo-split app.wasm -o dist/app.wasm --out-dir symbols/ --deterministic
  debuginfo-split app.wasm --external-url 'https://symbols.example.com/debug-{uuid}.wasm'
  debuginfo-split app.wasm --json
  COREDUMP_SERVICE_TOKEN=... debuginfo-split app.wasm --upload https://crashes.example.com
      split in place, then PUT the debug file to https://crashes.example.com/debuginfo/<ID>

Output: `build_id: ID`, `module: PATH (N bytes)`, `debug_file: PATH (N bytes)`, one per line,
and with --upload `uploaded debug-<ID>.wasm to URL (201 Created)` (200 OK: the service had the
same file); with --json one object: {\"status\": \"split\", \"build_id\", \"build_id_source\",
\"module\", \"module_bytes\", \"debug_file\", \"debug_file_bytes\", \"removed_sections\"} (with
--upload also \"upload\": {\"url\", \"status\"}, plus \"error\" if it failed).

A module without DWARF still gets its build_id: the module is written (-o PATH, or MODULE in
place unless it has one already) with no debug file and no --external-url section, nothing is
uploaded, stderr says `note: MODULE has no DWARF to move: ...`, and the output has no
`debug_file` line (--json: \"status\": \"no_dwarf\", \"debug_file\" and \"debug_file_bytes\"
null).

Exit status:
  0  split written (and uploaded), or a module without DWARF written with its build_id
  1  error: unreadable or malformed input, failed write, or no DWARF with --require-dwarf;
     the input is left untouched. Or the upload failed (`error: cannot upload ...` with the
     service's status and error); the files written stay
  2  invalid arguments";

/// Split the DWARF out of a WebAssembly module into `debug-<ID>.wasm`.
///
/// Strips the `.debug_*` custom sections from MODULE (in place unless -o is given) and writes the
/// debug file: the whole original module, DWARF included. Both get the same `build_id` custom
/// section: the module's own if it has one (lld --build-id), else a new UUID. Every other section
/// is copied byte for byte and the Code section stays at the same file offset in both files, so
/// addresses in the shipped module resolve against the debug file. Writes are atomic.
#[derive(Parser, Debug)]
#[command(name = "debuginfo-split", version, after_help = AFTER_HELP)]
#[command(mut_arg("token", |a| a.help("Bearer token for --upload")))]
struct Opts {
    /// The module to split
    #[arg(value_name = "MODULE")]
    module: PathBuf,

    /// Write the stripped module to PATH instead of over MODULE
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,

    /// Write the debug file to PATH [default: ./debug-<ID>.wasm]
    #[arg(short = 'd', long, value_name = "PATH", conflicts_with = "out_dir")]
    debug_out: Option<PathBuf>,

    /// Write the debug file into DIR as debug-<ID>.wasm, creating DIR if needed
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,

    /// Build id for a module that has none: a UUID, or hex digits for an id of another length
    /// [default: a random v4 UUID]
    #[arg(long, value_name = "ID", conflicts_with = "deterministic")]
    build_id: Option<BuildId>,

    /// For a module that has no build id, derive one from its bytes (a v5 UUID): the same
    /// input always gives the same id and the same outputs
    #[arg(long)]
    deterministic: bool,

    /// Add an `external_debug_info` section pointing at URL to the stripped module; `{uuid}` in
    /// URL is replaced by the build id
    #[arg(long, value_name = "URL")]
    external_url: Option<String>,

    /// Also remove the `name` section (kept by default for readable engine stack traces)
    #[arg(long)]
    strip_names: bool,

    /// Fail (exit 1) and write nothing when MODULE has no DWARF
    #[arg(long)]
    require_dwarf: bool,

    /// Print the result as one JSON object
    #[arg(long)]
    json: bool,

    /// After writing the debug file, upload it to the coredump-service at URL (its base, e.g.
    /// http://127.0.0.1:8080): PUT URL/debuginfo/<ID>
    #[arg(long, value_name = "URL", value_parser = parse_base_url)]
    upload: Option<String>,

    #[command(flatten)]
    token: TokenArg,
}

fn main() -> ExitCode {
    wasm_layout::clean_up_outputs_on_signals();
    let opts = Opts::parse();
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(err.as_ref()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(io::stderr().lock(), "error: {}", error_line(&*err));
            ExitCode::FAILURE
        }
    }
}

fn run(opts: &Opts) -> Result<()> {
    let module = &opts.module;
    let input =
        read_input_file(module).with_context(|| format!("cannot read {}", module.display()))?;
    let mut split_opts = SplitOptions::default();
    split_opts.new_build_id = match (&opts.build_id, opts.deterministic) {
        (Some(id), _) => NewBuildId::Given(id.clone()),
        (None, true) => NewBuildId::Deterministic,
        (None, false) => NewBuildId::Random,
    };
    split_opts.strip_names = opts.strip_names;
    split_opts.external_url = opts.external_url.clone();
    split_opts.allow_no_dwarf = !opts.require_dwarf;

    let split = match debuginfo_split::split(&input, &split_opts) {
        Ok(split) => split,
        Err(Error::NoDwarf { .. }) => bail!("no DWARF in {}: nothing to split", module.display()),
        Err(err) => {
            return Err(anyhow::Error::new(err))
                .with_context(|| format!("cannot split {}", module.display()));
        }
    };
    let build_id = split.build_id();
    if split.build_id_encoding() == BuildIdEncoding::Raw {
        eprintln!(
            "note: {}'s build_id section has no length prefix (an older wasm-coredump wrote it): \
             read as the raw id {build_id}",
            module.display()
        );
    }
    if let Some(given) = &opts.build_id
        && split.build_id_source() == BuildIdSource::Existing
        && build_id != given
    {
        eprintln!(
            "warning: {} already has build_id {build_id}: kept, --build-id {given} ignored",
            module.display()
        );
    }

    let stripped_path = opts.output.as_deref().unwrap_or(module);
    let metadata =
        fs::metadata(module).with_context(|| format!("cannot read {}", module.display()))?;
    if !split.has_dwarf() {
        return ship_without_dwarf(opts, stripped_path, &split, metadata.permissions());
    }
    let debug_path = match (&opts.debug_out, &opts.out_dir) {
        (Some(path), _) => path.clone(),
        (None, Some(dir)) => {
            fs::create_dir_all(dir)
                .with_context(|| format!("cannot create directory {}", dir.display()))?;
            dir.join(build_id.debug_file_name())
        }
        (None, None) => Path::new(".").join(build_id.debug_file_name()),
    };
    for other in [stripped_path, module.as_path()] {
        if same_file(&debug_path, other) {
            bail!(
                "the debug file {} would overwrite {}",
                debug_path.display(),
                other.display()
            );
        }
    }

    let in_place = opts.output.is_none();
    if !(in_place && split_in_place_by_link(module, &debug_path, &split, input.len(), &metadata)?) {
        let debug = copy_debug_file(module, &debug_path, &split, input.len())?;
        let stripped = write_output(stripped_path, split.stripped(), metadata.permissions())?;
        // Both or neither: a failed run leaves no new file, and the module as it was.
        OutputFile::commit_all(vec![debug, stripped])?;
    }

    if opts.json {
        // One object: the upload's outcome is part of it.
        let uploaded = opts
            .upload
            .as_deref()
            .map(|base| upload::upload(base, build_id, &debug_path, opts.token.get()));
        let mut value = summary_json(&split, stripped_path, Some(&debug_path));
        match &uploaded {
            Some(Ok(done)) => {
                value["upload"] = serde_json::json!({"url": done.url, "status": done.status});
            }
            Some(Err(failed)) => {
                value["upload"] = serde_json::json!({
                    "url": failed.url,
                    "status": failed.status,
                    "error": failed.reason,
                });
            }
            None => {}
        }
        writeln!(io::stdout().lock(), "{value}")?;
        match uploaded {
            Some(Err(failed)) => upload_failed(&debug_path, failed),
            _ => Ok(()),
        }
    } else {
        let mut stdout = io::stdout().lock();
        write_summary(&mut stdout, &split, stripped_path, Some(&debug_path))?;
        // What was written is said before the upload, which may fail.
        stdout.flush()?;
        let Some(base) = opts.upload.as_deref() else {
            return Ok(());
        };
        match upload::upload(base, build_id, &debug_path, opts.token.get()) {
            Ok(done) => writeln!(
                stdout,
                "uploaded {} to {} ({})",
                file_name(&debug_path),
                done.url,
                done.status_line()
            )?,
            Err(failed) => return upload_failed(&debug_path, failed),
        }
        Ok(())
    }
}

/// The error of a failed upload, in one line; the files written stay.
fn upload_failed(debug_path: &Path, failed: upload::Failed) -> Result<()> {
    bail!(
        "cannot upload {} to {}: {}",
        file_name(debug_path),
        failed.url,
        failed.reason
    )
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A module without DWARF: writes the stripped module (the input with its build_id) to
/// `path`, as a split would, and no debug file. In place, a module that already has its
/// build_id (and loses no section) is left as it is. A build step that expects its output
/// finds it.
fn ship_without_dwarf(
    opts: &Opts,
    path: &Path,
    split: &Split<'_>,
    permissions: fs::Permissions,
) -> Result<()> {
    let build_id = split.build_id();
    let unchanged = split.removed().is_empty() && split.debug_suffix().is_empty();
    let module = opts.module.display();
    if opts.output.is_some() || !unchanged {
        write_output(path, split.stripped(), permissions)?.commit()?;
        eprintln!(
            "note: {module} has no DWARF to move: wrote {} with build_id {build_id}, no debug file",
            path.display()
        );
    } else {
        eprintln!(
            "note: {module} has no DWARF to move: left as it was, with build_id {build_id}, no \
             debug file"
        );
    }
    if opts.external_url.is_some() {
        eprintln!("warning: no debug file: no external_debug_info section added");
    }
    if opts.upload.is_some() {
        eprintln!("warning: no debug file was written: nothing uploaded");
    }
    let mut stdout = io::stdout().lock();
    if opts.json {
        writeln!(stdout, "{}", summary_json(split, path, None))?;
    } else {
        write_summary(&mut stdout, split, path, None)?;
    }
    Ok(())
}

/// What was written, as one JSON object: the module at `module`, and the debug file at
/// `debug_file` (`null` when there is none).
fn summary_json(split: &Split<'_>, module: &Path, debug_file: Option<&Path>) -> serde_json::Value {
    let removed: Vec<&str> = split.removed().iter().map(|s| s.name.as_str()).collect();
    serde_json::json!({
        "status": if debug_file.is_some() { "split" } else { "no_dwarf" },
        "build_id": split.build_id().to_string(),
        "build_id_source": split.build_id_source().as_str(),
        "module": module.to_string_lossy(),
        "module_bytes": split.stripped().len(),
        "debug_file": debug_file.map(Path::to_string_lossy),
        "debug_file_bytes": debug_file.map(|_| split.debug().len()),
        "removed_sections": removed,
    })
}

/// What was written, one line each: `build_id: ID`, `module: PATH (N bytes)` and, when there is
/// one, `debug_file: PATH (N bytes)`.
fn write_summary(
    out: &mut impl Write,
    split: &Split<'_>,
    module: &Path,
    debug_file: Option<&Path>,
) -> io::Result<()> {
    writeln!(out, "build_id: {}", split.build_id())?;
    writeln!(
        out,
        "module: {} ({} bytes)",
        module.display(),
        split.stripped().len()
    )?;
    if let Some(debug_file) = debug_file {
        writeln!(
            out,
            "debug_file: {} ({} bytes)",
            debug_file.display(),
            split.debug().len()
        )?;
    }
    Ok(())
}

/// Writes `output` for `path` with `permissions` ([`OutputFile`]: to a temporary file, unless
/// `path` is `/dev/null` or a pipe), to be committed.
fn write_output(
    path: &Path,
    output: &Output<'_>,
    permissions: fs::Permissions,
) -> Result<OutputFile> {
    let mut out = OutputFile::create(path)?;
    out.set_permissions(permissions)?;
    let mut w = BufWriter::with_capacity(1 << 16, out.file());
    output
        .write_to(&mut w)
        .and_then(|()| w.flush())
        .with_context(|| format!("cannot write {}", path.display()))?;
    drop(w);
    Ok(out)
}

/// Writes the debug file for `debug_path` as a copy of the module's file plus the build_id
/// section, to be committed. The kernel copies the file (`io::copy` between files uses
/// `copy_file_range` on Linux), which measured several times faster than writing the module's
/// bytes back from memory.
fn copy_debug_file(
    module: &Path,
    debug_path: &Path,
    split: &Split<'_>,
    input_len: usize,
) -> Result<OutputFile> {
    let context = || format!("cannot write {}", debug_path.display());
    let mut out = OutputFile::create(debug_path)?;
    let mut source =
        fs::File::open(module).with_context(|| format!("cannot read {}", module.display()))?;
    let copied = io::copy(&mut source, out.file()).with_context(context)?;
    if copied != input_len as u64 {
        bail!("{} changed while it was being split", module.display());
    }
    out.file()
        .write_all(split.debug_suffix())
        .with_context(context)?;
    Ok(out)
}

/// Splits in place without copying the module: the module's own file becomes the debug file
/// (which is the input plus `split.debug_suffix()`), and only the stripped module is written.
/// Returns `Ok(false)`, having changed nothing, where that cannot be done: not Unix, the module
/// has other hard links (cargo's uplifted artifacts do: they must not change), or the debug
/// file goes to another filesystem. The caller then writes both files.
///
/// Steps: link the module under a temporary name beside the debug file; write the stripped
/// module to a temporary file; append the build_id section to the linked file (so the module
/// itself is briefly the input plus its build_id: valid and unsplit, and cut back on failure);
/// rename the link to the debug file, then the stripped module over the module, both or neither
/// ([`OutputFile::commit_all`]). A kill at any point leaves a complete module and no partial file
/// under a final name; a rerun finishes.
#[cfg(unix)]
fn split_in_place_by_link(
    module: &Path,
    debug_path: &Path,
    split: &Split<'_>,
    input_len: usize,
    metadata: &fs::Metadata,
) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    if metadata.nlink() != 1 {
        return Ok(false);
    }
    let Ok(mut debug) = OutputFile::link(debug_path, module) else {
        return Ok(false);
    };
    let stripped = write_output(module, split.stripped(), metadata.permissions())?;

    let context = || format!("cannot write {}", debug_path.display());
    // The module's own file, to cut back on failure.
    let mut file = debug.file().try_clone().with_context(context)?;
    let len = input_len as u64;
    if file.metadata().with_context(context)?.len() != len {
        bail!("{} changed while it was being split", module.display());
    }
    let done = file
        .write_all(split.debug_suffix())
        .with_context(context)
        .and_then(|()| Ok(OutputFile::commit_all(vec![debug, stripped])?));
    if done.is_err() {
        // Put the module back as it was.
        let _ = file.set_len(len);
    }
    done.map(|()| true)
}

#[cfg(not(unix))]
fn split_in_place_by_link(
    _: &Path,
    _: &Path,
    _: &Split<'_>,
    _: usize,
    _: &fs::Metadata,
) -> Result<bool> {
    Ok(false)
}

/// The directory a file path is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Whether two paths name the same file, whether or not it exists yet.
fn same_file(a: &Path, b: &Path) -> bool {
    fn normalize(path: &Path) -> Option<PathBuf> {
        if let Ok(path) = fs::canonicalize(path) {
            return Some(path);
        }
        Some(
            fs::canonicalize(parent_dir(path))
                .ok()?
                .join(path.file_name()?),
        )
    }
    match (normalize(a), normalize(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}
