//! `.debug_line`: every line program is re-encoded with mapped addresses.
//! Headers are copied verbatim (only their `unit_length` changes), and so is
//! every instruction that does not move the address; an address advance is
//! re-encoded for the new distance, which may need more bytes.

use std::collections::HashMap;

use gimli::{DebugLineOffset, EndianSlice, LittleEndian};

use super::info::StmtList;
use super::{Input, Mapper, address_max, gimli_error, malformed, read_uint, read_uleb, write_uint};
use crate::error::{Error, unsupported};

const SECTION: &str = ".debug_line";

/// Re-encodes the programs of `.debug_line`, walking them one after the
/// other; returns the new section and the new offset of each program.
pub(crate) fn patch(
    input: Input<'_>,
    stmt_lists: &[StmtList],
    mapper: &Mapper<'_>,
) -> Result<(Vec<u8>, HashMap<u64, u64>), Error> {
    let data = input.data;
    let address_sizes: HashMap<u64, u8> = stmt_lists
        .iter()
        .map(|s| (s.offset, s.address_size))
        .collect();
    let debug_line = gimli::DebugLine::new(data, LittleEndian);
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    let mut offsets = HashMap::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let address_size = address_sizes.get(&(pos as u64)).copied().unwrap_or(4);
        let program = match debug_line.program(DebugLineOffset(pos), address_size, None, None) {
            Ok(program) => program,
            // Trailing bytes no unit points at are kept as they are.
            Err(_) if stmt_lists.iter().all(|s| s.offset < pos as u64) => {
                out.extend_from_slice(&data[pos..]);
                break;
            }
            Err(e) => return Err(gimli_error(SECTION, input, pos, e)),
        };
        let header = program.header();
        let body = header.raw_program_buf();
        let body_start = body.offset_from(EndianSlice::new(data, LittleEndian));
        let end = body_start + body.len();
        let new_start = out.len();
        offsets.insert(pos as u64, new_start as u64);
        out.extend_from_slice(&data[pos..body_start]);
        let mut program = Program {
            input,
            data: &data[..end],
            out: &mut out,
            mapper,
            opcode_base: header.opcode_base(),
            line_range: header.line_range(),
            min_length: header.minimum_instruction_length(),
            single_op: header.maximum_operations_per_instruction() <= 1,
            opcode_lengths: header.standard_opcode_lengths().slice(),
        };
        program.encode(body_start)?;
        let (length_pos, width) = match header.format() {
            gimli::Format::Dwarf32 => (new_start, 4),
            gimli::Format::Dwarf64 => (new_start + 4, 8),
        };
        let length = (out.len() - length_pos - width) as u64;
        if !write_uint(&mut out, length_pos, width, length) || length >= 0xffff_fff0 {
            return Err(unsupported(
                format!("{SECTION}: a re-encoded line program too large for 32-bit DWARF"),
                (input.file_offset + pos) as u64,
            ));
        }
        pos = end;
    }
    if let Some(stmt) = stmt_lists.iter().find(|s| !offsets.contains_key(&s.offset)) {
        return Err(malformed(
            SECTION,
            input,
            stmt.offset as usize,
            "a DW_AT_stmt_list that does not point at the start of a line program",
        ));
    }
    Ok((out, offsets))
}

/// One line program being re-encoded.
struct Program<'a, 'b> {
    input: Input<'a>,
    /// The section up to the program's end.
    data: &'a [u8],
    out: &'b mut Vec<u8>,
    mapper: &'b Mapper<'b>,
    opcode_base: u8,
    line_range: u8,
    min_length: u8,
    single_op: bool,
    opcode_lengths: &'a [u8],
}

/// The address registers: the input's and the output's, and whether the
/// current sequence is in code (else it is copied as it is: a sequence set
/// at 0 or at a tombstone, or one being tombstoned).
#[derive(Debug, Default)]
struct State {
    old: u64,
    new: u64,
    mapped: bool,
    /// The sequence advances to an address that has no image: it is being
    /// encoded again with a tombstone in its `DW_LNE_set_address`es.
    tombstoned: bool,
}

/// What an instruction did.
#[derive(Debug)]
enum Step {
    /// Encoded; the next instruction is at this position.
    Next(usize),
    /// Encoded `DW_LNE_end_sequence`; the next sequence starts here.
    EndSequence(usize),
    /// An address advance in a mapped sequence to an address that has no
    /// image in the new code (outside every function body).
    Unmappable,
}

impl Program<'_, '_> {
    fn truncated(&self, pos: usize) -> Error {
        malformed(SECTION, self.input, pos, "truncated line program")
    }

    fn uleb(&self, pos: usize) -> Result<(u64, usize), Error> {
        read_uleb(self.data, pos).ok_or_else(|| self.truncated(pos))
    }

    /// The new address for the input address `state.old` after an advance
    /// at `pos`, and the distance to it from `state.new`; `None` if it has
    /// no image.
    fn advance(&self, state: &mut State, pos: usize) -> Result<Option<u64>, Error> {
        if self.min_length != 1 || !self.single_op {
            return Err(unsupported(
                format!(
                    "{SECTION}: minimum_instruction_length {} / VLIW operations",
                    self.min_length
                ),
                (self.input.file_offset + pos) as u64,
            ));
        }
        let target = self.mapper.map(state.old).filter(|&t| t >= state.new);
        let Some(target) = target else {
            return Ok(None);
        };
        let delta = target - state.new;
        state.new = target;
        Ok(Some(delta))
    }

    fn advance_pc(&mut self, delta: u64) {
        if delta > 0 {
            self.out.push(gimli::DW_LNS_advance_pc.0);
            wasm_encoder::Encode::encode(&delta, self.out);
        }
    }

    /// Re-encodes the instructions from `pos` to the program's end. A
    /// sequence that advances to an address without an image is encoded
    /// again from its start, tombstoned (and counted).
    fn encode(&mut self, mut pos: usize) -> Result<(), Error> {
        if self.line_range == 0 {
            return Err(malformed(SECTION, self.input, pos, "line_range 0"));
        }
        let mut state = State::default();
        // Where the current sequence starts in the input and in the output.
        let mut sequence = (pos, self.out.len());
        while pos < self.data.len() {
            match self.instruction(pos, &mut state)? {
                Step::Next(next) => pos = next,
                Step::EndSequence(next) => {
                    pos = next;
                    sequence = (pos, self.out.len());
                }
                Step::Unmappable => {
                    self.mapper.tombstoned();
                    self.out.truncate(sequence.1);
                    pos = sequence.0;
                    state = State {
                        tombstoned: true,
                        ..State::default()
                    };
                }
            }
        }
        Ok(())
    }

    /// Re-encodes the instruction at `at`.
    fn instruction(&mut self, at: usize, state: &mut State) -> Result<Step, Error> {
        let (base, range) = (self.opcode_base, self.line_range);
        let min_length = u64::from(self.min_length);
        let mut pos = at;
        let opcode = self.data[pos];
        pos += 1;
        if opcode >= base {
            let adjusted = opcode - base;
            state.old += u64::from(adjusted / range) * min_length;
            if !state.mapped {
                self.out.push(opcode);
                return Ok(Step::Next(pos));
            }
            let line = adjusted % range;
            let Some(delta) = self.advance(state, at)? else {
                return Ok(Step::Unmappable);
            };
            let special = u64::from(line) + u64::from(range) * delta + u64::from(base);
            if special <= 255 {
                self.out.push(special as u8);
            } else {
                self.advance_pc(delta);
                self.out.push(base + line);
            }
            return Ok(Step::Next(pos));
        }
        match opcode {
            0 => {
                let (len, n) = self.uleb(pos)?;
                let end = pos + n + len as usize;
                if len == 0 || end > self.data.len() {
                    return Err(self.truncated(at));
                }
                let sub = self.data[pos + n];
                if sub == gimli::DW_LNE_set_address.0 {
                    let width = len as usize - 1;
                    let address = read_uint(self.data, pos + n + 1, width)
                        .ok_or_else(|| self.truncated(at))?;
                    state.old = address;
                    let new = match state.tombstoned {
                        true => Some(address_max(width as u8)),
                        false => self.mapper.map(address),
                    };
                    state.mapped = new.is_some() && !state.tombstoned;
                    self.out.extend_from_slice(&self.data[at..pos + n + 1]);
                    let p = self.out.len();
                    self.out.extend_from_slice(&self.data[pos + n + 1..end]);
                    if let Some(new) = new {
                        state.new = new;
                        write_uint(self.out, p, width, new);
                    }
                } else {
                    self.out.extend_from_slice(&self.data[at..end]);
                    if sub == gimli::DW_LNE_end_sequence.0 {
                        *state = State::default();
                        return Ok(Step::EndSequence(end));
                    }
                }
                Ok(Step::Next(end))
            }
            2 => {
                let (advance, n) = self.uleb(pos)?;
                pos += n;
                state.old += advance * min_length;
                if state.mapped {
                    let Some(delta) = self.advance(state, at)? else {
                        return Ok(Step::Unmappable);
                    };
                    self.advance_pc(delta);
                } else {
                    self.out.extend_from_slice(&self.data[at..pos]);
                }
                Ok(Step::Next(pos))
            }
            8 => {
                let amount = u64::from((255 - base) / range) * min_length;
                state.old += amount;
                if state.mapped {
                    let Some(delta) = self.advance(state, at)? else {
                        return Ok(Step::Unmappable);
                    };
                    if delta == amount {
                        self.out.push(opcode);
                    } else {
                        self.advance_pc(delta);
                    }
                } else {
                    self.out.push(opcode);
                }
                Ok(Step::Next(pos))
            }
            9 => {
                let advance = read_uint(self.data, pos, 2).ok_or_else(|| self.truncated(at))?;
                pos += 2;
                state.old += advance;
                if state.mapped {
                    let Some(delta) = self.advance(state, at)? else {
                        return Ok(Step::Unmappable);
                    };
                    if delta <= 0xffff {
                        self.out.push(opcode);
                        self.out.extend_from_slice(&(delta as u16).to_le_bytes());
                    } else {
                        self.advance_pc(delta);
                    }
                } else {
                    self.out.extend_from_slice(&self.data[at..pos]);
                }
                Ok(Step::Next(pos))
            }
            _ => {
                // Any other standard opcode: its ULEB operands, copied.
                let operands = self
                    .opcode_lengths
                    .get(usize::from(opcode) - 1)
                    .copied()
                    .unwrap_or(0);
                for _ in 0..operands {
                    pos += self.uleb(pos)?.1;
                }
                self.out.extend_from_slice(&self.data[at..pos]);
                Ok(Step::Next(pos))
            }
        }
    }
}
