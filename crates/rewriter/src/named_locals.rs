//! Which Wasm locals the input's DWARF names where: the locals a debugger
//! can show as some variable (or use as a frame base) at a code address.
//!
//! A local that neither the program nor any variable's location uses at a
//! site holds nothing anybody will read, and the rewriter may record it as
//! missing there (see `crate::stale`). Everything unknown counts as named:
//! a module without DWARF, a function without a `DW_TAG_subprogram`, an
//! expression or a list that does not parse. Only the locals a function's
//! debug info positively leaves out are ever left out of a frame.

use std::collections::HashMap;
use std::ops::Range;

use gimli::{AttributeValue, EndianSlice, LittleEndian, Operation};

use crate::dwarf::Sections;
use crate::locals::LocalSet;
use crate::module::ModuleInfo;

type Reader<'a> = EndianSlice<'a, LittleEndian>;

/// The named locals of some functions, from the input's DWARF.
#[derive(Debug, Default)]
pub(crate) struct NamedLocals {
    /// Defined function index -> where its locals are named: over a code
    /// range (of a location list entry, or of the scope of a single
    /// location expression), in DWARF addresses, these locals.
    functions: HashMap<usize, Vec<(Range<u64>, LocalSet)>>,
}

impl NamedLocals {
    /// Reads what the DWARF of `info` says of the locals of the defined
    /// functions `wanted` (indices without imports). Units that cover none
    /// of them are skipped.
    pub fn read(info: &ModuleInfo<'_>, wanted: &[usize]) -> Self {
        let mut named = NamedLocals::default();
        if wanted.is_empty() {
            return named;
        }
        let Ok(sections) = Sections::collect(info) else {
            return named;
        };
        // Malformed DWARF leaves every function unknown (everything named).
        if named.read_units(info, &sections, wanted).is_err() {
            named.functions.clear();
        }
        named
    }

    fn read_units(
        &mut self,
        info: &ModuleInfo<'_>,
        sections: &Sections<'_>,
        wanted: &[usize],
    ) -> gimli::Result<()> {
        let code = info.code_payload_start();
        // DWARF address ranges of the wanted bodies.
        let wanted: HashMap<usize, Range<u64>> = wanted
            .iter()
            .map(|&i| {
                let r = info.body(i);
                (i, (r.start - code) as u64..(r.end - code) as u64)
            })
            .collect();
        let dwarf = gimli::Dwarf::load(|id| -> gimli::Result<Reader<'_>> {
            Ok(EndianSlice::new(sections.get(id.name()).data, LittleEndian))
        })?;
        let mut sorted: Vec<Range<u64>> = wanted.values().cloned().collect();
        sorted.sort_by_key(|r| r.start);
        let mut units = dwarf.units();
        while let Some(header) = units.next()? {
            let unit = dwarf.unit(header)?;
            let mut covers = false;
            let mut ranges = dwarf.unit_ranges(&unit)?;
            while let Some(r) = ranges.next()? {
                // (Bodies do not overlap: the first ending after the range
                // starts is the only one that can overlap it.)
                let first = sorted.partition_point(|w| w.end <= r.begin);
                covers |= sorted.get(first).is_some_and(|w| w.start < r.end);
            }
            if covers {
                self.read_unit(info, &dwarf, &unit, &wanted)?;
            }
        }
        Ok(())
    }

    fn read_unit(
        &mut self,
        info: &ModuleInfo<'_>,
        dwarf: &gimli::Dwarf<Reader<'_>>,
        unit: &gimli::Unit<Reader<'_>>,
        wanted: &HashMap<usize, Range<u64>>,
    ) -> gimli::Result<()> {
        let code = info.code_payload_start() as u64;
        // The subprograms open around the current entry: (depth, the
        // wanted function it is, if it is one).
        let mut open: Vec<(isize, Option<usize>)> = Vec::new();
        // The scopes with code ranges open around it, in a wanted function:
        // (depth, ranges). A single location expression holds in the
        // innermost one.
        let mut scopes: Vec<(isize, Vec<Range<u64>>)> = Vec::new();
        let mut entries = unit.entries();
        while let Some(die) = entries.next_dfs()? {
            let depth = die.depth();
            while open.last().is_some_and(|&(d, _)| d >= depth) {
                open.pop();
            }
            while scopes.last().is_some_and(|(d, _)| *d >= depth) {
                scopes.pop();
            }
            if die.tag() == gimli::DW_TAG_subprogram {
                let mut ranges = dwarf.die_ranges(unit, die)?;
                let func = match ranges.next()? {
                    Some(r) => {
                        let i = info
                            .code
                            .bodies()
                            .partition_point(|b| b.end <= r.begin + code);
                        Some(i).filter(|i| wanted.get(i).is_some_and(|w| w.contains(&r.begin)))
                    }
                    None => None,
                };
                open.push((depth, func));
                if let Some(func) = func {
                    // Known from here on: it names what its entries say.
                    self.functions.entry(func).or_default();
                }
            }
            let Some(&(_, Some(func))) = open.last() else {
                continue;
            };
            if matches!(
                die.tag(),
                gimli::DW_TAG_subprogram
                    | gimli::DW_TAG_lexical_block
                    | gimli::DW_TAG_inlined_subroutine
            ) {
                let mut ranges = dwarf.die_ranges(unit, die)?;
                let mut all = Vec::new();
                while let Some(r) = ranges.next()? {
                    all.push(r.begin..r.end);
                }
                if !all.is_empty() {
                    scopes.push((depth, all));
                }
            }
            let scope = scopes.last().map_or(&[][..], |(_, r)| r.as_slice());
            for name in [gimli::DW_AT_location, gimli::DW_AT_frame_base] {
                if let Some(location) = die.attr_value(name) {
                    self.add(dwarf, unit, func, location, scope)?;
                }
            }
        }
        Ok(())
    }

    /// Adds the locals a location attribute of function `func` names: a
    /// location list where its entries say, a single expression over the
    /// innermost `scope`.
    fn add(
        &mut self,
        dwarf: &gimli::Dwarf<Reader<'_>>,
        unit: &gimli::Unit<Reader<'_>>,
        func: usize,
        value: AttributeValue<Reader<'_>>,
        scope: &[Range<u64>],
    ) -> gimli::Result<()> {
        let named = self.functions.entry(func).or_default();
        if let AttributeValue::Exprloc(expr) = value {
            let locals = locals_in(expr, unit.encoding())?;
            if !locals.is_empty() {
                named.extend(scope.iter().map(|r| (r.clone(), locals.clone())));
            }
            return Ok(());
        }
        if let Some(mut list) = dwarf.attr_locations(unit, value)? {
            while let Some(entry) = list.next()? {
                let locals = locals_in(entry.data, unit.encoding())?;
                if !locals.is_empty() {
                    named.push((entry.range.begin..entry.range.end, locals));
                }
            }
        }
        Ok(())
    }

    /// Whether the DWARF of defined function `func` names some local of it
    /// somewhere (code built with line tables only names none).
    pub fn names_any(&self, func: usize) -> bool {
        self.functions
            .get(&func)
            .is_some_and(|named| !named.is_empty())
    }

    /// The locals of defined function `func` that its DWARF names at DWARF
    /// address `pc`; `None` when its DWARF is unknown.
    pub fn at(&self, func: usize, pc: u64) -> Option<LocalSet> {
        let named = self.functions.get(&func)?;
        let mut locals = LocalSet::default();
        for (_, set) in named.iter().filter(|(range, _)| range.contains(&pc)) {
            locals.union_with(set);
        }
        Some(locals)
    }
}

/// The Wasm locals a location expression reads.
fn locals_in(
    expr: gimli::Expression<Reader<'_>>,
    encoding: gimli::Encoding,
) -> gimli::Result<LocalSet> {
    let mut locals = LocalSet::default();
    let mut ops = expr.operations(encoding);
    while let Some(op) = ops.next()? {
        // (A function has at most 50,000 locals, wasmparser's limit: a
        // larger index in malformed DWARF names nothing.)
        if let Operation::WasmLocal { index } = op
            && index < 50_000
        {
            locals.insert(index);
        }
    }
    Ok(locals)
}
