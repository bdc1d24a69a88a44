//! Small modules with hand-made DWARF: the cases the fixtures may not have.
//! DWARF 4 is written byte by byte (base address selection entries,
//! tombstones, a unit based at 0, a sequence set at 0); DWARF 5 with
//! `gimli::write` (`DW_RLE_*`/`DW_LLE_*` entries, a ULEB `DW_AT_high_pc`).
//! And what the DWARF decides of a dump: which loop values a frame leaves
//! out.

use gimli::write::{self, Address, EndianVec, LineProgram, LineString};
use gimli::{Encoding, Format, LittleEndian};

use super::{assert_ranges_mapped, debug_sections, line_rows_mapped, load, location, rewrite};

/// A module with a trap point (`$leaf`), a call site (`$mid`) and an entry.
pub(crate) const WAT: &str = r#"
    (module
      (memory (export "memory") 1)
      (func $leaf (param i32) (result i32) local.get 0 i32.const 0 i32.div_u)
      (func $mid (param i32) (result i32) local.get 0 call $leaf i32.const 1 i32.add)
      (func (export "run") (result i32) i32.const 7 call $mid))
"#;

/// A function body's DWARF addresses: start, end, and each operator's.
pub(crate) struct Body {
    pub start: u64,
    pub end: u64,
    pub ops: Vec<u64>,
}

/// The bodies of `module`'s functions, in order.
pub(crate) fn bodies(module: &[u8]) -> Vec<Body> {
    let mut code_start = 0;
    let mut bodies = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        match payload.unwrap() {
            wasmparser::Payload::CodeSectionStart {
                unchecked_range, ..
            } => {
                code_start = unchecked_range.start;
            }
            wasmparser::Payload::CodeSectionEntry(body) => {
                let range = body.range();
                let mut ops = body.get_operators_reader().unwrap();
                let mut offsets = Vec::new();
                while !ops.eof() {
                    offsets.push(ops.read_with_offset().unwrap().1 - code_start);
                }
                bodies.push(Body {
                    start: range.start - code_start,
                    end: range.end - code_start,
                    ops: offsets,
                });
            }
            _ => {}
        }
    }
    bodies
}

/// Appends the custom section `name` holding `data` to `module`.
pub(crate) fn append_custom(module: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut payload = Vec::new();
    leb(&mut payload, name.len() as u64);
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    module.push(0);
    leb(module, payload.len() as u64);
    module.extend_from_slice(&payload);
}

/// Appends the sections of `dwarf` to `module` (the empty ones left out).
pub(crate) fn append_dwarf(module: &mut Vec<u8>, dwarf: &mut write::Dwarf) {
    let mut sections = write::Sections::new(EndianVec::new(LittleEndian));
    dwarf.write(&mut sections).unwrap();
    sections
        .for_each(|id, data| {
            if !data.slice().is_empty() {
                append_custom(module, id.name(), data.slice());
            }
            Ok::<_, gimli::Error>(())
        })
        .unwrap();
}

fn leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Little-endian byte writer for hand-made sections.
#[derive(Default)]
struct Bytes(Vec<u8>);

impl Bytes {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&(v as u32).to_le_bytes());
        self
    }
    fn pair(&mut self, a: u64, b: u64) -> &mut Self {
        self.u32(a).u32(b)
    }
    fn uleb(&mut self, v: u64) -> &mut Self {
        leb(&mut self.0, v);
        self
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.0.extend_from_slice(s.as_bytes());
        self.u8(0)
    }
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    /// Writes the 4-byte length of what follows `at` (and its 4 bytes).
    fn patch_length(&mut self, at: usize) {
        let length = (self.0.len() - at - 4) as u32;
        self.0[at..at + 4].copy_from_slice(&length.to_le_bytes());
    }
    /// DW_LNE_set_address.
    fn set_address(&mut self, a: u64) -> &mut Self {
        self.u8(0).u8(5).u8(2).u32(a)
    }
    fn end_sequence(&mut self) -> &mut Self {
        self.u8(0).u8(1).u8(1)
    }
    fn advance_pc(&mut self, d: u64) -> &mut Self {
        self.u8(2).uleb(d)
    }
    fn special(&mut self, address_advance: u64, line_advance: i64) -> &mut Self {
        // line_base -5, line_range 14, opcode_base 13
        self.u8(((line_advance + 5) as u64 + 14 * address_advance + 13) as u8)
    }
}

const TOMB: u64 = 0xffff_ffff;
const TOMB_RANGES: u64 = 0xffff_fffe;

/// A DWARF 4 line program header (one file), followed by `program`.
fn line_program(out: &mut Bytes, program: &Bytes) {
    let start = out.0.len();
    out.u32(0).u16(4);
    let header = out.0.len();
    out.u32(0).u8(1).u8(1).u8(1).u8(0xfb).u8(14).u8(13);
    for len in [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1] {
        out.u8(len);
    }
    out.str("dir")
        .u8(0)
        .str("a.rs")
        .uleb(1)
        .uleb(0)
        .uleb(0)
        .u8(0);
    out.patch_length(header);
    out.0.extend_from_slice(&program.0);
    out.patch_length(start);
}

#[test]
fn dwarf4_base_addresses_and_tombstones() {
    let mut module = wat::parse_str(WAT).unwrap();
    let b = bodies(&module);
    let (leaf, mid, run) = (&b[0], &b[1], &b[2]);
    let base = mid.start; // unit A's base: not 0

    let mut abbrev = Bytes::default();
    abbrev.uleb(1).uleb(0x11).u8(1); // compile_unit
    abbrev
        .uleb(0x10)
        .uleb(0x17)
        .uleb(0x11)
        .uleb(0x01)
        .uleb(0x55)
        .uleb(0x17)
        .u8(0)
        .u8(0);
    abbrev.uleb(2).uleb(0x2e).u8(1); // subprogram
    abbrev
        .uleb(0x03)
        .uleb(0x08)
        .uleb(0x11)
        .uleb(0x01)
        .uleb(0x12)
        .uleb(0x06)
        .u8(0)
        .u8(0);
    abbrev.uleb(3).uleb(0x0b).u8(0); // lexical_block
    abbrev.uleb(0x55).uleb(0x17).u8(0).u8(0);
    abbrev.uleb(4).uleb(0x34).u8(0); // variable
    abbrev
        .uleb(0x03)
        .uleb(0x08)
        .uleb(0x02)
        .uleb(0x17)
        .u8(0)
        .u8(0);
    abbrev.uleb(5).uleb(0x2e).u8(0); // subprogram, no children
    abbrev
        .uleb(0x03)
        .uleb(0x08)
        .uleb(0x11)
        .uleb(0x01)
        .uleb(0x12)
        .uleb(0x06)
        .u8(0)
        .u8(0);
    abbrev.u8(0);

    let mut ranges = Bytes::default();
    let ra = ranges.len();
    ranges
        .pair(0, mid.end - base)
        .pair(TOMB_RANGES, TOMB_RANGES);
    ranges
        .pair(TOMB, run.start)
        .pair(0, run.end - run.start)
        .pair(0, 0);
    let rb = ranges.len();
    ranges.pair(mid.ops[1] - base, mid.end - base).pair(0, 0);
    let rc = ranges.len();
    ranges
        .pair(leaf.start, leaf.end)
        .pair(0, 5)
        .pair(TOMB_RANGES, TOMB_RANGES)
        .pair(0, 0);

    let mut loc = Bytes::default();
    loc.pair(mid.ops[0] - base, mid.ops[2] - base)
        .u16(1)
        .u8(0x31);
    loc.pair(TOMB, leaf.start);
    loc.pair(leaf.ops[1] - leaf.start, leaf.end - leaf.start)
        .u16(1)
        .u8(0x31);
    loc.pair(TOMB_RANGES, TOMB_RANGES)
        .u16(1)
        .u8(0x31)
        .pair(0, 0);

    let mut line = Bytes::default();
    let mut p = Bytes::default();
    let m = &mid.ops;
    p.set_address(mid.start)
        .u8(3)
        .uleb(9)
        .advance_pc(m[0] - mid.start)
        .u8(1);
    p.special(m[1] - m[0], 1);
    p.u8(9).u16((m[2] - m[1]) as u16).u8(3).uleb(1).u8(1);
    p.special(m[3] - m[2], 1)
        .advance_pc(mid.end - m[3])
        .end_sequence();
    p.set_address(TOMB)
        .u8(3)
        .uleb(90)
        .u8(1)
        .advance_pc(3)
        .u8(1)
        .advance_pc(2)
        .end_sequence();
    p.set_address(run.start)
        .u8(3)
        .uleb(19)
        .u8(1)
        .advance_pc(run.ops[1] - run.start);
    p.u8(1).advance_pc(run.end - run.ops[1]).end_sequence();
    line_program(&mut line, &p);
    let pb = line.len();
    let mut p = Bytes::default();
    p.set_address(0).u8(1).advance_pc(4).end_sequence();
    p.set_address(leaf.start).u8(3).uleb(29).u8(1);
    for w in leaf.ops.windows(2) {
        p.special(w[1] - w[0], 1);
    }
    p.advance_pc(leaf.end - leaf.ops[leaf.ops.len() - 1])
        .end_sequence();
    line_program(&mut line, &p);

    let mut info = Bytes::default();
    info.u32(0).u16(4).u32(0).u8(4);
    info.uleb(1).u32(0).u32(base).u32(ra);
    info.uleb(2)
        .str("mid")
        .u32(mid.start)
        .u32(mid.end - mid.start);
    info.uleb(3).u32(rb);
    info.uleb(4).str("x").u32(0).u8(0);
    info.uleb(5).str("dead").u32(TOMB).u32(0x10).u8(0);
    info.patch_length(0);
    let unit_b = info.0.len();
    info.u32(0).u16(4).u32(0).u8(4);
    info.uleb(1).u32(pb).u32(0).u32(rc);
    info.uleb(2)
        .str("leaf")
        .u32(leaf.start)
        .u32(leaf.end - leaf.start)
        .u8(0);
    info.u8(0);
    info.patch_length(unit_b);

    for (name, data) in [
        (".debug_abbrev", &abbrev),
        (".debug_info", &info),
        (".debug_ranges", &ranges),
        (".debug_loc", &loc),
        (".debug_line", &line),
    ] {
        append_custom(&mut module, name, &data.0);
    }
    let out = rewrite(&module);
    let map = |a: u64| out.address_map.map(a).unwrap();
    let sections = debug_sections(&out.module);

    let words = |data: &[u8], at: u64, n: usize| -> Vec<u64> {
        (0..n)
            .map(|i| {
                let p = at as usize + 4 * i;
                u64::from(u32::from_le_bytes(data[p..p + 4].try_into().unwrap()))
            })
            .collect()
    };
    let new_base = map(base);
    let r = sections[".debug_ranges"];
    assert_eq!(r.len(), ranges.0.len());
    #[rustfmt::skip]
    assert_eq!(words(r, ra, 10), [
        0, map(mid.end) - new_base,
        TOMB_RANGES, TOMB_RANGES,
        TOMB, map(run.start),
        0, map(run.end) - map(run.start),
        0, 0,
    ], "relative to the unit base, then to the selected base; tombstones kept");
    assert_eq!(
        words(r, rb, 2),
        [map(mid.ops[1]) - new_base, map(mid.end) - new_base]
    );
    #[rustfmt::skip]
    assert_eq!(words(r, rc, 6), [
        map(leaf.start), map(leaf.end),
        0, 5, // starts at 0: not code, kept
        TOMB_RANGES, TOMB_RANGES,
    ], "a unit based at 0");

    let l = sections[".debug_loc"];
    assert_eq!(words(l, 0, 2), [map(m[0]) - new_base, map(m[2]) - new_base]);
    assert_eq!(words(l, 11, 2), [TOMB, map(leaf.start)]);
    assert_eq!(
        words(l, 19, 2),
        [
            map(leaf.ops[1]) - map(leaf.start),
            map(leaf.end) - map(leaf.start)
        ]
    );
    assert_eq!(words(l, 30, 2), [TOMB_RANGES, TOMB_RANGES]);

    // low_pc / high_pc: mapped, or kept for the dead function.
    let i = sections[".debug_info"];
    let die = |name: &str| {
        let at = i
            .windows(name.len() + 1)
            .position(|w| w == format!("{name}\0").as_bytes());
        words(i, (at.unwrap() + name.len() + 1) as u64, 2)
    };
    assert_eq!(die("mid"), [map(mid.start), map(mid.end) - map(mid.start)]);
    assert_eq!(
        die("leaf"),
        [map(leaf.start), map(leaf.end) - map(leaf.start)]
    );
    assert_eq!(die("dead"), [TOMB, 0x10]);
    assert_eq!(
        words(i, 4 + 2 + 4 + 1 + 1 + 4, 1),
        [new_base],
        "unit A's low_pc"
    );

    line_rows_mapped(
        "dwarf 4",
        &load(&module),
        &load(&out.module),
        &out.address_map,
    );
    let cx_in = addr2line::Context::from_dwarf(load(&module)).unwrap();
    let cx_out = addr2line::Context::from_dwarf(load(&out.module)).unwrap();
    for body in [leaf, mid, run] {
        for &op in &body.ops {
            assert_eq!(
                location(&cx_out, map(op)),
                location(&cx_in, op),
                "at {op:#x}"
            );
        }
    }
    assert!(location(&cx_in, m[1]).is_some());
}

#[test]
fn dwarf5_lists_and_uleb_high_pc() {
    let mut module = wat::parse_str(WAT).unwrap();
    let b = bodies(&module);
    let (leaf, mid, run) = (&b[0], &b[1], &b[2]);
    let encoding = Encoding {
        format: Format::Dwarf32,
        version: 5,
        address_size: 4,
    };
    let mut program = LineProgram::new(
        encoding,
        gimli::LineEncoding::default(),
        LineString::String(b"dir".to_vec()),
        None,
        LineString::String(b"a.rs".to_vec()),
        None,
    );
    let file = program.add_file(
        LineString::String(b"a.rs".to_vec()),
        program.default_directory(),
        None,
    );
    for (n, body) in [leaf, mid, run].into_iter().enumerate() {
        program.begin_sequence(Some(Address::Constant(body.start)));
        for (k, &op) in body.ops.iter().enumerate() {
            let row = program.row();
            row.address_offset = op - body.start;
            row.line = 10 * (n as u64 + 1) + k as u64;
            row.file = file;
            program.generate_row();
        }
        program.end_sequence(body.end - body.start);
    }
    let mut dwarf = write::Dwarf::new();
    let id = dwarf.units.add(write::Unit::new(encoding, program));
    let unit = dwarf.units.get_mut(id);
    let ranges = unit.ranges.add(write::RangeList(vec![
        write::Range::OffsetPair {
            begin: 0,
            end: mid.end - mid.start,
        },
        write::Range::BaseAddress {
            address: Address::Constant(run.start),
        },
        write::Range::OffsetPair {
            begin: 0,
            end: run.end - run.start,
        },
        write::Range::StartLength {
            begin: Address::Constant(leaf.start),
            length: leaf.end - leaf.start,
        },
    ]));
    let expr = || {
        let mut e = write::Expression::new();
        e.op(gimli::DW_OP_lit1);
        e
    };
    let locations = unit.locations.add(write::LocationList(vec![
        write::Location::OffsetPair {
            begin: mid.ops[0] - mid.start,
            end: mid.ops[2] - mid.start,
            data: expr(),
        },
        write::Location::StartEnd {
            begin: Address::Constant(leaf.ops[1]),
            end: Address::Constant(leaf.end),
            data: expr(),
        },
        write::Location::StartLength {
            begin: Address::Constant(run.ops[1]),
            length: run.end - run.ops[1],
            data: expr(),
        },
    ]));
    let root = unit.root();
    let cu = unit.get_mut(root);
    cu.set(
        gimli::DW_AT_low_pc,
        write::AttributeValue::Address(Address::Constant(mid.start)),
    );
    cu.set(
        gimli::DW_AT_ranges,
        write::AttributeValue::RangeListRef(ranges),
    );
    let sub = unit.add(root, gimli::DW_TAG_subprogram);
    let sub_entry = unit.get_mut(sub);
    sub_entry.set(
        gimli::DW_AT_low_pc,
        write::AttributeValue::Address(Address::Constant(mid.start)),
    );
    sub_entry.set(
        gimli::DW_AT_high_pc,
        write::AttributeValue::Udata(mid.end - mid.start),
    );
    let var = unit.add(sub, gimli::DW_TAG_variable);
    unit.get_mut(var).set(
        gimli::DW_AT_location,
        write::AttributeValue::LocationListRef(locations),
    );
    append_dwarf(&mut module, &mut dwarf);
    assert!(debug_sections(&module).contains_key(".debug_rnglists"));

    let out = rewrite(&module);
    let (dwarf_in, dwarf_out) = (load(&module), load(&out.module));
    let checked = assert_ranges_mapped("dwarf 5", &dwarf_in, &dwarf_out, &out.address_map);
    assert!(checked >= 4, "{checked} ranges checked");
    line_rows_mapped("dwarf 5", &dwarf_in, &dwarf_out, &out.address_map);
    // The location list, entry by entry.
    let map = |a: u64| out.address_map.map(a).unwrap();
    let expected: Vec<_> = location_ranges(&dwarf_in)
        .into_iter()
        .map(|(s, e)| (map(s), map(e)))
        .collect();
    assert_eq!(expected.len(), 3);
    assert_eq!(location_ranges(&dwarf_out), expected);
}

/// The ranges of the location list entries of the first unit, as gimli
/// reads them (tombstones and empty entries skipped).
pub(crate) fn location_ranges(dwarf: &gimli::Dwarf<super::Slice<'_>>) -> Vec<(u64, u64)> {
    let unit = dwarf.unit(dwarf.units().next().unwrap().unwrap()).unwrap();
    let mut entries = unit.entries();
    let mut found = Vec::new();
    while let Some(entry) = entries.next_dfs().unwrap() {
        if let Some(gimli::AttributeValue::LocationListsRef(offset)) =
            entry.attr_value(gimli::DW_AT_location)
        {
            let mut list = dwarf.locations(&unit, offset).unwrap();
            while let Some(e) = list.next().unwrap() {
                found.push((e.range.begin, e.range.end));
            }
        }
    }
    found
}

/// `$work` keeps loop values at a call after its loop.
const LOOP_VALUES: &str = include_str!("../loop_values.wat");

/// `module` with DWARF 4 for its function `func`: a variable in local
/// `local` over the whole function.
fn with_variable_in_local(module: &[u8], func: usize, local: u32) -> Vec<u8> {
    let body = &bodies(module)[func];
    let encoding = Encoding {
        format: Format::Dwarf32,
        version: 4,
        address_size: 4,
    };
    let mut dwarf = write::Dwarf::new();
    let id = dwarf
        .units
        .add(write::Unit::new(encoding, LineProgram::none()));
    let unit = dwarf.units.get_mut(id);
    let root = unit.root();
    let sub = unit.add(root, gimli::DW_TAG_subprogram);
    for entry in [root, sub] {
        let entry = unit.get_mut(entry);
        for (name, address) in [
            (gimli::DW_AT_low_pc, body.start),
            // (An address, so that the rewrite can patch it in place.)
            (gimli::DW_AT_high_pc, body.end),
        ] {
            entry.set(
                name,
                write::AttributeValue::Address(Address::Constant(address)),
            );
        }
    }
    let var = unit.add(sub, gimli::DW_TAG_variable);
    let mut location = write::Expression::new();
    location.op_wasm_local(local);
    location.op(gimli::DW_OP_stack_value);
    let var = unit.get_mut(var);
    var.set(
        gimli::DW_AT_name,
        write::AttributeValue::String(b"named".to_vec()),
    );
    var.set(
        gimli::DW_AT_location,
        write::AttributeValue::Exprloc(location),
    );
    let mut out = module.to_vec();
    append_dwarf(&mut out, &mut dwarf);
    out
}

/// Runs `module` (LOOP_VALUES, maybe with DWARF) rewritten with `options`
/// until it divides by zero in `$fail`, and returns the locals recorded in
/// `$work`'s frame.
fn work_locals(module: &[u8], options: &rewriter::Options, name: &str) -> Vec<coredump::Value> {
    use coredump::CoreDump;
    let out = rewriter::rewrite(module, options).unwrap();
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "loop-values-{name}-{:?}-{:?}.wasm",
        options.unwind, options.record_locals
    ));
    std::fs::write(&path, &out.module).unwrap();
    let run = wasm_coredump_tests::NodeCommand::new(&path)
        .invoke("run")
        .invoke_args(&[&LOOP_N.to_string()])
        .run();
    assert_eq!(run.trap.as_deref(), Some("divide by zero"), "{name}");
    let dump = CoreDump::parse(run.core.as_deref().expect("core")).unwrap();
    let frames = &dump.threads()[0].frames;
    let funcs: Vec<u32> = frames.iter().map(|f| f.func).collect();
    assert_eq!(funcs, [0, 1, 2], "{name}");
    frames[1].locals.clone()
}

/// The `$n` LOOP_VALUES runs with.
const LOOP_N: i32 = 4;

/// `$work`'s locals at the call of `$fail`, as the program computes them:
/// `$n, $i, $named, $unnamed, $sum, $c5..$c11`.
fn work_values() -> [coredump::Value; 12] {
    let n = LOOP_N;
    let sum: i32 = (0..n).map(|i| i * 3 + i + 100).sum();
    [n, n, 3 * (n - 1), n - 1 + 100, sum, 5, 6, 7, 8, 9, 10, 11].map(coredump::Value::I32)
}

#[test]
fn loop_values_no_variable_lives_in_are_missing() {
    use coredump::Value;
    use rewriter::{Options, RecordLocals, Unwind};
    let plain = wat::parse_str(LOOP_VALUES).unwrap();
    let with_dwarf = with_variable_in_local(&plain, 1, 2);
    let all = work_values();
    let mut left_out = all;
    left_out[1] = Value::Missing;
    left_out[3] = Value::Missing;
    for unwind in [Unwind::Exceptions, Unwind::Checks] {
        let cases = [
            // Without debug info nothing is known to be unused.
            ("plain", &plain, false, &all),
            ("dwarf", &with_dwarf, false, &left_out),
            ("kept", &with_dwarf, true, &all),
        ];
        for (name, module, keep_stale_locals, expected) in cases {
            let options = Options {
                unwind,
                keep_stale_locals,
                record_locals: RecordLocals::All,
                ..Options::default()
            };
            assert_eq!(
                &work_locals(module, &options, name),
                expected,
                "{unwind:?} {name}"
            );
        }
    }
}

#[test]
fn named_locals_are_recorded_where_the_dwarf_names_them_and_params_elsewhere() {
    use coredump::Value;
    use rewriter::{Options, RecordLocals, Unwind};
    let plain = wat::parse_str(LOOP_VALUES).unwrap();
    // A variable lives in local 2 ($named) over all of `$work`.
    let with_dwarf = with_variable_in_local(&plain, 1, 2);
    let values = work_values();
    let mut named = [Value::Missing; 12];
    named[2] = values[2];
    let mut params = [Value::Missing; 12];
    params[0] = values[0];
    for unwind in [Unwind::Exceptions, Unwind::Checks] {
        let cases = [
            ("dwarf", &with_dwarf, RecordLocals::Named, &named),
            // A function the DWARF does not describe records its params.
            ("plain", &plain, RecordLocals::Named, &params),
            ("dwarf", &with_dwarf, RecordLocals::Params, &params),
        ];
        for (name, module, record_locals, expected) in cases {
            let options = Options {
                unwind,
                record_locals,
                ..Options::default()
            };
            let locals = work_locals(module, &options, name);
            assert_eq!(&locals, expected, "{unwind:?} {name} {record_locals:?}");
        }
    }
}
