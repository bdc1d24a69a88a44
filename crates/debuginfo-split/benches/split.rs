//! Benchmark: `cargo bench -p debuginfo-split [-- PATH]` (or `DEBUGINFO_SPLIT_BENCH=PATH`).
//!
//! Measures on one module, in one run: the library's `split` alone (and with
//! `--deterministic`'s hashing); the `debuginfo-split` binary end to end, in place (the
//! default) and with `-o` (both files written); and, when `wasm-tools` is on PATH,
//! `wasm-tools strip` on the same file. Peak RSS comes from GNU time (`/usr/bin/time`) when
//! present. Targets (issue): binary time <= 1.2x `wasm-tools strip`, peak RSS <= 1.2x input.
//! Without a path it synthesizes a ~17 MB module shaped like a Rust debug build (4 MB of code,
//! 13 MB of DWARF, a name section).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use debuginfo_split::{NewBuildId, SplitOptions, split};
use wasm_encoder::{
    CodeSection, CustomSection, ExportKind, ExportSection, Function, FunctionSection, Instruction,
    MemorySection, MemoryType, Module, TypeSection, ValType,
};

const RUNS: usize = 15;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = match input_path() {
        Some(path) => path,
        None => {
            let path = dir.path().join("synth.wasm");
            std::fs::write(&path, synthesize(17 << 20)).expect("write synthesized module");
            path
        }
    };
    let input = std::fs::read(&path).expect("read input");
    println!("input: {} ({} bytes)", path.display(), input.len());

    // The library alone: parse the section layout, build the two outputs.
    let lib = median(RUNS, || {
        let start = Instant::now();
        let out = split(&input, &SplitOptions::default()).expect("split");
        std::hint::black_box(out.stripped().len() + out.debug().len());
        start.elapsed()
    });
    let out = split(&input, &SplitOptions::default()).expect("split");
    println!(
        "split (library, no I/O): {lib:?}; stripped {} bytes, debug file {} bytes, {} sections \
         removed",
        out.stripped().len(),
        out.debug().len(),
        out.removed().len()
    );

    let det = median(RUNS, || {
        let mut opts = SplitOptions::default();
        opts.new_build_id = NewBuildId::Deterministic;
        let start = Instant::now();
        let out = split(&input, &opts).expect("split");
        std::hint::black_box(out.build_id());
        start.elapsed()
    });
    println!("split --deterministic (library, SHA-1 of the input): {det:?}");

    // The default, in place: the module's file becomes the debug file, only the stripped
    // module is written. Each run gets a fresh copy of the input (not timed).
    let module = dir.path().join("m.wasm");
    let in_place = [
        env!("CARGO_BIN_EXE_debuginfo-split").as_ref(),
        module.as_os_str(),
        "--out-dir".as_ref(),
        dir.path().as_os_str(),
    ];
    let fresh = || std::fs::copy(&path, &module).map(drop).expect("copy input");
    let bin = median(RUNS, || {
        fresh();
        time_command(&in_place)
    });
    fresh();
    let bin_rss = peak_rss_kib(&in_place);
    println!(
        "debuginfo-split MODULE (binary, in place): {bin:?}, peak RSS {}",
        kib(bin_rss)
    );

    // With -o: both files are written.
    let stripped = dir.path().join("stripped.wasm");
    let ours = [
        env!("CARGO_BIN_EXE_debuginfo-split").as_ref(),
        path.as_os_str(),
        "-o".as_ref(),
        stripped.as_os_str(),
        "--out-dir".as_ref(),
        dir.path().as_os_str(),
    ];
    let copy = median(RUNS, || time_command(&ours));
    println!(
        "debuginfo-split MODULE -o PATH (binary, writes both files): {copy:?}, peak RSS {}",
        kib(peak_rss_kib(&ours))
    );

    let stripped_by_tool = dir.path().join("wasm-tools-strip.wasm");
    let tool = [
        "wasm-tools".as_ref(),
        "strip".as_ref(),
        path.as_os_str(),
        "-o".as_ref(),
        stripped_by_tool.as_os_str(),
    ];
    if Command::new("wasm-tools")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        let reference = median(RUNS, || time_command(&tool));
        let reference_rss = peak_rss_kib(&tool);
        println!(
            "wasm-tools strip: {reference:?}, peak RSS {}",
            kib(reference_rss)
        );
        println!(
            "time ratio: in place {:.2}x, -o {:.2}x wasm-tools strip (target <= 1.2x)",
            bin.as_secs_f64() / reference.as_secs_f64(),
            copy.as_secs_f64() / reference.as_secs_f64()
        );
    } else {
        println!("wasm-tools not on PATH: no reference time");
    }
    if let Some(rss) = bin_rss {
        println!(
            "peak RSS ratio: {:.2}x input size (target <= 1.2x)",
            (rss * 1024) as f64 / input.len() as f64
        );
    }
}

fn input_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DEBUGINFO_SPLIT_BENCH") {
        return Some(path.into());
    }
    // `cargo bench` passes `--bench`; a path is any argument that is not a flag.
    std::env::args_os()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with('-'))
        .map(PathBuf::from)
}

fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    f(); // warm up: page cache, allocator
    let mut times: Vec<Duration> = (0..runs).map(|_| f()).collect();
    times.sort();
    times[runs / 2]
}

/// Runs `argv` and times it. Flushes dirty pages first (untimed), so that writeback of earlier
/// runs' outputs does not throttle this one: every command starts from the same state.
fn time_command(argv: &[&std::ffi::OsStr]) -> Duration {
    let _ = Command::new("sync").status();
    let start = Instant::now();
    let status = Command::new(argv[0])
        .args(&argv[1..])
        .stdout(Stdio::null())
        .status()
        .expect("spawn");
    let elapsed = start.elapsed();
    assert!(status.success(), "{argv:?} failed");
    elapsed
}

/// Peak RSS of a run in KiB, from GNU time's `%M`.
fn peak_rss_kib(argv: &[&std::ffi::OsStr]) -> Option<u64> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return None;
    }
    let out = Command::new(time)
        .args(["-f", "%M"])
        .args(argv)
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr.lines().last()?.trim().parse().ok()
}

fn kib(rss: Option<u64>) -> String {
    rss.map_or("unknown (no /usr/bin/time)".into(), |k| {
        format!("{:.1} MiB", k as f64 / 1024.0)
    })
}

/// A module of about `size` bytes: ~25% code in many small functions, the rest DWARF-like
/// custom sections, a `name` section, after Code as rustc and lld lay them out.
fn synthesize(size: usize) -> Vec<u8> {
    let mut module = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]);
    module.section(&types);

    let code_target = size / 4;
    let mut body = Function::new([(2, ValType::I32)]);
    for i in 0..40 {
        body.instruction(&Instruction::LocalGet(0));
        body.instruction(&Instruction::I32Const(i * 1000));
        body.instruction(&Instruction::I32Add);
        body.instruction(&Instruction::LocalSet(1));
    }
    body.instruction(&Instruction::LocalGet(1));
    body.instruction(&Instruction::End);
    let mut body_bytes = Vec::new();
    wasm_encoder::Encode::encode(&body, &mut body_bytes);
    let count = (code_target / body_bytes.len()) as u32;

    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    for _ in 0..count {
        functions.function(0);
        code.raw(&body_bytes[leb_len(&body_bytes)..]);
    }
    module.section(&functions);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&memories);
    let mut exports = ExportSection::new();
    exports.export("f", ExportKind::Func, 0);
    module.section(&exports);
    module.section(&code);

    let dwarf = size - code_target;
    for (name, share) in [
        (".debug_abbrev", 1),
        (".debug_info", 45),
        (".debug_ranges", 4),
        (".debug_str", 20),
        (".debug_line", 25),
        (".debug_loc", 5),
    ] {
        let data: Vec<u8> = (0..dwarf * share / 100)
            .map(|i| (i as u8).wrapping_mul(13))
            .collect();
        module.section(&CustomSection {
            name: name.into(),
            data: data.into(),
        });
    }
    module.section(&CustomSection {
        name: "name".into(),
        data: (&[1u8, 4, 1, 0, 1, b'f'][..]).into(),
    });
    module.finish()
}

/// Length of the LEB128 at the start of `bytes`.
fn leb_len(bytes: &[u8]) -> usize {
    bytes.iter().position(|b| b & 0x80 == 0).unwrap() + 1
}
