//! Keeping the DWARF of a rewritten module true to its code: a targeted,
//! in-place patch of the code addresses (DESIGN §3, "Code offsets and DWARF").
//!
//! The rewrite moves code, so every code address the DWARF holds is mapped
//! through the [`AddressMap`]: `DW_AT_low_pc`/`DW_AT_high_pc` and the other
//! address attributes of `.debug_info` (fixed width, patched in place), the
//! entries of `.debug_ranges`/`.debug_loc` (DWARF 4) and
//! `.debug_rnglists`/`.debug_loclists` (DWARF 5), the code entries of
//! `.debug_addr` and the tuples of `.debug_aranges`. Only `.debug_line` is
//! re-encoded (its address advances change size), after which every
//! `DW_AT_stmt_list` is pointed at the new offset of its program. Every other
//! byte, and every other section, is copied verbatim, so sizes stay the same
//! except `.debug_line`'s.
//!
//! What is deliberately left alone: `DW_OP_addr`/`DW_OP_addrx` in expressions
//! (in Wasm they hold linear-memory addresses of data, not code addresses),
//! `.debug_frame` (Wasm has no CFI) and split DWARF (`.dwo`) sections.
//!
//! An address that is not in any function body of the input (0, the
//! tombstones `0xffffffff` and `0xfffffffe` that linkers write for dead code,
//! anything past the Code section) maps to itself: ranges starting there,
//! line sequences set there, stay as they are.
//!
//! A range that starts in code but does not end in a function body at or
//! after its start has no image in the new code. Toolchains do write such
//! ranges: Binaryen (Emscripten's `wasm-opt`), when it cannot map the end of a
//! block, writes a `DW_AT_high_pc` of its new end 0 minus the start, so that
//! the range runs to `0x100000000`. Such a range is tombstoned the way lld
//! marks dead code in Wasm DWARF, in place, and counted
//! ([`Patcher::tombstoned`]): `-1` for an address of `.debug_info`,
//! `.debug_rnglists`, `.debug_loclists` and `.debug_aranges`, `-2` for a pair
//! of `.debug_ranges`/`.debug_loc` (where `-1` selects a base address), with a
//! length of 0; an entry whose start cannot hold a tombstone (an offset pair's
//! LEB128s, an index into `.debug_addr`) is made empty at its new start; a line
//! sequence gets a tombstone in its `DW_LNE_set_address`es. Consumers skip all
//! of these (gimli and addr2line skip tombstones and empty ranges; LLVM shows
//! dead code or empty ranges), so the code symbolizes through the line table
//! and the enclosing DIEs instead of through a range that claims every address
//! up to 4 GiB, and `llvm-dwarfdump --verify` no longer finds it overlapping
//! its siblings or outside its parent.
//!
//! The end is not guessed: the end of the function the start is in would be
//! right for a subprogram but too wide for a block or an inlined call in it,
//! whose frames would then claim code they do not cover. The one exception is
//! a unit's own `low_pc`/`high_pc`: its `low_pc` is the base address of the
//! unit's lists, so it cannot be tombstoned, and an end outside every body is
//! moved back to the end of the last body before it, which covers the same
//! code (see [`Mapper::unit_range`]). A length that no longer fits its encoding is
//! reported as [`Error::Unsupported`] rather than written wrong.

mod info;
mod line;
mod lists;

use std::cell::Cell;
use std::collections::HashMap;
use std::io::Write;

use crate::address_map::AddressMap;
use crate::error::{Error, unsupported};
use crate::module::ModuleInfo;
use crate::sink::Sink;
use gimli::{EndianSlice, LittleEndian};
use wasm_layout::Section;

/// Whether a custom section named `name` holds DWARF the patch looks at.
pub(crate) fn is_dwarf(name: Option<&str>) -> bool {
    name.is_some_and(|n| n.starts_with(".debug_") && !n.ends_with(".dwo"))
}

/// Emits the `.debug_*` custom sections of a rewritten module: the patch of
/// all of them is computed when the first one is met (the Code section, and
/// so the address map, must be complete by then), then each is written in
/// its place.
#[derive(Debug, Default)]
pub(crate) struct Patcher {
    /// New payloads (after the name) of the sections that changed.
    patched: Option<HashMap<String, Vec<u8>>>,
    /// Ranges tombstoned because they have no image in the new code.
    tombstoned: u32,
}

impl Patcher {
    /// Writes `section` of the input to `out`, patched if its content
    /// changed.
    pub(crate) fn emit<W: Write>(
        &mut self,
        out: &mut Sink<W>,
        info: &ModuleInfo<'_>,
        section: &Section,
        map: &AddressMap,
    ) -> Result<(), Error> {
        let verbatim = &info.bytes[section.range.clone()];
        let Some(code) = info.layout.code_section() else {
            // No code, so no code addresses to patch.
            return out.bytes(verbatim);
        };
        if section.range.start < code.range.start {
            return Err(unsupported(
                format!(
                    "DWARF section {} placed before the Code section",
                    section.name.as_deref().unwrap_or_default()
                ),
                section.range.start as u64,
            ));
        }
        if self.patched.is_none() {
            let (patched, tombstoned) = patch(info, map)?;
            self.patched = Some(patched);
            self.tombstoned = tombstoned;
        }
        let name = section.name.as_deref().unwrap_or_default();
        // Each patched payload is freed once written.
        match self.patched.as_mut().and_then(|p| p.remove(name)) {
            Some(data) => out.custom_section(name, &data),
            None => out.bytes(verbatim),
        }
    }

    /// How many address ranges of the input DWARF (a `low_pc`/`high_pc`
    /// pair, a list entry, an aranges tuple, a line sequence) start in a
    /// function body but do not end in one, and were tombstoned.
    pub(crate) fn tombstoned(&self) -> u32 {
        self.tombstoned
    }
}

/// One input DWARF section: its data (after the custom section's name) and
/// where that data starts in the module, for error offsets.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Input<'a> {
    pub data: &'a [u8],
    pub file_offset: usize,
}

/// The input's DWARF sections by name.
#[derive(Debug, Default)]
pub(crate) struct Sections<'a> {
    by_name: HashMap<&'a str, Input<'a>>,
}

impl<'a> Sections<'a> {
    pub(crate) fn collect(info: &ModuleInfo<'a>) -> Result<Self, Error> {
        let mut by_name = HashMap::new();
        for section in info.sections() {
            if section.id != 0 || !is_dwarf(section.name.as_deref()) {
                continue;
            }
            let range = section.range.clone();
            let bytes = &info.bytes[range.clone()];
            let mut reader = wasmparser::BinaryReader::new(bytes, range.start as u64);
            reader.read_u8()?;
            reader.read_var_u32()?;
            let name = reader.read_unlimited_string()?;
            let start = reader.current_position();
            let input = Input {
                data: &bytes[start..],
                file_offset: range.start + start,
            };
            if by_name.insert(name, input).is_some() {
                return Err(unsupported(
                    format!("more than one {name} section"),
                    range.start as u64,
                ));
            }
        }
        Ok(Sections { by_name })
    }

    /// The section named `name`, empty if the module has none.
    pub(crate) fn get(&self, name: &str) -> Input<'a> {
        self.by_name.get(name).copied().unwrap_or_default()
    }
}

/// Computes the new content of every DWARF section that changes, and how
/// many ranges were tombstoned.
fn patch(
    info: &ModuleInfo<'_>,
    map: &AddressMap,
) -> Result<(HashMap<String, Vec<u8>>, u32), Error> {
    let sections = Sections::collect(info)?;
    let mapper = Mapper::new(map);
    let mut patched = HashMap::new();
    if sections.get(".debug_info").data.is_empty() {
        return Ok((patched, 0));
    }
    let (mut debug_info, refs) = info::patch(&sections, &mapper)?;
    let mut addr_entries = Vec::new();
    for (name, data) in lists::patch(&sections, &mapper, &refs, &mut addr_entries)? {
        patched.insert(name.to_string(), data);
    }
    if let Some(data) = lists::patch_addr(&sections, &mapper, &refs, addr_entries)? {
        patched.insert(".debug_addr".to_string(), data);
    }
    if let Some(data) = lists::patch_aranges(sections.get(".debug_aranges"), &mapper)? {
        patched.insert(".debug_aranges".to_string(), data);
    }
    let debug_line = sections.get(".debug_line");
    if !debug_line.data.is_empty() {
        let (data, offsets) = line::patch(debug_line, &refs.stmt_lists, &mapper)?;
        for stmt in &refs.stmt_lists {
            // `line::patch` fails unless every referenced program is rewritten.
            let new = offsets[&stmt.offset];
            if !write_uint(&mut debug_info, stmt.pos, stmt.width, new) {
                return Err(unsupported(
                    format!("a .debug_line offset ({new:#x}) too large for its DW_AT_stmt_list"),
                    (sections.get(".debug_info").file_offset + stmt.pos) as u64,
                ));
            }
        }
        patched.insert(".debug_line".to_string(), data);
    }
    patched.insert(".debug_info".to_string(), debug_info);
    Ok((patched, mapper.tombstoned.get()))
}

/// What becomes of an input range `[start, end)` in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mapped {
    /// `start` is not a code address: the range stays as it is.
    Outside,
    /// The new bounds.
    Range(u64, u64),
    /// `start` is in a function body, `end` is not in one at or after it:
    /// the range has no image and is to be tombstoned (then counted with
    /// [`Mapper::tombstoned`]). Holds the new `start`, for the encodings
    /// that cannot hold a tombstone and are made empty there instead.
    Unmappable(u64),
}

/// Code addresses of the input to the output's, with the rules of the
/// module doc for addresses outside code.
///
/// Lookups come in runs within one function (a list, a line sequence, a
/// subprogram's DIEs), so the function of the last lookup is tried first.
#[derive(Debug)]
pub(crate) struct Mapper<'a> {
    map: &'a AddressMap,
    last: Cell<usize>,
    /// Ranges tombstoned so far.
    tombstoned: Cell<u32>,
}

impl<'a> Mapper<'a> {
    fn new(map: &'a AddressMap) -> Self {
        Mapper {
            map,
            last: Cell::new(0),
            tombstoned: Cell::new(0),
        }
    }

    /// The new address of `address`, `None` if it is not a code address:
    /// [`AddressMap::map`], faster on runs of lookups in one function.
    pub(crate) fn map(&self, address: u64) -> Option<u64> {
        let index = self.last.get();
        if let Some(f) = self.map.functions.get(index)
            && let Ok(address) = u32::try_from(address)
            && (f.input.0..=f.input.1).contains(&address)
        {
            let offset = self.map.map_code_offset(index, address - f.input.0)?;
            return Some(u64::from(f.output.0 + offset));
        }
        // 0, tombstones and the like: outside the code, at once.
        let (first, last) = (self.map.functions.first()?, self.map.functions.last()?);
        if address < u64::from(first.input.0) || address > u64::from(last.input.1) {
            return None;
        }
        let new = self.map.map(address)?;
        let address = address as u32; // it is in a body, so 32-bit
        let index = self.map.functions.partition_point(|f| f.input.1 < address);
        self.last.set(index);
        Some(new)
    }

    /// The new address of `address`, itself if it is not a code address.
    pub(crate) fn map_or_keep(&self, address: u64) -> u64 {
        self.map(address).unwrap_or(address)
    }

    /// The new bounds of the range `[start, end)`.
    pub(crate) fn range(&self, start: u64, end: u64) -> Mapped {
        let Some(new_start) = self.map(start) else {
            return Mapped::Outside;
        };
        match self.map(end) {
            Some(new_end) if end >= start => Mapped::Range(new_start, new_end),
            _ => Mapped::Unmappable(new_start),
        }
    }

    /// [`Mapper::range`] for a unit's own range, whose start is the base
    /// address of the unit's lists and cannot be tombstoned: an end outside
    /// every body (past the code, as Binaryen writes it, or between two
    /// bodies) is moved back to the end of the last body before it. The
    /// range then covers the same code as in the input, so the unit's
    /// functions stay inside it.
    pub(crate) fn unit_range(&self, start: u64, end: u64) -> Mapped {
        let mapped = self.range(start, end);
        let Mapped::Unmappable(new_start) = mapped else {
            return mapped;
        };
        let before = self
            .map
            .functions
            .partition_point(|f| u64::from(f.input.1) <= end);
        match before.checked_sub(1).map(|i| &self.map.functions[i]) {
            Some(f) if end > start => Mapped::Range(new_start, u64::from(f.output.1)),
            _ => mapped,
        }
    }

    /// Counts one range tombstoned.
    pub(crate) fn tombstoned(&self) {
        self.tombstoned.set(self.tombstoned.get() + 1);
    }
}

/// The largest address of the given size: the tombstone of dead code, and
/// in DWARF 4 lists the marker of a base address selection entry.
pub(crate) fn address_max(size: u8) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * size)) - 1
    }
}

/// Reads a little-endian unsigned integer of `width` bytes at `pos`.
pub(crate) fn read_uint(data: &[u8], pos: usize, width: usize) -> Option<u64> {
    let bytes = data.get(pos..pos.checked_add(width)?)?;
    if width > 8 {
        return None;
    }
    Some(
        bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    )
}

/// Writes `value` as a little-endian integer of `width` bytes at `pos`;
/// false if it does not fit (or `pos` is out of bounds).
pub(crate) fn write_uint(data: &mut [u8], pos: usize, width: usize, value: u64) -> bool {
    if width < 8 && value >> (8 * width) != 0 {
        return false;
    }
    let Some(bytes) = pos
        .checked_add(width)
        .and_then(|end| data.get_mut(pos..end))
    else {
        return false;
    };
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (value >> (8 * i)) as u8;
    }
    true
}

/// Reads a ULEB128 at `pos`: its value and its length in bytes.
pub(crate) fn read_uleb(data: &[u8], pos: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in data.get(pos..)?.iter().enumerate() {
        if i >= 10 {
            return None;
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Writes `value` as a ULEB128 of exactly `len` bytes (padded with
/// continuation bytes) at `pos`; false if it does not fit.
pub(crate) fn write_uleb_fixed(data: &mut [u8], pos: usize, len: usize, value: u64) -> bool {
    if len == 0 || (len < 10 && value >> (7 * len) != 0) {
        return false;
    }
    let Some(bytes) = pos.checked_add(len).and_then(|end| data.get_mut(pos..end)) else {
        return false;
    };
    for (i, b) in bytes.iter_mut().enumerate() {
        let more = if i + 1 < len { 0x80 } else { 0 };
        *b = ((value >> (7 * i)) & 0x7f) as u8 | more;
    }
    true
}

/// A malformed DWARF section, reported at `offset` in the section; a section the module does
/// not have (the DWARF refers to it) is said to be missing, at no offset.
pub(crate) fn malformed(section: &str, input: Input<'_>, offset: usize, what: &str) -> Error {
    // A section's data is past the module header: at 0 is the default of a missing one.
    if input.file_offset == 0 {
        return Error::Malformed {
            offset: None,
            message: format!("{section}: {what} (the module has no {section} section)"),
        };
    }
    Error::Malformed {
        offset: Some((input.file_offset + offset) as u64),
        message: format!("{section}: {what}"),
    }
}

/// A gimli error while reading `section` at `offset` in it (the unit, entry or program being
/// read), or where the read that ran out of input started.
pub(crate) fn gimli_error(
    section: &str,
    input: Input<'_>,
    offset: usize,
    err: gimli::Error,
) -> Error {
    use gimli::Reader;
    let offset = match err {
        gimli::Error::UnexpectedEof(id) => EndianSlice::new(input.data, LittleEndian)
            .lookup_offset_id(id)
            .unwrap_or(offset),
        _ => offset,
    };
    malformed(section, input, offset, &err.to_string())
}
