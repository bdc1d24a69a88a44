//! Any bytes: splitting never panics, and both outputs of a split parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_coredump_fuzz as _;

fuzz_target!(|data: &[u8]| {
    if let Ok(split) = debuginfo_split::split(data, &Default::default()) {
        for output in [split.stripped().to_vec(), split.debug().to_vec()] {
            for payload in wasmparser::Parser::new(0).parse_all(&output) {
                if payload.is_err() {
                    break;
                }
            }
        }
    }
});
