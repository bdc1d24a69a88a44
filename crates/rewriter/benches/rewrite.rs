//! The rewriter's speed, size and runtime cost, on the real fixtures.
//!
//! `cargo bench -p wasm-coredump-rewriter` prints (`-- speed realworld kernels growth` picks
//! parts):
//! - the time of `rewrite()` in process (best of 5) and of the whole CLI
//!   (file I/O included) with its peak RSS, on the large serde-regex fixture
//!   and the real-world module (over 30 MiB in debug), for each option set;
//!   the Code section growth;
//! - the run time in Node (V8), original vs rewritten, of real programs built
//!   from source (`tests/fixtures/realworld`: SQLite and zstd in C, serde_json,
//!   regex and png in Rust) for each choice of recorded locals, and of the
//!   benchmark kernels: recursive `fib` (call-bound), `sieve` and `sha256`
//!   (loop-bound); each the median over several Node processes of the best
//!   of interleaved rounds, next to the original against itself (the noise
//!   floor); then, for each suite, the table of these figures: a row per
//!   option set, a column per workload.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use wasm_coredump_tests::{Fixture, Profile, fixture, kernels, realworld};

/// The option sets measured, each named by its command-line flags: the
/// default (no flags), the other choices of recorded locals, and each opt-in
/// check.
fn variants() -> Vec<(&'static str, rewriter::Options)> {
    let base = rewriter::Options::default;
    let all = || rewriter::Options {
        record_locals: rewriter::RecordLocals::All,
        ..base()
    };
    vec![
        ("", base()),
        (
            "--record-locals params",
            rewriter::Options {
                record_locals: rewriter::RecordLocals::Params,
                ..base()
            },
        ),
        ("--record-locals all", all()),
        (
            "--record-locals all --keep-stale-locals",
            rewriter::Options {
                keep_stale_locals: true,
                ..all()
            },
        ),
        (
            "--unwind exceptions",
            rewriter::Options {
                unwind: rewriter::Unwind::Exceptions,
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

/// How many of [`variants`] are choices of recorded locals (and the
/// unwinding), measured on the real programs too.
const LOCALS_VARIANTS: usize = 5;

/// The parts of the bench; `cargo bench -p wasm-coredump-rewriter -- PART...` runs only those
/// named (all without a name).
const PARTS: [&str; 4] = ["speed", "realworld", "kernels", "growth"];

fn main() {
    let asked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| PARTS.contains(&a.as_str()))
        .collect();
    let run = |part: &str| asked.is_empty() || asked.iter().any(|a| a == part);
    if run("speed") {
        for profile in [Profile::Debug, Profile::Release] {
            let serde_regex = fixture(Fixture::SerdeRegex, profile);
            rewrite_speed(&serde_regex, profile, &variants()[..1]);
            rewrite_speed(&realworld(profile), profile, &variants());
        }
    }
    if run("realworld") {
        let path = realworld(Profile::Release);
        let input = std::fs::read(&path).unwrap();
        let mut rows = vec![(CONTROL, runtime_cost(&REALWORLD, &path, &input, CONTROL))];
        for (name, options) in variants().into_iter().take(LOCALS_VARIANTS) {
            let out = rewriter::rewrite(&input, &options).unwrap();
            let name = shown(name);
            rows.push((name, runtime_cost(&REALWORLD, &path, &out.module, name)));
        }
        print_table(&REALWORLD, &rows);
    }
    if run("kernels") {
        for profile in [Profile::Release, Profile::Debug] {
            let suite = match profile {
                Profile::Release => &KERNELS_RELEASE,
                Profile::Debug => &KERNELS_DEBUG,
            };
            let path = kernels(profile);
            let input = std::fs::read(&path).unwrap();
            let mut rows = vec![(CONTROL, runtime_cost(suite, &path, &input, CONTROL))];
            for (name, options) in variants() {
                let out = rewriter::rewrite(&input, &options).unwrap();
                let name = shown(name);
                rows.push((name, runtime_cost(suite, &path, &out.module, name)));
            }
            print_table(suite, &rows);
        }
    }
    if run("growth") {
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
}

/// The name of the measurement of the original against itself: the noise floor.
const CONTROL: &str = "control (the original against itself)";

/// A variant's name as shown: its flags, or `default`.
fn shown(flags: &str) -> &str {
    match flags {
        "" => "default (--record-locals named --unwind checks)",
        flags => flags,
    }
}

/// Times `rewrite()` in process with the first option set, then the CLI
/// with each, printing its own report (time, peak RSS).
fn rewrite_speed(path: &Path, profile: Profile, variants: &[(&str, rewriter::Options)]) {
    let name = path.file_stem().unwrap().to_string_lossy();
    let input = std::fs::read(path).unwrap();
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..5 {
        let started = Instant::now();
        let o = rewriter::rewrite(&input, &variants[0].1).unwrap();
        best = best.min(started.elapsed().as_secs_f64());
        out = Some(o);
    }
    let stats = out.unwrap().stats;
    println!(
        "rewrite {name} {profile}: {:.1} MB in {:.0} ms (best of 5, in process); code {} -> {} bytes = {:.2}x",
        input.len() as f64 / 1e6,
        best * 1000.0,
        stats.code_size_before,
        stats.code_size_after,
        stats.code_size_after as f64 / stats.code_size_before as f64,
    );
    let target = std::env::temp_dir().join(format!("rewrite-bench-{}.wasm", std::process::id()));
    for (flags, _) in variants {
        let cli = Command::new(env!("CARGO_BIN_EXE_wasm-coredump-rewriter"))
            .arg(path)
            .args(flags.split_whitespace())
            .arg("-o")
            .arg(&target)
            .output()
            .unwrap();
        assert!(
            cli.status.success(),
            "{}",
            String::from_utf8_lossy(&cli.stderr)
        );
        let report = String::from_utf8_lossy(&cli.stderr);
        let tail = report.split("bytes, ").last().unwrap_or_default().trim();
        println!(
            "  CLI {} (read, rewrite, write): {tail}; input {:.1} MiB",
            shown(flags),
            input.len() as f64 / 1048576.0
        );
    }
    std::fs::remove_file(target).ok();
}

/// The workloads of one benchmark module, and how often to time them.
struct Suite {
    name: &'static str,
    /// (export, argument), each export taking one number.
    workloads: &'static [(&'static str, u32)],
    /// Node processes, and the rounds each.
    processes: usize,
    rounds: usize,
}

/// The real programs, release: each workload 20-130 ms on this machine.
const REALWORLD: Suite = Suite {
    name: "realworld release",
    workloads: &[
        ("sqlite", 20_000),
        ("compress", 50_000),
        ("json", 20_000),
        ("regex", 50_000),
        ("png", 1_000),
    ],
    processes: 8,
    rounds: 8,
};

const KERNELS_RELEASE: Suite = Suite {
    name: "kernels release",
    workloads: &[("fib", 30), ("sieve", 5_000_000), ("sha256", 1024)],
    processes: 12,
    rounds: 15,
};

const KERNELS_DEBUG: Suite = Suite {
    name: "kernels debug",
    workloads: &[("fib", 29), ("sieve", 1_000_000), ("sha256", 64)],
    processes: 12,
    rounds: 9,
};

const HARNESS: &str = r#"
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
// Then `name=arg` for each workload to time.
const [original, rewritten, rounds, rewrittenFirst, ...kernels] = process.argv.slice(2);
// A WASI reactor is initialized (its `_initialize`, if any, runs); a module without WASI imports
// needs nothing.
const load = async (p) => {
  const module = await WebAssembly.compile(readFileSync(p));
  const wasi = new WASI({ version: 'preview1', returnOnExit: true });
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  const usesWasi = WebAssembly.Module.imports(module).some((i) => i.module === 'wasi_snapshot_preview1');
  if (usesWasi) wasi.initialize(instance);
  return instance.exports;
};
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
  // The first calls (tier-up included), in the order the modules were loaded.
  let ra, rb, fa, fb;
  if (rewrittenFirst === '1') {
    fb = time(() => { rb = b[name](arg); });
    fa = time(() => { ra = a[name](arg); });
  } else {
    fa = time(() => { ra = a[name](arg); });
    fb = time(() => { rb = b[name](arg); });
  }
  if (ra !== rb) throw new Error(`${name}: results differ`);
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
  times.push(ta, tb, fa, fb);
}
console.log(times.join(' '));
"#;

/// Runs the workloads of `suite` of the module at `path` against
/// `rewritten` in Node, in separate processes: V8's code placement differs
/// from one process to the next (the same original function's best time
/// varied by 20% between processes here), so the ratio of one process says
/// little. Prints a line of figures, and returns the best rounds' ratio of
/// each workload (`median [min-max]`).
fn runtime_cost(suite: &Suite, path: &Path, rewritten: &[u8], variant: &str) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("rewrite-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rewritten_path = dir.join("rewritten.wasm");
    std::fs::write(&rewritten_path, rewritten).unwrap();
    let harness = dir.join("harness.mjs");
    std::fs::write(&harness, HARNESS).unwrap();
    let workloads = suite.workloads;
    // Per workload: the ratios of the best rounds, and of the first calls.
    let mut best = vec![Vec::new(); workloads.len()];
    let mut first = vec![Vec::new(); workloads.len()];
    for process in 0..suite.processes {
        // Half the processes compile the rewritten module first.
        let rewritten_first = if process % 2 == 1 { "1" } else { "0" };
        let run = Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
            .arg("--no-warnings")
            .arg(&harness)
            .args([path, &rewritten_path])
            .args([suite.rounds.to_string(), rewritten_first.to_string()])
            .args(workloads.iter().map(|(name, arg)| format!("{name}={arg}")))
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
        assert_eq!(times.len(), 4 * workloads.len(), "harness output {line}");
        for (k, t) in times.chunks_exact(4).enumerate() {
            best[k].push(t[1] / t[0]);
            first[k].push(t[3] / t[2]);
        }
    }
    let best: Vec<String> = best.iter_mut().map(|ratios| spread(ratios)).collect();
    let figures: Vec<String> = (workloads.iter().enumerate())
        .map(|(k, (name, arg))| {
            let first = spread(&mut first[k]);
            format!("{name}({arg}) {} (first call {first})", best[k])
        })
        .collect();
    println!(
        "node {} {variant}: {} \
         (rewritten/original: median [min-max] of {} processes, each the best of {} rounds)",
        suite.name,
        figures.join("; "),
        suite.processes,
        suite.rounds,
    );
    std::fs::remove_dir_all(dir).ok();
    best
}

/// The table of a suite's run times, rewritten/original in the best rounds
/// (`median [min-max]` over the processes): a row per variant, a column per
/// workload.
fn print_table(suite: &Suite, rows: &[(&str, Vec<String>)]) {
    let workloads: Vec<String> = (suite.workloads.iter())
        .map(|(name, arg)| format!("{name}({arg})"))
        .collect();
    println!(
        "\n| {} ({} processes x {} rounds) | {} |",
        suite.name,
        suite.processes,
        suite.rounds,
        workloads.join(" | ")
    );
    println!("|---|{}", "---|".repeat(workloads.len()));
    for (variant, figures) in rows {
        println!("| {variant} | {} |", figures.join(" | "));
    }
    println!();
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
