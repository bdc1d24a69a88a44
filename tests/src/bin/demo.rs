//! The toolkit's main job on the bundled example, the MyThing fixture: run it
//! under Node the way a production host does, catch the trap, save
//! `memory.buffer`, and print the frames of the core dump.
//!
//! Until the rewriter lands (it makes `memory.buffer` itself a core dump), the
//! frames shown come from Wasmtime's dump of the same crash, committed under
//! `tests/wasmtime-dumps/dumps`.
//!
//! Run it with `cargo run -p wasm-coredump-tests --bin demo`.

use std::process::ExitCode;

use coredump::CoreDump;
use wasm_coredump_tests::{Fixture, NodeCommand, Profile, fixture, function_names, wasmtime_dump};

fn main() -> ExitCode {
    let module_path = fixture(Fixture::MyThing, Profile::Debug);
    println!(
        "$ node host/run-wasi.mjs --core CORE {}",
        module_path.display()
    );
    let run = NodeCommand::new(&module_path).run();
    print!("{}", run.stdout);
    for line in run.stderr.lines() {
        println!("  {line}");
    }
    if !run.trapped() {
        eprintln!("error: the example did not trap ({})", run.command);
        return ExitCode::FAILURE;
    }

    let memory = run.core.unwrap_or_default();
    let dump_bytes = match CoreDump::parse(&memory) {
        Ok(_) => memory,
        Err(err) => {
            let path = wasmtime_dump(Fixture::MyThing);
            println!();
            println!(
                "memory.buffer ({} bytes) is not a core dump yet: {err}",
                memory.len()
            );
            println!("(the rewriter that makes it one is issue #3); frames of Wasmtime's dump");
            println!("of the same crash, {}:", path.display());
            match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(err) => {
                    eprintln!("error: {}: {err}", path.display());
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let dump = match CoreDump::parse(&dump_bytes) {
        Ok(dump) => dump,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let module = std::fs::read(&module_path).unwrap_or_default();
    let names = function_names(&module);
    for thread in dump.threads() {
        println!("thread {:?}:", thread.name);
        for (level, frame) in thread.frames.iter().enumerate() {
            let name = names.get(&frame.func).map_or("??", String::as_str);
            println!(
                "#{level:<3} func[{}] +{:#x} in {name}",
                frame.func, frame.code_offset
            );
        }
    }
    ExitCode::SUCCESS
}
