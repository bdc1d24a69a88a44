//! Rust-aware printing: enums (variant parts), and the std types rust-gdb has a pretty printer
//! for (`gdb_providers.py` of the Rust toolchain, picked by `rust_types.py`'s names): `&str`,
//! `String` and `OsString` as `"text"`, `&[i32](size=3) = {1, 2, 3}`, `Vec(size=3) = {1, 2, 3}`;
//! the collections, `Rc`, `Cell` and `NonZero` are in `collections.rs` and `cells.rs`. A value
//! whose layout is not the one its printer expects prints as its raw struct. Structs of a
//! `data_ptr` and a `length` that no printer takes (`Box<str>`) print as gdb itself prints them,
//! `alloc::boxed::Box<str, alloc::alloc::Global> [98, 115]`.

use std::fmt::Write as _;

use crate::children::{Child, Hint, element_at, template_param, unexpected};
use crate::context::DebugInfo;
use crate::error::{Error, Result};
use crate::format::{FormatOptions, Printer, field, unsigned};
use crate::state::FrameState;
use crate::types::{Composite, Type, TypeId, TypeKind};

/// The std types rust-gdb prints with a pretty printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StdType {
    Str,
    Slice,
    String,
    OsString,
    Vec,
    VecDeque,
    BTreeSet,
    BTreeMap,
    HashMap,
    HashSet,
    Rc,
    Arc,
    Cell,
    RefCell,
    NonZero,
}

/// rust-gdb's regexes for the generic types, `^(PREFIX([a-z_]+::)+)NAME<.+>$`: prefix, name.
const GENERIC: &[(&str, &str, StdType)] = &[
    ("alloc::", "Vec", StdType::Vec),
    ("alloc::", "VecDeque", StdType::VecDeque),
    ("alloc::", "BTreeSet", StdType::BTreeSet),
    ("alloc::", "BTreeMap", StdType::BTreeMap),
    ("std::collections::", "HashMap", StdType::HashMap),
    ("std::collections::", "HashSet", StdType::HashSet),
    ("alloc::", "Rc", StdType::Rc),
    ("alloc::", "Arc", StdType::Arc),
    ("core::", "Cell", StdType::Cell),
    ("core::", "RefCell", StdType::RefCell),
    ("core::", "NonZero", StdType::NonZero),
];

/// rust-gdb's regexes for the other types, `^(PREFIX([a-z_]+::)+)NAME$`.
const PLAIN: &[(&str, &str, StdType)] = &[
    ("alloc::", "String", StdType::String),
    ("std::ffi::", "OsString", StdType::OsString),
];

impl StdType {
    /// The printer for the type called `name`, as `rust_types.py` classifies it.
    fn of(name: &str) -> Option<StdType> {
        if name == "&str" || name == "&mut str" {
            return Some(StdType::Str);
        }
        if (name.starts_with("&[") || name.starts_with("&mut [")) && name.ends_with(']') {
            return Some(StdType::Slice);
        }
        let (head, generic) = match name.split_once('<') {
            Some((head, args)) if args.len() >= 2 && args.ends_with('>') => (head, true),
            Some(_) => return None,
            None => (name, false),
        };
        let table = if generic { GENERIC } else { PLAIN };
        (table.iter())
            .find(|(prefix, ty, _)| in_modules(head, prefix, ty))
            .map(|(_, _, kind)| *kind)
    }
}

/// Whether `path` is `prefix`, one or more lower-case modules (`[a-z_]+::`) and then `name`.
fn in_modules(path: &str, prefix: &str, name: &str) -> bool {
    let modules = (path.strip_prefix(prefix))
        .and_then(|rest| rest.strip_suffix(name))
        .and_then(|rest| rest.strip_suffix("::"));
    modules.is_some_and(|m| {
        m.split("::").all(|module| {
            !module.is_empty() && module.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
    })
}

impl DebugInfo {
    /// Element `index` of the Rust `Vec<T>`, `VecDeque<T>`, `String`, `&[T]` or `&str` of type
    /// `ty` held in `bytes`: its address and type, or [`Error::IndexOutOfBounds`] past the
    /// length. `None` for a value of another type (or of another layout than std's).
    pub fn rust_element(
        &self,
        ty: TypeId,
        bytes: &[u8],
        index: i128,
        state: &dyn FrameState,
    ) -> Result<Option<(u64, TypeId)>> {
        let (_, t) = self.strip_type(ty)?;
        let (Some(kind), TypeKind::Struct(c)) = (t.name.as_deref().and_then(StdType::of), &t.kind)
        else {
            return Ok(None);
        };
        let printer = Printer::new(self, state, FormatOptions::default());
        let (data, len, element, slot) = match kind {
            StdType::Str | StdType::Slice | StdType::Vec | StdType::String => {
                let Ok(run) = printer.sequence(kind, ty, bytes) else {
                    return Ok(None);
                };
                let slot = u64::try_from(index).ok().filter(|&i| i < run.len);
                (run.data, run.len, run.element, slot)
            }
            StdType::VecDeque => {
                let Ok(deque) = printer.deque(ty, c, bytes) else {
                    return Ok(None);
                };
                let slot =
                    (u64::try_from(index).ok().filter(|&i| i < deque.len)).map(|i| deque.slot(i));
                (deque.data, deque.len, deque.element, slot)
            }
            _ => return Ok(None),
        };
        let slot = slot.ok_or(Error::IndexOutOfBounds { index, len })?;
        let size = printer.size_of(element)?;
        Ok(Some((element_at(data, slot, size)?, element)))
    }

    /// Where the bytes of the Rust `&str` or `String` of type `ty` held in `bytes` are, and how
    /// many there are; `None` for a value of another type (or of another layout than std's).
    pub fn rust_string(
        &self,
        ty: TypeId,
        bytes: &[u8],
        state: &dyn FrameState,
    ) -> Result<Option<(u64, u64)>> {
        let (_, t) = self.strip_type(ty)?;
        let Some(kind @ (StdType::Str | StdType::String)) = t.name.as_deref().and_then(StdType::of)
        else {
            return Ok(None);
        };
        let printer = Printer::new(self, state, FormatOptions::default());
        let run = printer.sequence(kind, ty, bytes);
        Ok(run.ok().map(|run| (run.data, run.len)))
    }
}

/// A pointer and a length: the parts of a fat pointer or a `Vec`.
pub(crate) struct Run {
    pub(crate) data: u64,
    pub(crate) len: u64,
    pub(crate) element: TypeId,
}

impl Printer<'_> {
    /// Prints the Rust types rust-gdb prints its own way; `false` if `t` is not one of them,
    /// or its layout is not the one expected: it then prints as a struct.
    pub(crate) fn rust_special(&mut self, ty: TypeId, t: &Type, bytes: &[u8]) -> Result<bool> {
        let (Some(name), TypeKind::Struct(c)) = (t.name.as_deref(), &t.kind) else {
            return Ok(false);
        };
        if c.members.is_empty() {
            return Ok(false);
        }
        let mark = self.out.len();
        let printed = match StdType::of(name) {
            // `print/r`: no printer; `&str` is gdb's own, not a printer's.
            Some(kind) if self.options.raw && kind != StdType::Str => return Ok(false),
            Some(kind) => self.std_value(kind, ty, name, c, bytes),
            None if !self.summary && is_slice(c) => self.slice_struct(name, ty, bytes),
            None => return Ok(false),
        };
        match printed {
            Ok(()) => Ok(true),
            Err(_) => {
                self.out.truncate(mark);
                Ok(false)
            }
        }
    }

    fn std_value(
        &mut self,
        kind: StdType,
        ty: TypeId,
        name: &str,
        c: &Composite,
        bytes: &[u8],
    ) -> Result<()> {
        match kind {
            StdType::Str | StdType::String => {
                let run = self.sequence(kind, ty, bytes)?;
                self.string(&run)
            }
            StdType::Slice => {
                let run = self.sequence(kind, ty, bytes)?;
                let children = self.run_children(&run)?;
                self.with_children(&format!("{name}(size={})", run.len), Hint::Array, &children)
            }
            StdType::OsString => {
                let (vec, vec_bytes) = self.path(ty, bytes, &["inner", "inner"])?;
                let run = self.vec(vec, vec_bytes)?;
                self.string(&run)
            }
            StdType::Vec => {
                let run = self.sequence(kind, ty, bytes)?;
                let children = self.run_children(&run)?;
                self.with_children(&format!("Vec(size={})", run.len), Hint::Array, &children)
            }
            StdType::VecDeque => self.vec_deque(ty, c, bytes),
            StdType::BTreeMap => self.btree_map(ty, c, bytes),
            StdType::BTreeSet => self.btree_set(ty, bytes),
            StdType::HashMap => self.hash_map(ty, bytes, &["base", "table"], Hint::Map),
            StdType::HashSet => self.hash_map(ty, bytes, &["base", "map", "table"], Hint::Array),
            StdType::Rc => self.rc(ty, bytes, "Rc", ["value", "value"], "value"),
            StdType::Arc => self.rc(ty, bytes, "Arc", ["v", "value"], "data"),
            StdType::Cell => self.cell(ty, bytes),
            StdType::RefCell => self.ref_cell(ty, bytes),
            StdType::NonZero => self.non_zero(ty, bytes),
        }
    }

    /// `&str` and `&[T]`: `{data_ptr, length}`.
    pub(crate) fn fat_pointer(&self, ty: TypeId, bytes: &[u8]) -> Result<Run> {
        let (data_ty, data) = self.member_of(ty, bytes, "data_ptr")?;
        let (data, element) = self.thin_pointer(data_ty, data)?;
        let (len_ty, len) = self.member_of(ty, bytes, "length")?;
        Ok(Run {
            data,
            len: self.uint(len_ty, len)?,
            element,
        })
    }

    /// The elements of the `&str`, `&[T]`, `String` or `Vec<T>` (`kind`) of type `ty` held in
    /// `bytes`; an error for another kind.
    fn sequence(&self, kind: StdType, ty: TypeId, bytes: &[u8]) -> Result<Run> {
        match kind {
            StdType::Str | StdType::Slice => self.fat_pointer(ty, bytes),
            StdType::Vec => self.vec(ty, bytes),
            StdType::String => (self.member_of(ty, bytes, "vec"))
                .and_then(|(vec, vec_bytes)| self.vec(vec, vec_bytes)),
            _ => Err(unexpected("not a sequence")),
        }
    }

    /// A `Vec<T>` held in `bytes`: `len`, `buf.inner.ptr` and `T`.
    pub(crate) fn vec(&self, ty: TypeId, bytes: &[u8]) -> Result<Run> {
        let (_, t) = self.info.strip_type(ty)?;
        let TypeKind::Struct(c) = &t.kind else {
            return Err(unexpected("Vec is not a struct"));
        };
        let (len_ty, len) = self.member_of(ty, bytes, "len")?;
        let (ptr_ty, ptr) = self.path(ty, bytes, &["buf", "inner", "ptr"])?;
        Ok(Run {
            data: self.thin_pointer(ptr_ty, ptr)?.0,
            len: self.uint(len_ty, len)?,
            element: template_param(c, "T")?,
        })
    }

    fn string(&mut self, run: &Run) -> Result<()> {
        let shown = run.len.min(self.options.max_elements as u64);
        let bytes = self.state.read_memory(run.data, shown)?;
        write!(self.out, "{:?}", String::from_utf8_lossy(&bytes)).ok();
        if shown < run.len {
            self.out.push_str("...");
        }
        Ok(())
    }

    /// The first [`Printer::child_limit`] elements of `run`.
    pub(crate) fn run_children(&self, run: &Run) -> Result<Vec<Child>> {
        let size = self.size_of(run.element)?;
        let shown = run.len.min(self.child_limit() as u64);
        let total = (shown.checked_mul(size)).ok_or_else(|| unexpected("elements too big"))?;
        let bytes = self.read(run.data, total)?;
        (0..shown)
            .map(|i| {
                let element = field(&bytes, i * size, size)?;
                Ok(Child::element(run.element, element.to_vec()))
            })
            .collect()
    }

    /// gdb's own printing of a Rust struct of `data_ptr` and `length` (`Box<str>`, `Box<[T]>`):
    /// its type and its elements, `[98, 115]`.
    fn slice_struct(&mut self, name: &str, ty: TypeId, bytes: &[u8]) -> Result<()> {
        let run = self.fat_pointer(ty, bytes)?;
        let size = self.size_of(run.element)?;
        let shown = run.len.min(self.options.max_elements as u64);
        let total = (shown.checked_mul(size)).ok_or_else(|| unexpected("elements too big"))?;
        let elements = self.read(run.data, total)?;
        write!(self.out, "{name} [").ok();
        for i in 0..shown {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.value(run.element, field(&elements, i * size, size)?)?;
        }
        if shown < run.len {
            self.out.push_str("...");
        }
        self.out.push(']');
        Ok(())
    }

    /// A Rust enum: a struct with a variant part. Prints `Type::Variant`,
    /// `Type::Variant(a, b)` or `Type::Variant{x: a}`.
    pub(crate) fn rust_enum(&mut self, t: &Type, c: &Composite, bytes: &[u8]) -> Result<()> {
        let part = c.variant_part.as_ref().expect("checked by the caller");
        let variant = match &part.discriminant {
            Some(d) => {
                let size = match d.ty {
                    Some(ty) => self.info.type_size(ty)?.unwrap_or(0),
                    None => 0,
                };
                let raw = unsigned(field(bytes, d.offset, size)?);
                let mask = if size >= 16 {
                    u128::MAX
                } else {
                    (1u128 << (size * 8)) - 1
                };
                part.variants
                    .iter()
                    .find(|v| v.discr_value.is_some_and(|dv| u128::from(dv) & mask == raw))
                    .or_else(|| part.variants.iter().find(|v| v.discr_value.is_none()))
            }
            None => part.variants.first(),
        };
        let name = t.name.as_deref().unwrap_or("");
        let Some(variant) = variant else {
            write!(self.out, "{name}::<invalid discriminant>").ok();
            return Ok(());
        };
        let variant_name = variant.member.name.as_deref().unwrap_or("?");
        write!(self.out, "{name}::{variant_name}").ok();
        let Some(vty) = variant.member.ty else {
            return Ok(());
        };
        let (_, vt) = self.info.strip_type(vty)?;
        let TypeKind::Struct(vc) = &vt.kind else {
            return Ok(());
        };
        let size = vt.size.unwrap_or(0);
        let vbytes = field(bytes, variant.member.offset, size)?;
        if vc.members.is_empty() {
            return Ok(());
        }
        let tuple = vc
            .members
            .iter()
            .all(|m| m.name.as_deref().is_some_and(|n| n.starts_with("__")));
        if tuple {
            self.fields(vc, vbytes, "(", ")", None, false)
        } else {
            self.fields(vc, vbytes, "{", "}", Some(": "), false)
        }
    }
}

/// Whether a struct is gdb's idea of a Rust slice: exactly the members `data_ptr` and `length`.
fn is_slice(c: &Composite) -> bool {
    let mut names: Vec<_> = c.members.iter().map(|m| m.name.as_deref()).collect();
    names.sort();
    names == [Some("data_ptr"), Some("length")]
}
