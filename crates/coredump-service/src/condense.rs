//! A core dump read as it streams in, kept small: every section but the memory verbatim, the
//! memory only where it is not zero, so that a dump of hundreds of MiB is symbolized from a few.
//!
//! A dump left by the rewriter's runtime is a Wasm binary whose Data section holds all of linear
//! memory, mostly zeros; its frames and globals are in small sections around it. [`Condenser`]
//! takes the bytes in pieces of any size and rebuilds the same dump with the Data section cut
//! into segments of the non-zero pages only, up to a limit: what it gives back parses with
//! [`coredump::CoreDump::parse`] and reads the same values wherever it kept memory.

use wasm_encoder::{ConstExpr, Encode};

/// The granule of memory kept or dropped: zero pages of this size are dropped.
const PAGE: usize = 4096;

/// The most bytes of one section other than Data that are kept (a `corestack` of a deep
/// recursion with many locals stays well below).
const MAX_SECTION: usize = 64 << 20;

/// Why the bytes are not a core dump, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CondenseError {
    /// The first bytes are not Wasm's magic and version 1.
    #[error("not a Wasm core dump: it starts with {0}")]
    NotWasm(String),
    /// The bytes end inside the header or a section.
    #[error("the core dump is truncated at offset {0:#x}")]
    Truncated(u64),
    /// A section's structure is wrong.
    #[error("malformed {section} section at offset {offset:#x}: {problem}")]
    Malformed {
        /// The section.
        section: &'static str,
        /// The offset of the faulty byte in the dump.
        offset: u64,
        /// What is wrong.
        problem: String,
    },
    /// A section other than Data is larger than this reader keeps.
    #[error("section {id} at offset {offset:#x} is {size} bytes, more than {MAX_SECTION} kept")]
    SectionTooLarge {
        /// The section id.
        id: u8,
        /// Where the section starts.
        offset: u64,
        /// Its declared size.
        size: u64,
    },
}

/// Where the reader is in the dump.
#[derive(Debug)]
enum State {
    /// Reading the 8-byte header.
    Header,
    /// Before a section's id and size.
    SectionStart,
    /// Keeping a non-Data section whole: `remaining` bytes still to come.
    Section { remaining: usize },
    /// In the Data section, before a segment's header (`segments` left to read).
    SegmentHeader { segments: u32, section_end: u64 },
    /// In a segment's bytes: `remaining` of them, the next one at `address`.
    SegmentBytes {
        segments: u32,
        section_end: u64,
        memory: u32,
        address: u64,
        remaining: u64,
    },
}

/// A run of memory kept: its memory, its address, and its pages in order (kept apart so that
/// a run never needs one large buffer or a copy to grow).
struct Kept {
    memory: u32,
    address: u64,
    pages: Vec<Vec<u8>>,
    len: u64,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Kept({}, {:#x}, {} bytes)",
            self.memory, self.address, self.len
        )
    }
}

/// Reads a core dump piece by piece; see the module doc.
#[derive(Debug)]
pub struct Condenser {
    state: State,
    /// Bytes received but not yet consumed by the state machine.
    pending: Vec<u8>,
    /// The offset in the dump of `pending[0]`.
    offset: u64,
    /// The sections before the Data section, verbatim (header included).
    before: Vec<u8>,
    /// The sections after it.
    after: Vec<u8>,
    seen_data: bool,
    /// The non-zero memory kept, in segments of whole pages.
    kept: Vec<Kept>,
    kept_bytes: usize,
    /// Memory bytes that were not zero but beyond the limit.
    dropped_bytes: u64,
    /// The page being filled: its memory, address and bytes.
    page: Option<(u32, u64, Vec<u8>)>,
    limit: usize,
}

/// What [`Condenser::finish`] gives: a dump that parses, with what was left out.
#[derive(Debug)]
pub struct Condensed {
    /// The dump with its memory reduced to the non-zero pages kept.
    pub bytes: Vec<u8>,
    /// The total size of the dump that streamed in.
    pub received: u64,
    /// The non-zero memory bytes left out for the limit (0: every non-zero byte was kept).
    pub dropped_memory: u64,
}

impl Condenser {
    /// A reader that keeps at most `limit` bytes of non-zero memory (the lowest addresses first,
    /// where a Rust or C program's stack and constant data are).
    pub fn new(limit: usize) -> Self {
        Condenser {
            state: State::Header,
            pending: Vec::new(),
            offset: 0,
            before: Vec::new(),
            after: Vec::new(),
            seen_data: false,
            kept: Vec::new(),
            kept_bytes: 0,
            dropped_bytes: 0,
            page: None,
            limit,
        }
    }

    /// Takes the next piece of the dump.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), CondenseError> {
        self.pending.extend_from_slice(chunk);
        let mut at = 0;
        loop {
            let consumed = self.step(at)?;
            if consumed == 0 {
                break;
            }
            at += consumed;
        }
        self.pending.drain(..at);
        self.offset += at as u64;
        Ok(())
    }

    /// The dump as read, once every piece is in.
    pub fn finish(mut self) -> Result<Condensed, CondenseError> {
        if matches!(self.state, State::Header) && !b"\0asm\x01\0\0\0".starts_with(&self.pending) {
            return Err(not_wasm(&self.pending));
        }
        if !self.pending.is_empty() || !matches!(self.state, State::SectionStart) {
            return Err(CondenseError::Truncated(
                self.offset + self.pending.len() as u64,
            ));
        }
        self.flush_page();
        let received = self.offset;
        // The Data section is written straight into the output: the kept memory is copied
        // once, never whole into a section buffer first.
        let mut headers = Vec::with_capacity(self.kept.len());
        let mut content = Vec::new();
        (self.kept.len() as u32).encode(&mut content);
        let mut content_len = content.len() as u64;
        for run in &self.kept {
            let mut header = Vec::new();
            if run.memory == 0 {
                header.push(0);
            } else {
                header.push(2);
                run.memory.encode(&mut header);
            }
            let offset = if run.address > u64::from(u32::MAX) {
                ConstExpr::i64_const(run.address as i64)
            } else {
                ConstExpr::i32_const(run.address as u32 as i32)
            };
            offset.encode(&mut header);
            (run.len as u32).encode(&mut header);
            content_len += header.len() as u64 + run.len;
            headers.push(header);
        }
        let mut bytes = self.before;
        bytes.reserve_exact(content_len as usize + 6 + self.after.len());
        if self.seen_data {
            bytes.push(wasm_encoder::SectionId::Data as u8);
            (content_len as u32).encode(&mut bytes);
            bytes.extend_from_slice(&content);
            for (run, header) in self.kept.iter().zip(&headers) {
                bytes.extend_from_slice(header);
                for page in &run.pages {
                    bytes.extend_from_slice(page);
                }
            }
        }
        bytes.extend_from_slice(&self.after);
        Ok(Condensed {
            bytes,
            received,
            dropped_memory: self.dropped_bytes,
        })
    }

    /// Consumes what it can from `pending[at..]`; returns how many bytes (0: needs more).
    fn step(&mut self, at: usize) -> Result<usize, CondenseError> {
        let input = &self.pending[at..];
        let offset = self.offset + at as u64;
        match self.state {
            State::Header => {
                let Some(header) = input.first_chunk::<8>() else {
                    if input.len() >= 4 && &input[..4] != b"\0asm" {
                        return Err(not_wasm(&input[..4]));
                    }
                    return Ok(0);
                };
                if &header[..4] != b"\0asm" {
                    return Err(not_wasm(&header[..4]));
                }
                if header != b"\0asm\x01\0\0\0" {
                    return Err(not_wasm(header));
                }
                self.before.extend_from_slice(header);
                self.state = State::SectionStart;
                Ok(8)
            }
            State::SectionStart => {
                let Some((&id, rest)) = input.split_first() else {
                    return Ok(0);
                };
                let Some((size, len)) = read_u32(rest, offset + 1, "top-level")? else {
                    return Ok(0);
                };
                let header = 1 + len;
                let body_start = offset + header as u64;
                if id == wasm_encoder::SectionId::Data as u8 {
                    if self.seen_data {
                        return Err(malformed("Data", offset, "a second Data section"));
                    }
                    let section_end = body_start + u64::from(size);
                    let Some((segments, count_len)) =
                        read_u32(&input[header..], body_start, "Data")?
                    else {
                        return Ok(0);
                    };
                    self.seen_data = true;
                    self.state = State::SegmentHeader {
                        segments,
                        section_end,
                    };
                    return Ok(header + count_len);
                }
                if size as usize > MAX_SECTION {
                    return Err(CondenseError::SectionTooLarge {
                        id,
                        offset,
                        size: u64::from(size),
                    });
                }
                let header_bytes = input[..header].to_vec();
                self.out().extend_from_slice(&header_bytes);
                self.state = State::Section {
                    remaining: size as usize,
                };
                Ok(header)
            }
            State::Section { remaining } => {
                if remaining == 0 {
                    self.state = State::SectionStart;
                    // Nothing consumed, but the state moved on: report progress of 0 bytes
                    // would stop the loop, so step again right away.
                    return self.step(at);
                }
                if input.is_empty() {
                    return Ok(0);
                }
                let n = remaining.min(input.len());
                let bytes = input[..n].to_vec();
                self.out().extend_from_slice(&bytes);
                self.state = State::Section {
                    remaining: remaining - n,
                };
                Ok(n)
            }
            State::SegmentHeader {
                segments,
                section_end,
            } => {
                if segments == 0 {
                    if offset != section_end {
                        return Err(malformed(
                            "Data",
                            offset,
                            "the segments end before the section does",
                        ));
                    }
                    self.state = State::SectionStart;
                    return self.step(at);
                }
                let Some(header) = read_segment_header(input, offset)? else {
                    return Ok(0);
                };
                self.state = State::SegmentBytes {
                    segments: segments - 1,
                    section_end,
                    memory: header.memory,
                    address: header.address,
                    remaining: u64::from(header.size),
                };
                if offset + header.len as u64 + u64::from(header.size) > section_end {
                    return Err(malformed(
                        "Data",
                        offset,
                        "a segment runs past the end of the section",
                    ));
                }
                Ok(header.len)
            }
            State::SegmentBytes {
                segments,
                section_end,
                memory,
                address,
                remaining,
            } => {
                if remaining == 0 {
                    self.flush_page();
                    self.state = State::SegmentHeader {
                        segments,
                        section_end,
                    };
                    return self.step(at);
                }
                if input.is_empty() {
                    return Ok(0);
                }
                // Up to the end of the current page, so that pages are whole and aligned.
                let to_page_end = PAGE as u64 - address % PAGE as u64;
                let n = (remaining.min(to_page_end) as usize).min(input.len());
                let bytes = &self.pending[at..at + n];
                let page = self
                    .page
                    .get_or_insert_with(|| (memory, address, Vec::new()));
                page.2.extend_from_slice(bytes);
                let address = address + n as u64;
                if address.is_multiple_of(PAGE as u64) {
                    self.flush_page();
                }
                self.state = State::SegmentBytes {
                    segments,
                    section_end,
                    memory,
                    address,
                    remaining: remaining - n as u64,
                };
                Ok(n)
            }
        }
    }

    /// Where a verbatim section goes: before or after the Data section.
    fn out(&mut self) -> &mut Vec<u8> {
        if self.seen_data {
            &mut self.after
        } else {
            &mut self.before
        }
    }

    /// Keeps the page being filled if it has a non-zero byte and there is room.
    fn flush_page(&mut self) {
        let Some((memory, address, bytes)) = self.page.take() else {
            return;
        };
        if bytes.iter().all(|&b| b == 0) {
            return;
        }
        if self.kept_bytes + bytes.len() > self.limit {
            self.dropped_bytes += bytes.len() as u64;
            return;
        }
        self.kept_bytes += bytes.len();
        let len = bytes.len() as u64;
        match self.kept.last_mut() {
            Some(run) if run.memory == memory && run.address + run.len == address => {
                run.pages.push(bytes);
                run.len += len;
            }
            _ => self.kept.push(Kept {
                memory,
                address,
                pages: vec![bytes],
                len,
            }),
        }
    }
}

fn not_wasm(bytes: &[u8]) -> CondenseError {
    let shown: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    CondenseError::NotWasm(shown.join(" "))
}

fn malformed(section: &'static str, offset: u64, problem: &str) -> CondenseError {
    CondenseError::Malformed {
        section,
        offset,
        problem: problem.into(),
    }
}

/// The header of an active data segment.
struct SegmentHeader {
    memory: u32,
    address: u64,
    size: u32,
    /// The header's length in bytes.
    len: usize,
}

/// Reads a data segment's header from `input` (at `offset` in the dump); `None` if more bytes
/// are needed.
fn read_segment_header(input: &[u8], offset: u64) -> Result<Option<SegmentHeader>, CondenseError> {
    let mut at = 0;
    macro_rules! need {
        ($e:expr) => {
            match $e? {
                Some((value, len)) => {
                    at += len;
                    value
                }
                None => return Ok(None),
            }
        };
    }
    let flags = need!(read_u32(input, offset, "Data"));
    let memory = match flags {
        0 => 0,
        2 => need!(read_u32(&input[at..], offset + at as u64, "Data")),
        _ => {
            return Err(malformed(
                "Data",
                offset,
                "a passive data segment (a core dump's memory is active segments)",
            ));
        }
    };
    let Some(&opcode) = input.get(at) else {
        return Ok(None);
    };
    at += 1;
    let address = match opcode {
        0x41 => need!(read_leb(&input[at..], offset + at as u64, 32, true)) as u32 as u64,
        0x42 => need!(read_leb(&input[at..], offset + at as u64, 64, true)),
        _ => {
            return Err(malformed(
                "Data",
                offset + at as u64 - 1,
                "a segment offset that is not an i32.const or i64.const",
            ));
        }
    };
    let Some(&end) = input.get(at) else {
        return Ok(None);
    };
    if end != 0x0b {
        return Err(malformed(
            "Data",
            offset + at as u64,
            "a segment offset expression without its end",
        ));
    }
    at += 1;
    let size = need!(read_u32(&input[at..], offset + at as u64, "Data"));
    Ok(Some(SegmentHeader {
        memory,
        address,
        size,
        len: at,
    }))
}

/// An unsigned LEB128 u32 with its length; `None` if `input` ends inside it.
fn read_u32(
    input: &[u8],
    offset: u64,
    section: &'static str,
) -> Result<Option<(u32, usize)>, CondenseError> {
    match read_leb(input, offset, 32, false) {
        Ok(v) => Ok(v.map(|(value, len)| (value as u32, len))),
        Err(mut e) => {
            if let CondenseError::Malformed { section: s, .. } = &mut e {
                *s = section;
            }
            Err(e)
        }
    }
}

/// A LEB128 number of at most `bits` bits, signed or not, as its u64 bit pattern, with its
/// length; `None` if `input` ends inside it.
fn read_leb(
    input: &[u8],
    offset: u64,
    bits: u32,
    signed: bool,
) -> Result<Option<(u64, usize)>, CondenseError> {
    let max_len = bits.div_ceil(7) as usize;
    let mut value: u64 = 0;
    for (i, &byte) in input.iter().enumerate().take(max_len) {
        let shift = 7 * i as u32;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            let used = shift + 7;
            if signed && used < 64 && byte & 0x40 != 0 {
                value |= u64::MAX << used;
            }
            let fits = if signed {
                let v = value as i64;
                bits == 64 || (v >= -(1 << (bits - 1)) && v < (1 << (bits - 1)))
            } else {
                bits == 64 || value >> bits == 0
            };
            if !fits {
                return Err(malformed("Data", offset, "a number too large for its type"));
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if input.len() >= max_len {
        return Err(malformed(
            "Data",
            offset,
            "a number longer than its type allows",
        ));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dump with 8 pages of memory, two of them not zero.
    fn dump() -> Vec<u8> {
        let mut dump = coredump::CoreDump::new("test");
        dump.add_memory(coredump::Memory {
            ty: coredump::MemoryType::new(1),
            segments: vec![coredump::Segment {
                address: 0x10,
                data: {
                    let mut m = vec![0u8; 8 * PAGE];
                    m[0] = 7;
                    m[2 * PAGE + 5] = 9;
                    m.into()
                },
            }],
        });
        dump.add_thread(coredump::Thread {
            name: "main".into(),
            frames: vec![],
        });
        dump.encode()
    }

    fn condense(bytes: &[u8], piece: usize, limit: usize) -> Condensed {
        let mut c = Condenser::new(limit);
        for chunk in bytes.chunks(piece) {
            c.push(chunk).unwrap();
        }
        c.finish().unwrap()
    }

    #[test]
    fn keeps_the_non_zero_pages_in_any_piece_size() {
        let bytes = dump();
        for piece in [1, 3, 7, 4096, 1 << 20] {
            let condensed = condense(&bytes, piece, 1 << 20);
            assert_eq!(condensed.received, bytes.len() as u64);
            assert!(condensed.bytes.len() < bytes.len() / 2, "piece {piece}");
            let dump = coredump::CoreDump::parse(&condensed.bytes).unwrap();
            assert_eq!(&*dump.read(0, 0x10, 1).unwrap(), &[7]);
            assert_eq!(&*dump.read(0, 0x10 + 2 * PAGE as u64 + 5, 1).unwrap(), &[9]);
            assert_eq!(dump.threads()[0].name, "main");
        }
    }

    #[test]
    fn memory_beyond_the_limit_is_counted_not_kept() {
        let condensed = condense(&dump(), 100, PAGE);
        assert!(condensed.dropped_memory > 0);
        coredump::CoreDump::parse(&condensed.bytes).unwrap();
    }

    #[test]
    fn bad_bytes_say_what_and_where() {
        let mut c = Condenser::new(1 << 20);
        assert_eq!(
            c.push(b"PK\x03\x04rest").unwrap_err().to_string(),
            "not a Wasm core dump: it starts with 50 4b 03 04"
        );
        let bytes = dump();
        let mut c = Condenser::new(1 << 20);
        c.push(&bytes[..100]).unwrap();
        assert_eq!(
            c.finish().unwrap_err().to_string(),
            "the core dump is truncated at offset 0x64"
        );
    }
}
