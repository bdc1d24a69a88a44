//! A dump written by the older wasm-coredump-rewriter 0.2 (fixed-width
//! values), committed under tests/legacy-dumps: made by running the MyThing
//! debug fixture rewritten by that tool under host/run-wasi.mjs. It is told
//! apart from the standard format and read: frames named through the
//! fixture's name section, in the order of the source's calls.

use coredump::{CoreDump, Value};
use wasm_coredump_tests::{Fixture, Profile, fixture, function_names, workspace_root};

#[test]
fn the_older_rewriters_dump_is_recognized_and_read() {
    let bytes =
        std::fs::read(workspace_root().join("tests/legacy-dumps/mything-debug.coredump")).unwrap();
    let dump = CoreDump::parse(&bytes).unwrap();
    assert!(dump.legacy_format());
    let names = function_names(&std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap());
    let frames = &dump.threads()[0].frames;
    let named: Vec<&str> = frames.iter().map(|f| names[&f.func].as_str()).collect();
    let at = |name: &str| named.iter().position(|n| *n == name).unwrap();
    assert!(at("mything::calculate") < at("mything::process_thing"));
    assert!(at("mything::process_thing") < at("mything::main"));
    assert_eq!(named.last(), Some(&"_start"));
    // calculate(value) has its param and two locals; the values are i32s.
    let calculate = &frames[at("mything::calculate")];
    assert_eq!(calculate.locals.len(), 3);
    assert!(calculate.locals.iter().all(|v| matches!(v, Value::I32(_))));
    // The memory reads: the panic message of src/main.rs:16 is in it.
    let memory = dump.read(0, 0, dump.memories()[0].ty.size()).unwrap();
    let message = b"attempt to subtract with overflow";
    assert!(memory.windows(message.len()).any(|w| w == message));
}
