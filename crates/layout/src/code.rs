//! Where each function's code lives in the module file, and the one rule that turns a frame's
//! code offset into a DWARF address.

use std::ops::Range;

use wasmparser::{CodeSectionReader, ImportSectionReader, TypeRef};

use crate::error::Error;
use crate::sections::{ModuleLayout, Section, section_id};

type Result<T, E = Error> = std::result::Result<T, E>;

/// The layout of a module's Code section: where its payload starts and where each function body
/// starts and ends, as file offsets.
///
/// DWARF for Wasm addresses code relative to the start of the Code section's payload (the byte
/// where the function-count LEB starts). A core dump frame's code offset is relative to the
/// start of its function's body (the byte after the body-size LEB, wasmparser's
/// `FunctionBody::range().start`). [`CodeLayout::dwarf_address`] converts one into the other;
/// it is the only place in the project that does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeLayout {
    code_payload_start: u64,
    imported_functions: u32,
    /// File ranges of the defined functions' bodies (after the size LEB), in Code section order.
    bodies: Vec<Range<u64>>,
}

/// A place in the code: a function index (imports included) and an offset from the start of its
/// body, as a core dump frame records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodeLocation {
    /// The function index, in the module's function index space (imports first).
    pub func: u32,
    /// The offset from the start of the function's body (the byte after the body-size LEB).
    pub code_offset: u32,
}

impl CodeLayout {
    /// A layout from its parts: the file offset of the Code section's payload, the number of
    /// imported functions, and each defined function's body as a file range (after the size LEB).
    pub fn new(code_payload_start: u64, imported_functions: u32, bodies: Vec<Range<u64>>) -> Self {
        CodeLayout {
            code_payload_start,
            imported_functions,
            bodies,
        }
    }

    /// Reads the layout of the Code section of `module` (the bytes `layout` was parsed from):
    /// the number of imported functions and each body's size. Decodes no body. Returns `None` if
    /// the module has no Code section.
    pub fn read(module: &[u8], layout: &ModuleLayout) -> Result<Option<CodeLayout>> {
        let Some(code) = layout.code_section() else {
            return Ok(None);
        };
        let malformed = |section: &Section, err: wasmparser::BinaryReaderError| Error::Malformed {
            offset: usize::try_from(err.offset()).unwrap_or(usize::MAX),
            section: Some(layout.section_ref(section)),
            message: err.message().to_owned(),
        };
        let mut imported = 0u32;
        if let Some(imports) = layout.section(section_id::IMPORT) {
            let reader = ImportSectionReader::new(imports.reader(module))
                .map_err(|e| malformed(imports, e))?;
            for import in reader.into_imports() {
                let import = import.map_err(|e| malformed(imports, e))?;
                if matches!(import.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                    imported += 1;
                }
            }
        }
        let reader = CodeSectionReader::new(code.reader(module)).map_err(|e| malformed(code, e))?;
        let bodies = reader
            .into_iter()
            .map(|body| Ok(body.map_err(|e| malformed(code, e))?.range()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(CodeLayout::new(
            code.content.start as u64,
            imported,
            bodies,
        )))
    }

    /// The file offset of the Code section's payload (where the function count starts): DWARF
    /// address 0.
    pub fn code_payload_start(&self) -> u64 {
        self.code_payload_start
    }

    /// The number of imported functions, which come first in the function index space.
    pub fn imported_functions(&self) -> u32 {
        self.imported_functions
    }

    /// The number of functions defined in the module (bodies in the Code section).
    pub fn defined_functions(&self) -> u32 {
        self.bodies.len() as u32
    }

    /// The file ranges of the defined functions' bodies (after their size LEB), in Code section
    /// order: index `i` is function `imported_functions() + i`.
    pub fn bodies(&self) -> &[Range<u64>] {
        &self.bodies
    }

    /// The file range of function `func`'s body, from the byte after its size LEB to its end.
    pub fn body_range(&self, func: u32) -> Result<Range<u64>> {
        let count = self.imported_functions + self.defined_functions();
        if func < self.imported_functions {
            return Err(Error::ImportedFunction {
                func,
                imported: self.imported_functions,
            });
        }
        self.bodies
            .get((func - self.imported_functions) as usize)
            .cloned()
            .ok_or(Error::NoSuchFunction { func, count })
    }

    /// The DWARF address of `code_offset` in function `func`:
    /// `body_start + code_offset - code_payload_start`.
    ///
    /// The offset may be the body's length (one past its last byte: the end of a function is
    /// still inside it for `end`-less frames), not more.
    pub fn dwarf_address(&self, func: u32, code_offset: u32) -> Result<u64> {
        let body = self.body_range(func)?;
        let len = body.end - body.start;
        if u64::from(code_offset) > len {
            return Err(Error::CodeOffsetOutOfRange {
                func,
                code_offset,
                len,
            });
        }
        Ok(body.start + u64::from(code_offset) - self.code_payload_start)
    }

    /// The inverse of [`CodeLayout::dwarf_address`]: the function and code offset of a DWARF
    /// address, or `None` if it falls outside every body (in a size LEB, or past the section).
    pub fn code_location(&self, address: u64) -> Option<CodeLocation> {
        let file_offset = address.checked_add(self.code_payload_start)?;
        // The last body starting at or before the offset.
        let index = self
            .bodies
            .partition_point(|body| body.start <= file_offset)
            .checked_sub(1)?;
        let body = &self.bodies[index];
        if file_offset > body.end {
            return None;
        }
        Some(CodeLocation {
            func: self.imported_functions + index as u32,
            code_offset: u32::try_from(file_offset - body.start).ok()?,
        })
    }

    /// The file offset of a DWARF address (what Sentry calls a wasm `instruction_addr`).
    pub fn file_offset(&self, address: u64) -> u64 {
        address + self.code_payload_start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> CodeLayout {
        // Code payload at 0x100; two imports; bodies at 0x102..0x110 and 0x111..0x120.
        CodeLayout::new(0x100, 2, vec![0x102..0x110, 0x111..0x120])
    }

    #[test]
    fn dwarf_address_is_relative_to_the_code_payload() {
        let l = layout();
        assert_eq!(l.dwarf_address(2, 0).unwrap(), 2);
        assert_eq!(l.dwarf_address(2, 5).unwrap(), 7);
        assert_eq!(l.dwarf_address(3, 1).unwrap(), 0x12);
    }

    #[test]
    fn imported_and_unknown_functions_are_errors() {
        let l = layout();
        assert!(matches!(
            l.dwarf_address(1, 0),
            Err(Error::ImportedFunction { func: 1, .. })
        ));
        assert!(matches!(
            l.dwarf_address(4, 0),
            Err(Error::NoSuchFunction { func: 4, count: 4 })
        ));
        assert!(matches!(
            l.dwarf_address(2, 0x20),
            Err(Error::CodeOffsetOutOfRange { .. })
        ));
    }

    #[test]
    fn code_location_inverts_dwarf_address() {
        let l = layout();
        for (func, off) in [(2, 0), (2, 7), (3, 0), (3, 0xe)] {
            let a = l.dwarf_address(func, off).unwrap();
            assert_eq!(
                l.code_location(a),
                Some(CodeLocation {
                    func,
                    code_offset: off
                })
            );
        }
        assert_eq!(l.code_location(0), None); // the function count LEB
        assert_eq!(l.code_location(0x100), None);
    }
}
