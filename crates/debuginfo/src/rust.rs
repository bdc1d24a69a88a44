//! Rust-aware printing: enums (variant parts), `&str`, slices, `String`, `Vec<T>`, `Box<T>`.
//! The shapes follow rust-gdb's pretty printers: `"text"`, `Vec(size=3) = {1, 2, 3}`,
//! `&[i32](size=3) = {1, 2, 3}`, `core::option::Option<i32>::Some(5)`.

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::format::{Printer, field, unsigned};
use crate::types::{Composite, MAX_TYPE_DEPTH, Member, Type, TypeId, TypeKind, too_deep};

/// A pointer and a length: the parts of a fat pointer or a `Vec`.
struct Run {
    data: u64,
    len: u64,
    element: Option<TypeId>,
}

impl Printer<'_> {
    /// Prints Rust standard types in their own way; `false` if `t` is not one of them.
    pub(crate) fn rust_special(&mut self, t: &Type, bytes: &[u8]) -> Result<bool> {
        let (Some(name), TypeKind::Struct(c)) = (t.name.as_deref(), &t.kind) else {
            return Ok(false);
        };
        if name == "&str" || name == "&mut str" {
            let run = self.fat_pointer(c, bytes)?;
            self.string(&run)?;
        } else if name.starts_with("&[") || name.starts_with("&mut [") {
            let run = self.fat_pointer(c, bytes)?;
            write!(self.out, "{name}(size={}) = ", run.len).ok();
            self.elements(&run)?;
        } else if name == "alloc::string::String" {
            let vec = self.member_named(c, "vec")?;
            let vec_type = self.info.type_of(vec.ty.ok_or_else(no_type)?)?;
            let size = vec_type.size.unwrap_or(0);
            let run = self.vec(&vec_type, field(bytes, vec.offset, size)?)?;
            self.string(&run)?;
        } else if name.starts_with("alloc::vec::Vec<") {
            let run = self.vec(t, bytes)?;
            write!(self.out, "Vec(size={}) = ", run.len).ok();
            self.elements(&run)?;
        } else if name.starts_with("alloc::boxed::Box<") {
            // A thin `Box<T>` is its pointer; `Box<str>` and `Box<[T]>` are fat.
            let pointer = leaf_pointer(self, c, bytes, 0, 0)?;
            match pointer {
                Some(address) if bytes.len() <= 8 => {
                    write!(self.out, "{address:#x}").ok();
                }
                _ => return Ok(false),
            }
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    fn member_named<'c>(&self, c: &'c Composite, name: &str) -> Result<&'c Member> {
        c.members
            .iter()
            .find(|m| m.name.as_deref() == Some(name))
            .ok_or_else(|| Error::InvalidReference(format!("no member `{name}`")))
    }

    /// `&str` and `&[T]`: `{data_ptr, length}`.
    fn fat_pointer(&self, c: &Composite, bytes: &[u8]) -> Result<Run> {
        let data = self.member_named(c, "data_ptr")?;
        let len = self.member_named(c, "length")?;
        let element = match data.ty {
            Some(p) => match self.info.strip_type(p)?.1.kind {
                TypeKind::Pointer(t) | TypeKind::Reference(t) => t,
                _ => None,
            },
            None => None,
        };
        Ok(Run {
            data: self.uint_member(data, bytes)?,
            len: self.uint_member(len, bytes)?,
            element,
        })
    }

    fn uint_member(&self, m: &Member, bytes: &[u8]) -> Result<u64> {
        let size = match m.ty {
            Some(t) => self.info.type_size(t)?.unwrap_or(0),
            None => 0,
        };
        Ok(unsigned(field(bytes, m.offset, size)?) as u64)
    }

    /// A `Vec<T>` held in `bytes`: `len`, the first pointer inside `buf`, and `T` from the
    /// template parameters.
    fn vec(&self, ty: &Type, bytes: &[u8]) -> Result<Run> {
        let TypeKind::Struct(c) = &ty.kind else {
            return Err(Error::InvalidReference("Vec is not a struct".into()));
        };
        let len = self.uint_member(self.member_named(c, "len")?, bytes)?;
        let buf = self.member_named(c, "buf")?;
        let data = leaf_pointer(self, &single(buf), bytes, 0, 0)?
            .ok_or_else(|| Error::InvalidReference("no pointer in Vec".into()))?;
        let element = c
            .template_params
            .iter()
            .find(|(n, _)| n == "T")
            .map(|(_, t)| *t);
        Ok(Run { data, len, element })
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

    fn elements(&mut self, run: &Run) -> Result<()> {
        let element = run.element.ok_or_else(no_type)?;
        let size = self.info.type_size(element)?.unwrap_or(0);
        let shown = run.len.min(self.options.max_elements as u64);
        let bytes = self.state.read_memory(run.data, shown * size)?.into_owned();
        self.out.push('{');
        for i in 0..shown {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.value(element, field(&bytes, i * size, size)?)?;
        }
        if shown < run.len {
            self.out.push_str(", ...");
        }
        self.out.push('}');
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
            self.fields(vc, vbytes, "(", ")", false)
        } else {
            self.fields(vc, vbytes, "{", "}", true)
        }
    }
}

fn no_type() -> Error {
    Error::InvalidReference("a member without a type".into())
}

fn single(m: &Member) -> Composite {
    Composite {
        members: vec![m.clone()],
        ..Composite::default()
    }
}

/// The first pointer found depth-first among the members of `c` (offsets relative to `base`
/// within `bytes`, `c` itself `depth` members deep): the data pointer of `Box`, `Unique`,
/// `NonNull`, `RawVec`.
fn leaf_pointer(
    p: &Printer<'_>,
    c: &Composite,
    bytes: &[u8],
    base: u64,
    depth: u32,
) -> Result<Option<u64>> {
    for m in &c.members {
        let Some(ty) = m.ty else { continue };
        let (_, t) = p.info.strip_type(ty)?;
        match &t.kind {
            TypeKind::Pointer(_) | TypeKind::Reference(_) => {
                let size = t.size.unwrap_or(4);
                return Ok(Some(unsigned(field(bytes, base + m.offset, size)?) as u64));
            }
            TypeKind::Struct(_) if depth == MAX_TYPE_DEPTH => return Err(too_deep(ty)),
            TypeKind::Struct(inner) => {
                if let Some(found) = leaf_pointer(p, inner, bytes, base + m.offset, depth + 1)? {
                    return Ok(Some(found));
                }
            }
            _ => {}
        }
    }
    Ok(None)
}
