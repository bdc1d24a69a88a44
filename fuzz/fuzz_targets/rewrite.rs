//! Any bytes: the rewriter never panics, and whatever it outputs validates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_coredump_fuzz as _;

fuzz_target!(|data: &[u8]| {
    if let Ok(out) = rewriter::rewrite(data, &rewriter::Options::default()) {
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&out.module)
            .expect("the rewriter's output validates");
    }
});
