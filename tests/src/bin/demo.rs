//! The toolkit's main job on the bundled example, the MyThing fixture:
//! inject the core dump runtime with the rewriter, run the module under Node
//! the way a production host does, save `memory.buffer` at the trap, and
//! print the frames (with their locals) of the core dump that buffer is.
//!
//! Run it with `cargo run -p wasm-coredump-tests --bin demo`.

use std::path::PathBuf;
use std::process::ExitCode;

use coredump::{CoreDump, Value};
use wasm_coredump_tests::{Fixture, NodeCommand, Profile, fixture, function_names, workspace_root};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let input_path = fixture(Fixture::MyThing, Profile::Debug);
    let input = std::fs::read(&input_path).map_err(|e| format!("{}: {e}", input_path.display()))?;
    let out_dir = workspace_root().join("target/demo");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let rewritten_path: PathBuf = out_dir.join("mything.wasm");

    println!(
        "$ wasm-coredump-rewriter {} -o {}",
        input_path.display(),
        rewritten_path.display()
    );
    let options = rewriter::Options {
        module_name: Some("mything.wasm".into()),
        ..Default::default()
    };
    let out = rewriter::rewrite(&input, &options).map_err(|e| e.to_string())?;
    let s = &out.stats;
    println!(
        "  {} functions instrumented, {} call sites, {} trap points; code {} -> {} bytes",
        s.functions_instrumented,
        s.call_sites,
        s.trap_points,
        s.code_size_before,
        s.code_size_after
    );
    std::fs::write(&rewritten_path, &out.module)
        .map_err(|e| format!("{}: {e}", rewritten_path.display()))?;

    println!(
        "$ node host/run-wasi.mjs --core CORE {}",
        rewritten_path.display()
    );
    let run = NodeCommand::new(&rewritten_path).run();
    print!("{}", run.stdout);
    for line in run
        .stderr
        .lines()
        .filter(|l| !l.starts_with("core written"))
    {
        println!("  {line}");
    }
    if !run.trapped() {
        return Err(format!("the example did not trap ({})", run.command));
    }
    let memory = run.core.ok_or("the host saved no memory")?;
    println!(
        "memory.buffer: {} bytes, starts with {:02x?}",
        memory.len(),
        &memory[..4]
    );

    let dump = CoreDump::parse(&memory).map_err(|e| format!("memory.buffer: {e}"))?;
    let names = function_names(&input);
    println!(
        "core dump of {}: {} frames, {} globals",
        dump.process_name(),
        dump.threads()[0].frames.len(),
        dump.globals().len()
    );
    for (level, frame) in dump.threads()[0].frames.iter().enumerate() {
        let name = names.get(&frame.func).map_or("??", String::as_str);
        let locals: Vec<String> = frame.locals.iter().map(show).collect();
        println!(
            "#{level:<3} {name} (func[{}] +{:#x}) locals: [{}]",
            frame.func,
            frame.code_offset,
            locals.join(", ")
        );
    }
    Ok(())
}

fn show(value: &Value) -> String {
    match *value {
        Value::Missing => "<missing>".into(),
        Value::I32(v) => v.to_string(),
        Value::I64(v) => v.to_string(),
        Value::F32(bits) => f32::from_bits(bits).to_string(),
        Value::F64(bits) => f64::from_bits(bits).to_string(),
    }
}
