//! The standing hostile-input suite every CLI runs (issue #15): inputs an attacker or a careless
//! build step hands a tool, outputs it cannot or must not write, and the one way it may refuse
//! them: exit status 1, one `error:` line (and at most one more line, a hint), no partial or
//! stray file, the input unchanged.
//!
//! Each CLI's `tests/hostile.rs` feeds its own binary with these.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// How long one run may take: a tool that blocks on a FIFO or reads `/dev/zero` for ever fails.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// An input file: what it is, and its path.
#[derive(Debug, Clone)]
pub struct Input {
    /// What it is, for messages.
    pub what: String,
    /// Where it is (a regular file of `dir`, or a special file).
    pub path: PathBuf,
    /// Whether it is a valid Wasm module (wasmparser's validator with every feature says so):
    /// a tool may accept it.
    pub valid_module: bool,
}

/// Writes the hostile inputs into `dir` (which must be empty or missing) and returns them, with
/// the special files: empty, random bytes of several sizes, `valid` (a valid module) cut at
/// every section boundary and one byte into each section, sizes and counts of 2^32-1, a
/// directory, a missing path, a FIFO without writer and `/dev/zero`.
pub fn inputs(dir: &Path, valid: &[u8]) -> Vec<Input> {
    std::fs::create_dir_all(dir).unwrap();
    let mut inputs = Vec::new();
    let mut file = |what: String, bytes: &[u8]| {
        let path = dir.join(format!("input-{}.wasm", inputs.len()));
        std::fs::write(&path, bytes).unwrap();
        let valid_module = validates(bytes);
        inputs.push(Input {
            what,
            path,
            valid_module,
        });
    };
    file("an empty file".into(), &[]);
    for size in [1, 7, 8, 100, 4096, 1 << 20] {
        file(
            format!("{size} random bytes"),
            &random_bytes(size, size as u64),
        );
    }
    file(
        "random bytes after the Wasm header".into(),
        &[&valid[..8], &random_bytes(4096, 7)[..]].concat(),
    );
    for (start, end) in section_ranges(valid) {
        file(format!("the module cut at {start:#x}"), &valid[..start]);
        if end > start + 1 {
            file(
                format!(
                    "the module cut at {:#x}, one byte into a section",
                    start + 1
                ),
                &valid[..start + 1],
            );
        }
    }
    let header = &valid[..8];
    // A section claiming 2^32-1 bytes; a Type section of 2^32-1 types; a custom section whose
    // name claims 2^32-1 bytes.
    const MAX: [u8; 5] = [0xff, 0xff, 0xff, 0xff, 0x0f];
    file(
        "a section of 2^32-1 bytes".into(),
        &[header, &[1], &MAX, &[0x60, 0, 0]].concat(),
    );
    file("2^32-1 types".into(), &[header, &[1, 5], &MAX].concat());
    file(
        "a custom section name of 2^32-1 bytes".into(),
        &[header, &[0, 6], &MAX, b"x"].concat(),
    );
    inputs.push(Input {
        what: "a directory".into(),
        path: dir.to_path_buf(),
        valid_module: false,
    });
    inputs.push(Input {
        what: "a missing path".into(),
        path: dir.join("missing.wasm"),
        valid_module: false,
    });
    let fifo = dir.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo {}", fifo.display());
    inputs.push(Input {
        what: "a FIFO with no writer".into(),
        path: fifo,
        valid_module: false,
    });
    inputs.push(Input {
        what: "/dev/zero".into(),
        path: "/dev/zero".into(),
        valid_module: false,
    });
    inputs
}

/// Outputs a tool must refuse, made in `dir`: (what, path). A missing directory, a regular file
/// used as a directory, a character device that fails every write, a directory.
pub fn refused_outputs(dir: &Path) -> Vec<(String, PathBuf)> {
    std::fs::create_dir_all(dir).unwrap();
    let not_a_dir = dir.join("a-file");
    std::fs::write(&not_a_dir, b"a regular file").unwrap();
    vec![
        (
            "in a missing directory".into(),
            dir.join("missing-dir/out.wasm"),
        ),
        ("under a regular file".into(), not_a_dir.join("out.wasm")),
        ("/dev/full".into(), "/dev/full".into()),
        ("a directory".into(), dir.to_path_buf()),
    ]
}

/// Checks how a tool ended on a hostile input: never killed by a signal or a panic; status 0
/// only where `may_succeed`; with status 1, exactly one `error:` line on stderr and at most one
/// more (a hint). Returns the error line.
pub fn assert_refused_or_ok(out: &Output, may_succeed: bool, what: &str) -> Option<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{what}: a panic: {stderr}"
    );
    match out.status.code() {
        Some(0) if may_succeed => None,
        Some(1) => Some(assert_one_error_line(&stderr, what)),
        other => panic!("{what}: exit status {other:?} (want 1{}): {stderr}", {
            if may_succeed { " or 0" } else { "" }
        }),
    }
}

/// Checks that `stderr` is one `error:` line, at most followed by one hint line, and returns the
/// error line.
pub fn assert_one_error_line(stderr: &str, what: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{what}: want one error line: {stderr}");
    let at = lines.iter().position(|l| l.starts_with("error:")).unwrap();
    assert!(
        lines.len() - at <= 2,
        "{what}: more than one line after the error: {stderr}"
    );
    assert!(
        errors[0].len() <= 400,
        "{what}: an error line of {} bytes: {stderr}",
        errors[0].len()
    );
    errors[0].to_string()
}

/// Every regular file under `dir` (recursively) with its bytes, to compare before and after a
/// run: no partial or stray file, nothing changed. Special files are listed without content.
pub fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                todo.push(entry.path());
            } else if kind.is_file() {
                all.insert(entry.path(), std::fs::read(entry.path()).unwrap());
            } else {
                all.insert(entry.path(), Vec::new());
            }
        }
    }
    all
}

/// Runs `command` for at most [`TIMEOUT`].
pub fn run(command: &mut Command) -> Output {
    crate::output_within(command, TIMEOUT)
}

/// Whether `bytes` is a valid module with every feature wasmparser knows.
fn validates(bytes: &[u8]) -> bool {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .is_ok()
}

/// The byte ranges of the top-level sections of `module` (header included).
fn section_ranges(module: &[u8]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut pos = 8;
    while pos < module.len() {
        let mut reader = wasmparser::BinaryReader::new(&module[pos + 1..], pos as u64 + 1);
        let Ok(size) = reader.read_var_u32() else {
            break;
        };
        let end = reader.original_position() as usize + size as usize;
        ranges.push((pos, end.min(module.len())));
        pos = end;
    }
    ranges
}

/// `n` bytes of a xorshift generator seeded with `seed`.
fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Runs both suites on a tool that reads a module and writes one, in `dir`, with MyThing's release
/// build as the valid module: [`feed_inputs`], then [`feed_outputs`].
pub fn check_tool(dir: &Path, command: impl Fn(&Path, &Path) -> Command) {
    let valid = std::fs::read(crate::fixture(
        crate::Fixture::MyThing,
        crate::Profile::Release,
    ))
    .unwrap();
    feed_inputs(&dir.join("inputs"), &valid, &command);
    feed_outputs(&dir.join("outputs"), &valid, &command);
}

/// Feeds every hostile input to a tool: `command(input, output)` is the command that reads
/// `input` (and writes `output`, in a directory of its own, if the tool writes). Each run is
/// refused in one line (or succeeds, for a valid module), and leaves the inputs unchanged and,
/// when refused, no file at all.
pub fn feed_inputs(dir: &Path, valid: &[u8], command: impl Fn(&Path, &Path) -> Command) {
    let _ = std::fs::remove_dir_all(dir);
    let inputs = inputs(&dir.join("in"), valid);
    let before = files(&dir.join("in"));
    let out_dir = dir.join("out");
    for input in &inputs {
        std::fs::create_dir_all(&out_dir).unwrap();
        let out = run(&mut command(&input.path, &out_dir.join("out.wasm")));
        let refused = assert_refused_or_ok(&out, input.valid_module, &input.what).is_some();
        assert!(
            files(&dir.join("in")) == before,
            "{}: the inputs changed",
            input.what
        );
        if refused {
            let left: Vec<PathBuf> = files(&out_dir).into_keys().collect();
            assert!(
                left.is_empty(),
                "{}: refused, but wrote {left:?}",
                input.what
            );
        }
        std::fs::remove_dir_all(&out_dir).unwrap();
    }
}

/// Has a tool write the valid module `valid`'s result to outputs it must refuse (each refused in
/// one line, no file changed), through a symlink (written through, the link kept), and over its
/// own input (done). `command(input, output)` as for [`feed_inputs`].
pub fn feed_outputs(dir: &Path, valid: &[u8], command: impl Fn(&Path, &Path) -> Command) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let input = dir.join("in.wasm");
    std::fs::write(&input, valid).unwrap();
    for (what, output) in refused_outputs(&dir.join("targets")) {
        let before = files(dir);
        let out = run(&mut command(&input, &output));
        assert_refused_or_ok(&out, false, &format!("an output {what}"));
        assert!(files(dir) == before, "an output {what}: files changed");
    }
    let target = dir.join("target.wasm");
    std::fs::write(&target, b"old").unwrap();
    let link = dir.join("link.wasm");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = run(&mut command(&input, &link));
    assert_refused_or_ok(&out, true, "an output through a symlink");
    assert!(out.status.success(), "through a symlink: {out:?}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the symlink is kept"
    );
    assert!(
        validates(&std::fs::read(&target).unwrap()),
        "written through"
    );
    let same = dir.join("same.wasm");
    std::fs::write(&same, valid).unwrap();
    let out = run(&mut command(&same, &same));
    assert!(out.status.success(), "an output over the input: {out:?}");
    assert!(validates(&std::fs::read(&same).unwrap()), "over the input");
}
