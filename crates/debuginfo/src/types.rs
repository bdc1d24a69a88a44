//! Types, read from DWARF on demand: base types, pointers, references, structs, unions, C enums,
//! Rust enums (variant parts), arrays, typedefs, const/volatile.

use std::sync::Arc;

use gimli::{AttributeValue, DebuggingInformationEntry as Die, UnitOffset};

use crate::context::{DebugInfo, Reader};
use crate::error::{Error, Result};
use crate::units::UnitArc;

/// How deep types may nest in one another (pointers, arrays and their dimensions, members)
/// where a walk through them recurses: malformed DWARF can make a type contain itself, and a
/// walk past this depth is an error instead of a stack overflow.
pub(crate) const MAX_TYPE_DEPTH: u32 = 64;

/// The error for a type nested deeper than [`MAX_TYPE_DEPTH`].
pub(crate) fn too_deep(id: TypeId) -> Error {
    Error::InvalidReference(format!(
        "type {:#x} nests more than {MAX_TYPE_DEPTH} levels deep (a cycle?)",
        id.die
    ))
}

/// A handle on a type DIE of a [`DebugInfo`]. Look it up with [`DebugInfo::type_of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId {
    pub(crate) unit: usize,
    pub(crate) die: usize,
}

impl TypeId {
    pub(crate) fn new(unit: &UnitArc, offset: UnitOffset) -> Self {
        TypeId {
            unit: unit.header.offset().0,
            die: offset.0,
        }
    }
}

/// A type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Type {
    /// The name as a debugger shows it: qualified with its namespaces in Rust
    /// (`mything::MyThing`), `*mut T`/`&T` spelled out for pointers; `None` if anonymous.
    pub name: Option<String>,
    /// The size in bytes, if known.
    pub size: Option<u64>,
    /// What kind of type.
    pub kind: TypeKind,
    /// Whether the type comes from a Rust unit (values are then printed the Rust way).
    pub rust: bool,
}

/// The kinds of [`Type`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypeKind {
    /// A base type: integer, float, bool, char, with its `DW_ATE_*` encoding.
    Base(gimli::DwAte),
    /// A pointer; `None` points at `void`.
    Pointer(Option<TypeId>),
    /// A reference (`&T` in Rust, `T&` or `T&&` in C++).
    Reference(Option<TypeId>),
    /// A struct or class.
    Struct(Composite),
    /// A union.
    Union(Composite),
    /// A C-like enum.
    Enum(Enumeration),
    /// An array: its element type and the count of each dimension (`None`: unknown).
    Array {
        /// The element type.
        element: TypeId,
        /// The number of elements of each dimension, outermost first.
        counts: Vec<Option<u64>>,
    },
    /// A typedef of the type.
    Typedef(Option<TypeId>),
    /// `const T`.
    Const(Option<TypeId>),
    /// `volatile T`.
    Volatile(Option<TypeId>),
    /// A function type (`fn(...)`).
    Function,
    /// `void`, `()` or a type this crate does not model.
    Unspecified,
}

/// The members of a struct or union, and of a Rust enum its variant part.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Composite {
    /// The data members, in declaration order.
    pub members: Vec<Member>,
    /// The variants (Rust enums are structs with a variant part).
    pub variant_part: Option<VariantPart>,
    /// Template type parameters by name (`T` of `Vec<T>`).
    pub template_params: Vec<(String, TypeId)>,
}

/// A data member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The name (`__0` for a Rust tuple field); `None` if anonymous.
    pub name: Option<String>,
    /// The member's type.
    pub ty: Option<TypeId>,
    /// Its offset in bytes from the start of the containing value.
    pub offset: u64,
    /// For a bit field: (bit offset from `offset`, bit size).
    pub bits: Option<(u64, u64)>,
}

/// The variants of a Rust enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantPart {
    /// The member holding the discriminant (tag or niche), if any (a single-variant enum has
    /// none).
    pub discriminant: Option<Member>,
    /// The variants.
    pub variants: Vec<Variant>,
}

/// One variant of a Rust enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// The discriminant value that selects it; `None` for the default (dataful) variant.
    pub discr_value: Option<u64>,
    /// The variant's member: named after the variant, its type is the variant's struct.
    pub member: Member,
}

/// A C-like enum's enumerators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enumeration {
    /// The underlying integer type, if given.
    pub underlying: Option<TypeId>,
    /// Whether the values are signed.
    pub signed: bool,
    /// (name, value) pairs.
    pub enumerators: Vec<(String, i128)>,
}

fn udata(die: &Die<Reader>, at: gimli::DwAt) -> Option<u64> {
    die.attr_value(at).and_then(|v| v.udata_value())
}

/// A member offset: a constant, or an expression that is `DW_OP_plus_uconst N`.
fn member_offset(die: &Die<Reader>, encoding: gimli::Encoding) -> Option<u64> {
    match die.attr_value(gimli::DW_AT_data_member_location)? {
        AttributeValue::Exprloc(expr) => {
            let mut ops = expr.operations(encoding);
            match ops.next().ok()?? {
                gimli::Operation::PlusConstant { value } => Some(value),
                gimli::Operation::UnsignedConstant { value } => Some(value),
                _ => None,
            }
        }
        v => v.udata_value(),
    }
}

impl DebugInfo {
    /// The type `id` names, read on first use and kept.
    pub fn type_of(&self, id: TypeId) -> Result<Arc<Type>> {
        if let Some(ty) = self.types.borrow().get(&id) {
            return Ok(ty.clone());
        }
        let ty = Arc::new(self.read_type(id)?);
        self.types.borrow_mut().insert(id, ty.clone());
        Ok(ty)
    }

    /// The size of type `id` in bytes, looking through typedefs and qualifiers.
    pub fn type_size(&self, id: TypeId) -> Result<Option<u64>> {
        self.type_size_at(id, 0)
    }

    /// [`DebugInfo::type_size`] of a type `depth` arrays deep.
    fn type_size_at(&self, id: TypeId, depth: u32) -> Result<Option<u64>> {
        if depth > MAX_TYPE_DEPTH {
            return Err(too_deep(id));
        }
        let mut id = id;
        for _ in 0..32 {
            let ty = self.type_of(id)?;
            if ty.size.is_some() {
                return Ok(ty.size);
            }
            match &ty.kind {
                TypeKind::Typedef(Some(t))
                | TypeKind::Const(Some(t))
                | TypeKind::Volatile(Some(t)) => id = *t,
                TypeKind::Array { element, counts } => {
                    // Unknown where a count is, or where the size overflows (malformed DWARF).
                    let n = (counts.iter()).try_fold(1u64, |n, c| n.checked_mul((*c)?));
                    let element = self.type_size_at(*element, depth + 1)?;
                    return Ok(element.zip(n).and_then(|(e, n)| e.checked_mul(n)));
                }
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Looks through typedefs, `const` and `volatile` to the type underneath.
    pub fn strip_type(&self, id: TypeId) -> Result<(TypeId, Arc<Type>)> {
        let mut id = id;
        for _ in 0..32 {
            let ty = self.type_of(id)?;
            match ty.kind {
                TypeKind::Typedef(Some(t))
                | TypeKind::Const(Some(t))
                | TypeKind::Volatile(Some(t)) => id = t,
                _ => return Ok((id, ty)),
            }
        }
        Err(Error::InvalidReference("typedef loop".into()))
    }

    /// Finds a type by the name [`DebugInfo::type_name`] gives it (`alloc::string::String`,
    /// `mything::MyThing`), for `ptype` and casts. Scans every unit: slow on big modules.
    pub fn find_type(&self, name: &str) -> Result<Option<TypeId>> {
        let mut headers = self.dwarf.units();
        while let Some(header) = headers.next()? {
            let unit = self.units.unit(&self.dwarf, header.offset().0)?;
            let mut entries = unit.entries();
            while let Some(die) = entries.next_dfs()? {
                let is_type = matches!(
                    die.tag(),
                    gimli::DW_TAG_structure_type
                        | gimli::DW_TAG_class_type
                        | gimli::DW_TAG_union_type
                        | gimli::DW_TAG_enumeration_type
                        | gimli::DW_TAG_typedef
                        | gimli::DW_TAG_base_type
                        | gimli::DW_TAG_pointer_type
                );
                if !is_type || die.attr_value(gimli::DW_AT_declaration).is_some() {
                    continue;
                }
                let Some(short) = die.attr_value(gimli::DW_AT_name) else {
                    continue;
                };
                if !name.ends_with(self.attr_str(&unit, short)?.as_str()) {
                    continue;
                }
                let id = TypeId::new(&unit, die.offset());
                if self.type_of(id)?.name.as_deref() == Some(name) {
                    return Ok(Some(id));
                }
            }
        }
        Ok(None)
    }

    /// What a pointer or reference type points at (through typedefs and qualifiers): the type
    /// `print *p` shows. `None` for other types and `void *`.
    pub fn pointee(&self, id: TypeId) -> Result<Option<TypeId>> {
        Ok(match self.strip_type(id)?.1.kind {
            TypeKind::Pointer(t) | TypeKind::Reference(t) => t,
            _ => None,
        })
    }

    /// The name of type `id` as a debugger shows it (`mything::MyThing`, `*mut u8`, `&str`).
    pub fn type_name(&self, id: Option<TypeId>) -> Result<String> {
        self.type_name_at(id, 0)
    }

    /// [`DebugInfo::type_name`] of a type `depth` levels inside the one named.
    fn type_name_at(&self, id: Option<TypeId>, depth: u32) -> Result<String> {
        let Some(id) = id else {
            return Ok("void".into());
        };
        if depth > MAX_TYPE_DEPTH {
            return Err(too_deep(id));
        }
        let inner = |t: Option<TypeId>| self.type_name_at(t, depth + 1);
        let ty = self.type_of(id)?;
        // gdb ignores the names of Rust's pointer types: a `&T`, a `*const T` and a thin
        // `Box<T>` (which rustc names `alloc::boxed::Box<T, A>`) are all `*mut T` to it.
        let rust_pointer =
            ty.rust && matches!(ty.kind, TypeKind::Pointer(_) | TypeKind::Reference(_));
        if let Some(name) = &ty.name
            && !rust_pointer
        {
            return Ok(name.clone());
        }
        Ok(match &ty.kind {
            TypeKind::Pointer(t) | TypeKind::Reference(t) if ty.rust => {
                format!("*mut {}", inner(*t)?)
            }
            TypeKind::Pointer(t) => format!("{} *", inner(*t)?),
            TypeKind::Reference(t) => format!("{} &", inner(*t)?),
            TypeKind::Const(t) => format!("const {}", inner(*t)?),
            TypeKind::Volatile(t) => format!("volatile {}", inner(*t)?),
            TypeKind::Typedef(t) => inner(*t)?,
            TypeKind::Array { element, counts } if ty.rust => {
                let mut name = inner(Some(*element))?;
                for n in counts.iter().rev() {
                    name = match n {
                        Some(n) => format!("[{name}; {n}]"),
                        None => format!("[{name}]"),
                    };
                }
                name
            }
            TypeKind::Array { element, counts } => {
                let mut name = inner(Some(*element))?;
                for n in counts {
                    name += &n.map_or("[]".into(), |n| format!("[{n}]"));
                }
                name
            }
            TypeKind::Unspecified if ty.rust => "()".into(),
            _ => "<anonymous>".into(),
        })
    }

    fn read_type(&self, id: TypeId) -> Result<Type> {
        let unit = self.units.unit(&self.dwarf, id.unit)?;
        let offset = UnitOffset(id.die);
        let die = unit.entry(offset)?;
        let rust = self.is_rust_unit(&unit)?;
        let name = match die.attr_value(gimli::DW_AT_name) {
            Some(v) => {
                let short = self.attr_str(&unit, v)?;
                Some(self.qualify(&unit, offset, short, rust)?)
            }
            None => None,
        };
        let size = udata(&die, gimli::DW_AT_byte_size);
        let target = self.die_type(&unit, &die)?;
        let kind = match die.tag() {
            gimli::DW_TAG_base_type => match die.attr_value(gimli::DW_AT_encoding) {
                Some(AttributeValue::Encoding(e)) => TypeKind::Base(e),
                _ => TypeKind::Unspecified,
            },
            gimli::DW_TAG_pointer_type => TypeKind::Pointer(target),
            gimli::DW_TAG_reference_type | gimli::DW_TAG_rvalue_reference_type => {
                TypeKind::Reference(target)
            }
            gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type => {
                TypeKind::Struct(self.composite(&unit, offset)?)
            }
            gimli::DW_TAG_union_type => TypeKind::Union(self.composite(&unit, offset)?),
            gimli::DW_TAG_enumeration_type => {
                TypeKind::Enum(self.enumeration(&unit, offset, target)?)
            }
            gimli::DW_TAG_array_type => TypeKind::Array {
                element: target.ok_or_else(|| {
                    Error::InvalidReference(format!(
                        "array type {:#x} without element type",
                        id.die
                    ))
                })?,
                counts: self.array_counts(&unit, offset)?,
            },
            gimli::DW_TAG_typedef => TypeKind::Typedef(target),
            gimli::DW_TAG_const_type => TypeKind::Const(target),
            gimli::DW_TAG_volatile_type => TypeKind::Volatile(target),
            gimli::DW_TAG_subroutine_type => TypeKind::Function,
            _ => TypeKind::Unspecified,
        };
        let size = size.or(match kind {
            TypeKind::Pointer(_) | TypeKind::Reference(_) => {
                Some(u64::from(unit.encoding().address_size))
            }
            _ => None,
        });
        Ok(Type {
            name,
            size,
            kind,
            rust,
        })
    }

    fn composite(&self, unit: &UnitArc, offset: UnitOffset) -> Result<Composite> {
        let mut out = Composite::default();
        let mut tree = unit.entries_tree(Some(offset))?;
        let mut children = tree.root()?.children();
        while let Some(child) = children.next()? {
            let die = child.entry().clone();
            match die.tag() {
                gimli::DW_TAG_member => {
                    // Static members (Rust associated constants) have no location.
                    if die.attr_value(gimli::DW_AT_external).is_some()
                        && die.attr_value(gimli::DW_AT_data_member_location).is_none()
                    {
                        continue;
                    }
                    out.members.push(self.member(unit, &die)?);
                }
                gimli::DW_TAG_variant_part => {
                    out.variant_part = Some(self.variant_part(unit, child)?);
                }
                gimli::DW_TAG_template_type_parameter => {
                    if let (Some(name), Some(ty)) =
                        (self.die_name(unit, &die)?, self.die_type(unit, &die)?)
                    {
                        out.template_params.push((name, ty));
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    fn member(&self, unit: &UnitArc, die: &Die<Reader>) -> Result<Member> {
        let offset = member_offset(die, unit.encoding()).unwrap_or(0);
        let bits = match (
            udata(die, gimli::DW_AT_data_bit_offset),
            udata(die, gimli::DW_AT_bit_size),
        ) {
            (Some(bit_offset), Some(size)) => Some((bit_offset, size)),
            (None, Some(size)) => Some((0, size)),
            _ => None,
        };
        Ok(Member {
            name: self.die_name(unit, die)?,
            ty: self.die_type(unit, die)?,
            offset,
            bits,
        })
    }

    fn variant_part(
        &self,
        unit: &UnitArc,
        node: gimli::EntriesTreeNode<'_, '_, Reader>,
    ) -> Result<VariantPart> {
        let discr = match node.entry().attr_value(gimli::DW_AT_discr) {
            Some(AttributeValue::UnitRef(o)) => Some(o),
            _ => None,
        };
        let mut part = VariantPart {
            discriminant: None,
            variants: Vec::new(),
        };
        let mut children = node.children();
        while let Some(child) = children.next()? {
            let die = child.entry().clone();
            match die.tag() {
                gimli::DW_TAG_member if Some(die.offset()) == discr || discr.is_none() => {
                    part.discriminant = Some(self.member(unit, &die)?);
                }
                gimli::DW_TAG_variant => {
                    let discr_value =
                        die.attr_value(gimli::DW_AT_discr_value)
                            .and_then(|v| match v {
                                AttributeValue::Sdata(v) => Some(v as u64),
                                v => v.udata_value(),
                            });
                    let mut members = child.children();
                    while let Some(m) = members.next()? {
                        if m.entry().tag() == gimli::DW_TAG_member {
                            let member = self.member(unit, &m.entry().clone())?;
                            part.variants.push(Variant {
                                discr_value,
                                member,
                            });
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(part)
    }

    fn enumeration(
        &self,
        unit: &UnitArc,
        offset: UnitOffset,
        underlying: Option<TypeId>,
    ) -> Result<Enumeration> {
        let signed = match underlying {
            Some(t) => matches!(
                self.strip_type(t)?.1.kind,
                TypeKind::Base(gimli::DW_ATE_signed | gimli::DW_ATE_signed_char)
            ),
            None => false,
        };
        let mut enumerators = Vec::new();
        let mut tree = unit.entries_tree(Some(offset))?;
        let mut children = tree.root()?.children();
        while let Some(child) = children.next()? {
            let die = child.entry();
            if die.tag() != gimli::DW_TAG_enumerator {
                continue;
            }
            let name = self.die_name(unit, die)?.unwrap_or_default();
            let value = match die.attr_value(gimli::DW_AT_const_value) {
                Some(AttributeValue::Sdata(v)) => i128::from(v),
                Some(v) => v.udata_value().map_or(0, i128::from),
                None => 0,
            };
            enumerators.push((name, value));
        }
        Ok(Enumeration {
            underlying,
            signed,
            enumerators,
        })
    }

    fn array_counts(&self, unit: &UnitArc, offset: UnitOffset) -> Result<Vec<Option<u64>>> {
        let mut counts = Vec::new();
        let mut tree = unit.entries_tree(Some(offset))?;
        let mut children = tree.root()?.children();
        while let Some(child) = children.next()? {
            let die = child.entry();
            if die.tag() != gimli::DW_TAG_subrange_type {
                continue;
            }
            let count = udata(die, gimli::DW_AT_count).or_else(|| {
                let upper = die.attr_value(gimli::DW_AT_upper_bound)?;
                let upper = match upper {
                    AttributeValue::Sdata(v) if v < 0 => return Some(0),
                    v => v.udata_value()?,
                };
                let lower = udata(die, gimli::DW_AT_lower_bound).unwrap_or(0);
                // None past u64; empty where the bounds are the wrong way round.
                Some(upper.checked_add(1)?.saturating_sub(lower))
            });
            counts.push(count);
            if counts.len() > MAX_TYPE_DEPTH as usize {
                return Err(too_deep(TypeId::new(unit, offset)));
            }
        }
        if counts.is_empty() {
            counts.push(None);
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Module;

    /// A module whose DWARF (version 4) has one unit holding `dies` after its root, each
    /// `(abbreviation code, DW_AT_type target as a unit offset)`: code 2 is a pointer type, 3 an
    /// array type.
    fn module_with_dies(dies: &[(u8, u32)]) -> Module {
        let abbrev = [
            1, 0x11, 1, 0, 0, // compile_unit, children, no attributes
            2, 0x0f, 0, 0x49, 0x13, 0, 0, // pointer_type: type ref4
            3, 0x01, 0, 0x49, 0x13, 0, 0, // array_type: type ref4
            0,
        ];
        let mut body = vec![1];
        for &(code, target) in dies {
            body.push(code);
            body.extend(target.to_le_bytes());
        }
        body.push(0);
        let mut info = ((body.len() + 7) as u32).to_le_bytes().to_vec();
        info.extend([4, 0, 0, 0, 0, 0, 4]); // version 4, abbrev offset 0, address size 4
        info.extend(body);
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        for (name, data) in [(".debug_abbrev", &abbrev[..]), (".debug_info", &info[..])] {
            let mut payload = vec![name.len() as u8];
            payload.extend(name.as_bytes());
            payload.extend(data);
            wasm.push(0);
            wasm.push(payload.len() as u8);
            wasm.extend(payload);
        }
        Module::parse(wasm).unwrap()
    }

    /// A type that contains itself (malformed DWARF) overflowed the stack of every walk through
    /// it: `type_name` of a pointer to itself, `type_size` of an array of itself. Each is an
    /// error now.
    #[test]
    fn a_type_that_contains_itself_is_an_error_not_a_stack_overflow() {
        // The unit header is 11 bytes, the root DIE 1: the first DIE is at offset 12.
        let info = DebugInfo::new(module_with_dies(&[(2, 12), (3, 17)])).unwrap();
        let pointer = TypeId { unit: 0, die: 12 };
        let array = TypeId { unit: 0, die: 17 };
        let err = info.type_name(Some(pointer)).unwrap_err();
        assert!(err.to_string().contains("a cycle?"), "{err}");
        let err = info.type_size(array).unwrap_err();
        assert!(err.to_string().contains("a cycle?"), "{err}");
    }
}
