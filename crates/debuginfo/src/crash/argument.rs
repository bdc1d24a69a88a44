//! Formatting one `rt::Argument` of a panic message as std would: its formatter (a function
//! table index) names the type by its name, or by DWARF for a generic impl and for `String`.

use std::cell::OnceCell;

use super::Reader;
use crate::{DebugInfo, Type, TypeId, TypeKind};

/// What formatting a message's arguments looks up once: table 0's function per slot, and where
/// a `String`'s length and pointer are (a type scan, done for the first `String` only).
pub(super) struct Formatters {
    table: Vec<Option<u32>>,
    string_layout: OnceCell<Option<(u64, u64)>>,
}

impl Formatters {
    pub(super) fn new(table: Vec<Option<u32>>) -> Formatters {
        Formatters {
            table,
            string_layout: OnceCell::new(),
        }
    }
}

impl DebugInfo {
    /// Formats the `rt::Argument` at `address` when its formatter is one this knows.
    pub(super) fn argument(
        &self,
        reader: &Reader<'_, '_>,
        formatters: &Formatters,
        address: u64,
    ) -> Option<String> {
        self.formatted(reader, formatters, &reader.bytes(address, 8).ok()?, 0)
    }

    /// Formats a value pointer and formatter (a function table index), 4 bytes each; `depth`
    /// counts the `dyn` indirections followed so far (a hostile vtable could loop).
    fn formatted(
        &self,
        reader: &Reader<'_, '_>,
        formatters: &Formatters,
        words: &[u8],
        depth: u32,
    ) -> Option<String> {
        let value = u32::from_le_bytes(words[..4].try_into().ok()?);
        let formatter = u32::from_le_bytes(words[4..].try_into().ok()?);
        let func = (*formatters.table.get(formatter as usize)?)?;
        let name = self.function_name(func).name;
        let (named, debug) = formatted_type(&name)?;
        // A generic impl (`<&T as core::fmt::Display>::fmt`): its `self`'s type says what T is.
        let concrete;
        let mut ty = match named.trim_start_matches('&') {
            "T" => {
                concrete = self.self_type(func)?;
                concrete.as_str()
            }
            _ => named,
        };
        let mut value = value;
        // A `&dyn Debug` (assert_eq!'s operands) is a fat pointer at `value`: the data, and a
        // vtable whose fourth word (after drop, size and align) is the type's `Debug::fmt`.
        if ty == "&dyn core::fmt::Debug" && debug && depth < 4 {
            let fat = reader.bytes(value.into(), 8).ok()?;
            let data = u32::from_le_bytes(fat[..4].try_into().ok()?);
            let vtable = u32::from_le_bytes(fat[4..].try_into().ok()?);
            let method = reader.bytes(u64::from(vtable) + 12, 4).ok()?;
            let mut argument = data.to_le_bytes().to_vec();
            argument.extend_from_slice(&method);
            return self.formatted(reader, formatters, &argument, depth + 1);
        }
        // `&str` is a fat pointer at `value`; other references point at a pointer.
        while let Some(inner) = ty.strip_prefix('&') {
            if inner == "str" {
                let fat = reader.bytes(value.into(), 8).ok()?;
                let ptr = u32::from_le_bytes(fat[..4].try_into().ok()?);
                let len = u32::from_le_bytes(fat[4..].try_into().ok()?);
                let text = reader.text(ptr, len.into()).ok()?;
                return Some(if debug { format!("{text:?}") } else { text });
            }
            value = u32::from_le_bytes(reader.bytes(value.into(), 4).ok()?[..].try_into().ok()?);
            ty = inner;
        }
        if ty == "alloc::string::String" {
            let (len_at, ptr_at) = (*formatters
                .string_layout
                .get_or_init(|| self.string_layout()))?;
            let word = |at: u64| -> Option<u32> {
                let bytes = reader.bytes(u64::from(value) + at, 4).ok()?;
                Some(u32::from_le_bytes(bytes[..].try_into().ok()?))
            };
            let text = reader.text(word(ptr_at)?, word(len_at)?.into()).ok()?;
            return Some(if debug { format!("{text:?}") } else { text });
        }
        format_scalar(
            ty,
            &reader.bytes(value.into(), scalar_size(ty)?).ok()?,
            debug,
        )
    }

    /// The type a formatting function's `self` points at, as DWARF describes the function.
    fn self_type(&self, func: u32) -> Option<String> {
        let body = self.code_layout()?.body_range(func).ok()?;
        let last = u32::try_from(body.end - body.start).ok()?.checked_sub(1)?;
        let frames = self.frames(func, last).ok()?;
        let variables = self.variables(frames.last()?.scope.as_ref()?).ok()?;
        let this = variables
            .iter()
            .find(|v| v.name.as_deref() == Some("self"))?;
        let pointee = self.pointee(this.ty?).ok()??;
        // rustc's name (`&i32`), which the caller matches, not gdb's (`*mut i32`).
        let named = self.type_of(pointee).ok()?.name.clone();
        named.or_else(|| self.type_name(Some(pointee)).ok())
    }

    /// Where a `String`'s length and data pointer are, from its DWARF type (`String { vec:
    /// Vec<u8> { buf: RawVec { .. ptr .. }, len } }`): (length offset, pointer offset). Looks the
    /// type up by name, which scans every unit: done only for a `String` argument.
    fn string_layout(&self) -> Option<(u64, u64)> {
        let string = self.find_type("alloc::string::String").ok()??;
        let vec = member(&*self.type_of(string).ok()?, "vec")?;
        let vec_type = self.type_of(vec.ty?).ok()?;
        let len = member(&vec_type, "len")?;
        let buf = member(&vec_type, "buf")?;
        let pointer = self.first_pointer(buf.ty?, 0)?;
        Some((vec.offset + len.offset, vec.offset + buf.offset + pointer))
    }

    /// The offset of the first pointer in a value of type `id`, descending through the first
    /// members that hold one (`RawVec { inner: RawVecInner { ptr: Unique<u8> { .. } } }`).
    fn first_pointer(&self, id: TypeId, depth: u32) -> Option<u64> {
        let (_, ty) = self.strip_type(id).ok()?;
        match &ty.kind {
            TypeKind::Pointer(_) | TypeKind::Reference(_) => Some(0),
            TypeKind::Struct(c) if depth < 8 => c.members.iter().find_map(|m| {
                let offset = self.first_pointer(m.ty?, depth + 1)?;
                Some(m.offset + offset)
            }),
            _ => None,
        }
    }
}

/// The member of a struct type called `name`.
fn member(ty: &Type, name: &str) -> Option<crate::Member> {
    let TypeKind::Struct(c) = &ty.kind else {
        return None;
    };
    c.members
        .iter()
        .find(|m| m.name.as_deref() == Some(name))
        .cloned()
}

/// The type and whether it is `Debug` (else `Display`) of a std formatter such as
/// `<u64 as core::fmt::Display>::fmt` or `<&str as core::fmt::Debug>::fmt`.
fn formatted_type(name: &str) -> Option<(&str, bool)> {
    let inner = name.strip_prefix('<')?.strip_suffix(">::fmt")?;
    let (ty, trait_) = inner.rsplit_once(" as ")?;
    match trait_ {
        "core::fmt::Display" => Some((ty, false)),
        "core::fmt::Debug" => Some((ty, true)),
        _ => None,
    }
}

/// The size in memory of a scalar type this formats (wasm32: `usize` is 4 bytes).
fn scalar_size(ty: &str) -> Option<u64> {
    Some(match ty {
        "bool" | "u8" | "i8" => 1,
        "u16" | "i16" => 2,
        "u32" | "i32" | "usize" | "isize" | "f32" | "char" => 4,
        "u64" | "i64" | "f64" => 8,
        "u128" | "i128" => 16,
        _ => return None,
    })
}

/// Formats a scalar's bytes as std's `Display` (or `Debug`) does.
fn format_scalar(ty: &str, b: &[u8], debug: bool) -> Option<String> {
    let mut bytes = [0u8; 16];
    bytes.get_mut(..b.len())?.copy_from_slice(b);
    let unsigned = u128::from_le_bytes(bytes);
    let signed = |bits: u32| (unsigned << (128 - bits)) as i128 >> (128 - bits);
    Some(match ty {
        "bool" => (b[0] != 0).to_string(),
        "u8" | "u16" | "u32" | "usize" | "u64" | "u128" => unsigned.to_string(),
        "i8" | "i16" | "i32" | "isize" | "i64" | "i128" => signed(8 * b.len() as u32).to_string(),
        "f32" => {
            let v = f32::from_bits(unsigned as u32);
            if debug {
                format!("{v:?}")
            } else {
                v.to_string()
            }
        }
        "f64" => {
            let v = f64::from_bits(unsigned as u64);
            if debug {
                format!("{v:?}")
            } else {
                v.to_string()
            }
        }
        "char" => {
            let c = char::from_u32(unsigned as u32)?;
            if debug {
                format!("{c:?}")
            } else {
                c.to_string()
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatter_names() {
        assert_eq!(
            formatted_type("<u64 as core::fmt::Display>::fmt"),
            Some(("u64", false))
        );
        assert_eq!(
            formatted_type("<&&str as core::fmt::Debug>::fmt"),
            Some(("&&str", true))
        );
        assert_eq!(formatted_type("<u8 as core::fmt::LowerHex>::fmt"), None);
        assert_eq!(formatted_type("core::panicking::panic_fmt"), None);
    }

    #[test]
    fn scalars_format_as_std_does() {
        assert_eq!(
            format_scalar("i64", &(-42i64).to_le_bytes(), false).unwrap(),
            "-42"
        );
        assert_eq!(format_scalar("i8", &[0xff], false).unwrap(), "-1");
        assert_eq!(
            format_scalar("u32", &7u32.to_le_bytes(), true).unwrap(),
            "7"
        );
        assert_eq!(
            format_scalar("f64", &0.1f64.to_le_bytes(), false).unwrap(),
            "0.1"
        );
        assert_eq!(
            format_scalar("f32", &1f32.to_le_bytes(), true).unwrap(),
            "1.0"
        );
        assert_eq!(format_scalar("bool", &[1], false).unwrap(), "true");
        assert_eq!(
            format_scalar("char", &('é' as u32).to_le_bytes(), true).unwrap(),
            "'é'"
        );
        assert_eq!(format_scalar("char", &0xd800u32.to_le_bytes(), false), None);
        assert_eq!(
            format_scalar("i128", &i128::MIN.to_le_bytes(), false).unwrap(),
            i128::MIN.to_string()
        );
    }
}
