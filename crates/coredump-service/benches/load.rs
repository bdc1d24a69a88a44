//! The service under load, as a separate process (the release binary), driven from here:
//!
//! 1. throughput and latency: clients post 2 MiB dumps (a real MyThing crash whose memory is
//!    grown to 2 MiB, the added half random bytes: worse than a real heap for compression)
//!    gzip-compressed as host/coredump.mjs sends them, with the debug file uploaded (so cached
//!    after the first); reports dumps/s and p50/p99 latency;
//! 2. memory: the service's peak RSS while it receives one 256 MiB dump (plain, as the older
//!    client sent it; its memory zero beyond the program's, as a real memory mostly is, then
//!    again with 32 MiB of it random), against its RSS when idle.
//!
//! `cargo bench -p coredump-service --bench load [-- SECONDS CONNECTIONS]` (defaults 10 s, 8).

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coredump::{CoreDump, Memory, MemoryType, Segment};
use wasm_coredump_tests::{Fixture, NodeCommand, Profile, fixture};

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let connections: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);

    let dir = tempfile::tempdir().unwrap();
    let (app, debug, build_id) = build(dir.path());
    let run = NodeCommand::new(&app).run();
    let core = run.core.expect("the fixture traps");

    let mut service = Service::start(&dir.path().join("store"));
    let client = reqwest::blocking::Client::new();
    let put = client
        .put(format!("{}/debuginfo/{build_id}", service.url))
        .body(std::fs::read(&debug).unwrap())
        .send()
        .unwrap();
    assert!(put.status().is_success(), "{:?}", put.text());
    // One post to warm the cache and the allocator.
    post(&client, &service.url, gzip(&core));

    sizes(&service.url, dir.path());

    let two_mib = grow(&core, 2 << 20, 1 << 20);
    let body = gzip(&two_mib);
    println!(
        "throughput: {} connections for {seconds} s, dumps of {} bytes sent as {} bytes of gzip",
        connections,
        two_mib.len(),
        body.len()
    );
    let (count, mut latencies) = load(
        &service.url,
        body,
        connections,
        Duration::from_secs(seconds),
    );
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "  {count} dumps in {seconds} s: {:.0} dumps/s, latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        count as f64 / seconds as f64,
        ms(at(0.50)),
        ms(at(0.99)),
        ms(*latencies.last().unwrap())
    );
    service.stop();

    for (what, random) in [
        ("zero beyond the program's memory", 0),
        ("32 MiB of it random", 32 << 20),
    ] {
        let mut service = Service::start(&dir.path().join(format!("store-{random}")));
        post(&client, &service.url, gzip(&core));
        let idle = service.rss_kib();
        let big = grow(&core, 256 << 20, random);
        let start = Instant::now();
        post(&client, &service.url, big.clone());
        let took = start.elapsed();
        let peak = service.peak_kib();
        println!(
            "memory: one {} MiB dump ({what}), plain: idle RSS {} KiB, peak {} KiB: {} KiB above idle ({:.1} s)",
            big.len() >> 20,
            idle,
            peak,
            peak.saturating_sub(idle),
            took.as_secs_f64()
        );
        service.stop();
    }
}

/// The bytes on the wire and at rest of the fixtures' dumps as host/coredump.mjs sends them
/// (gzip through `CompressionStream`; the service stores a gzip part as it came), against the
/// dumps' size and non-zero bytes.
fn sizes(url: &str, dir: &std::path::Path) {
    println!(
        "sizes: fixture, dump bytes, non-zero bytes, sent = stored bytes (gzip by host/coredump.mjs)"
    );
    let client = reqwest::blocking::Client::new();
    for kind in [
        Fixture::MyThing,
        Fixture::UnwrapNone,
        Fixture::DeepRecursion,
        Fixture::OutOfMemory,
        Fixture::SerdeRegex,
    ] {
        let input = std::fs::read(fixture(kind, Profile::Release)).unwrap();
        let rewritten = rewriter::rewrite(&input, &rewriter::Options::default()).unwrap();
        let app = dir.join(format!("{}.wasm", kind.package()));
        std::fs::write(&app, &rewritten.module).unwrap();
        let core = dir.join(format!("{}.core", kind.package()));
        let status = Command::new("node")
            .arg(wasm_coredump_tests::workspace_root().join("host/test/record.mjs"))
            .args(["--endpoint", &format!("{url}/"), "--core"])
            .arg(&core)
            .arg(&app)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let list: serde_json::Value = client
            .get(format!("{url}/coredumps?limit=1"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let record = &list["coredumps"][0];
        let memory = std::fs::read(&core).unwrap();
        let non_zero = memory.iter().filter(|&&b| b != 0).count();
        println!(
            "  {:<16} {:>10} {:>10} {:>10} ({:.2}x the non-zero bytes, {:.1}% of the dump)",
            kind.package(),
            record["size"],
            non_zero,
            record["stored_size"],
            record["stored_size"].as_f64().unwrap() / non_zero as f64,
            record["stored_size"].as_f64().unwrap() * 100.0 / record["size"].as_f64().unwrap()
        );
    }
}

/// MyThing, rewritten and split: the stripped module, the debug file, the build id.
fn build(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let input = std::fs::read(fixture(Fixture::MyThing, Profile::Release)).unwrap();
    let rewritten = rewriter::rewrite(&input, &rewriter::Options::default()).unwrap();
    let split = debuginfo_split::split(&rewritten.module, &Default::default()).unwrap();
    let id = split.build_id().to_string();
    let app = dir.join("app.wasm");
    std::fs::write(&app, split.stripped().to_vec()).unwrap();
    let debug = dir.join(format!("debug-{id}.wasm"));
    std::fs::write(&debug, split.debug().to_vec()).unwrap();
    (app, debug, id)
}

/// The dump `core` with its memory grown to `size` bytes, the first `random` added bytes random,
/// in one segment covering all of memory, zeros included, as the rewriter's runtime leaves it.
fn grow(core: &[u8], size: u64, random: usize) -> Vec<u8> {
    let dump = CoreDump::parse(core).unwrap();
    let mut grown = CoreDump::new(dump.process_name());
    for module in dump.modules() {
        grown.add_module(module.clone());
    }
    for instance in dump.instances() {
        grown.add_instance(instance.clone());
    }
    for thread in dump.threads() {
        grown.add_thread(thread.clone());
    }
    for global in dump.globals() {
        grown.add_global(*global);
    }
    for section in dump.custom_sections() {
        grown.add_custom_section(section.clone());
    }
    let memory = &dump.memories()[0];
    let mut whole = vec![0u8; size as usize];
    for s in &memory.segments {
        whole[s.address as usize..s.end() as usize].copy_from_slice(&s.data);
    }
    let old_size = memory.ty.size() as usize;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for byte in whole.iter_mut().skip(old_size).take(random) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    grown.add_memory(Memory {
        ty: MemoryType {
            pages: size.div_ceil(1 << 16),
            ..memory.ty
        },
        segments: vec![Segment {
            address: 0,
            data: whole.into(),
        }],
    });
    grown.encode()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn post(client: &reqwest::blocking::Client, url: &str, dump: Vec<u8>) {
    let form = reqwest::blocking::multipart::Form::new().part(
        "coredump",
        reqwest::blocking::multipart::Part::bytes(dump).file_name("coredump"),
    );
    let answer = client
        .post(format!("{url}/"))
        .multipart(form)
        .send()
        .unwrap();
    assert!(answer.status().is_success(), "{:?}", answer.text());
}

/// `connections` clients posting `body` for `time`: how many dumps, and each one's latency.
fn load(url: &str, body: Vec<u8>, connections: usize, time: Duration) -> (usize, Vec<Duration>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let client = reqwest::Client::new();
        let end = Instant::now() + time;
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let client = client.clone();
            let body = body.clone();
            let url = format!("{url}/");
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < end {
                    let form = reqwest::multipart::Form::new().part(
                        "coredump",
                        reqwest::multipart::Part::bytes(body.clone())
                            .file_name("coredump.gz")
                            .mime_str("application/gzip")
                            .unwrap(),
                    );
                    let start = Instant::now();
                    let answer = client.post(&url).multipart(form).send().await.unwrap();
                    assert!(answer.status().is_success());
                    answer.bytes().await.unwrap();
                    latencies.push(start.elapsed());
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        (all.len(), all)
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The release binary, serving on a free port.
struct Service {
    child: Child,
    url: String,
}

impl Service {
    fn start(store: &std::path::Path) -> Service {
        let mut child = Command::new(env!("CARGO_BIN_EXE_coredump-service"))
            .args(["--listen", "127.0.0.1:0", "--store"])
            .arg(store)
            .env("RUST_LOG", "off")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        let url = line.trim().rsplit(' ').next().unwrap().to_string();
        // Keep draining its stderr.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Service { child, url }
    }

    fn rss_kib(&self) -> u64 {
        wasm_coredump_tests::process_status_kib(self.child.id(), "VmRSS:")
    }

    fn peak_kib(&self) -> u64 {
        wasm_coredump_tests::process_status_kib(self.child.id(), "VmHWM:")
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
