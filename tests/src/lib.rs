//! Test harness: the crash fixtures (Rust programs under `tests/fixtures`, compiled to Wasm by this
//! package's build script) and a runner for `host/run-wasi.mjs`, the Node host that runs a module,
//! catches its trap and saves its linear memory. [`http_stub`] stands in for coredump-service in
//! its clients' tests.
//!
//! ```no_run
//! use wasm_coredump_tests::{Fixture, Profile, fixture, run_node};
//!
//! let run = run_node(&fixture(Fixture::UnwrapNone, Profile::Debug), &[], None);
//! assert_eq!(run.trap.as_deref(), Some("unreachable"));
//! let marker = run.marker().unwrap();
//! assert!(marker.is_at(run.core.as_deref().unwrap()));
//! ```

#![deny(missing_docs)]

pub mod hostile;
pub mod http_stub;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The exit status of `host/run-wasi.mjs` when the module trapped.
pub const TRAP_STATUS: i32 = 134;

/// The exit status of `host/run-wasi.mjs` on a usage or IO error (bad arguments, unreadable or
/// invalid module, missing export, a call to an import the runner does not provide).
pub const USAGE_STATUS: i32 = 2;

/// The size of a Wasm page: linear memory is always a whole number of them.
pub const WASM_PAGE_SIZE: usize = 65536;

/// The directory the build script built the fixtures into (`<target dir>/fixtures`).
pub fn fixtures_target_dir() -> PathBuf {
    PathBuf::from(env!("WASM_COREDUMP_FIXTURES_DIR"))
}

/// A `kB` field of this process's `/proc/self/status` (e.g. `"VmHWM:"`, the
/// peak resident set size), for benchmarks; 0 where the OS does not tell.
pub fn proc_status_kib(field: &str) -> u64 {
    status_kib("/proc/self/status", field)
}

/// The same field of process `pid` (a server a benchmark started).
pub fn process_status_kib(pid: u32, field: &str) -> u64 {
    status_kib(&format!("/proc/{pid}/status"), field)
}

fn status_kib(path: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(path).unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Runs `command` with stdout and stderr captured (stdin as the caller set it), for at most
/// `timeout`: a run that outlasts it is killed and fails the test, so that a tool that blocks
/// (opening a FIFO that has no writer) or never ends (reading `/dev/zero`) fails its test
/// instead of hanging the suite.
pub fn output_within(command: &mut Command, timeout: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} still ran after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// A command that runs `program` with at most `bytes` of address space (`prlimit`, Linux): a
/// run that reads without end (`/dev/zero`) then fails to allocate, and so fails its test,
/// instead of taking the machine's memory until its timeout.
pub fn memory_limited(program: impl AsRef<std::ffi::OsStr>, bytes: u64) -> Command {
    let mut command = Command::new("prlimit");
    command.arg(format!("--as={bytes}")).arg(program);
    command
}

/// The root of the wasm-coredump workspace.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

/// `host/run-wasi.mjs`, the Node host runner.
pub fn host_runner() -> PathBuf {
    workspace_root().join("host").join("run-wasi.mjs")
}

/// Builds the C program `source` (e.g. `tests/c/assert.c`) into the WASI module `output` with
/// Debian's clang and wasi-libc, compiling with `flags` (`.ci/run` installs `clang`, `lld`,
/// `wasi-libc` and `libclang-rt-14-dev-wasm32`). Compiling and linking are two steps: a link with
/// `-O` makes clang run Binaryen's `wasm-opt` on the module where it is installed, and that
/// rewrites the DWARF.
pub fn build_c(source: &Path, output: &Path, flags: &[&str]) {
    let clang = || {
        let mut command = Command::new("clang");
        command.args(["--target=wasm32-wasi", "--sysroot=/usr"]);
        command
    };
    let run = |command: &mut Command| {
        let run = command
            .output()
            .expect("clang runs (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)");
        assert!(
            run.status.success(),
            "clang: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    };
    let object = output.with_extension("o");
    run(clang()
        .args(flags)
        .arg("-c")
        .arg("-o")
        .arg(&object)
        .arg(source));
    run(clang().arg("-o").arg(output).arg(&object));
}

/// A crash fixture: a small Rust program under `tests/fixtures` that crashes in a known way.
///
/// The doc of each variant says what its program does; the program's own source is the
/// reference for file names, lines and values (see [`Fixture::source_file`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fixture {
    /// `mything`: `main` (line 7) calls `process_thing`, which (line 11) calls `calculate`, which
    /// computes `3 - 10` on a `usize` (line 16): "attempt to subtract with overflow", in both
    /// profiles (release has overflow checks on for this package). No marker.
    MyThing,
    /// `unwrap-none`: `lookup_user(42)` unwraps a `None`. Argument `some`: finds "alice",
    /// prints `found: alice` and exits 0.
    UnwrapNone,
    /// `index-oob`: `pick(&[10, 20, 30], 7)`: "index out of bounds: the len is 3 but the index
    /// is 7".
    IndexOob,
    /// `div-zero`: `divide(100, 0)`: "attempt to divide by zero" (a panic). Argument `wrapping`:
    /// the Wasm `i32.div_u` itself traps ("divide by zero" in V8), no panic message.
    DivZero,
    /// `abort`: `std::process::abort()` (no message). Argument `unreachable`: `unreachable!()`.
    /// Argument `exit`: `std::process::exit(7)`.
    Abort,
    /// `deep-recursion`: 150 frames of `descend` with locals of many types, panicking at the
    /// bottom: "deep-recursion: reached the bottom after 150 frames".
    DeepRecursion,
    /// `cdylib-panic`: a wasm32-unknown-unknown library with no imports; its export
    /// `process(n)` returns `[5, 6, 7, 8][n] * 2` and panics (silently) for `n >= 4`. The exports
    /// `marker()` and `marker_len()` give the marker's address and length.
    CdylibPanic,
    /// `out-of-memory`: memory capped at 4 MiB (its `build.rs`); `nest(level)` recurses from 5
    /// down to 1 (each frame also holds `weight: u64 = level * 1_000_003`), then
    /// `exhaust(seed = 1_000_003)` allocates until memory is full and asks for 65536 more bytes:
    /// "memory allocation of 65536 bytes failed", then an abort (`unreachable`). Memory cannot
    /// grow at the trap, so a rewritten module writes its dump into the dead stack.
    OutOfMemory,
    /// `serde-regex`: a panic through serde_json's error (unwrap of an `Err`) after a regex
    /// extraction. Argument `index`: a panic inside serde_json's own code (`IndexMut` with a
    /// `usize` on an object).
    SerdeRegex,
    /// `panics`: panics of every shape a message can have, picked by its first argument:
    /// `expect` (`Option::expect`), `literal` (`panic!` of a literal), `assert-eq` (two
    /// `i64`s), `float` (an `f64` shown with `{}`, an `f32` with `{:?}`), `char-bool`, `string`
    /// (a `String` shown with `{}` and `{:?}`), and by default `panic!("{} {}")` of an `i64` and
    /// a `&str`.
    Panics,
    /// `lld-build-id` linked with lld's `--build-id` (a 16-byte id): `checksum(&[])` divides by
    /// the slice's length, "attempt to divide by zero". No marker.
    LldBuildId,
    /// The same program linked with lld's `--build-id=sha1` (a 20-byte id).
    LldBuildIdSha1,
    /// `typezoo`: `main` calls `generic_sum::<f32, _>(0.5, 0.25, then)`, whose closure moves
    /// strings, collections, `Rc<RefCell<u32>>`, boxes and trait objects into `explode`, which
    /// also holds integers of every width (`i128::MIN`, `u128::MAX`), floats, `bool`, `char`, an
    /// array, a tuple, a struct and enums, and calls `containers` with more std types (`BTreeMap`,
    /// `HashSet`, `Arc`, `Cell`, `NonZero`, `PathBuf`, `Cow`, ...), which panics: "typezoo done".
    /// Every value is a constant, so its native build holds the same ones (wasmgdb's
    /// differential test against gdb). No marker.
    TypeZoo,
}

impl Fixture {
    /// Every fixture.
    pub const ALL: [Fixture; 13] = [
        Fixture::MyThing,
        Fixture::UnwrapNone,
        Fixture::IndexOob,
        Fixture::DivZero,
        Fixture::Abort,
        Fixture::DeepRecursion,
        Fixture::CdylibPanic,
        Fixture::OutOfMemory,
        Fixture::SerdeRegex,
        Fixture::Panics,
        Fixture::LldBuildId,
        Fixture::LldBuildIdSha1,
        Fixture::TypeZoo,
    ];

    /// The fixture's cargo package name (also its directory under `tests/fixtures`).
    pub fn package(self) -> &'static str {
        match self {
            Fixture::MyThing => "mything",
            Fixture::UnwrapNone => "unwrap-none",
            Fixture::IndexOob => "index-oob",
            Fixture::DivZero => "div-zero",
            Fixture::Abort => "abort",
            Fixture::DeepRecursion => "deep-recursion",
            Fixture::CdylibPanic => "cdylib-panic",
            Fixture::OutOfMemory => "out-of-memory",
            Fixture::SerdeRegex => "serde-regex",
            Fixture::Panics => "panics",
            Fixture::LldBuildId | Fixture::LldBuildIdSha1 => "lld-build-id",
            Fixture::TypeZoo => "typezoo",
        }
    }

    /// The Rust target the fixture is built for.
    pub fn target(self) -> &'static str {
        match self {
            Fixture::CdylibPanic => "wasm32-unknown-unknown",
            _ => "wasm32-wasip1",
        }
    }

    /// Whether the fixture is a WASI command (a `_start` that runs under `node:wasi`); the other
    /// fixtures are libraries whose exports are called with `--invoke`.
    pub fn is_wasi_command(self) -> bool {
        self.target() == "wasm32-wasip1"
    }

    /// The file name of the built module: binaries keep the package name (or their own, for a
    /// package of several), a cdylib's name uses underscores.
    pub fn wasm_file_name(self) -> String {
        match self {
            Fixture::CdylibPanic => format!("{}.wasm", self.package().replace('-', "_")),
            Fixture::LldBuildId => "build-id-uuid.wasm".into(),
            Fixture::LldBuildIdSha1 => "build-id-sha1.wasm".into(),
            _ => format!("{}.wasm", self.package()),
        }
    }

    /// The marker string the fixture keeps in a `static` (and, for WASI commands, prints first
    /// thing as `marker 0x<address> <string>`). `None` for [`Fixture::MyThing`] and
    /// [`Fixture::TypeZoo`], which have none.
    pub fn marker(self) -> Option<&'static str> {
        match self {
            Fixture::MyThing | Fixture::LldBuildId | Fixture::LldBuildIdSha1 | Fixture::TypeZoo => {
                None
            }
            Fixture::UnwrapNone => Some("wasm-coredump marker: unwrap-none"),
            Fixture::IndexOob => Some("wasm-coredump marker: index-oob"),
            Fixture::DivZero => Some("wasm-coredump marker: div-zero"),
            Fixture::Abort => Some("wasm-coredump marker: abort"),
            Fixture::DeepRecursion => Some("wasm-coredump marker: deep-recursion"),
            Fixture::CdylibPanic => Some("wasm-coredump marker: cdylib-panic"),
            Fixture::OutOfMemory => Some("wasm-coredump marker: out-of-memory"),
            Fixture::SerdeRegex => Some("wasm-coredump marker: serde-regex"),
            Fixture::Panics => Some("wasm-coredump marker: panics"),
        }
    }

    /// The fixture's crate directory, `tests/fixtures/<package>`.
    pub fn source_dir(self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(self.package())
    }

    /// The fixture's source file name under `src`: `main.rs`, or `lib.rs` for the cdylib and
    /// for the package whose binaries only call its library.
    fn source_file_name(self) -> &'static str {
        match self {
            Fixture::CdylibPanic | Fixture::LldBuildId | Fixture::LldBuildIdSha1 => "lib.rs",
            _ => "main.rs",
        }
    }

    /// The fixture's one source file (`src/main.rs` or `src/lib.rs`).
    pub fn source_file(self) -> PathBuf {
        self.source_dir().join("src").join(self.source_file_name())
    }

    /// The source file's path as rustc records it in panic messages and DWARF: relative to the
    /// fixtures workspace root, e.g. `mything/src/main.rs`.
    pub fn source_path_in_build(self) -> String {
        format!("{}/src/{}", self.package(), self.source_file_name())
    }

    /// A `file:line:column` location in the fixture's source, as rustc reports it: the file as in
    /// [`Fixture::source_path_in_build`], the line that contains `line_snippet` (which must occur
    /// on exactly one line that is not a comment), and the 1-based column where `token` starts on
    /// that line.
    ///
    /// This reads the source file, so expected locations follow the fixture's code.
    pub fn source_location(self, line_snippet: &str, token: &str) -> String {
        let source = std::fs::read_to_string(self.source_file())
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", self.source_file().display()));
        let mut matches = source.lines().enumerate().filter(|(_, line)| {
            !line.trim_start().starts_with("//") && line.contains(line_snippet)
        });
        let (index, line) = matches
            .next()
            .unwrap_or_else(|| panic!("{self}: no line contains {line_snippet:?}"));
        assert!(
            matches.next().is_none(),
            "{self}: more than one line contains {line_snippet:?}"
        );
        let column = line
            .find(token)
            .unwrap_or_else(|| panic!("{self}: {token:?} is not on the line {line:?}"));
        format!(
            "{}:{}:{}",
            self.source_path_in_build(),
            index + 1,
            line[..column].chars().count() + 1
        )
    }
}

impl fmt::Display for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.package())
    }
}

/// The cargo profile a fixture was built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// `dev`: unoptimized, full DWARF, overflow checks.
    Debug,
    /// `release`: optimized, with `debug = true` (full DWARF).
    Release,
}

impl Profile {
    /// Both profiles.
    pub const ALL: [Profile; 2] = [Profile::Debug, Profile::Release];

    /// The profile's directory name in cargo's target directory.
    pub fn dir_name(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dir_name())
    }
}

/// The path of a built fixture module.
///
/// Panics with a hint if the file is missing (the build script builds every fixture, so this
/// only happens when the fixtures' target directory was deleted after the build).
pub fn fixture(fixture: Fixture, profile: Profile) -> PathBuf {
    let path = fixtures_target_dir()
        .join(fixture.target())
        .join(profile.dir_name())
        .join(fixture.wasm_file_name());
    assert!(
        path.is_file(),
        "fixture {} ({profile}) is missing at {}; the test build builds it: \
         `touch tests/fixtures/Cargo.toml` and rebuild",
        fixture,
        path.display()
    );
    path
}

/// The benchmark kernels (`tests/fixtures/kernels`, not a crash fixture): a wasm32-unknown-unknown
/// module without imports exporting `fib(n: u32) -> u64`, `sieve(n: u32) -> u32` and
/// `sha256(kib: u32) -> u32`, with overflow checks on in both profiles.
pub fn kernels(profile: Profile) -> PathBuf {
    benchmark_module("wasm32-unknown-unknown", "kernels", profile)
}

/// The real-world benchmark module (`tests/fixtures/realworld`, not a crash fixture): a
/// wasm32-wasip1 reactor exporting workloads of SQLite, zstd, serde_json, regex and png.
pub fn realworld(profile: Profile) -> PathBuf {
    benchmark_module("wasm32-wasip1", "realworld", profile)
}

/// The built benchmark module `name` of `target`.
fn benchmark_module(target: &str, name: &str, profile: Profile) -> PathBuf {
    let path = fixtures_target_dir()
        .join(target)
        .join(profile.dir_name())
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{name} ({profile}) missing at {}",
        path.display()
    );
    path
}

/// A `marker 0x<hex address> <string>` line printed by a fixture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// The address of the string in linear memory.
    pub address: u32,
    /// The marker string.
    pub text: String,
}

impl Marker {
    /// Whether `memory` (raw linear memory) holds the marker string at the marker's address.
    pub fn is_at(&self, memory: &[u8]) -> bool {
        let start = self.address as usize;
        memory.get(start..start + self.text.len()) == Some(self.text.as_bytes())
    }
}

/// Finds the first `marker 0x<hex address> <string>` line in a fixture's stdout.
pub fn parse_marker(stdout: &str) -> Option<Marker> {
    stdout.lines().find_map(|line| {
        let rest = line.strip_prefix("marker 0x")?;
        let (hex, text) = rest.split_once(' ')?;
        let address = u32::from_str_radix(hex, 16).ok()?;
        Some(Marker {
            address,
            text: text.to_string(),
        })
    })
}

/// What one run of `host/run-wasi.mjs` did.
#[derive(Clone, PartialEq, Eq)]
pub struct NodeRun {
    /// The command line that was run, for messages.
    pub command: String,
    /// The exit status (`None` if Node was killed by a signal).
    pub status: Option<i32>,
    /// Everything the module and the runner printed on stdout.
    pub stdout: String,
    /// Everything the module and the runner printed on stderr.
    pub stderr: String,
    /// The trap message (from the runner's `trap: <message>` line), if the module trapped.
    pub trap: Option<String>,
    /// The saved linear memory, if the runner wrote a core file.
    pub core: Option<Vec<u8>>,
}

impl NodeRun {
    /// Whether the module trapped.
    pub fn trapped(&self) -> bool {
        self.trap.is_some()
    }

    /// The fixture's `marker 0x... <string>` line, parsed.
    pub fn marker(&self) -> Option<Marker> {
        parse_marker(&self.stdout)
    }

    /// The value an `--invoke` call returned (the runner's `result: <value>` line).
    pub fn result(&self) -> Option<i64> {
        self.stdout
            .lines()
            .find_map(|line| line.strip_prefix("result: ")?.trim().parse().ok())
    }

    /// The whole message Rust's panic handler printed: the lines after `panicked at
    /// <location>:` up to its `note: run with ...` or `stack backtrace:` line.
    pub fn panic_text(&self) -> Option<String> {
        let mut lines = self.stderr.lines();
        lines.find(|line| line.contains("panicked at "))?;
        let text: Vec<&str> = lines
            .take_while(|l| !l.starts_with("note: ") && *l != "stack backtrace:")
            .collect();
        Some(text.join("\n"))
    }

    /// The message Rust's panic handler printed (the line after `panicked at <location>:`).
    pub fn panic_message(&self) -> Option<&str> {
        let mut lines = self.stderr.lines();
        lines.find(|line| line.contains("panicked at "))?;
        lines.next()
    }

    /// Where Rust's panic handler said the panic happened (`<file>:<line>:<column>`).
    pub fn panic_location(&self) -> Option<&str> {
        let line = self.stderr.lines().find(|l| l.contains("panicked at "))?;
        let (_, location) = line.split_once("panicked at ")?;
        Some(location.strip_suffix(':').unwrap_or(location))
    }
}

impl fmt::Debug for NodeRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeRun")
            .field("command", &self.command)
            .field("status", &self.status)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("trap", &self.trap)
            .field(
                "core",
                &self.core.as_ref().map(|c| format!("{} bytes", c.len())),
            )
            .finish()
    }
}

/// Runs a module under `host/run-wasi.mjs`, asking for a core file.
///
/// With `invoke: None` the module runs as a WASI command with `args` as its program arguments.
/// With `invoke: Some(export)` that export is called, and `args` are its integer arguments
/// (`--arg` values).
pub fn run_node(module: &Path, args: &[&str], invoke: Option<&str>) -> NodeRun {
    let mut run = NodeCommand::new(module);
    match invoke {
        Some(export) => run.invoke(export).invoke_args(args),
        None => run.args(args),
    };
    run.run()
}

/// A builder for one run of `host/run-wasi.mjs`.
#[derive(Clone, Debug)]
pub struct NodeCommand {
    module: PathBuf,
    args: Vec<String>,
    invoke: Option<String>,
    invoke_args: Vec<String>,
    core: bool,
    runner_args: Vec<String>,
}

impl NodeCommand {
    /// A run of `module` with no arguments that writes a core file on a trap.
    pub fn new(module: &Path) -> Self {
        NodeCommand {
            module: module.to_path_buf(),
            args: Vec::new(),
            invoke: None,
            invoke_args: Vec::new(),
            core: true,
            runner_args: Vec::new(),
        }
    }

    /// Program arguments (after the module path).
    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Calls this export (`--invoke`) instead of running a WASI command.
    pub fn invoke(&mut self, export: &str) -> &mut Self {
        self.invoke = Some(export.to_string());
        self
    }

    /// Integer arguments for the invoked export (`--arg`).
    pub fn invoke_args(&mut self, args: &[&str]) -> &mut Self {
        self.invoke_args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Whether to pass `--core <temporary file>` (on by default).
    pub fn core(&mut self, core: bool) -> &mut Self {
        self.core = core;
        self
    }

    /// Raw arguments for the runner, placed before everything else (to test its argument
    /// handling).
    pub fn runner_args(&mut self, args: &[&str]) -> &mut Self {
        self.runner_args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Runs Node (`$NODE`, or `node` on the PATH) and collects what happened.
    ///
    /// Panics if Node cannot be started.
    pub fn run(&self) -> NodeRun {
        let node = std::env::var_os("NODE").unwrap_or_else(|| "node".into());
        let core_path = self.core.then(temp_core_path);
        let mut cmd = Command::new(&node);
        cmd.arg(host_runner()).args(&self.runner_args);
        if let Some(core_path) = &core_path {
            cmd.arg("--core").arg(core_path);
        }
        if let Some(export) = &self.invoke {
            cmd.arg("--invoke").arg(export);
            for arg in &self.invoke_args {
                cmd.arg("--arg").arg(arg);
            }
        }
        cmd.arg(&self.module).args(&self.args);
        let command = format!("{cmd:?}");
        let output = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {command} (is Node installed?): {e}"));
        let core = core_path.and_then(|path| {
            let bytes = std::fs::read(&path).ok();
            let _ = std::fs::remove_file(&path);
            bytes
        });
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let trap = stderr
            .lines()
            .find_map(|line| line.strip_prefix("trap: "))
            .map(str::to_string);
        NodeRun {
            command,
            status: output.status.code(),
            stdout,
            stderr,
            trap,
            core,
        }
    }
}

/// A fresh path in the temporary directory for a core file (matched by `*.coredump.tmp` in
/// `.gitignore` should it ever land in the tree).
fn temp_core_path() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "wasm-coredump-{}-{n}-{nanos}.coredump.tmp",
        std::process::id()
    ))
}

/// The fixtures whose Wasmtime-made core dumps (debug builds) are committed under
/// `tests/wasmtime-dumps/dumps`, regenerated by the `wasmtime-dumps` package's test.
pub const WASMTIME_DUMPS: &[Fixture] = &[
    Fixture::MyThing,
    Fixture::UnwrapNone,
    Fixture::DivZero,
    Fixture::DeepRecursion,
];

/// The committed Wasmtime dump of `fixture` (its debug build):
/// `tests/wasmtime-dumps/dumps/<package>.coredump`, with the program's stdout beside it in
/// `<package>.stdout`.
pub fn wasmtime_dump(fixture: Fixture) -> PathBuf {
    workspace_root()
        .join("tests/wasmtime-dumps/dumps")
        .join(format!("{}.coredump", fixture.package()))
}

/// The function names of a module's `name` section, demangled and without Rust's hash suffix
/// (`mything::calculate`), by function index.
pub fn function_names(module: &[u8]) -> std::collections::HashMap<u32, String> {
    use wasmparser::{KnownCustom, Name, Parser, Payload};
    let mut names = std::collections::HashMap::new();
    for payload in Parser::new(0).parse_all(module) {
        let Ok(Payload::CustomSection(reader)) = payload else {
            continue;
        };
        let KnownCustom::Name(section) = reader.as_known() else {
            continue;
        };
        for name in section.into_iter().flatten() {
            if let Name::Function(map) = name {
                for naming in map.into_iter().flatten() {
                    let demangled = format!("{:#}", rustc_demangle::demangle(naming.name));
                    names.insert(naming.index, demangled);
                }
            }
        }
    }
    names
}

/// A crash of a module as a release often ships: the cdylib-panic release build without its
/// `name` section and DWARF (every other section byte for byte), rewritten, written to
/// `dir/app.wasm` and run until `process(1000)` indexes `[5, 6, 7, 8]` out of bounds.
#[derive(Debug)]
pub struct NamelessCrash {
    /// The module that ran.
    pub app: PathBuf,
    /// Its core dump.
    pub core: Vec<u8>,
    /// The function exports of the module as built (the rewritten one exports the rewriter's
    /// entry wrappers instead, which name what they wrap): (name, function index).
    pub exports: Vec<(String, u32)>,
}

impl NamelessCrash {
    /// Builds, rewrites and runs it in `dir`.
    pub fn run(dir: &Path) -> NamelessCrash {
        let built = std::fs::read(fixture(Fixture::CdylibPanic, Profile::Release)).unwrap();
        let exports = function_exports(&built);
        assert!(!exports.is_empty());
        let unnamed =
            without_custom_sections(&built, |name| name == "name" || name.starts_with(".debug_"));
        let rewritten = rewriter::rewrite(&unnamed, &rewriter::Options::default()).unwrap();
        let app = dir.join("app.wasm");
        std::fs::write(&app, rewritten.module).unwrap();
        let run = NodeCommand::new(&app)
            .invoke("process")
            .invoke_args(&["1000"])
            .run();
        let core = run
            .core
            .unwrap_or_else(|| panic!("no core dump: {}", run.stderr));
        NamelessCrash { app, core, exports }
    }

    /// The name a frame of function `func` shows without a name section: its export's, else
    /// `func[N]`.
    pub fn expected_name(&self, func: u32) -> String {
        (self.exports.iter())
            .find(|(_, f)| *f == func)
            .map_or_else(|| format!("func[{func}]"), |(name, _)| name.clone())
    }
}

/// `module` without the custom sections `drop` picks by name.
fn without_custom_sections(module: &[u8], drop: impl Fn(&str) -> bool) -> Vec<u8> {
    const HEADER: usize = 8;
    let mut out = module[..HEADER].to_vec();
    let mut reader = wasmparser::BinaryReader::new(&module[HEADER..], HEADER as u64);
    while !reader.eof() {
        let start = reader.original_position() as usize;
        let id = reader.read_u8().expect("a section id");
        let size = reader.read_var_u32().expect("a section size");
        let content = reader
            .read_bytes(size as usize)
            .expect("the section's content");
        let name = (id == 0).then(|| {
            wasmparser::BinaryReader::new(content, 0)
                .read_string()
                .expect("a custom section name")
        });
        if !name.is_some_and(&drop) {
            out.extend_from_slice(&module[start..reader.original_position() as usize]);
        }
    }
    out
}

/// The function exports of a module, in Export section order: (name, function index).
pub fn function_exports(module: &[u8]) -> Vec<(String, u32)> {
    use wasmparser::{ExternalKind, Parser, Payload};
    Parser::new(0)
        .parse_all(module)
        .find_map(|payload| match payload {
            Ok(Payload::ExportSection(reader)) => Some(
                reader
                    .into_iter()
                    .map(Result::unwrap)
                    .filter(|e| e.kind == ExternalKind::Func)
                    .map(|e| (e.name.to_string(), e.index))
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_marker_line() {
        let stdout = "marker 0x100054 wasm-coredump marker: unwrap-none\nfound: alice\n";
        assert_eq!(
            parse_marker(stdout),
            Some(Marker {
                address: 0x100054,
                text: "wasm-coredump marker: unwrap-none".to_string(),
            })
        );
        assert_eq!(parse_marker("result is 3\n"), None);
        assert_eq!(parse_marker("marker 0xzz text\n"), None);
    }

    #[test]
    fn finds_a_marker_in_memory() {
        let marker = Marker {
            address: 4,
            text: "abc".to_string(),
        };
        assert!(marker.is_at(b"....abc."));
        assert!(!marker.is_at(b"...abc.."));
        assert!(!marker.is_at(b"....ab"));
    }

    #[test]
    fn reads_panic_messages() {
        let run = NodeRun {
            command: String::new(),
            status: Some(TRAP_STATUS),
            stdout: String::new(),
            stderr: "\nthread 'main' (1) panicked at mything/src/main.rs:16:5:\n\
                     attempt to subtract with overflow\ntrap: unreachable\n"
                .to_string(),
            trap: Some("unreachable".to_string()),
            core: None,
        };
        assert_eq!(run.panic_location(), Some("mything/src/main.rs:16:5"));
        assert_eq!(
            run.panic_message(),
            Some("attempt to subtract with overflow")
        );
    }

    #[test]
    fn fixture_facts_are_consistent() {
        for f in Fixture::ALL {
            assert!(f.source_file().is_file(), "{}", f.source_file().display());
            if let Some(marker) = f.marker() {
                let source = std::fs::read_to_string(f.source_file()).unwrap();
                assert!(source.contains(marker), "{f}: marker not in its source");
            }
        }
        assert_eq!(
            Fixture::MyThing.source_location("value - 10", "value"),
            "mything/src/main.rs:16:5"
        );
        assert_eq!(Fixture::CdylibPanic.wasm_file_name(), "cdylib_panic.wasm");
        assert_eq!(Fixture::IndexOob.wasm_file_name(), "index-oob.wasm");
    }
}
