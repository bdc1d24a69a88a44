//! The rewriter's speed, size and runtime cost, on the real fixtures.
//!
//! `cargo bench -p wasm-coredump-rewriter` prints:
//! - the time of `rewrite()` in process (best of 5) and of the whole CLI
//!   (file I/O included) with its peak RSS, on the large serde-regex fixture,
//!   debug and release; the Code section growth;
//! - the run time in Node (V8) of the benchmark kernels, original vs
//!   rewritten: recursive `fib` (call-bound), `sieve` and `sha256`
//!   (loop-bound), the
//!   median over several Node processes of the best of interleaved rounds.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use wasm_coredump_tests::{Fixture, Profile, fixture, kernels};

/// The option sets measured: the default and each opt-in check.
fn variants() -> Vec<(&'static str, rewriter::Options)> {
    let base = rewriter::Options::default;
    vec![
        ("default", base()),
        (
            "--unwind checks",
            rewriter::Options {
                unwind: rewriter::Unwind::Checks,
                ..base()
            },
        ),
        (
            "--keep-stale-locals",
            rewriter::Options {
                keep_stale_locals: true,
                ..base()
            },
        ),
        (
            "--check-memory",
            rewriter::Options {
                check_memory: true,
                ..base()
            },
        ),
        (
            "--check-indirect-calls",
            rewriter::Options {
                check_indirect_calls: true,
                ..base()
            },
        ),
        (
            "--max-call-depth 100000",
            rewriter::Options {
                max_call_depth: Some(100_000),
                ..base()
            },
        ),
    ]
}

fn main() {
    for profile in [Profile::Debug, Profile::Release] {
        rewrite_speed(&fixture(Fixture::SerdeRegex, profile), profile);
    }
    for profile in [Profile::Release, Profile::Debug] {
        let path = kernels(profile);
        let input = std::fs::read(&path).unwrap();
        runtime_cost(
            &path,
            &input,
            profile,
            "control (the original against itself)",
        );
        for (name, options) in variants() {
            let out = rewriter::rewrite(&input, &options).unwrap();
            runtime_cost(&path, &out.module, profile, name);
        }
    }
    for (name, options) in variants().into_iter().skip(1) {
        for profile in [Profile::Debug, Profile::Release] {
            let input = std::fs::read(fixture(Fixture::SerdeRegex, profile)).unwrap();
            let stats = rewriter::rewrite(&input, &options).unwrap().stats;
            println!(
                "code growth serde-regex {profile} {name}: {:.2}x",
                stats.code_size_after as f64 / stats.code_size_before as f64
            );
        }
    }
}

fn rewrite_speed(path: &Path, profile: Profile) {
    let input = std::fs::read(path).unwrap();
    let options = rewriter::Options::default();
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..5 {
        let started = Instant::now();
        let o = rewriter::rewrite(&input, &options).unwrap();
        best = best.min(started.elapsed().as_secs_f64());
        out = Some(o);
    }
    let stats = out.unwrap().stats;
    println!(
        "rewrite serde-regex {profile}: {:.1} MB in {:.0} ms (best of 5, in process); code {} -> {} bytes = {:.2}x",
        input.len() as f64 / 1e6,
        best * 1000.0,
        stats.code_size_before,
        stats.code_size_after,
        stats.code_size_after as f64 / stats.code_size_before as f64,
    );
    let target = std::env::temp_dir().join(format!("rewrite-bench-{}.wasm", std::process::id()));
    let cli = Command::new(env!("CARGO_BIN_EXE_wasm-coredump-rewriter"))
        .arg(path)
        .arg("-o")
        .arg(&target)
        .output()
        .unwrap();
    assert!(cli.status.success());
    let report = String::from_utf8_lossy(&cli.stderr);
    let tail = report.split("bytes, ").last().unwrap_or_default().trim();
    println!(
        "  CLI (read, rewrite, write): {tail}; input {:.1} MiB",
        input.len() as f64 / 1048576.0
    );
    std::fs::remove_file(target).ok();
}

const HARNESS: &str = r#"
import { readFileSync } from 'node:fs';
// Then `name=arg` for each kernel to time.
const [original, rewritten, rounds, rewrittenFirst, ...kernels] = process.argv.slice(2);
const load = async (p) => (await WebAssembly.instantiate(readFileSync(p))).instance.exports;
let a, b;
if (rewrittenFirst === '1') {
  b = await load(rewritten);
  a = await load(original);
} else {
  a = await load(original);
  b = await load(rewritten);
}
const time = (f) => { const t = process.hrtime.bigint(); f(); return Number(process.hrtime.bigint() - t) / 1e6; };
const times = [];
for (const [name, arg] of kernels.map((k) => k.split('=')).map(([n, a]) => [n, Number(a)])) {
  if (a[name](arg) !== b[name](arg)) throw new Error(`${name}: results differ`);
  let ta = Infinity, tb = Infinity;
  for (let i = 0; i < Number(rounds); i++) {
    // Alternate which runs first: the second of a pair tends to run slower.
    if (i % 2) {
      tb = Math.min(tb, time(() => b[name](arg)));
      ta = Math.min(ta, time(() => a[name](arg)));
    } else {
      ta = Math.min(ta, time(() => a[name](arg)));
      tb = Math.min(tb, time(() => b[name](arg)));
    }
  }
  times.push(ta, tb);
}
console.log(times.join(' '));
"#;

/// Separate Node processes per measurement: V8's code placement differs from
/// one process to the next (the same original function's best time varied
/// by 20% between processes here), so the ratio of one process says little.
const PROCESSES: usize = 12;

/// Runs the kernels of the module at `path` against `rewritten` in Node.
fn runtime_cost(path: &Path, rewritten: &[u8], profile: Profile, variant: &str) {
    let dir = std::env::temp_dir().join(format!("rewrite-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rewritten_path = dir.join("kernels.rewritten.wasm");
    std::fs::write(&rewritten_path, rewritten).unwrap();
    let harness = dir.join("harness.mjs");
    std::fs::write(&harness, HARNESS).unwrap();
    let (kernels, rounds) = match profile {
        Profile::Release => ([("fib", 30), ("sieve", 5_000_000), ("sha256", 1024)], 15),
        Profile::Debug => ([("fib", 29), ("sieve", 1_000_000), ("sha256", 64)], 9),
    };
    let mut ratios = vec![Vec::new(); kernels.len()];
    for process in 0..PROCESSES {
        // Half the processes compile the rewritten module first.
        let rewritten_first = if process % 2 == 1 { "1" } else { "0" };
        let run = Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
            .arg(&harness)
            .args([path, &rewritten_path])
            .args([rounds.to_string(), rewritten_first.to_string()])
            .args(kernels.iter().map(|(name, arg)| format!("{name}={arg}")))
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let line = String::from_utf8_lossy(&run.stdout);
        let times: Vec<f64> = line
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        assert_eq!(times.len(), 2 * kernels.len(), "harness output {line}");
        for (ratios, pair) in ratios.iter_mut().zip(times.chunks_exact(2)) {
            ratios.push(pair[1] / pair[0]);
        }
    }
    let figures: Vec<String> = kernels
        .iter()
        .zip(&mut ratios)
        .map(|((name, arg), ratios)| format!("{name}({arg}) {}", spread(ratios)))
        .collect();
    println!(
        "node kernels {profile} {variant}: {} \
         (rewritten/original: median [min-max] of {PROCESSES} processes, each the best of {rounds} rounds)",
        figures.join("; ")
    );
    std::fs::remove_dir_all(dir).ok();
}

/// `median [min-max]` of some ratios.
fn spread(ratios: &mut [f64]) -> String {
    ratios.sort_by(f64::total_cmp);
    format!(
        "{:.3}x [{:.3}-{:.3}]",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    )
}
