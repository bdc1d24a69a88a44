//! `ptype` and `whatis`: a type written out as gdb writes it, and with `ptype/o` the offset and
//! size of each field and the holes between them.
//!
//! Rust types follow gdb's Rust type printer (`rust_internal_print_type` and
//! `rust_print_struct_def` in gdb's `rust-lang.c`): a tuple is its name, `(u8, &str, f64)`; a
//! tuple struct lists its field types in parentheses; an enum's variants are `Quit`,
//! `Move{dx: i32, dy: i32}` and `Key(char)`; a struct without fields has no braces; a pointer
//! or reference is `*mut T` (gdb keeps no name for pointer types, so rustc's `&T` names are
//! not used), and any other field type shows by its name. `/o` sorts fields by offset and
//! prints gdb's columns (`print_offset_data` in gdb's `typeprint.c`), in hex with `/x`, with
//! one running end offset for the whole type, as gdb keeps it: after an enum's last variant,
//! the padding gdb reports is measured from that variant's last field.

use std::fmt::Write as _;

use debuginfo::{Member, TypeId, TypeKind};
use serde_json::json;

use crate::command::TypeFlags;
use crate::error::CommandError;
use crate::exec::Reply;
use crate::expr::parse::parse_type;
use crate::expr::{Ty, Value};
use crate::session::Session;

type Result<T> = std::result::Result<T, CommandError>;

/// gdb's `print_offset_data::indentation`: the width of the offset and size columns.
const OFFSET_COLUMNS: usize = 27;

/// What `ptype/o` prints before `type = ` of a struct, union or enum.
const OFFSET_HEADER: &str = "/* offset      |    size */  ";

/// `ptype/o`'s state while one type is printed: gdb's `print_offset_data`.
struct Offsets {
    /// Offsets and sizes in hex (`/x`).
    hex: bool,
    /// The bit just after the last field printed, for the hole before the next.
    end_bit: u64,
}

impl Offsets {
    /// The hole between the last field and `bit`, if there is one: `/* XXX  4-byte hole */`.
    fn hole(&self, out: &mut String, bit: u64, what: &str) {
        if self.end_bit == 0 || self.end_bit >= bit {
            return;
        }
        let (bytes, bits) = ((bit - self.end_bit) / 8, (bit - self.end_bit) % 8);
        if bits > 0 {
            writeln!(out, "/* XXX {bits:2}-bit {what:<7}    */").ok();
        }
        if bytes > 0 {
            writeln!(out, "/* XXX {bytes:2}-byte {what:<7}   */").ok();
        }
    }

    /// A field's columns: `/*      4      |       4 */` (offset and size), or for a union's
    /// field its size only.
    fn field(&mut self, out: &mut String, offset: u64, size: u64, union: bool) {
        let number = |n: u64| {
            if self.hex {
                format!("0x{n:04x}")
            } else {
                n.to_string()
            }
        };
        if union {
            write!(out, "/*                {:>6} */", number(size)).ok();
            return;
        }
        self.hole(out, offset * 8, "hole");
        if self.hex {
            write!(out, "/* {}      |  {} */", number(offset), number(size)).ok();
        } else {
            write!(out, "/* {offset:6}      |  {size:6} */").ok();
        }
        self.end_bit = (offset + size) * 8;
    }

    /// The end of a struct of `size` bytes at nesting `level`: its padding and total size.
    fn finish(&self, out: &mut String, size: u64, level: usize) {
        self.hole(out, size * 8, "padding");
        out.push('\n');
        spaces(out, level + 4 + OFFSET_COLUMNS);
        writeln!(out, "/* total size (bytes): {size:4} */").ok();
    }
}

fn spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Whether the fields are a tuple struct's: `__0`, `__1`, ... in order, at least one.
fn tuple_fields(members: &[Member]) -> bool {
    !members.is_empty()
        && (members.iter().enumerate())
            .all(|(i, m)| m.name.as_deref() == Some(format!("__{i}").as_str()))
}

impl Session<'_> {
    /// The type `text` names, if it is a type (and not a variable).
    fn named_type(&self, text: &str) -> Option<Ty> {
        let spec = parse_type(text)?;
        if self.is_variable(text.trim()) {
            return None;
        }
        self.resolve_type(&spec).ok()
    }

    /// `ptype[/FLAGS]` (`expand`) and `whatis`.
    pub(crate) fn ptype(&self, text: &str, expand: bool, flags: TypeFlags) -> Result<Reply> {
        let ty = match self.named_type(text) {
            Some(ty) => ty,
            None => {
                let e = self.parse_expr(text)?;
                let v: Value = self.eval(&e)?;
                v.ty
            }
        };
        let name = self.type_name(&ty)?;
        let mut header = "";
        let body = match (expand, &ty) {
            (false, _) => name.clone(),
            (true, Ty::Dwarf(id)) if self.is_rust(&ty) => {
                let mut offsets = flags.offsets.then_some(Offsets {
                    hex: flags.hex,
                    end_bit: 0,
                });
                let aggregate = matches!(
                    self.info.type_of(*id)?.kind,
                    TypeKind::Struct(_) | TypeKind::Union(_)
                );
                if flags.offsets && aggregate {
                    header = OFFSET_HEADER;
                }
                let mut body = String::new();
                self.rust_type(*id, 1, 0, false, &mut offsets, &mut body)?;
                body
            }
            (true, Ty::Ptr(inner)) if self.is_rust(&ty) => {
                format!("*mut {}", self.type_name(inner)?)
            }
            (true, _) if flags.offsets => {
                return Err(CommandError::new(
                    "ptype/o is not supported for C and C++ types yet.",
                ));
            }
            (true, _) => self.expand_c_type(&ty)?,
        };
        Ok(Reply::new(
            format!("{header}type = {body}\n"),
            json!({ "type": name, "definition": body }),
        ))
    }

    /// A Rust type as gdb's `rust_internal_print_type` writes it: `show` > 0 writes a struct or
    /// enum out, else names it; `level` is the indentation; `in_enum` when it is an enum's
    /// variant, whose name the enum wrote.
    fn rust_type(
        &self,
        id: TypeId,
        show: i32,
        level: usize,
        in_enum: bool,
        offsets: &mut Option<Offsets>,
        out: &mut String,
    ) -> Result<()> {
        let t = self.info.type_of(id)?;
        let pointer = matches!(t.kind, TypeKind::Pointer(_) | TypeKind::Reference(_));
        if show <= 0
            && !pointer
            && let Some(name) = &t.name
        {
            out.push_str(name);
            return Ok(());
        }
        let (id, t) = self.info.strip_type(id)?;
        match &t.kind {
            TypeKind::Unspecified if in_enum => {}
            TypeKind::Unspecified => out.push_str("()"),
            TypeKind::Pointer(target) | TypeKind::Reference(target) => {
                out.push_str("*mut ");
                match target {
                    Some(target) => self.rust_type(*target, 0, 0, false, &mut None, out)?,
                    None => out.push_str("()"),
                }
            }
            TypeKind::Array { element, counts } => {
                for _ in counts {
                    out.push('[');
                }
                self.rust_type(*element, show - 1, level, false, offsets, out)?;
                for count in counts.iter().rev() {
                    match count {
                        Some(n) => write!(out, "; {n}]").ok(),
                        None => write!(out, "]").ok(),
                    };
                }
            }
            TypeKind::Struct(_) | TypeKind::Union(_) => {
                self.rust_struct(id, show, level, in_enum, offsets, out)?;
            }
            TypeKind::Enum(e) => {
                let name = t.name.as_deref().unwrap_or_default();
                out.push_str("enum ");
                if !name.is_empty() {
                    write!(out, "{name} ").ok();
                }
                out.push_str("{\n");
                for (enumerator, _) in &e.enumerators {
                    let short = (enumerator.strip_prefix(name))
                        .and_then(|rest| rest.strip_prefix("::"))
                        .filter(|_| !name.is_empty())
                        .unwrap_or(enumerator);
                    spaces(out, level + 2);
                    writeln!(out, "{short},").ok();
                }
                out.push('}');
            }
            _ => out.push_str(&self.info.type_name(Some(id))?),
        }
        Ok(())
    }

    /// A Rust struct, union, tuple or enum as gdb's `rust_print_struct_def` writes it.
    fn rust_struct(
        &self,
        id: TypeId,
        show: i32,
        level: usize,
        in_enum: bool,
        offsets: &mut Option<Offsets>,
        out: &mut String,
    ) -> Result<()> {
        let t = self.info.type_of(id)?;
        let (TypeKind::Struct(c) | TypeKind::Union(c)) = &t.kind else {
            return Ok(());
        };
        let name = t.name.as_deref();
        if let Some(tuple) = name.filter(|n| n.starts_with('(')) {
            out.push_str(tuple);
            return Ok(());
        }
        let union = matches!(t.kind, TypeKind::Union(_));
        let level = if offsets.is_some() { level + 2 } else { level };
        let tuple_struct = tuple_fields(&c.members);
        let variants = c.variant_part.as_ref().map(|p| &p.variants);
        if !in_enum {
            out.push_str(match (variants, union) {
                (Some(_), _) => "enum",
                (None, true) => "union",
                (None, false) => "struct",
            });
            if let Some(name) = name {
                write!(out, " {name}").ok();
            }
        }
        let mut fields: Vec<&Member> = match variants {
            Some(variants) => variants.iter().map(|v| &v.member).collect(),
            None => c.members.iter().collect(),
        };
        if fields.is_empty() {
            return Ok(());
        }
        let (open, close) = if tuple_struct { ("(", ")") } else { ("{", "}") };
        let lines = !in_enum || offsets.is_some();
        if lines {
            writeln!(out, " {open}").ok();
        } else {
            out.push_str(open);
        }
        if offsets.is_some() {
            fields.sort_by_key(|m| m.offset);
        }
        let count = fields.len();
        for (i, field) in fields.into_iter().enumerate() {
            if let Some(offsets) = offsets {
                let size = match field.ty {
                    Some(ty) => self.info.type_size(ty)?.unwrap_or(0),
                    None => 0,
                };
                offsets.field(out, field.offset, size, union);
            }
            if lines {
                spaces(out, level + 2);
            }
            let field_name = field.name.as_deref().unwrap_or("<anonymous>");
            if variants.is_some() {
                out.push_str(field_name);
            } else if !tuple_struct {
                write!(out, "{field_name}: ").ok();
            }
            let shown = if variants.is_some() { show } else { show - 1 };
            match field.ty {
                Some(ty) => {
                    self.rust_type(ty, shown, level + 2, variants.is_some(), offsets, out)?
                }
                None => out.push_str("()"),
            }
            if lines {
                out.push_str(",\n");
            } else if i + 1 < count {
                out.push_str(", ");
            }
        }
        let mut level = level;
        if let Some(offsets) = offsets {
            level -= 2;
            offsets.finish(out, t.size.unwrap_or(0), level);
            spaces(out, OFFSET_COLUMNS + if level == 0 { 2 } else { 0 });
        }
        if lines {
            spaces(out, level);
        }
        out.push_str(close);
        Ok(())
    }

    /// A C or C++ type written out: a struct with its members, an enum with its enumerators,
    /// a pointer to a struct with the struct written out.
    fn expand_c_type(&self, ty: &Ty) -> Result<String> {
        match ty {
            Ty::Ptr(inner) => Ok(format!("{} *", self.expand_c_type(inner)?)),
            Ty::Dwarf(id) => {
                let (stripped, t) = self.info.strip_type(*id)?;
                let name = self.info.type_name(Some(stripped))?;
                match &t.kind {
                    TypeKind::Pointer(Some(p)) | TypeKind::Reference(Some(p))
                        if matches!(
                            self.info.strip_type(*p)?.1.kind,
                            TypeKind::Struct(_) | TypeKind::Union(_) | TypeKind::Enum(_)
                        ) =>
                    {
                        Ok(format!("{} *", self.expand_c_type(&Ty::Dwarf(*p))?))
                    }
                    TypeKind::Struct(c) | TypeKind::Union(c) => {
                        let keyword = if matches!(t.kind, TypeKind::Union(_)) {
                            "union"
                        } else {
                            "struct"
                        };
                        let mut out = format!("{keyword} {name} {{\n");
                        for m in &c.members {
                            let mname = m.name.as_deref().unwrap_or("<anonymous>");
                            let mty = self.info.type_name(m.ty)?;
                            writeln!(out, "    {mty} {mname};").ok();
                        }
                        out.push('}');
                        Ok(out)
                    }
                    TypeKind::Enum(e) => {
                        let names: Vec<&str> =
                            e.enumerators.iter().map(|(n, _)| n.as_str()).collect();
                        Ok(format!("enum {name} {{{}}}", names.join(", ")))
                    }
                    _ => Ok(self.info.type_name(Some(*id))?),
                }
            }
            ty => self.type_name(ty),
        }
    }
}
