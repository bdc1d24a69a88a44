//! The top-level section layout of a module, read with `wasmparser::Parser` without decoding any
//! section's content (the Code section is skipped whole, never split into function bodies).

use std::ops::Range;

use wasmparser::{
    BinaryReader, BinaryReaderError, Chunk, Encoding, FromReader, Parser, Payload, SectionLimited,
};

use crate::error::{Error, SectionRef};

/// Length of the module header: magic number and version.
pub const HEADER_LEN: usize = 8;

/// The ids of the known sections a tool looks up with [`ModuleLayout::section`].
pub mod section_id {
    /// The Type section.
    pub const TYPE: u8 = 1;
    /// The Import section.
    pub const IMPORT: u8 = 2;
    /// The Function section.
    pub const FUNCTION: u8 = 3;
    /// The Global section.
    pub const GLOBAL: u8 = 6;
    /// The Export section.
    pub const EXPORT: u8 = 7;
    /// The Element section.
    pub const ELEMENT: u8 = 9;
    /// The Code section.
    pub const CODE: u8 = 10;
}

/// One top-level section of a module, as file ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Section {
    /// The section id; 0 for custom sections.
    pub id: u8,
    /// A custom section's name; `None` for every other section.
    pub name: Option<String>,
    /// The whole section: id byte, size LEB and content.
    pub range: Range<usize>,
    /// The content, after the size LEB. For the Code section this is where the function-count
    /// LEB starts, the base of DWARF code addresses.
    pub content: Range<usize>,
    /// A custom section's data (after its name); the content for every other section.
    pub data: Range<usize>,
}

impl Section {
    /// Whether this is the Code section.
    pub fn is_code(&self) -> bool {
        self.id == section_id::CODE
    }

    /// Whether this is a custom section called `name`.
    pub fn is_custom(&self, name: &str) -> bool {
        self.name.as_deref() == Some(name)
    }

    /// A DWARF section: a custom section whose name starts with `.debug_`.
    pub fn is_dwarf(&self) -> bool {
        self.name
            .as_deref()
            .is_some_and(|n| n.starts_with(".debug_"))
    }

    /// The bytes of the id and size LEB.
    pub fn header(&self) -> Range<usize> {
        self.range.start..self.content.start
    }

    /// A reader of the section's [`data`](Section::data) in `module` (the bytes the layout was
    /// parsed from), positioned at its file offset: hand it to a wasmparser section reader.
    pub fn reader<'a>(&self, module: &'a [u8]) -> BinaryReader<'a> {
        BinaryReader::new(&module[self.data.clone()], self.data.start as u64)
    }
}

/// The top-level sections of a core module, in file order: the one scan of a module's layout
/// that every tool shares.
///
/// Holds ranges only, not the bytes: methods that read a section's content take the module's
/// bytes again (the same slice it was parsed from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleLayout {
    sections: Vec<Section>,
}

impl ModuleLayout {
    /// Lists the top-level sections of the core module `bytes`.
    ///
    /// Checks what wasmparser's `Parser` checks at this level (header, section sizes and order,
    /// function/code and data counts, custom section names) and that no section runs past the
    /// end. Decodes no section's content.
    pub fn parse(bytes: &[u8]) -> Result<ModuleLayout, Error> {
        scan(bytes).map(|sections| ModuleLayout { sections })
    }

    /// Every section, in file order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// The first section with this id (a custom section's id is 0: see
    /// [`ModuleLayout::custom_section`]).
    pub fn section(&self, id: u8) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// The Code section, if the module has one.
    pub fn code_section(&self) -> Option<&Section> {
        self.section(section_id::CODE)
    }

    /// The first custom section called `name`.
    pub fn custom_section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.is_custom(name))
    }

    /// Every custom section called `name`, in file order.
    pub fn custom_sections<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Section> {
        self.sections.iter().filter(move |s| s.is_custom(name))
    }

    /// The section whose bytes (id, size and content) hold file offset `offset`.
    pub fn section_at(&self, offset: usize) -> Option<&Section> {
        let index = self.sections.partition_point(|s| s.range.end <= offset);
        self.sections
            .get(index)
            .filter(|s| s.range.contains(&offset))
    }

    /// The [`SectionRef`] of `section` (one of this layout's), for error messages.
    pub fn section_ref(&self, section: &Section) -> SectionRef {
        let index = self
            .sections
            .iter()
            .position(|s| s.range.start == section.range.start)
            .unwrap_or(self.sections.len());
        SectionRef {
            index,
            offset: section.range.start,
            id: section.id,
            name: section.name.clone(),
        }
    }
}

/// Lists the top-level sections of the core module `input`, in order.
fn scan(input: &[u8]) -> Result<Vec<Section>, Error> {
    check_magic(input)?;
    let mut parser = Parser::new(0);
    let mut sections = Vec::new();
    let mut pos = 0;
    loop {
        let start = pos;
        let (consumed, payload) = match parser.parse(&input[pos..], true) {
            Ok(Chunk::Parsed { consumed, payload }) => (consumed, payload),
            // With `eof = true` the parser never asks for more data.
            Ok(Chunk::NeedMoreData(_)) => {
                return Err(describe(input, start, sections.len(), None));
            }
            Err(err) => return Err(describe(input, start, sections.len(), Some(err))),
        };
        pos += consumed;
        match payload {
            Payload::Version { encoding, .. } => {
                if encoding == Encoding::Component {
                    return Err(Error::Component);
                }
            }
            Payload::CustomSection(reader) => {
                let content = to_usize(reader.range());
                sections.push(Section {
                    id: 0,
                    name: Some(reader.name().to_owned()),
                    range: start..pos,
                    data: to_usize_offset(reader.data_offset())..content.end,
                    content,
                });
            }
            Payload::CodeSectionStart {
                unchecked_range,
                size,
                ..
            } => {
                parser.skip_section();
                let content = to_usize(unchecked_range);
                if content.end > input.len() {
                    return Err(truncated(input, start, sections.len()));
                }
                pos += size as usize;
                debug_assert_eq!(pos, content.end);
                sections.push(Section {
                    id: section_id::CODE,
                    name: None,
                    range: start..pos,
                    data: content.clone(),
                    content,
                });
            }
            Payload::End(_) => return Ok(sections),
            payload => {
                // Every other payload at this level is a whole known section: its items must
                // read (a count of 2^32-1 in an empty section is no module).
                if let Err(err) = read_items(&payload) {
                    return Err(describe(input, start, sections.len(), Some(err)));
                }
                if let Some((id, content)) = payload.as_section() {
                    let content = to_usize(content);
                    sections.push(Section {
                        id,
                        name: None,
                        range: start..pos,
                        data: content.clone(),
                        content,
                    });
                }
            }
        }
    }
}

/// Reads every item of a known section other than Code (whose bodies the tools that need them
/// read), so that a section whose count or items run past its end is malformed here.
fn read_items(payload: &Payload<'_>) -> Result<(), BinaryReaderError> {
    fn all<'a, T: FromReader<'a>>(
        section: &SectionLimited<'a, T>,
    ) -> Result<(), BinaryReaderError> {
        for item in section.clone() {
            item?;
        }
        Ok(())
    }
    match payload {
        Payload::TypeSection(s) => all(s),
        Payload::ImportSection(s) => all(s),
        Payload::FunctionSection(s) => all(s),
        Payload::TableSection(s) => all(s),
        Payload::MemorySection(s) => all(s),
        Payload::TagSection(s) => all(s),
        Payload::GlobalSection(s) => all(s),
        Payload::ExportSection(s) => all(s),
        Payload::ElementSection(s) => all(s),
        Payload::DataSection(s) => all(s),
        _ => Ok(()),
    }
}

/// Gives a clearer error than the parser's for inputs that are not Wasm at all.
fn check_magic(input: &[u8]) -> Result<(), Error> {
    const MAGIC: &[u8] = b"\0asm";
    let reason = if input.is_empty() {
        "the input is empty".to_owned()
    } else if !input.starts_with(MAGIC) && !MAGIC.starts_with(input) {
        let found: Vec<String> = input.iter().take(4).map(|b| format!("{b:02x}")).collect();
        format!(
            "no `\\0asm` magic number at offset 0x0 (found {})",
            found.join(" ")
        )
    } else if input.len() < HEADER_LEN {
        format!(
            "the input ends at offset {:#x}, inside the {HEADER_LEN}-byte header",
            input.len()
        )
    } else {
        return Ok(());
    };
    Err(Error::NotWasm { reason })
}

/// Turns a parser failure at `start` (where section `index` begins) into an error naming the
/// section and offset.
fn describe(input: &[u8], start: usize, index: usize, err: Option<BinaryReaderError>) -> Error {
    // At offset 0 the parser reads the module header, not a section.
    let header = (start >= HEADER_LEN)
        .then(|| read_header(input, start))
        .flatten();
    if let Some(h) = &header
        && h.end() > input.len() as u64
    {
        return truncated(input, start, index);
    }
    let (offset, message) = match err {
        Some(err) => (to_usize_offset(err.offset()), err.message().to_owned()),
        None => (input.len(), "unexpected end-of-file".to_owned()),
    };
    Error::Malformed {
        offset,
        section: header.map(|h| h.section_ref(input, start, index)),
        message,
    }
}

fn truncated(input: &[u8], start: usize, index: usize) -> Error {
    let h = read_header(input, start).expect("a section header was read");
    Error::Truncated {
        size: h.size,
        available: (input.len() as u64).saturating_sub(h.content_start),
        end: input.len(),
        section: h.section_ref(input, start, index),
    }
}

/// The longest custom section name an error message quotes.
const MAX_QUOTED_NAME: u64 = 128;

/// A section header read leniently, for error messages only.
struct Header {
    id: u8,
    size: u64,
    content_start: u64,
}

impl Header {
    fn end(&self) -> u64 {
        self.content_start + self.size
    }

    fn section_ref(&self, input: &[u8], start: usize, index: usize) -> SectionRef {
        let name = (self.id == 0)
            .then(|| {
                let at = usize::try_from(self.content_start).ok()?;
                let (len, len_bytes) = read_leb(input.get(at..)?)?;
                let name_start = at + len_bytes;
                let name_end = name_start.checked_add(len as usize)?;
                // Only a name inside the section as declared, short and printable: a header
                // misread from other bytes must not quote them (in one line).
                if name_end as u64 > self.end() || len > MAX_QUOTED_NAME {
                    return None;
                }
                let name = std::str::from_utf8(input.get(name_start..name_end)?).ok()?;
                (!name.chars().any(char::is_control)).then(|| name.to_owned())
            })
            .flatten();
        SectionRef {
            index,
            offset: start,
            id: self.id,
            name,
        }
    }
}

fn read_header(input: &[u8], start: usize) -> Option<Header> {
    let id = *input.get(start)?;
    let (size, len) = read_leb(input.get(start + 1..)?)?;
    Some(Header {
        id,
        size,
        content_start: (start + 1 + len) as u64,
    })
}

/// Reads an unsigned LEB128 of at most 5 bytes (a u32): (value, encoded length).
pub(crate) fn read_leb(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().take(5).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn to_usize(range: Range<u64>) -> Range<usize> {
    to_usize_offset(range.start)..to_usize_offset(range.end)
}

/// Offsets fit: they come from parsing an in-memory slice.
fn to_usize_offset(offset: u64) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb() {
        assert_eq!(read_leb(&[0x05]), Some((5, 1)));
        assert_eq!(read_leb(&[0xe5, 0x8e, 0x26]), Some((624_485, 3)));
        assert_eq!(read_leb(&[0x80, 0x80, 0x80, 0x80, 0x00]), Some((0, 5)));
        assert_eq!(read_leb(&[0x80, 0x80]), None);
    }

    /// An error at an offset names the section the offset is in, as messages say it.
    #[test]
    fn section_at_finds_the_section_holding_an_offset() {
        let module = wat::parse_str(r#"(module (memory 1) (func (export "f")))"#).unwrap();
        let layout = ModuleLayout::parse(&module).unwrap();
        let what = |offset| {
            let section = layout.section_at(offset)?;
            Some(layout.section_ref(section).what().to_string())
        };
        // Id 5: the Memory section.
        let memory = layout.section(5).unwrap().range.clone();
        assert_eq!(what(memory.start).as_deref(), Some("memory section"));
        assert_eq!(what(memory.end - 1).as_deref(), Some("memory section"));
        assert_ne!(what(memory.end).as_deref(), Some("memory section"));
        assert_eq!(what(0), None, "the header is in no section");
        assert_eq!(what(module.len()), None);
    }

    #[test]
    fn errors_quote_no_name_from_outside_the_section() {
        // A custom section declaring 3 bytes whose name claims 200: cut short, and the name
        // would run past the section.
        let mut input = b"\0asm\x01\0\0\0".to_vec();
        input.extend([0, 3, 200, 1]);
        input.extend(vec![b'x'; 300]);
        let err = ModuleLayout::parse(&input).unwrap_err().to_string();
        assert!(!err.contains("xxx"), "{err}");
        assert!(
            err.contains("custom section (section 0 at offset 0x8)"),
            "{err}"
        );
    }

    #[test]
    fn header_only_module_has_no_sections() {
        let layout = ModuleLayout::parse(b"\0asm\x01\0\0\0").unwrap();
        assert!(layout.sections().is_empty());
    }

    #[test]
    fn not_wasm() {
        for (input, reason) in [
            (&b""[..], "the input is empty"),
            (
                b"\x7fELF\x02",
                "no `\\0asm` magic number at offset 0x0 (found 7f 45 4c 46)",
            ),
            (
                b"\0as",
                "the input ends at offset 0x3, inside the 8-byte header",
            ),
            (
                b"\0asm\x01",
                "the input ends at offset 0x5, inside the 8-byte header",
            ),
        ] {
            let err = ModuleLayout::parse(input).unwrap_err();
            assert_eq!(
                err,
                Error::NotWasm {
                    reason: reason.into()
                }
            );
        }
    }
}
