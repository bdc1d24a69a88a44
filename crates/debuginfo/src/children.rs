//! What rust-gdb's pretty printers (`gdb_providers.py`) share: a summary (`Vec(size=3)`) and
//! children, printed as gdb's `print_children` prints them, and the reads the printers make
//! through a std type's layout. A read that finds another layout than the expected one is an
//! error, on which the caller prints the raw struct instead: never a wrong value.

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::format::{Printer, field, signed, unsigned};
use crate::types::{Composite, MAX_TYPE_DEPTH, TypeId, TypeKind, too_deep};

/// How a printer's children print: gdb's display hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    /// `{1, 2}`: values only (`"array"`).
    Array,
    /// `{[1] = 2}`: the children alternate keys and values (`"map"`).
    Map,
    /// `{value = 6, borrow = 0}`: no hint.
    Named,
}

/// One child of a printer: its name (shown with [`Hint::Named`]) and its value, of type `ty`,
/// held in `bytes`.
pub(crate) struct Child {
    pub(crate) name: &'static str,
    pub(crate) ty: TypeId,
    pub(crate) bytes: Vec<u8>,
}

impl Child {
    /// An unnamed child: an element or a key or value.
    pub(crate) fn element(ty: TypeId, bytes: Vec<u8>) -> Self {
        Child {
            name: "",
            ty,
            bytes,
        }
    }
}

/// The error for a std value whose layout is not the one its printer expects.
pub(crate) fn unexpected(what: impl std::fmt::Display) -> Error {
    Error::InvalidReference(format!("unexpected layout: {what}"))
}

impl Printer<'_> {
    /// How many children a printer needs: gdb's `print elements` (each key and each value of a
    /// map is one), and one in a frame line's summary, which shows only whether there are any.
    pub(crate) fn child_limit(&self) -> usize {
        if self.summary {
            1
        } else {
            self.options.max_elements.max(1)
        }
    }

    /// Prints `summary` and then `children` as gdb does: nothing more when there are none,
    /// `{...}` in a frame line's summary, and `...` after the last one shown when there are
    /// [`Printer::child_limit`] of them (gdb stops asking for children at its limit, so it
    /// cannot tell whether another one follows).
    pub(crate) fn with_children(
        &mut self,
        summary: &str,
        hint: Hint,
        children: &[Child],
    ) -> Result<()> {
        self.out.push_str(summary);
        if children.is_empty() {
            return Ok(());
        }
        self.out.push_str(" = {");
        if self.summary {
            self.out.push_str("...}");
            return Ok(());
        }
        let limit = self.child_limit();
        for (i, child) in children.iter().take(limit).enumerate() {
            if i > 0 && (hint != Hint::Map || i % 2 == 0) {
                self.out.push_str(", ");
            }
            match hint {
                Hint::Map if i % 2 == 0 => {
                    self.out.push('[');
                    self.value(child.ty, &child.bytes)?;
                    self.out.push_str("] = ");
                }
                Hint::Named => {
                    write!(self.out, "{} = ", child.name).ok();
                    self.value(child.ty, &child.bytes)?;
                }
                Hint::Array | Hint::Map => self.value(child.ty, &child.bytes)?,
            }
        }
        if children.len() >= limit {
            self.out.push_str("...");
        }
        self.out.push('}');
        Ok(())
    }

    /// The member `name` of the struct or union `ty` held in `bytes`: its type and bytes.
    pub(crate) fn member_of<'b>(
        &self,
        ty: TypeId,
        bytes: &'b [u8],
        name: &str,
    ) -> Result<(TypeId, &'b [u8])> {
        let (_, t) = self.info.strip_type(ty)?;
        let (TypeKind::Struct(c) | TypeKind::Union(c)) = &t.kind else {
            return Err(unexpected(format_args!("no member `{name}`")));
        };
        let m = (c.members.iter())
            .find(|m| m.name.as_deref() == Some(name))
            .ok_or_else(|| unexpected(format_args!("no member `{name}`")))?;
        let m_ty =
            m.ty.ok_or_else(|| unexpected(format_args!("`{name}` has no type")))?;
        Ok((m_ty, field(bytes, m.offset, self.size_of(m_ty)?)?))
    }

    /// The member at the end of `path` (member names, each inside the one before) in `ty`.
    pub(crate) fn path<'b>(
        &self,
        ty: TypeId,
        bytes: &'b [u8],
        path: &[&str],
    ) -> Result<(TypeId, &'b [u8])> {
        path.iter().try_fold((ty, bytes), |(ty, bytes), name| {
            self.member_of(ty, bytes, name)
        })
    }

    /// The size of `ty`, an error when DWARF does not give it.
    pub(crate) fn size_of(&self, ty: TypeId) -> Result<u64> {
        self.info
            .type_size(ty)?
            .ok_or_else(|| unexpected("a type without a size"))
    }

    /// The scalar (base type or pointer) that `ty` is, or that it wraps in structs or unions
    /// of one member with a size (`NonNull<T>`, `Unique<T>`, `UsizeNoHighBit`, `Cell<T>`,
    /// `MaybeUninit<T>`): its type and offset.
    pub(crate) fn scalar_at(&self, ty: TypeId) -> Result<(TypeId, u64)> {
        let (mut ty, mut offset) = (ty, 0);
        for _ in 0..MAX_TYPE_DEPTH {
            let (id, t) = self.info.strip_type(ty)?;
            let (TypeKind::Struct(c) | TypeKind::Union(c)) = &t.kind else {
                return Ok((id, offset));
            };
            let sized = self.sized_members(c)?;
            let [(m_ty, m_offset)] = sized[..] else {
                return Err(unexpected(format_args!(
                    "{} is not a scalar",
                    t.name.as_deref().unwrap_or("a struct")
                )));
            };
            let m_offset = offset.checked_add(m_offset);
            (ty, offset) = (
                m_ty,
                m_offset.ok_or_else(|| unexpected("an offset past 64 bits"))?,
            );
        }
        Err(too_deep(ty))
    }

    /// [`Printer::scalar_at`] within `bytes`: the scalar's type and bytes.
    fn scalar<'b>(&self, ty: TypeId, bytes: &'b [u8]) -> Result<(TypeId, &'b [u8])> {
        let (id, offset) = self.scalar_at(ty)?;
        Ok((id, field(bytes, offset, self.size_of(id)?)?))
    }

    /// The members of `c` whose size is not zero: their types and offsets.
    fn sized_members(&self, c: &Composite) -> Result<Vec<(TypeId, u64)>> {
        let mut sized = Vec::new();
        for m in &c.members {
            let ty = m.ty.ok_or_else(|| unexpected("a member without a type"))?;
            if self.size_of(ty)? > 0 {
                sized.push((ty, m.offset));
            }
        }
        Ok(sized)
    }

    /// The unsigned integer that `ty` is or wraps (see [`Printer::scalar_at`]).
    pub(crate) fn uint(&self, ty: TypeId, bytes: &[u8]) -> Result<u64> {
        Ok(unsigned(self.integer(ty, bytes)?) as u64)
    }

    /// The signed integer that `ty` is or wraps (see [`Printer::scalar_at`]).
    pub(crate) fn int(&self, ty: TypeId, bytes: &[u8]) -> Result<i64> {
        Ok(signed(self.integer(ty, bytes)?) as i64)
    }

    /// The bytes of the integer of at most 64 bits that `ty` is or wraps.
    fn integer<'b>(&self, ty: TypeId, bytes: &'b [u8]) -> Result<&'b [u8]> {
        let (id, bytes) = self.scalar(ty, bytes)?;
        match self.info.type_of(id)?.kind {
            TypeKind::Base(_) if bytes.len() <= 8 => Ok(bytes),
            _ => Err(unexpected("not an integer")),
        }
    }

    /// The one member of the struct `ty`: its type and bytes.
    pub(crate) fn only_member<'b>(
        &self,
        ty: TypeId,
        bytes: &'b [u8],
    ) -> Result<(TypeId, &'b [u8])> {
        let (_, t) = self.info.strip_type(ty)?;
        match &t.kind {
            TypeKind::Struct(Composite { members, .. }) if members.len() == 1 => {
                let m = &members[0];
                let m_ty = m.ty.ok_or_else(|| unexpected("a member without a type"))?;
                Ok((m_ty, field(bytes, m.offset, self.size_of(m_ty)?)?))
            }
            _ => Err(unexpected("not a struct of one member")),
        }
    }

    /// The thin pointer that `ty` is or wraps (see [`Printer::scalar_at`]): its address and
    /// the type it points to.
    pub(crate) fn thin_pointer(&self, ty: TypeId, bytes: &[u8]) -> Result<(u64, TypeId)> {
        let (id, bytes) = self.scalar(ty, bytes)?;
        let target = self.pointee_of(id)?;
        if bytes.len() > 8 {
            return Err(unexpected("a pointer wider than 64 bits"));
        }
        Ok((unsigned(bytes) as u64, target))
    }

    /// The type the thin pointer `ty` (or that `ty` wraps) points to.
    pub(crate) fn pointee_of(&self, ty: TypeId) -> Result<TypeId> {
        let (id, _) = self.scalar_at(ty)?;
        match self.info.type_of(id)?.kind {
            TypeKind::Pointer(Some(target)) | TypeKind::Reference(Some(target)) => Ok(target),
            _ => Err(unexpected("not a thin pointer")),
        }
    }

    /// The payload of the `Some` variant of the `Option` type `ty`: its type and offset.
    pub(crate) fn some_payload(&self, ty: TypeId) -> Result<(TypeId, u64)> {
        let (_, t) = self.info.strip_type(ty)?;
        let some = match &t.kind {
            TypeKind::Struct(Composite {
                variant_part: Some(part),
                ..
            }) => part
                .variants
                .iter()
                .find(|v| v.member.name.as_deref() == Some("Some")),
            _ => None,
        };
        let some = some.ok_or_else(|| unexpected("not an Option"))?;
        let variant = some
            .member
            .ty
            .ok_or_else(|| unexpected("Some without a type"))?;
        let (_, v) = self.info.strip_type(variant)?;
        let payload = match &v.kind {
            TypeKind::Struct(c) => c.members.iter().find(|m| m.name.as_deref() == Some("__0")),
            _ => None,
        };
        let payload = payload.ok_or_else(|| unexpected("Some without a payload"))?;
        let payload_ty = payload
            .ty
            .ok_or_else(|| unexpected("Some without a type"))?;
        let offset = (some.member.offset.checked_add(payload.offset))
            .ok_or_else(|| unexpected("an offset past 64 bits"))?;
        Ok((payload_ty, offset))
    }

    /// `len` bytes of memory at `address`.
    pub(crate) fn read(&self, address: u64, len: u64) -> Result<Vec<u8>> {
        Ok(self.state.read_memory(address, len)?.into_owned())
    }
}

/// `base + index * size`: where element `index` of an array at `base` starts, an error past
/// 64 bits (sizes and offsets come from DWARF, addresses from the dump).
pub(crate) fn element_at(base: u64, index: u64, size: u64) -> Result<u64> {
    (index.checked_mul(size))
        .and_then(|offset| base.checked_add(offset))
        .ok_or_else(|| unexpected("an element past 64 bits"))
}

/// The template type parameter `name` of `c` (`T` of `Vec<T>`).
pub(crate) fn template_param(c: &Composite, name: &str) -> Result<TypeId> {
    (c.template_params.iter())
        .find(|(n, _)| n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| unexpected(format_args!("no template parameter {name}")))
}
