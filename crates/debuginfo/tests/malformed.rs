//! Arrays described by DWARF made with `gimli::write`: sizes that do not fit in 64 bits are
//! unknown, and values of such types are errors, never a panic (an overflow in the size
//! arithmetic was one in debug builds); a value its location describes only in part shows the
//! rest as `<optimized out>`, never as a made-up value.

use std::borrow::Cow;

use debuginfo::gimli::{self, LittleEndian};
use debuginfo::{DebugInfo, FormatOptions, FrameState, Module, WasmValue};
use gimli::write::{AttributeValue, Dwarf, EndianVec, Sections, Unit};

/// No frame: the values formatted here are their bytes alone.
struct NoState;

impl FrameState for NoState {
    fn local(&self, _: u32) -> Option<WasmValue> {
        None
    }
    fn global(&self, _: u32) -> Option<WasmValue> {
        None
    }
    fn stack(&self, _: u32) -> Option<WasmValue> {
        None
    }
    fn read_memory(&self, address: u64, len: u64) -> debuginfo::Result<Cow<'_, [u8]>> {
        Err(debuginfo::Error::Memory {
            address,
            len,
            message: "no memory".into(),
        })
    }
}

/// A module whose DWARF declares one global of an array of bytes per entry of `dimensions`, each
/// a list of subranges: `(count, upper_bound)`.
fn module_with_arrays(dimensions: &[&[(Option<u64>, Option<u64>)]]) -> Vec<u8> {
    let encoding = gimli::Encoding {
        format: gimli::Format::Dwarf32,
        version: 4,
        address_size: 4,
    };
    let mut dwarf = Dwarf::new();
    let unit = dwarf
        .units
        .add(Unit::new(encoding, gimli::write::LineProgram::none()));
    let unit = dwarf.units.get_mut(unit);
    let root = unit.root();
    let byte = unit.add(root, gimli::DW_TAG_base_type);
    let entry = unit.get_mut(byte);
    entry.set(gimli::DW_AT_name, AttributeValue::String(b"u8".to_vec()));
    entry.set(gimli::DW_AT_byte_size, AttributeValue::Udata(1));
    entry.set(
        gimli::DW_AT_encoding,
        AttributeValue::Encoding(gimli::DW_ATE_unsigned),
    );
    for (i, subranges) in dimensions.iter().enumerate() {
        let array = unit.add(root, gimli::DW_TAG_array_type);
        unit.get_mut(array)
            .set(gimli::DW_AT_type, AttributeValue::UnitRef(byte));
        for &(count, upper) in *subranges {
            let subrange = unit.add(array, gimli::DW_TAG_subrange_type);
            let entry = unit.get_mut(subrange);
            if let Some(count) = count {
                entry.set(gimli::DW_AT_count, AttributeValue::Udata(count));
            }
            if let Some(upper) = upper {
                entry.set(gimli::DW_AT_upper_bound, AttributeValue::Udata(upper));
            }
        }
        let variable = unit.add(root, gimli::DW_TAG_variable);
        let entry = unit.get_mut(variable);
        entry.set(
            gimli::DW_AT_name,
            AttributeValue::String(format!("A{i}").into_bytes()),
        );
        entry.set(gimli::DW_AT_type, AttributeValue::UnitRef(array));
    }
    let mut module = wat::parse_str("(module (memory 1) (func))").unwrap();
    let mut sections = Sections::new(EndianVec::new(LittleEndian));
    dwarf.write(&mut sections).unwrap();
    sections
        .for_each(|id, data| {
            if !data.slice().is_empty() {
                let mut section = wasm_encoder::Module::new();
                section.section(&wasm_encoder::CustomSection {
                    name: id.name().into(),
                    data: data.slice().into(),
                });
                module.extend_from_slice(&section.finish()[8..]);
            }
            Ok::<_, gimli::Error>(())
        })
        .unwrap();
    module
}

#[test]
fn array_sizes_past_64_bits_are_unknown_and_their_values_errors() {
    let huge = 1u64 << 40;
    let module = module_with_arrays(&[
        // 2^40 * 2^40 bytes.
        &[(Some(huge), None), (Some(huge), None)],
        // An upper bound of 2^64-1: 2^64 elements.
        &[(None, Some(u64::MAX))],
        // 2^40 rows of 2^40 * 2^40 bytes, the inner size overflowing alone.
        &[(Some(2), None), (Some(huge), None), (Some(huge), None)],
    ]);
    let info = DebugInfo::new(Module::parse(module).unwrap()).unwrap();
    let globals = info.global_variables().unwrap();
    assert_eq!(globals.len(), 3);
    for global in globals {
        let ty = global.ty.unwrap();
        assert_eq!(info.type_size(ty).unwrap(), None, "{}", global.name);
        let formatted = info.format_value(ty, &[0; 16], &NoState, FormatOptions::default());
        if global.name == "A1" {
            // A bound past 64 bits is no bound: an array of unknown length, as `char x[]`.
            assert_eq!(formatted.unwrap(), "{}");
        } else {
            let err = formatted.expect_err(&global.name).to_string();
            assert!(err.contains("outside the value"), "{}: {err}", global.name);
        }
    }
}

/// `[u8; 8]` whose location (`DW_OP_piece 4` and nothing after) describes the first 4 bytes: the
/// others print as gdb prints what no location describes.
#[test]
fn bytes_no_location_describes_are_optimized_out() {
    let module = module_with_arrays(&[&[(Some(8), None)]]);
    let info = DebugInfo::new(Module::parse(module).unwrap()).unwrap();
    let ty = info.global_variables().unwrap()[0].ty.unwrap();
    let bytes = [3, 0, 0, 10, 0, 0, 0, 0];
    let described = [true, true, true, true, false, false, false, false];
    let shown = info
        .format_described_value(
            ty,
            &bytes,
            Some(&described),
            &NoState,
            FormatOptions::default(),
        )
        .unwrap();
    let out = "<optimized out>";
    assert_eq!(
        shown,
        format!("{{3, 0, 0, 10, {out}, {out}, {out}, {out}}}")
    );
    let nothing = [false; 8];
    let shown = info
        .format_described_value(
            ty,
            &bytes,
            Some(&nothing),
            &NoState,
            FormatOptions::default(),
        )
        .unwrap();
    assert_eq!(shown, out);
}
