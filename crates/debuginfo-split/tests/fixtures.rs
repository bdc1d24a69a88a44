//! Every crash fixture, debug and release: both outputs validate, the Code
//! section's bytes and file offset are the same in the input, the stripped
//! module and the debug file, the debug file's DWARF equals the input's byte
//! for byte, and `--deterministic` is deterministic. (That an existing
//! build_id, the rewriter's, is kept is checked by tests/tests/pipeline.rs.)

use std::ops::Range;

use debuginfo_split::{NewBuildId, SplitOptions, split};
use wasm_coredump_tests::{Fixture, Profile, fixture};
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

/// (Code section payload range, DWARF sections by name and bytes).
fn layout(module: &[u8]) -> (Range<usize>, Vec<(String, Vec<u8>)>) {
    let mut code = 0..0;
    let mut dwarf = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        match payload.unwrap() {
            Payload::CodeSectionStart {
                unchecked_range, ..
            } => {
                code = unchecked_range.start as usize..unchecked_range.end as usize;
            }
            Payload::CustomSection(c) if c.name().starts_with(".debug_") => {
                dwarf.push((c.name().to_string(), c.data().to_vec()));
            }
            _ => {}
        }
    }
    (code, dwarf)
}

fn validate(bytes: &[u8], what: &str) {
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(bytes)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
}

#[test]
fn fixtures_split_byte_exact() {
    let mut deterministic = SplitOptions::default();
    deterministic.new_build_id = NewBuildId::Deterministic;
    for kind in Fixture::ALL {
        for profile in [Profile::Debug, Profile::Release] {
            let what = format!("{kind} {profile}");
            let input = std::fs::read(fixture(kind, profile)).unwrap();
            let (code, dwarf) = layout(&input);
            assert!(!dwarf.is_empty(), "{what}: the fixture has DWARF");

            let first = split(&input, &deterministic).unwrap();
            let (stripped, debug) = (first.stripped().to_vec(), first.debug().to_vec());
            validate(&stripped, &what);
            validate(&debug, &what);
            for (name, bytes) in [("stripped", &stripped), ("debug", &debug)] {
                let (their_code, their_dwarf) = layout(bytes);
                assert_eq!(their_code, code, "{what}: Code offset in the {name} module");
                assert_eq!(bytes[their_code], input[code.clone()], "{what}: Code bytes");
                if name == "debug" {
                    assert_eq!(their_dwarf, dwarf, "{what}: DWARF of the debug file");
                } else {
                    assert!(
                        their_dwarf.is_empty(),
                        "{what}: stripped module keeps no DWARF"
                    );
                }
            }

            let again = split(&input, &deterministic).unwrap();
            assert_eq!(
                again.build_id(),
                first.build_id(),
                "{what}: deterministic id"
            );
            assert_eq!(again.stripped().to_vec(), stripped, "{what}");
            assert_eq!(again.debug().to_vec(), debug, "{what}");
        }
    }
}
