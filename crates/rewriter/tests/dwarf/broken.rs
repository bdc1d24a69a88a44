//! Broken DWARF in the input (issue #14): ranges that start in a function
//! body but run past the code, as Binaryen writes them, are tombstoned
//! instead of refusing the module; everything else is mapped as usual.

use std::path::PathBuf;

use gimli::write::{self, Address, LineProgram, LineString};
use gimli::{Encoding, Format};
use rewriter::{Options, Unwind};

use super::broken_dwarf::assert_c_broken;
use super::synthetic::{WAT, append_custom, append_dwarf, bodies, location_ranges};
use super::{Slice, die_ranges, line_rows_mapped, load, verify_both};

/// The `DW_AT_low_pc` and `DW_AT_high_pc` (a length) of the DIE at `offset`
/// in `.debug_info`.
fn low_high(dwarf: &gimli::Dwarf<Slice<'_>>, offset: usize) -> (u64, u64) {
    let offset = gimli::DebugInfoOffset(offset);
    let mut units = dwarf.units();
    while let Some(header) = units.next().unwrap() {
        let Some(unit_offset) = offset.to_unit_offset(&header) else {
            continue;
        };
        let entry = dwarf.unit(header).unwrap().entry(unit_offset).unwrap();
        let Some(gimli::AttributeValue::Addr(low)) = entry.attr_value(gimli::DW_AT_low_pc) else {
            panic!("no DW_AT_low_pc address at {offset:x?}");
        };
        let high = entry.attr_value(gimli::DW_AT_high_pc).unwrap();
        return (low, high.udata_value().unwrap());
    }
    panic!("no unit holds {offset:x?}")
}

/// Binaryen's blocks that run to `0x100000000` (an Emscripten build had 193
/// of them): the rewrite succeeds in every mode, the blocks are tombstoned
/// as lld tombstones dead code and counted, `llvm-dwarfdump --verify` finds
/// no more errors than in the input, every other range, row and call site
/// is mapped as usual, and the module still runs.
#[test]
fn blocks_running_past_the_code_are_tombstoned() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (input, broken) = assert_c_broken(&dir.join("assert-O1.wasm"));
    assert!(broken.len() > 20, "only {} blocks broken", broken.len());
    let modes = [
        Options::default(),
        Options {
            unwind: Unwind::Checks,
            ..Options::default()
        },
        Options {
            check_memory: true,
            ..Options::default()
        },
    ];
    for options in &modes {
        let out = rewriter::rewrite(&input, options).unwrap();
        let tombstoned = out.stats.dwarf_ranges_tombstoned as usize;
        assert_eq!(tombstoned, broken.len(), "{options:?}");
    }

    let out = super::rewrite(&input);
    let (before, after) = verify_both("broken blocks", &input, &out.module);
    assert!(
        before > 0 && after <= before,
        "llvm-dwarfdump --verify: {before} error(s) on the input, {after} on the output"
    );
    let (dwarf_in, dwarf_out) = (load(&input), load(&out.module));
    for &die in &broken {
        assert_eq!(
            low_high(&dwarf_out, die),
            (0xffff_ffff, 0),
            "the block at {die:#x}: lld's tombstone, no length"
        );
    }
    let mapped = super::assert_ranges_mapped("broken", &dwarf_in, &dwarf_out, &out.address_map);
    assert!(mapped > 100, "only {mapped} ranges mapped");
    line_rows_mapped("broken", &dwarf_in, &dwarf_out, &out.address_map);
    super::rows_keep_their_source_locations("broken", &input, &out);
    super::call_sites_keep_their_frames("broken", &input, &out);

    let path = dir.join("assert-O1-broken.rewritten.wasm");
    std::fs::write(&path, &out.module).unwrap();
    let run = wasm_coredump_tests::NodeCommand::new(&path).run();
    assert!(run.trapped(), "{}", run.stderr);
    assert!(run.stderr.contains("Assertion failed: "), "{}", run.stderr);
    coredump::CoreDump::parse(run.core.as_deref().expect("a core dump")).unwrap();
}

/// An address past the code, below the tombstones.
const PAST: u64 = 0xffff_fff0;

/// How a list entry of [`every_kind_past_the_code`] is encoded.
#[derive(Clone, Copy)]
enum Entry {
    /// Offsets from the unit's base address.
    OffsetPair,
    /// Two addresses (DWARF 5).
    StartEnd,
    /// An address and a length (DWARF 5).
    StartLength,
}

/// Every kind of range that starts in code and runs past it, in DWARF
/// `version`: a lexical block's `low_pc`/`high_pc`, entries of its range
/// list and of a location list, a line sequence, and the unit's own range.
/// The unit's range is cut at the end of the last body; the others are
/// tombstoned.
fn every_kind_past_the_code(version: u16) {
    let mut module = wat::parse_str(WAT).unwrap();
    let b = bodies(&module);
    let (leaf, mid, run) = (&b[0], &b[1], &b[2]);
    let encoding = Encoding {
        format: Format::Dwarf32,
        version,
        address_size: 4,
    };
    let mut program = LineProgram::new(
        encoding,
        gimli::LineEncoding::default(),
        LineString::String(b"dir".to_vec()),
        None,
        LineString::String(b"a.c".to_vec()),
        None,
    );
    let file = program.add_file(
        LineString::String(b"a.c".to_vec()),
        program.default_directory(),
        None,
    );
    // `leaf`'s sequence is sound, `mid`'s ends past the code.
    for (body, end) in [(leaf, leaf.end), (mid, PAST)] {
        program.begin_sequence(Some(Address::Constant(body.start)));
        for (k, &op) in body.ops.iter().enumerate() {
            let row = program.row();
            row.address_offset = op - body.start;
            row.line = 10 + k as u64;
            row.file = file;
            program.generate_row();
        }
        program.end_sequence(end - body.start);
    }
    let mut dwarf = write::Dwarf::new();
    let id = dwarf.units.add(write::Unit::new(encoding, program));
    let unit = dwarf.units.get_mut(id);

    let base = mid.start;
    let mut entries = vec![
        (Entry::OffsetPair, mid.ops[0], mid.ops[2]),
        (Entry::OffsetPair, mid.ops[1], PAST),
    ];
    if version >= 5 {
        entries.push((Entry::StartEnd, leaf.ops[0], PAST));
        entries.push((Entry::StartLength, leaf.ops[1], PAST));
    }
    let range = |&(kind, begin, end): &(Entry, u64, u64)| match kind {
        Entry::OffsetPair => write::Range::OffsetPair {
            begin: begin - base,
            end: end - base,
        },
        Entry::StartEnd => write::Range::StartEnd {
            begin: Address::Constant(begin),
            end: Address::Constant(end),
        },
        Entry::StartLength => write::Range::StartLength {
            begin: Address::Constant(begin),
            length: end - begin,
        },
    };
    let location = |entry: &(Entry, u64, u64)| {
        let mut data = write::Expression::new();
        data.op(gimli::DW_OP_lit1);
        match range(entry) {
            write::Range::OffsetPair { begin, end } => {
                write::Location::OffsetPair { begin, end, data }
            }
            write::Range::StartEnd { begin, end } => write::Location::StartEnd { begin, end, data },
            write::Range::StartLength { begin, length } => write::Location::StartLength {
                begin,
                length,
                data,
            },
            write::Range::BaseAddress { .. } => unreachable!(),
        }
    };
    let ranges = unit
        .ranges
        .add(write::RangeList(entries.iter().map(range).collect()));
    let locations = unit
        .locations
        .add(write::LocationList(entries.iter().map(location).collect()));

    let root = unit.root();
    let sub = unit.add(root, gimli::DW_TAG_subprogram);
    let block = unit.add(sub, gimli::DW_TAG_lexical_block);
    let listed = unit.add(sub, gimli::DW_TAG_lexical_block);
    let var = unit.add(listed, gimli::DW_TAG_variable);
    // Binaryen's high_pc: the new end, 0, minus the start.
    for (die, low, end) in [
        (root, base, 1 << 32),
        (sub, base, mid.end),
        (block, mid.ops[1], 1 << 32),
    ] {
        let die = unit.get_mut(die);
        die.set(
            gimli::DW_AT_low_pc,
            write::AttributeValue::Address(Address::Constant(low)),
        );
        die.set(
            gimli::DW_AT_high_pc,
            write::AttributeValue::Udata(end - low),
        );
    }
    unit.get_mut(listed).set(
        gimli::DW_AT_ranges,
        write::AttributeValue::RangeListRef(ranges),
    );
    unit.get_mut(var).set(
        gimli::DW_AT_location,
        write::AttributeValue::LocationListRef(locations),
    );
    append_dwarf(&mut module, &mut dwarf);
    // `.debug_aranges`, which gimli does not write: the unit's set, with a
    // sound tuple and one past the code.
    let tuples = [
        (base, mid.end - base),
        (mid.ops[1], PAST - mid.ops[1]),
        (0, 0),
    ];
    let mut aranges = vec![0; 4]; // unit_length, set below
    aranges.extend_from_slice(&2u16.to_le_bytes());
    aranges.extend_from_slice(&0u32.to_le_bytes()); // the unit at 0
    aranges.extend_from_slice(&[4, 0, 0, 0, 0, 0]); // address size, segments, padding
    for (address, length) in tuples {
        aranges.extend_from_slice(&(address as u32).to_le_bytes());
        aranges.extend_from_slice(&(length as u32).to_le_bytes());
    }
    let length = (aranges.len() - 4) as u32;
    aranges[..4].copy_from_slice(&length.to_le_bytes());
    append_custom(&mut module, ".debug_aranges", &aranges);

    let out = super::rewrite(&module);
    let broken_entries = entries.len() - 1;
    assert_eq!(
        out.stats.dwarf_ranges_tombstoned as usize,
        1 + 2 * broken_entries + 1 + 1,
        "DWARF {version}: the block, the list entries, the sequence, the aranges tuple"
    );
    let map = |a: u64| out.address_map.map(a).unwrap();
    let (dwarf_in, dwarf_out) = (load(&module), load(&out.module));
    let sound = (map(mid.ops[0]), map(mid.ops[2]));
    assert_eq!(
        die_ranges(&dwarf_out),
        [
            vec![(map(base), map(run.end))],
            vec![(map(base), map(mid.end))],
            vec![],
            vec![sound],
            vec![],
        ],
        "DWARF {version}: the unit, the function, the blocks, the variable"
    );
    assert_eq!(location_ranges(&dwarf_out), [sound], "DWARF {version}");
    line_rows_mapped(
        &format!("DWARF {version}"),
        &dwarf_in,
        &dwarf_out,
        &out.address_map,
    );

    // The tombstones in the lists, as lld writes them for Wasm.
    let unit = dwarf_out
        .unit(dwarf_out.units().next().unwrap().unwrap())
        .unwrap();
    let mut dies = unit.entries();
    let mut offset = None;
    while let Some(die) = dies.next_dfs().unwrap() {
        if let Some(value) = die.attr_value(gimli::DW_AT_ranges) {
            offset = dwarf_out.attr_ranges_offset(&unit, value).unwrap();
        }
    }
    let mut raw = Vec::new();
    let mut list = dwarf_out.raw_ranges(&unit, offset.unwrap()).unwrap();
    while let Some(entry) = list.next().unwrap() {
        raw.push(format!("{entry:?}"));
    }
    let (s, e) = (sound.0 - map(base), sound.1 - map(base));
    let empty = map(mid.ops[1]) - map(base);
    let expected = match version {
        5 => vec![
            format!("OffsetPair {{ begin: {s}, end: {e} }}"),
            format!("OffsetPair {{ begin: {empty}, end: {empty} }}"),
            format!("StartEnd {{ begin: {0}, end: {0} }}", 0xffff_ffffu32),
            format!("StartLength {{ begin: {}, length: 0 }}", 0xffff_ffffu32),
        ],
        _ => vec![
            format!("AddressOrOffsetPair {{ begin: {s}, end: {e} }}"),
            format!(
                "AddressOrOffsetPair {{ begin: {0}, end: {0} }}",
                0xffff_fffeu32
            ),
        ],
    };
    assert_eq!(raw, expected, "DWARF {version}");

    let aranges = super::debug_sections(&out.module)[".debug_aranges"];
    let aranges = gimli::DebugAranges::new(aranges, gimli::LittleEndian);
    let mut set = aranges.headers().next().unwrap().unwrap().entries();
    let mut tuples = Vec::new();
    while let Some(tuple) = set.next_raw().unwrap() {
        tuples.push((tuple.address(), tuple.length()));
    }
    let sound = (map(base), map(mid.end) - map(base));
    assert_eq!(tuples, [sound, (0xffff_ffff, 0)], "DWARF {version}");

    let (before, after) = verify_both(&format!("past the code {version}"), &module, &out.module);
    assert!(
        before > 0 && after <= before,
        "DWARF {version}: llvm-dwarfdump --verify: {before} error(s) on the input, {after} on the output"
    );
}

#[test]
fn dwarf4_ranges_past_the_code_are_tombstoned() {
    every_kind_past_the_code(4);
}

#[test]
fn dwarf5_ranges_past_the_code_are_tombstoned() {
    every_kind_past_the_code(5);
}
