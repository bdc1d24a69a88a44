//! A module's layout from arbitrary bytes: the section scan, the Code section's bodies, the
//! build_id (both encodings) and Sentry's ids, `external_debug_info` and the module name. Each
//! gives a value or an error, never a panic; a layout that parses has sections in order and
//! inside the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_coredump_fuzz as _;
use wasm_layout::{BuildId, CodeLayout, ModuleLayout, SentryIds};

fuzz_target!(|data: &[u8]| {
    if let Some((id, _)) = BuildId::from_payload(data) {
        assert_eq!(BuildId::from_payload(&id.payload()).map(|(i, _)| i), Some(id.clone()));
        assert_eq!(id.to_string().parse::<BuildId>().ok(), Some(id));
    }
    let _ = SentryIds::from_payload(data);
    let Ok(layout) = ModuleLayout::parse(data) else {
        return;
    };
    let mut end = wasm_layout::HEADER_LEN;
    for section in layout.sections() {
        assert!(section.range.start >= end && section.range.end <= data.len());
        assert!(section.data.start >= section.content.start && section.data.end == section.range.end);
        end = section.range.end;
    }
    if let Ok(Some(code)) = CodeLayout::read(data, &layout) {
        for (i, body) in code.bodies().iter().enumerate() {
            let func = code.imported_functions() + i as u32;
            if let Ok(address) = code.dwarf_address(func, 0) {
                assert_eq!(code.code_location(address).map(|l| l.func), Some(func));
            }
            assert!(body.end as usize <= data.len());
        }
    }
    let _ = layout.build_id(data);
    let _ = layout.external_debug_info(data);
    let _ = layout.module_name(data);
    let _ = SentryIds::of_module(data);
});
