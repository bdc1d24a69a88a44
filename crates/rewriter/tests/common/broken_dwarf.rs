//! A real module whose DWARF `llvm-dwarfdump --verify` fails on, broken the
//! way Binaryen (Emscripten's `wasm-opt`) breaks it: where it cannot map the
//! end of a block, it writes a `DW_AT_high_pc` of the new end, 0, minus the
//! start, so that the block runs to `0x100000000`, past all the code.

use std::path::Path;

use gimli::{AttributeValue, LittleEndian, constants as dw};

/// `tests/c/assert.c` built with `-g -O1` into `path`, then every other
/// lexical block in code broken (its `DW_AT_high_pc`, a 4-byte length, made
/// to run to `0x100000000`): the module, and the offsets in `.debug_info` of
/// the broken DIEs.
pub fn assert_c_broken(path: &Path) -> (Vec<u8>, Vec<usize>) {
    let source = wasm_coredump_tests::workspace_root().join("tests/c/assert.c");
    wasm_coredump_tests::build_c(&source, path, &["-g", "-O1"]);
    let mut module = std::fs::read(path).unwrap();
    let mut code_size = 0;
    let mut sections = std::collections::HashMap::new();
    for payload in wasmparser::Parser::new(0).parse_all(&module) {
        match payload.unwrap() {
            wasmparser::Payload::CodeSectionStart { size, .. } => code_size = u64::from(size),
            wasmparser::Payload::CustomSection(reader) => {
                let start = reader.data_offset() as usize;
                let range = start..start + reader.data().len();
                sections.insert(reader.name().to_string(), range);
            }
            _ => {}
        }
    }
    let (info, abbrev) = (&sections[".debug_info"], &sections[".debug_abbrev"]);
    let original = module.clone();
    let debug_info = gimli::DebugInfo::new(&original[info.clone()], LittleEndian);
    let debug_abbrev = gimli::DebugAbbrev::new(&original[abbrev.clone()], LittleEndian);
    let mut broken = Vec::new();
    let mut blocks = 0;
    let mut units = debug_info.units();
    while let Some(header) = units.next().unwrap() {
        let abbrevs = header.abbreviations(&debug_abbrev).unwrap();
        let unit_start = header.offset().0;
        let mut entries = header.entries_raw(&abbrevs, None).unwrap();
        while !entries.is_empty() {
            let die = unit_start + entries.next_offset().0;
            let Some(abbrev) = entries.read_abbreviation().unwrap() else {
                continue;
            };
            let (mut low, mut high) = (None, None);
            for spec in abbrev.attributes() {
                let at = unit_start + entries.next_offset().0;
                let attr = entries.read_attribute(*spec).unwrap();
                match (attr.name(), attr.form(), attr.value()) {
                    (dw::DW_AT_low_pc, dw::DW_FORM_addr, AttributeValue::Addr(a)) => low = Some(a),
                    (dw::DW_AT_high_pc, dw::DW_FORM_data4, _) => high = Some(at),
                    _ => {}
                }
            }
            let (Some(low), Some(at)) = (low, high) else {
                continue;
            };
            if abbrev.tag() != dw::DW_TAG_lexical_block || !(1..code_size).contains(&low) {
                continue;
            }
            blocks += 1;
            if blocks % 2 == 1 {
                let len = ((1u64 << 32) - low) as u32;
                let pos = info.start + at;
                module[pos..pos + 4].copy_from_slice(&len.to_le_bytes());
                broken.push(die);
            }
        }
    }
    (module, broken)
}
