//! Values: `print`, `ptype`, `whatis`, `info args`, `info locals`.

use std::fmt::Write as _;

use debuginfo::{TypeKind, VariableKind};
use serde_json::json;

use crate::error::CommandError;
use crate::exec::Reply;
use crate::expr::parse::parse_type;
use crate::expr::{Ty, Value};
use crate::session::Session;

type Result<T> = std::result::Result<T, CommandError>;

impl Session<'_> {
    /// `print[/FMT] [EXPR]`: evaluates, records `$N`, prints `$N = value`.
    pub(crate) fn print(&mut self, format: Option<char>, expr: Option<&str>) -> Result<Reply> {
        let value = match expr {
            Some(text) => {
                let e = self.parse_expr(text)?;
                self.eval(&e)?
            }
            None => self
                .history
                .last()
                .cloned()
                .ok_or_else(|| CommandError::new("History is empty."))?,
        };
        let text = self.format_top(&value, format)?;
        let ty = self.type_name(&value.ty)?;
        self.history.push(value.clone());
        let n = self.history.len();
        Ok(Reply::new(
            format!("${n} = {text}\n"),
            json!({
                "history": n,
                "type": ty,
                "value": text,
                "address": value.address.map(|a| format!("{a:#x}")),
            }),
        ))
    }

    /// `info args` (`args_only`: the parameters) and `info locals` (the other variables), as
    /// gdb splits them.
    pub(crate) fn info_variables_of_frame(&self, args_only: bool) -> Result<Reply> {
        let frame = self.frame()?;
        if frame.symbol.scope.is_none() {
            return Err(CommandError::new("No symbol table info available."));
        }
        let vars: Vec<_> = self
            .shown_variables(self.selected, false)?
            .into_iter()
            .filter(|v| (v.kind == VariableKind::Parameter) == args_only)
            .collect();
        let mut text = String::new();
        for v in &vars {
            writeln!(text, "{} = {}", v.name, v.value).ok();
        }
        if vars.is_empty() {
            text = if args_only {
                "No arguments.\n"
            } else {
                "No locals.\n"
            }
            .into();
        }
        let json = json!({ "variables": vars.iter().map(|v| v.json()).collect::<Vec<_>>() });
        Ok(Reply::new(text, json))
    }

    /// The type `text` names, if it is a type (and not a variable).
    fn named_type(&self, text: &str) -> Option<Ty> {
        let spec = parse_type(text)?;
        if self.is_variable(text.trim()) {
            return None;
        }
        self.resolve_type(&spec).ok()
    }

    /// `ptype` (`expand`) and `whatis`.
    pub(crate) fn ptype(&self, text: &str, expand: bool) -> Result<Reply> {
        let ty = match self.named_type(text) {
            Some(ty) => ty,
            None => {
                let e = self.parse_expr(text)?;
                let v: Value = self.eval(&e)?;
                v.ty
            }
        };
        let name = self.type_name(&ty)?;
        let body = if expand {
            self.expand_type(&ty)?
        } else {
            name.clone()
        };
        Ok(Reply::new(
            format!("type = {body}\n"),
            json!({ "type": name, "definition": body }),
        ))
    }

    /// A type written out: a struct with its members, an enum with its variants.
    fn expand_type(&self, ty: &Ty) -> Result<String> {
        let rust = self.is_rust(ty);
        match ty {
            Ty::Ptr(inner) => {
                let inner_text = self.expand_type(inner)?;
                Ok(if rust {
                    format!("*mut {inner_text}")
                } else {
                    format!("{inner_text} *")
                })
            }
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
                        let inner = self.expand_type(&Ty::Dwarf(*p))?;
                        let reference = matches!(t.kind, TypeKind::Reference(_))
                            || t.name.as_deref().is_some_and(|n| n.starts_with('&'));
                        Ok(match (rust, reference) {
                            (true, true) => format!("&{inner}"),
                            (true, false) => format!("*mut {inner}"),
                            (false, _) => format!("{inner} *"),
                        })
                    }
                    TypeKind::Struct(c) | TypeKind::Union(c) => {
                        let keyword = if matches!(t.kind, TypeKind::Union(_)) {
                            "union"
                        } else {
                            "struct"
                        };
                        let mut out = String::new();
                        if let Some(part) = &c.variant_part {
                            writeln!(out, "enum {name} {{").ok();
                            for v in &part.variants {
                                let vname = v.member.name.as_deref().unwrap_or("?");
                                writeln!(out, "  {}{},", vname, self.variant_fields(v.member.ty)?)
                                    .ok();
                            }
                            out.push('}');
                            return Ok(out);
                        }
                        writeln!(out, "{keyword} {name} {{").ok();
                        for m in &c.members {
                            let mname = m.name.as_deref().unwrap_or("<anonymous>");
                            let mty = self.info.type_name(m.ty)?;
                            if rust {
                                writeln!(out, "  {mname}: {mty},").ok();
                            } else {
                                writeln!(out, "    {mty} {mname};").ok();
                            }
                        }
                        out.push('}');
                        Ok(out)
                    }
                    TypeKind::Enum(e) => {
                        let names: Vec<&str> =
                            e.enumerators.iter().map(|(n, _)| n.as_str()).collect();
                        if rust {
                            Ok(format!(
                                "enum {name} {{\n{}}}",
                                names
                                    .iter()
                                    .map(|n| format!("  {n},\n"))
                                    .collect::<String>()
                            ))
                        } else {
                            Ok(format!("enum {name} {{{}}}", names.join(", ")))
                        }
                    }
                    _ => Ok(self.info.type_name(Some(*id))?),
                }
            }
            ty => self.type_name(ty),
        }
    }

    /// `(i32)` or ` {a: u8}` or nothing: a Rust enum variant's fields.
    fn variant_fields(&self, ty: Option<debuginfo::TypeId>) -> Result<String> {
        let Some(ty) = ty else {
            return Ok(String::new());
        };
        let t = self.info.type_of(ty)?;
        let TypeKind::Struct(c) = &t.kind else {
            return Ok(String::new());
        };
        if c.members.is_empty() {
            return Ok(String::new());
        }
        let tuple = c
            .members
            .iter()
            .all(|m| m.name.as_deref().is_some_and(|n| n.starts_with("__")));
        let fields: Vec<String> = c
            .members
            .iter()
            .map(|m| {
                let ty = self.info.type_name(m.ty)?;
                Ok(if tuple {
                    ty
                } else {
                    format!("{}: {ty}", m.name.as_deref().unwrap_or("?"))
                })
            })
            .collect::<Result<_>>()?;
        Ok(if tuple {
            format!("({})", fields.join(", "))
        } else {
            format!(" {{{}}}", fields.join(", "))
        })
    }
}
