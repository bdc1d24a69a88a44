//! Any bytes: parsing never panics, and a parsed dump reads back everywhere
//! its memories say they have bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_coredump_fuzz as _;

fuzz_target!(|data: &[u8]| {
    if let Ok(dump) = coredump::CoreDump::parse(data) {
        for (index, memory) in dump.memories().iter().enumerate() {
            let size = memory.ty.size().min(1 << 20);
            let _ = dump.read(index as u32, 0, size);
        }
        let _ = dump.original_code_offsets();
        let _ = dump.runtime_info();
        let _ = dump.trap();
        let _ = dump.unavailable_memory();
        let _ = coredump::CoreDump::parse(&dump.encode()).expect("an encoded dump parses");
    }
});
