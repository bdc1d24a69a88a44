//! Module-wide `info` commands: `info globals`, `info functions`, `info variables`,
//! `info types`, `info symbol`, `info imports`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use debuginfo::gimli::{self, Reader as _};
use debuginfo::wasm_layout::section_id;
use regex::Regex;
use serde_json::json;
use wasmparser::{Name, Parser, Payload, TypeRef};

use crate::error::{CommandError, excerpt};
use crate::exec::Reply;
use crate::session::Session;

type Result<T> = std::result::Result<T, CommandError>;

fn regex(re: Option<&str>) -> Result<Option<Regex>> {
    re.map(|r| Regex::new(r).map_err(|e| CommandError::new(format!("Invalid regexp: {e}"))))
        .transpose()
}

fn header(what: &str, re: Option<&str>) -> String {
    match re {
        Some(r) => format!("All {what} matching regular expression \"{r}\":\n"),
        None => format!("All defined {what}:\n"),
    }
}

impl Session<'_> {
    fn section_names(&self, want: fn(&Name<'_>) -> bool) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        let Some(data) = self.code_module().and_then(|m| m.custom_section("name")) else {
            return out;
        };
        let reader = wasmparser::NameSectionReader::new(wasmparser::BinaryReader::new(data, 0));
        for name in reader.into_iter().flatten() {
            if !want(&name) {
                continue;
            }
            if let Name::Global(map) = name {
                for n in map.into_iter().flatten() {
                    out.push((n.index, n.name.to_string()));
                }
            }
        }
        out
    }

    /// `info program`: how the program ended, the trap and the place of its instruction.
    pub(crate) fn info_program(&self) -> Reply {
        let trap = self.dump.trap();
        let mut text = format!("{}\n", self.termination());
        let location = trap.and_then(|t| t.location);
        if let Some(at) = location {
            writeln!(
                text,
                "The trapping instruction is at func[{}] +{:#x} (frame #0).",
                at.func, at.code_offset
            )
            .ok();
        }
        let panic = self.crash.panic.as_ref().map(|p| {
            let (message, complete, message_error) = match &p.message {
                Ok(m) => (Some(m.text.clone()), Some(m.complete), None),
                Err(why) => (None, None, Some(why.clone())),
            };
            let (location, location_error) = match &p.location {
                Ok(l) => (
                    Some(json!({"file": l.file, "line": l.line, "column": l.column})),
                    None,
                ),
                Err(why) => (None, Some(why.clone())),
            };
            json!({
                "message": message,
                "complete": complete,
                "message_unavailable": message_error,
                "location": location,
                "location_unavailable": location_error,
                "frame": self.panic_frame(),
            })
        });
        let json = json!({
            "trap": trap.map(|t| t.kind.to_string()),
            "trap_code": trap.map(|t| t.kind.code()),
            "func": location.map(|at| at.func),
            "code_offset": location.map(|at| at.code_offset),
            "original_code_offset": location.map(|at| at.original_code_offset),
            "panic": panic,
            "assertion": self.crash.assertion.as_ref().map(|a| json!({
                "message": a.to_string(),
                "expression": a.expression.as_ref().ok(),
                "file": a.file.as_ref().ok(),
                "line": a.line,
                "function": a.function.as_ref().ok(),
            })),
            "out_of_memory": self.crash.out_of_memory.as_ref().map(|o| json!({
                "message": o.to_string(),
                "size": o.size,
            })),
        });
        Reply::new(text, json!({ "program": json }))
    }

    /// Whether each global (imports first) is declared mutable by the module; empty when the
    /// module is not at hand. A dump's own globals are constants (Coredump.md), so mutability is
    /// the module's to tell.
    fn declared_mutable(&self) -> Vec<bool> {
        let mut mutable = Vec::new();
        let Some(module) = self.code_module() else {
            return mutable;
        };
        let (layout, bytes) = (module.layout(), module.bytes());
        if let Some(imports) = layout.section(section_id::IMPORT)
            && let Ok(reader) = wasmparser::ImportSectionReader::new(imports.reader(bytes))
        {
            for import in reader.into_imports().flatten() {
                if let TypeRef::Global(g) = import.ty {
                    mutable.push(g.mutable);
                }
            }
        }
        if let Some(globals) = layout.section(section_id::GLOBAL)
            && let Ok(reader) = wasmparser::GlobalSectionReader::new(globals.reader(bytes))
        {
            mutable.extend(reader.into_iter().flatten().map(|g| g.ty.mutable));
        }
        mutable
    }

    /// `info globals`: the dump's Wasm globals, named by the module's `name` section, marked
    /// `(mut)` when the module (or, in a Wasmtime dump, the dump) declares them mutable.
    pub(crate) fn info_globals(&self) -> Reply {
        let names = self.section_names(|n| matches!(n, Name::Global(_)));
        let declared = self.declared_mutable();
        let mut text = String::new();
        let mut items = Vec::new();
        for (i, g) in self.dump.globals().iter().enumerate() {
            let name = names
                .iter()
                .find(|(idx, _)| *idx as usize == i)
                .map_or(String::new(), |(_, n)| format!(" {n}"));
            let value = match g.value {
                coredump::GlobalValue::I32(v) => format!("i32 = {v} ({:#x})", v as u32),
                coredump::GlobalValue::I64(v) => format!("i64 = {v} ({:#x})", v as u64),
                coredump::GlobalValue::F32(b) => format!("f32 = {}", f32::from_bits(b)),
                coredump::GlobalValue::F64(b) => format!("f64 = {}", f64::from_bits(b)),
                coredump::GlobalValue::V128(v) => format!("v128 = {v:#x}"),
                coredump::GlobalValue::RefNull(_) => "ref = null".into(),
                coredump::GlobalValue::RefFunc(f) => format!("ref = func[{f}]"),
            };
            let mutable = g.mutable || declared.get(i).copied().unwrap_or(false);
            let mutability = if mutable { " (mut)" } else { "" };
            writeln!(text, "global[{i}]{name}{mutability}: {value}").ok();
            items.push(
                json!({ "index": i, "name": name.trim(), "mutable": mutable, "value": value }),
            );
        }
        if items.is_empty() {
            text.push_str("No globals.\n");
        }
        Reply::new(text, json!({ "globals": items }))
    }

    /// `info functions [REGEX]`: every function, by index, with its address.
    pub(crate) fn info_functions(&self, re: Option<&str>) -> Result<Reply> {
        let filter = regex(re)?;
        let layout = self
            .info
            .code_layout()
            .ok_or_else(|| CommandError::new("No code section."))?;
        let imports = layout.imported_functions();
        let count = imports + layout.defined_functions();
        let mut text = header("functions", re);
        let mut items = Vec::new();
        for func in 0..count {
            let name = self.info.function_name(func).name;
            if filter.as_ref().is_some_and(|f| !f.is_match(&name)) {
                continue;
            }
            let address = match layout.body_range(func) {
                Ok(r) => format!("0x{:08x}", r.start),
                Err(_) => "<import>  ".into(),
            };
            writeln!(text, "func[{func}]\t{address}  {name}").ok();
            items.push(json!({ "func": func, "name": name, "imported": func < imports }));
        }
        Ok(Reply::new(text, json!({ "functions": items })))
    }

    /// Every named type of the DWARF (scans every unit).
    fn scan_types(&self) -> Result<Vec<String>> {
        let dwarf = self.info.dwarf();
        let mut out = Vec::new();
        let mut headers = dwarf.units();
        let err = |e: gimli::Error| CommandError::from(debuginfo::Error::from(e));
        while let Some(header) = headers.next().map_err(err)? {
            let unit = dwarf.unit(header).map_err(err)?;
            let mut path: Vec<(isize, String)> = Vec::new();
            let mut entries = unit.entries();
            while let Some(die) = entries.next_dfs().map_err(err)? {
                let depth = die.depth();
                path.retain(|(d, _)| *d < depth);
                let name = match die.attr_value(gimli::DW_AT_name) {
                    Some(v) => dwarf
                        .attr_string(&unit, v)
                        .ok()
                        .and_then(|s| s.to_string_lossy().ok().map(|s| s.into_owned())),
                    None => None,
                };
                let tag = die.tag();
                let qualified = |n: &str| {
                    path.iter()
                        .map(|(_, p)| p.as_str())
                        .chain([n])
                        .collect::<Vec<_>>()
                        .join("::")
                };
                match (tag, &name) {
                    (gimli::DW_TAG_namespace, Some(n)) => path.push((depth, n.clone())),
                    (
                        gimli::DW_TAG_structure_type
                        | gimli::DW_TAG_union_type
                        | gimli::DW_TAG_enumeration_type
                        | gimli::DW_TAG_typedef
                        | gimli::DW_TAG_base_type,
                        Some(n),
                    ) if die.attr_value(gimli::DW_AT_declaration).is_none() => {
                        out.push(qualified(n));
                        if tag != gimli::DW_TAG_base_type {
                            path.push((depth, n.clone()));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// `info types [REGEX]`.
    pub(crate) fn info_types(&self, re: Option<&str>) -> Result<Reply> {
        let filter = regex(re)?;
        let names: BTreeSet<String> = self
            .scan_types()?
            .into_iter()
            .filter(|n| filter.as_ref().is_none_or(|f| f.is_match(n)))
            .collect();
        let mut text = header("types", re);
        for n in &names {
            writeln!(text, "\t{n}").ok();
        }
        Ok(Reply::new(text, json!({ "types": names })))
    }

    /// `info variables [REGEX]`: the global variables (statics) with an address, by name.
    pub(crate) fn info_statics(&self, re: Option<&str>) -> Result<Reply> {
        let filter = regex(re)?;
        let mut vars: Vec<_> = self
            .info
            .global_variables()?
            .iter()
            .filter_map(|g| Some((g, g.address?)))
            .filter(|(g, _)| filter.as_ref().is_none_or(|f| f.is_match(&g.name)))
            .collect();
        vars.sort_by(|(a, x), (b, y)| (&a.name, x).cmp(&(&b.name, y)));
        vars.dedup_by(|(a, x), (b, y)| a.name == b.name && x == y);
        let mut text = header("variables", re);
        let mut items = Vec::new();
        for (v, address) in vars {
            let ty = match v.ty {
                Some(t) => self.info.type_name(Some(t))?,
                None => "?".into(),
            };
            writeln!(text, "0x{address:08x}  static {}: {ty};", v.name).ok();
            items.push(json!({ "name": v.name, "type": ty, "address": format!("{address:#x}") }));
        }
        Ok(Reply::new(text, json!({ "variables": items })))
    }

    /// `info symbol ADDR|FUNCIDX`: the function at a module file offset, or function N.
    pub(crate) fn info_symbol(&self, arg: &str) -> Result<Reply> {
        let layout = self
            .info
            .code_layout()
            .ok_or_else(|| CommandError::new("No code section."))?;
        let arg = arg.trim();
        let as_index = arg.strip_prefix("func[").and_then(|a| a.strip_suffix(']'));
        let n: u64 = match as_index {
            Some(i) => i
                .parse()
                .map_err(|_| CommandError::new(format!("Invalid number \"{i}\".")))?,
            None => self.eval_address(arg)?,
        };
        let count = u64::from(layout.imported_functions() + layout.defined_functions());
        let in_code = n >= layout.code_payload_start();
        let (func, offset) = if as_index.is_none() && in_code {
            let loc = self
                .code_at(n)
                .ok_or_else(|| CommandError::new(format!("No symbol matches {}.", excerpt(arg))))?;
            (loc.func, Some(loc.code_offset))
        } else if n < count {
            (n as u32, None)
        } else {
            return Err(CommandError::new(format!(
                "No symbol matches {}.",
                excerpt(arg)
            )));
        };
        let name = self.info.function_name(func).name;
        let text = match offset {
            Some(0) | None => format!("{name} in section code (func[{func}])\n"),
            Some(o) => format!("{name} + {o} in section code (func[{func}])\n"),
        };
        Ok(Reply::new(
            text,
            json!({ "func": func, "name": name, "offset": offset }),
        ))
    }

    /// `info imports`: the module's imports.
    pub(crate) fn info_imports(&self) -> Result<Reply> {
        let module = self
            .code_module()
            .ok_or_else(|| CommandError::new("No module."))?;
        let mut text = String::new();
        let mut items = Vec::new();
        let (mut funcs, mut others) = (0u32, 0u32);
        for payload in Parser::new(0).parse_all(module.bytes()) {
            let Ok(Payload::ImportSection(reader)) = payload else {
                continue;
            };
            for import in reader.into_imports().flatten() {
                let (kind, index) = match import.ty {
                    TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                        funcs += 1;
                        ("func", funcs - 1)
                    }
                    TypeRef::Memory(_) => ("memory", {
                        others += 1;
                        others - 1
                    }),
                    TypeRef::Global(_) => ("global", {
                        others += 1;
                        others - 1
                    }),
                    TypeRef::Table(_) => ("table", {
                        others += 1;
                        others - 1
                    }),
                    TypeRef::Tag(_) => ("tag", {
                        others += 1;
                        others - 1
                    }),
                };
                writeln!(text, "{kind}[{index}]\t{}::{}", import.module, import.name).ok();
                items.push(json!({ "kind": kind, "index": index, "module": import.module, "name": import.name }));
            }
            break;
        }
        text.insert_str(0, &format!("{} import(s).\n", items.len()));
        Ok(Reply::new(text, json!({ "imports": items })))
    }

    /// `info scope FUNCTION|*ADDR`: the variables in scope where FUNCTION begins (or at the code
    /// at ADDR), each with where it is and its size, as gdb lists them.
    pub(crate) fn info_scope(&self, spec: &str) -> Result<Reply> {
        let (func, code_offset) = match spec.strip_prefix('*') {
            Some(address) => {
                let pc = self.eval_address(address)?;
                let at = self.code_at(pc).ok_or_else(|| {
                    CommandError::new(format!("No function contains address {pc:#x}."))
                })?;
                (at.func, at.code_offset)
            }
            None => {
                let func = self.function_named(spec).ok_or_else(|| {
                    CommandError::new(format!("Function \"{}\" not defined.", excerpt(spec)))
                })?;
                (func, 0)
            }
        };
        let frames = self.info.frames(func, code_offset)?;
        let scope = frames.last().and_then(|f| f.scope).ok_or_else(|| {
            CommandError::new(format!(
                "No symbol table info available for \"{}\".",
                excerpt(spec)
            ))
        })?;
        let mut text = String::new();
        let mut items = Vec::new();
        for var in self.info.variables(&scope)? {
            let Some(name) = &var.name else { continue };
            let place = self.info.describe_location(&var)?;
            let size = match var.ty {
                Some(ty) => self.info.type_size(ty)?.unwrap_or(0),
                None => 0,
            };
            writeln!(text, "Symbol {name} is {place}, length {size}.").ok();
            items.push(json!({ "name": name, "location": place, "size": size }));
        }
        // As gdb words it.
        let text = if items.is_empty() {
            format!("Scope for {spec} contains no locals or arguments.\n")
        } else {
            format!("Scope for {spec}:\n{text}")
        };
        Ok(Reply::new(text, json!({ "scope": spec, "symbols": items })))
    }
}
