//! The toolkit's main job on the bundled example, the MyThing fixture, end to end with the
//! tools as a user runs them: inject the core dump runtime with the rewriter, split the DWARF
//! into a debug file, start a local coredump-service and upload the debug file to it, run the
//! module under Node the way a production host does and send the dump with host/'s client,
//! print the symbolized stack the service logged, then open the stored dump with wasmgdb in
//! batch mode.
//!
//! Run it with `cargo run -p wasm-coredump-tests --bin demo`. It builds the four tools first
//! (`cargo build`), and needs nothing but Node and the Wasm targets. With `WASM_COREDUMP_TOOLS`
//! set to a directory, it runs the tools found there instead (its test: those `cargo test` built).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use wasm_coredump_tests::{Fixture, Profile, fixture, workspace_root};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The tools, built by `cargo build` into the workspace's target directory.
const TOOLS: [&str; 4] = [
    "wasm-coredump-rewriter",
    "debuginfo-split",
    "coredump-service",
    "wasmgdb",
];

fn run() -> Result<(), String> {
    let root = workspace_root();
    let out = root.join("target/demo");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let bin = match std::env::var_os("WASM_COREDUMP_TOOLS") {
        Some(dir) => PathBuf::from(dir),
        None => build_tools(&root)?,
    };
    let tool = |name: &str| bin.join(name);

    let input = fixture(Fixture::MyThing, Profile::Debug);
    let app = out.join("mything.wasm");
    shown(
        Command::new(tool("wasm-coredump-rewriter"))
            .arg(&input)
            .arg("-o")
            .arg(&app),
    )?;

    let (mut service, url, log) = start_service(&tool("coredump-service"), &out.join("store"))?;
    let result = (|| {
        shown(
            Command::new(tool("debuginfo-split"))
                .arg(&app)
                .arg("--out-dir")
                .arg(out.join("symbols"))
                .args(["--upload", &url]),
        )?;

        let stdout = shown(
            Command::new("node")
                .arg(root.join("host/test/record.mjs"))
                .args(["--endpoint", &format!("{url}/")])
                .args([
                    "--request",
                    r#"{"method":"GET","url":"https://example.com/things/3","headers":{}}"#,
                ])
                .arg(&app),
        )?;
        let answer: serde_json::Value = stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or("host/test/record.mjs printed no result")?;
        let key = answer["key"]
            .as_str()
            .ok_or_else(|| format!("the service stored nothing: {answer}"))?
            .to_string();

        println!("\nthe service logged:");
        let logged = service_log(&log, "Error: Wasm trapped.")?;
        for line in &logged {
            println!("  {line}");
        }

        // A fresh debug-file cache, so wasmgdb fetches it from the service. The frame wasmgdb
        // selects at load is the panic's.
        shown(
            Command::new(tool("wasmgdb"))
                .args(["--cache-dir"])
                .arg(out.join("cache"))
                .args(["--debug-url", &url])
                .args(["-batch", "-ex", "bt", "-ex", "info args"])
                .arg(&app)
                .arg(format!("{url}/coredumps/{key}")),
        )?;
        Ok(())
    })();
    stop_service(&mut service);
    result
}

/// Builds the tools; gives the directory they are in.
fn build_tools(root: &Path) -> Result<PathBuf, String> {
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(root).args(["build", "--quiet"]);
    for tool in TOOLS {
        let package = if tool == "wasm-coredump-rewriter" {
            "wasm-coredump-rewriter"
        } else {
            tool
        };
        cargo.args(["-p", package]);
    }
    println!("$ cargo build -p {}", TOOLS.join(" -p "));
    let status = cargo.status().map_err(|e| format!("cargo: {e}"))?;
    if !status.success() {
        return Err("building the tools failed".into());
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target.join("debug"))
}

/// Prints the command (tools by name, paths relative to the workspace), runs it, prints what it
/// printed; gives its stdout.
fn shown(command: &mut Command) -> Result<String, String> {
    let root = workspace_root();
    let relative = |s: &std::ffi::OsStr| {
        let s = s.to_string_lossy();
        Path::new(&*s)
            .strip_prefix(&root)
            .map_or_else(|_| s.to_string(), |p| p.display().to_string())
    };
    let program = Path::new(command.get_program())
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let args: Vec<String> = command.get_args().map(relative).collect();
    println!("\n$ {program} {}", args.join(" "));
    let output = command
        .current_dir(&root)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    print!("{stdout}");
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        println!("  {line}");
    }
    if !output.status.success() {
        return Err(format!("{program} failed ({})", output.status));
    }
    Ok(stdout)
}

/// Starts the service on a free loopback port; gives it, its URL and its log lines.
fn start_service(
    program: &Path,
    store: &Path,
) -> Result<(Child, String, mpsc::Receiver<String>), String> {
    println!(
        "\n$ coredump-service --listen 127.0.0.1:0 --store {} &",
        store
            .strip_prefix(workspace_root())
            .unwrap_or(store)
            .display()
    );
    let mut child = Command::new(program)
        .args(["--listen", "127.0.0.1:0", "--store"])
        .arg(store)
        .env("RUST_LOG", "coredump_service=warn")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("coredump-service: {e}"))?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| "coredump-service did not start".to_string())?;
    println!("  {first}");
    let url = first
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://"))
        .ok_or_else(|| format!("coredump-service: {first}"))?
        .to_string();
    Ok((child, url, rx))
}

/// The service's log from the line containing `start` to the end of that entry.
fn service_log(log: &mpsc::Receiver<String>, start: &str) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    while let Ok(line) = log.recv_timeout(Duration::from_secs(10)) {
        if let Some(at) = line.find(start) {
            lines.push(line[at..].to_string());
        } else if !lines.is_empty() {
            if !line.starts_with("    ") {
                break;
            }
            lines.push(line);
        }
    }
    if lines.is_empty() {
        return Err(format!("the service logged no {start:?}"));
    }
    Ok(lines)
}

/// Stops the service as an orchestrator does: SIGTERM, then it finishes and exits.
fn stop_service(service: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status();
    let _ = service.wait();
}
