//! Formatting values the way gdb prints them: Rust syntax for Rust types
//! (`mything::MyThing {value: 3}`, `core::option::Option<i32>::Some(5)`), C syntax for C types
//! (`{value = 3}`), pointers as `0x...`.

use std::fmt::Write as _;

use crate::context::DebugInfo;
use crate::error::{Error, Result};
use crate::scalar::{format_char, format_float, format_integer};
use crate::state::FrameState;
use crate::types::{Composite, Member, Type, TypeId, TypeKind};
use crate::variables::Variable;

/// Limits for formatting values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatOptions {
    /// At most this many elements of an array, slice or `Vec`, and characters of a string
    /// (gdb's `print elements`, 200 by default).
    pub max_elements: usize,
    /// Nesting depth past which values print as `{...}`.
    pub max_depth: usize,
    /// gdb's `print/r`: no std type's printer (rust-gdb's), each such value as its raw struct.
    pub raw: bool,
    /// gdb's `set print pretty on`: a struct's (or tuple's) fields one a line, indented two
    /// spaces a level; enums, arrays and the std types' printers stay on one line, as in gdb.
    pub pretty: bool,
    /// gdb's output format letter of `print/FMT` (`x`, `d`, `u`, `o`, `t`, `z`, `c`, `f`),
    /// applied to each scalar of the value (array elements, fields); `None`: each as its type
    /// prints.
    pub format: Option<char>,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            max_elements: 200,
            max_depth: 12,
            raw: false,
            pretty: false,
            format: None,
        }
    }
}

pub(crate) struct Printer<'a> {
    pub(crate) info: &'a DebugInfo,
    pub(crate) state: &'a dyn FrameState,
    pub(crate) options: FormatOptions,
    pub(crate) out: String,
    /// Whether this prints a frame line's summary of a value: gdb's `print frame-arguments
    /// scalars`, in which an aggregate is `...` and a pretty printer shows its summary only.
    pub(crate) summary: bool,
    depth: usize,
    /// How many multi-line structs enclose what is printed ([`FormatOptions::pretty`]).
    indent: usize,
    /// Which bytes of the value printed its location describes, when not all.
    described: Option<Described>,
}

/// The bytes of a variable its location describes ([`crate::Place::read_described`]): `mask`
/// over the bytes that start at address `start` in the printer's memory.
struct Described {
    start: usize,
    mask: Vec<bool>,
}

/// Little-endian bytes as an unsigned integer (at most 16 bytes).
pub(crate) fn unsigned(bytes: &[u8]) -> u128 {
    bytes
        .iter()
        .take(16)
        .rev()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
}

/// Little-endian bytes as a sign-extended integer.
pub(crate) fn signed(bytes: &[u8]) -> i128 {
    let n = bytes.len().min(16);
    if n == 0 {
        return 0;
    }
    let shift = 128 - 8 * n as u32;
    ((unsigned(bytes) << shift) as i128) >> shift
}

/// `bytes[range]`, or an error naming what did not fit.
pub(crate) fn field(bytes: &[u8], offset: u64, size: u64) -> Result<&[u8]> {
    let end = offset
        .checked_add(size)
        .and_then(|end| usize::try_from(end).ok());
    end.and_then(|end| bytes.get(offset as usize..end))
        .ok_or_else(|| {
            Error::InvalidReference(format!("field at {offset}+{size} outside the value"))
        })
}

impl<'a> Printer<'a> {
    pub(crate) fn new(
        info: &'a DebugInfo,
        state: &'a dyn FrameState,
        options: FormatOptions,
    ) -> Self {
        Printer {
            info,
            state,
            options,
            out: String::new(),
            summary: false,
            depth: 0,
            indent: 0,
            described: None,
        }
    }

    /// Whether some, and whether all, of `bytes` are bytes of the printed variable that its
    /// location does not describe ([`Printer::described`]); both `false` for bytes read from
    /// elsewhere (memory a pointer points at).
    fn undescribed(&self, bytes: &[u8]) -> (bool, bool) {
        let Some(described) = &self.described else {
            return (false, false);
        };
        let offset = (bytes.as_ptr() as usize).wrapping_sub(described.start);
        let Some(mask) = described
            .mask
            .get(offset..offset.saturating_add(bytes.len()))
        else {
            return (false, false);
        };
        if mask.is_empty() {
            return (false, false);
        }
        (mask.contains(&false), !mask.contains(&true))
    }

    /// Prints a value of type `ty` held in `bytes` (its size).
    pub(crate) fn value(&mut self, ty: TypeId, bytes: &[u8]) -> Result<()> {
        if self.depth > self.options.max_depth {
            self.out.push_str("{...}");
            return Ok(());
        }
        self.depth += 1;
        let result = self.value_inner(ty, bytes);
        self.depth -= 1;
        result
    }

    fn value_inner(&mut self, ty: TypeId, bytes: &[u8]) -> Result<()> {
        let (id, t) = self.info.strip_type(ty)?;
        // What the variable's location does not describe: a scalar, or the whole value, is
        // `<optimized out>`; an aggregate shows its fields, each as it is described.
        let (any, all) = self.undescribed(bytes);
        let aggregate = matches!(
            t.kind,
            TypeKind::Struct(_) | TypeKind::Union(_) | TypeKind::Array { .. }
        );
        if all || (any && !aggregate) {
            self.out.push_str("<optimized out>");
            return Ok(());
        }
        // A printer or an enum reads its fields as a whole: only a value described whole.
        if any && let TypeKind::Struct(c) | TypeKind::Union(c) = &t.kind {
            return self.composite(&t, c, bytes);
        }
        if t.rust && self.rust_special(id, &t, bytes)? {
            return Ok(());
        }
        if self.summary
            && matches!(
                t.kind,
                TypeKind::Struct(_) | TypeKind::Union(_) | TypeKind::Array { .. }
            )
        {
            self.out.push_str("...");
            return Ok(());
        }
        match &t.kind {
            TypeKind::Base(encoding) => self.base(*encoding, &t, bytes),
            TypeKind::Pointer(_) | TypeKind::Reference(_) | TypeKind::Function
                if self.options.format.is_some_and(|l| l != 'x' && l != 's') =>
            {
                let letter = self.options.format.unwrap_or('x');
                self.out.push_str(&format_integer(bytes, false, letter));
                Ok(())
            }
            TypeKind::Pointer(_) | TypeKind::Reference(_) | TypeKind::Function => {
                let address = unsigned(bytes);
                write!(self.out, "{address:#x}").ok();
                if !t.rust
                    && self.options.format.is_none()
                    && let TypeKind::Pointer(Some(target)) = t.kind
                {
                    self.c_string_after_pointer(target, address as u64)?;
                }
                Ok(())
            }
            TypeKind::Struct(c) | TypeKind::Union(c) => match &c.variant_part {
                Some(_) if t.rust => self.rust_enum(&t, c, bytes),
                _ => self.composite(&t, c, bytes),
            },
            TypeKind::Enum(e) if self.options.format.is_some_and(|l| l != 's') => {
                let letter = self.options.format.unwrap_or('d');
                self.out.push_str(&format_integer(bytes, e.signed, letter));
                Ok(())
            }
            TypeKind::Enum(e) => {
                let value = if e.signed {
                    signed(bytes)
                } else {
                    unsigned(bytes) as i128
                };
                match e.enumerators.iter().find(|(_, v)| *v == value) {
                    Some((name, _)) if t.rust => {
                        let ty_name = t.name.as_deref().unwrap_or("");
                        write!(self.out, "{ty_name}::{name}").ok();
                    }
                    Some((name, _)) => self.out.push_str(name),
                    None => {
                        write!(self.out, "{value}").ok();
                    }
                }
                Ok(())
            }
            TypeKind::Array { element, counts } => self.array(&t, *element, counts, bytes),
            TypeKind::Typedef(None) | TypeKind::Const(None) | TypeKind::Volatile(None) => {
                self.out.push_str("void");
                Ok(())
            }
            _ => {
                self.out.push_str(if t.rust { "()" } else { "void" });
                Ok(())
            }
        }
    }

    fn base(&mut self, encoding: gimli::DwAte, t: &Type, bytes: &[u8]) -> Result<()> {
        let out = &mut self.out;
        // In a format, a float prints its bits (but as a float in `/f`), the others their value.
        if let Some(letter) = self.options.format.filter(|&l| l != 's')
            && !(encoding == gimli::DW_ATE_float && letter == 'f')
        {
            let signed = matches!(
                encoding,
                gimli::DW_ATE_signed | gimli::DW_ATE_signed_char | gimli::DW_ATE_float
            );
            out.push_str(&format_integer(bytes, signed, letter));
            return Ok(());
        }
        match encoding {
            gimli::DW_ATE_boolean => out.push_str(if unsigned(bytes) != 0 {
                "true"
            } else {
                "false"
            }),
            gimli::DW_ATE_float if matches!(bytes.len(), 4 | 8) => {
                out.push_str(&format_float(bytes).unwrap_or_default());
            }
            gimli::DW_ATE_signed_char | gimli::DW_ATE_unsigned_char if !t.rust => {
                let v = if encoding == gimli::DW_ATE_signed_char {
                    signed(bytes)
                } else {
                    unsigned(bytes) as i128
                };
                let c = char::from(v as u8);
                write!(out, "{v} {:?}", c).ok();
            }
            gimli::DW_ATE_UTF => out.push_str(&format_char(unsigned(bytes) as u32)),
            gimli::DW_ATE_signed | gimli::DW_ATE_signed_char => {
                write!(out, "{}", signed(bytes)).ok();
            }
            _ => {
                write!(out, "{}", unsigned(bytes)).ok();
            }
        }
        Ok(())
    }

    /// C's `char *`: gdb prints the string after the address.
    fn c_string_after_pointer(&mut self, target: TypeId, address: u64) -> Result<()> {
        let (_, t) = self.info.strip_type(target)?;
        let is_char = matches!(
            t.kind,
            TypeKind::Base(gimli::DW_ATE_signed_char | gimli::DW_ATE_unsigned_char)
        ) && t.size == Some(1);
        if !is_char || address == 0 {
            return Ok(());
        }
        let mut s = Vec::new();
        let mut truncated = true;
        for i in 0..self.options.max_elements as u64 {
            match self.state.read_memory(address + i, 1) {
                Ok(b) if b[0] != 0 => s.push(b[0]),
                Ok(_) => {
                    truncated = false;
                    break;
                }
                Err(_) => return Ok(()),
            }
        }
        write!(self.out, " {:?}", String::from_utf8_lossy(&s)).ok();
        if truncated {
            self.out.push_str("...");
        }
        Ok(())
    }

    /// Prints member `m` of a value.
    pub(crate) fn member(&mut self, m: &Member, bytes: &[u8]) -> Result<()> {
        let Some(ty) = m.ty else {
            self.out.push_str("void");
            return Ok(());
        };
        let size = self.info.type_size(ty)?.unwrap_or(0);
        if let Some((bit_offset, bits)) = m.bits {
            let raw = unsigned(field(bytes, m.offset, size.max(1))?);
            let v = (raw >> bit_offset) & ((1u128 << bits) - 1);
            write!(self.out, "{v}").ok();
            return Ok(());
        }
        match field(bytes, m.offset, size) {
            Ok(b) => self.value(ty, b),
            Err(e) => {
                write!(self.out, "<{e}>").ok();
                Ok(())
            }
        }
    }

    fn composite(&mut self, t: &Type, c: &Composite, bytes: &[u8]) -> Result<()> {
        let pretty = self.options.pretty;
        if !t.rust {
            return self.fields(c, bytes, "{", "}", Some(" = "), pretty);
        }
        let name = t.name.as_deref().unwrap_or("");
        let tuple = !c.members.is_empty()
            && c.members
                .iter()
                .all(|m| m.name.as_deref().is_some_and(|n| n.starts_with("__")));
        if name.starts_with('(') {
            // A tuple type: `(1, 2)`.
            self.fields(c, bytes, "(", ")", None, pretty)
        } else if c.members.is_empty() {
            self.out.push_str(name);
            Ok(())
        } else if tuple {
            self.out.push_str(name);
            self.fields(c, bytes, "(", ")", None, pretty)
        } else {
            write!(self.out, "{name} ").ok();
            self.fields(c, bytes, "{", "}", Some(": "), pretty)
        }
    }

    /// `open field, field close`, each field after its name and `named` (`": "`, C's `" = "`)
    /// when there is one; with `multiline`, one a line, indented a level deeper than the value.
    pub(crate) fn fields(
        &mut self,
        c: &Composite,
        bytes: &[u8],
        open: &str,
        close: &str,
        named: Option<&str>,
        multiline: bool,
    ) -> Result<()> {
        self.out.push_str(open);
        if multiline {
            self.indent += 1;
        }
        let indent = "  ".repeat(self.indent);
        for (i, m) in c.members.iter().enumerate() {
            match (i, multiline) {
                (_, true) => {
                    let comma = if i > 0 { "," } else { "" };
                    write!(self.out, "{comma}\n{indent}").ok();
                }
                (0, false) => {}
                (_, false) => self.out.push_str(", "),
            }
            if let Some(separator) = named {
                let name = m.name.as_deref().unwrap_or("<anonymous>");
                write!(self.out, "{name}{separator}").ok();
            }
            self.member(m, bytes)?;
        }
        if multiline {
            self.indent -= 1;
            write!(self.out, "\n{}", "  ".repeat(self.indent)).ok();
        }
        self.out.push_str(close);
        Ok(())
    }

    fn array(
        &mut self,
        t: &Type,
        element: TypeId,
        counts: &[Option<u64>],
        bytes: &[u8],
    ) -> Result<()> {
        let (open, close) = if t.rust { ('[', ']') } else { ('{', '}') };
        let element_size = self.info.type_size(element)?.unwrap_or(0);
        // The inner dimensions form one element of the outer one.
        // Saturating: sizes that overflow (malformed DWARF) are past any value's bytes.
        let inner = (counts.iter().skip(1)).fold(1u64, |n, c| n.saturating_mul(c.unwrap_or(0)));
        let stride = element_size.saturating_mul(inner);
        let count = counts.first().copied().flatten().unwrap_or(0);
        self.out.push(open);
        for i in 0..count {
            if i > 0 {
                self.out.push_str(", ");
            }
            if i as usize >= self.options.max_elements {
                self.out.push_str("...");
                break;
            }
            let b = field(bytes, i.saturating_mul(stride), stride)?;
            if counts.len() > 1 {
                self.array(t, element, &counts[1..], b)?;
            } else {
                self.value(element, b)?;
            }
        }
        self.out.push(close);
        Ok(())
    }
}

impl DebugInfo {
    /// Formats a value of type `ty` whose bytes are `bytes`, as gdb prints it. Pointed-to data
    /// (strings, `Vec` elements) is read through `state`.
    pub fn format_value(
        &self,
        ty: TypeId,
        bytes: &[u8],
        state: &dyn FrameState,
        options: FormatOptions,
    ) -> Result<String> {
        self.format_described_value(ty, bytes, None, state, options)
    }

    /// [`DebugInfo::format_value`] of a value whose location describes only the bytes
    /// `described` says (as [`crate::Place::read_described`] gives them; `None`: all): a scalar
    /// with a byte it does not describe prints as `<optimized out>`, as in gdb.
    pub fn format_described_value(
        &self,
        ty: TypeId,
        bytes: &[u8],
        described: Option<&[bool]>,
        state: &dyn FrameState,
        options: FormatOptions,
    ) -> Result<String> {
        let mut printer = Printer::new(self, state, options);
        printer.described = described.map(|mask| Described {
            start: bytes.as_ptr() as usize,
            mask: mask.to_vec(),
        });
        printer.value(ty, bytes)?;
        Ok(printer.out)
    }

    /// Formats a value as gdb shows it in a frame line (its `print frame-arguments scalars`):
    /// a scalar as [`DebugInfo::format_value`] does, a value rust-gdb has a pretty printer for
    /// as the printer's summary (`"zoo"`, `Vec(size=5) = {...}`, `Vec(size=0)`), another
    /// struct, union or array as `...`.
    pub fn format_summary(
        &self,
        ty: TypeId,
        bytes: &[u8],
        state: &dyn FrameState,
        options: FormatOptions,
    ) -> Result<String> {
        let mut printer = Printer::new(self, state, options);
        printer.summary = true;
        printer.value(ty, bytes)?;
        Ok(printer.out)
    }

    /// Reads and formats a variable's value. Never fails: what cannot be shown is shown as
    /// gdb does, `<optimized out>`, or as `<unavailable: ...>` / `<error: ...>`.
    pub fn format_variable(
        &self,
        var: &Variable,
        state: &dyn FrameState,
        options: FormatOptions,
    ) -> String {
        let Some(ty) = var.ty else {
            return "<no type>".into();
        };
        let result = self
            .read_variable(var, state)
            .and_then(|(bytes, described)| {
                self.format_described_value(ty, &bytes, described.as_deref(), state, options)
            });
        match result {
            Ok(s) => s,
            Err(Error::OptimizedOut) => "<optimized out>".into(),
            Err(Error::Unavailable(what)) => format!("<unavailable: {what}>"),
            Err(e) => format!("<error: {e}>"),
        }
    }
}
