//! Any bytes as a module: loading DWARF and symbolizing never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_coredump_fuzz as _;

fuzz_target!(|data: &[u8]| {
    let Ok(module) = debuginfo::Module::parse(data.to_vec()) else {
        return;
    };
    let Ok(info) = debuginfo::DebugInfo::new(module) else {
        return;
    };
    for func in 0..16 {
        for offset in [0, 1, 7, 100] {
            let _ = info.frames(func, offset);
        }
    }
});
