//! The DWARF of a rewritten module describes the rewritten code: every line
//! table row and every call site resolves to the same source (and the same
//! inlined functions) at its new address as it did in the input, and the
//! output passes `llvm-dwarfdump --verify` whenever the input does. The
//! synthetic cases pin down base addresses, base address selection entries,
//! tombstones and DWARF 5 lists, which the fixtures do not all have; the
//! broken ones, ranges that run past the code, as Binaryen writes them.

#[path = "dwarf/broken.rs"]
mod broken;
#[path = "common/broken_dwarf.rs"]
mod broken_dwarf;
#[path = "dwarf/synthetic.rs"]
mod synthetic;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use gimli::{EndianSlice, LittleEndian};
use wasm_coredump_tests::{Fixture, Profile, fixture, realworld};

type Slice<'a> = EndianSlice<'a, LittleEndian>;

/// The data of the `.debug_*` custom sections of a module, by name.
pub fn debug_sections(module: &[u8]) -> HashMap<String, &[u8]> {
    let mut sections = HashMap::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let Ok(wasmparser::Payload::CustomSection(reader)) = payload
            && reader.name().starts_with(".debug_")
        {
            sections.insert(reader.name().to_string(), reader.data());
        }
    }
    sections
}

/// The module's DWARF, read with gimli.
pub fn load(module: &[u8]) -> gimli::Dwarf<Slice<'_>> {
    let sections = debug_sections(module);
    gimli::Dwarf::load(|id| {
        let data = sections.get(id.name()).copied().unwrap_or_default();
        Ok::<_, gimli::Error>(EndianSlice::new(data, LittleEndian))
    })
    .unwrap()
}

/// The address of every row of every line program (end of sequence rows
/// excluded).
pub fn row_addresses(dwarf: &gimli::Dwarf<Slice<'_>>) -> Vec<u64> {
    let mut addresses = Vec::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next().unwrap() {
        let unit = dwarf.unit(header).unwrap();
        let Some(program) = unit.line_program.clone() else {
            continue;
        };
        let mut rows = program.rows();
        while let Some((_, row)) = rows.next_row().unwrap() {
            if !row.end_sequence() {
                addresses.push(row.address());
            }
        }
    }
    addresses
}

/// The DWARF address of every call instruction of the module.
fn call_addresses(module: &[u8]) -> Vec<u64> {
    let mut code_start = 0;
    let mut addresses = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        match payload.unwrap() {
            wasmparser::Payload::CodeSectionStart {
                unchecked_range, ..
            } => code_start = unchecked_range.start,
            wasmparser::Payload::CodeSectionEntry(body) => {
                let mut ops = body.get_operators_reader().unwrap();
                while !ops.eof() {
                    let (op, offset) = ops.read_with_offset().unwrap();
                    if matches!(
                        op,
                        wasmparser::Operator::Call { .. }
                            | wasmparser::Operator::CallIndirect { .. }
                            | wasmparser::Operator::CallRef { .. }
                    ) {
                        addresses.push(offset - code_start);
                    }
                }
            }
            _ => {}
        }
    }
    addresses
}

/// The rows (address, line, end of sequence) of each unit's line program.
fn rows(dwarf: &gimli::Dwarf<Slice<'_>>) -> Vec<Vec<(u64, u64, bool)>> {
    let mut all = Vec::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next().unwrap() {
        let unit = dwarf.unit(header).unwrap();
        let mut rows_of_unit = Vec::new();
        if let Some(program) = unit.line_program.clone() {
            let mut rows = program.rows();
            while let Some((_, row)) = rows.next_row().unwrap() {
                let line = row.line().map_or(0, |l| l.get());
                rows_of_unit.push((row.address(), line, row.end_sequence()));
            }
        }
        all.push(rows_of_unit);
    }
    all
}

/// Every row of the output's line programs is the input's, its address
/// mapped, except in sequences that start outside code (set at 0 or at a
/// tombstone), which are kept as they are, and in sequences that start in
/// code but leave it, which have no image: tombstoned, so gimli skips them.
pub fn line_rows_mapped(
    name: &str,
    input: &gimli::Dwarf<Slice<'_>>,
    output: &gimli::Dwarf<Slice<'_>>,
    map: &rewriter::AddressMap,
) {
    let (before, after) = (rows(input), rows(output));
    assert_eq!(before.len(), after.len(), "{name}: units");
    for (unit, (before, after)) in before.iter().zip(&after).enumerate() {
        let mut expected = Vec::new();
        for sequence in before.split_inclusive(|&(_, _, end)| end) {
            if map.map(sequence[0].0).is_none() {
                expected.extend_from_slice(sequence);
                continue;
            }
            let mapped: Option<Vec<_>> = sequence
                .iter()
                .map(|&(address, line, end)| Some((map.map(address)?, line, end)))
                .collect();
            expected.extend(mapped.unwrap_or_default());
        }
        assert_eq!(after, &expected, "{name}: rows of unit {unit}");
    }
}

/// The address ranges of every DIE (`low_pc`/`high_pc` or `ranges`), empty
/// ones left out as addr2line leaves them out.
fn die_ranges(dwarf: &gimli::Dwarf<Slice<'_>>) -> Vec<Vec<(u64, u64)>> {
    let mut all = Vec::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next().unwrap() {
        let unit = dwarf.unit(header).unwrap();
        let mut entries = unit.entries();
        while let Some(entry) = entries.next_dfs().unwrap() {
            let mut ranges = dwarf.die_ranges(&unit, entry).unwrap();
            let mut list = Vec::new();
            while let Some(r) = ranges.next().unwrap() {
                if r.begin < r.end {
                    list.push((r.begin, r.end));
                }
            }
            all.push(list);
        }
    }
    all
}

/// Every DIE's ranges in the output are the input's, mapped (ranges that
/// start outside code are kept, ranges that start in code but end outside
/// it are tombstoned). Returns how many ranges were mapped.
pub fn assert_ranges_mapped(
    name: &str,
    input: &gimli::Dwarf<Slice<'_>>,
    output: &gimli::Dwarf<Slice<'_>>,
    map: &rewriter::AddressMap,
) -> usize {
    let (before, after) = (die_ranges(input), die_ranges(output));
    assert_eq!(before.len(), after.len(), "{name}: DIEs");
    let mut mapped = 0;
    for (die, (before, after)) in before.iter().zip(&after).enumerate() {
        let expected: Vec<_> = before
            .iter()
            .filter_map(|&(begin, end)| match (map.map(begin), map.map(end)) {
                (Some(b), Some(e)) => {
                    mapped += 1;
                    Some((b, e))
                }
                (Some(_), None) => None,
                _ => Some((begin, end)),
            })
            .collect();
        assert_eq!(after, &expected, "{name}: ranges of DIE #{die}");
    }
    mapped
}

type Place = Option<(String, u32, u32)>;

/// file, line and column of `address`.
pub fn location(cx: &addr2line::Context<Slice<'_>>, address: u64) -> Place {
    let location = cx.find_location(address).unwrap()?;
    Some((
        location.file?.to_string(),
        location.line.unwrap_or(0),
        location.column.unwrap_or(0),
    ))
}

/// The frames of `address`, innermost first: function name and place.
fn frames(cx: &addr2line::Context<Slice<'_>>, address: u64) -> Vec<(Option<String>, Place)> {
    let mut frames = cx.find_frames(address).skip_all_loads().unwrap();
    let mut out = Vec::new();
    while let Some(frame) = frames.next().unwrap() {
        let name = frame
            .function
            .as_ref()
            .map(|f| f.raw_name().unwrap().into_owned());
        let place = frame.location.and_then(|l| {
            Some((
                l.file?.to_string(),
                l.line.unwrap_or(0),
                l.column.unwrap_or(0),
            ))
        });
        out.push((name, place));
    }
    out
}

fn rewrite(input: &[u8]) -> rewriter::Output {
    rewriter::rewrite(input, &rewriter::Options::default()).unwrap()
}

/// Every fixture in both profiles, and the real-world benchmark module
/// (SQLite's and zstd's C DWARF from clang beside Rust's), with a name for
/// messages.
fn fixtures() -> Vec<(String, PathBuf)> {
    let mut all = Vec::new();
    for profile in Profile::ALL {
        for kind in Fixture::ALL {
            all.push((format!("{kind} {profile}"), fixture(kind, profile)));
        }
        all.push((format!("realworld {profile}"), realworld(profile)));
    }
    all
}

/// Runs `check` on every fixture, a thread each (the big ones take a while).
fn for_each_fixture(check: fn(&str, &[u8])) {
    std::thread::scope(|scope| {
        let handles: Vec<_> = fixtures()
            .into_iter()
            .map(|(name, path)| scope.spawn(move || check(&name, &std::fs::read(&path).unwrap())))
            .collect();
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}

/// Every line row of `input` in code resolves to the same file, line and
/// column at its new address in `out`.
pub fn rows_keep_their_source_locations(name: &str, input: &[u8], out: &rewriter::Output) {
    let (dwarf_in, dwarf_out) = (load(input), load(&out.module));
    let rows = row_addresses(&dwarf_in);
    let cx_in = addr2line::Context::from_dwarf(dwarf_in).unwrap();
    let cx_out = addr2line::Context::from_dwarf(dwarf_out).unwrap();
    let mut compared = 0;
    for address in rows {
        let Some(new) = out.address_map.map(address) else {
            continue; // dead code: a tombstoned sequence
        };
        assert_eq!(
            location(&cx_out, new),
            location(&cx_in, address),
            "{name}: row at {address:#x} (now {new:#x})"
        );
        compared += 1;
    }
    assert!(compared > 100, "{name}: only {compared} rows compared");
}

/// Every call instruction of `input` has the same frames (functions,
/// inlined ones, places) at its new address in `out`.
pub fn call_sites_keep_their_frames(name: &str, input: &[u8], out: &rewriter::Output) {
    let cx_in = addr2line::Context::from_dwarf(load(input)).unwrap();
    let cx_out = addr2line::Context::from_dwarf(load(&out.module)).unwrap();
    let calls = call_addresses(input);
    assert!(calls.len() > 100, "{name}: only {} calls", calls.len());
    for address in calls {
        let new = out.address_map.map(address).unwrap();
        assert_eq!(
            frames(&cx_out, new),
            frames(&cx_in, address),
            "{name}: call at {address:#x} (now {new:#x})"
        );
    }
}

#[test]
fn every_line_row_keeps_its_source_location() {
    for_each_fixture(|name, input| rows_keep_their_source_locations(name, input, &rewrite(input)));
}

#[test]
fn every_line_program_and_die_range_is_mapped() {
    for_each_fixture(|name, input| {
        let out = rewrite(input);
        let (dwarf_in, dwarf_out) = (load(input), load(&out.module));
        line_rows_mapped(name, &dwarf_in, &dwarf_out, &out.address_map);
        let mapped = assert_ranges_mapped(name, &dwarf_in, &dwarf_out, &out.address_map);
        assert!(mapped > 100, "{name}: only {mapped} ranges mapped");
        assert_eq!(out.stats.dwarf_ranges_tombstoned, 0, "{name}: sound DWARF");
    });
}

#[test]
fn every_call_site_keeps_its_frames() {
    for_each_fixture(|name, input| call_sites_keep_their_frames(name, input, &rewrite(input)));
}

/// `llvm-dwarfdump --verify` of a module file: the number of errors it
/// reports (0 when it says "No errors.").
fn verify_errors(path: &Path) -> usize {
    let output = Command::new("llvm-dwarfdump")
        .arg("--verify")
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run llvm-dwarfdump ({e}): install the Debian package `llvm`")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.success() && stdout.contains("No errors.") {
        return 0;
    }
    let errors = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("error:"))
        .count();
    errors.max(1)
}

/// `llvm-dwarfdump --verify` of `input` and of its rewrite `output`, written
/// to the scratch files `dwarf-in-NAME.wasm` and `dwarf-out-NAME.wasm`: the
/// number of errors reported on each.
pub fn verify_both(name: &str, input: &[u8], output: &[u8]) -> (usize, usize) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let file = name.replace(' ', "-");
    let (path_in, path_out) = (
        dir.join(format!("dwarf-in-{file}.wasm")),
        dir.join(format!("dwarf-out-{file}.wasm")),
    );
    std::fs::write(&path_in, input).unwrap();
    std::fs::write(&path_out, output).unwrap();
    (verify_errors(&path_in), verify_errors(&path_out))
}

/// The output passes `llvm-dwarfdump --verify` when the input does; when
/// the input itself fails, the output must not report more errors.
#[test]
fn llvm_dwarfdump_verifies_the_output() {
    for_each_fixture(|name, input| {
        let out = rewrite(input);
        let (before, after) = verify_both(name, input, &out.module);
        assert!(
            after <= before,
            "{name}: llvm-dwarfdump --verify reports {after} error(s) on the output, {before} on the input"
        );
    });
}
