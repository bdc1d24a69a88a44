//! The names a module gives its functions outside DWARF: the `name` section, the exports and
//! the imports. Every tool names a function through [`FunctionNames`], so a module without a
//! `name` section (a release build) reads the same in all of them.

use std::collections::HashMap;

use wasmparser::{
    BinaryReader, CompositeInnerType, ExportSectionReader, ExternalKind, FuncType, FunctionBody,
    FunctionSectionReader, ImportSectionReader, Name, NameSectionReader, Operator, TypeRef,
    TypeSectionReader,
};

use crate::code::CodeLayout;
use crate::custom::NAME_SECTION;
use crate::sections::{ModuleLayout, section_id};

/// Where a [`FunctionNames`] name came from, best first. (DWARF, for the tools that read it,
/// comes before all of these.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameOrigin {
    /// The `name` section's function names, as the toolchain wrote them (possibly mangled).
    NameSection,
    /// The function's first export in the Export section, or that of an exported wrapper that
    /// only forwards to it (see [`FunctionNames`]).
    Export,
    /// An imported function's `module.field`.
    Import,
}

/// The name of each function a module names outside DWARF, with where it came from.
///
/// A function's name is, best first: its `name` section name; its first export (in Export
/// section order); the first export of an *entry wrapper* of it, an exported function with no
/// locals of its own whose first call passes it its own params, unchanged and in order, to a
/// defined function of the same signature (what `wasm-coredump-rewriter` puts in front of every
/// export, so a rewritten module's exports name the functions the frames record); for an
/// imported function, `module.field`. A function with none of these has no name here: tools
/// show it as [`index_name`] (`func[N]`).
///
/// Malformed sections only lose names: reading never fails (engines ignore a bad `name`
/// section too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionNames {
    names: HashMap<u32, (String, NameOrigin)>,
}

/// How tools show a function that nothing names: `func[N]`.
pub fn index_name(func: u32) -> String {
    format!("func[{func}]")
}

impl FunctionNames {
    /// Reads the names of `module` (the bytes `layout` was parsed from). Decodes the `name`,
    /// Import and Export sections and, to find entry wrappers, the exported functions' bodies up
    /// to their first call.
    pub fn read(module: &[u8], layout: &ModuleLayout) -> FunctionNames {
        let mut names = HashMap::new();
        if let Some(section) = layout.custom_section(NAME_SECTION) {
            for subsection in NameSectionReader::new(section.reader(module)) {
                let Ok(Name::Function(map)) = subsection else {
                    continue;
                };
                for naming in map.into_iter().map_while(Result::ok) {
                    names
                        .entry(naming.index)
                        .or_insert_with(|| (naming.name.to_owned(), NameOrigin::NameSection));
                }
            }
        }
        let imports = imports(module, layout);
        let exports = exported_functions(module, layout);
        for (name, func) in &exports {
            names
                .entry(*func)
                .or_insert_with(|| (name.clone(), NameOrigin::Export));
        }
        if !exports.is_empty() {
            let signatures = Signatures::read(module, layout, &imports);
            let code = CodeLayout::read(module, layout).ok().flatten();
            for (name, wrapper) in &exports {
                let wrapped = code
                    .as_ref()
                    .and_then(|code| signatures.wrapped_by(module, code, *wrapper));
                if let Some(wrapped) = wrapped {
                    names
                        .entry(wrapped)
                        .or_insert_with(|| (name.clone(), NameOrigin::Export));
                }
            }
        }
        for (func, (name, _)) in imports.into_iter().enumerate() {
            names
                .entry(func as u32)
                .or_insert_with(|| (name, NameOrigin::Import));
        }
        FunctionNames { names }
    }

    /// The name of function `func` (imports first in the index space) and where it came from,
    /// if the module names it.
    pub fn get(&self, func: u32) -> Option<(&str, NameOrigin)> {
        self.names
            .get(&func)
            .map(|(name, origin)| (name.as_str(), *origin))
    }

    /// The name of function `func`, else [`index_name`] (`func[N]`).
    pub fn name_or_index(&self, func: u32) -> String {
        self.get(func)
            .map_or_else(|| index_name(func), |(name, _)| name.to_owned())
    }
}

/// The module's function exports, in Export section order: (name, function index).
fn exported_functions(module: &[u8], layout: &ModuleLayout) -> Vec<(String, u32)> {
    let Some(section) = layout.section(section_id::EXPORT) else {
        return Vec::new();
    };
    let Ok(reader) = ExportSectionReader::new(section.reader(module)) else {
        return Vec::new();
    };
    reader
        .into_iter()
        .map_while(Result::ok)
        .filter(|e| e.kind == ExternalKind::Func)
        .map(|e| (e.name.to_owned(), e.index))
        .collect()
}

/// The imported functions, in order: `module.field` and type index.
fn imports(module: &[u8], layout: &ModuleLayout) -> Vec<(String, u32)> {
    let Some(section) = layout.section(section_id::IMPORT) else {
        return Vec::new();
    };
    let Ok(reader) = ImportSectionReader::new(section.reader(module)) else {
        return Vec::new();
    };
    reader
        .into_imports()
        .map_while(Result::ok)
        .filter_map(|import| match import.ty {
            TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                Some((format!("{}.{}", import.module, import.name), ty))
            }
            _ => None,
        })
        .collect()
}

/// The signature of every function, to recognize entry wrappers.
struct Signatures {
    /// Function signatures by type index (`None` for the other types).
    types: Vec<Option<FuncType>>,
    /// The type index of every function, imports first.
    funcs: Vec<u32>,
    imported: u32,
}

impl Signatures {
    /// The signatures of `module`'s functions, given its [`imports`].
    fn read(module: &[u8], layout: &ModuleLayout, imports: &[(String, u32)]) -> Signatures {
        let mut types = Vec::new();
        if let Some(section) = layout.section(section_id::TYPE)
            && let Ok(reader) = TypeSectionReader::new(section.reader(module))
        {
            for group in reader.into_iter().map_while(Result::ok) {
                types.extend(group.into_types().map(|ty| match ty.composite_type.inner {
                    CompositeInnerType::Func(f) => Some(f),
                    _ => None,
                }));
            }
        }
        let mut funcs: Vec<u32> = imports.iter().map(|&(_, ty)| ty).collect();
        let imported = funcs.len() as u32;
        if let Some(section) = layout.section(section_id::FUNCTION)
            && let Ok(reader) = FunctionSectionReader::new(section.reader(module))
        {
            funcs.extend(reader.into_iter().map_while(Result::ok));
        }
        Signatures {
            types,
            funcs,
            imported,
        }
    }

    /// The signature of function `func`.
    fn of(&self, func: u32) -> Option<&FuncType> {
        let ty = *self.funcs.get(func as usize)?;
        self.types.get(ty as usize)?.as_ref()
    }

    /// The function `wrapper` is an entry wrapper of (see [`FunctionNames`]), if it is one.
    fn wrapped_by(&self, module: &[u8], code: &CodeLayout, wrapper: u32) -> Option<u32> {
        let signature = self.of(wrapper)?;
        let range = code.body_range(wrapper).ok()?;
        let bytes = module.get(range.start as usize..range.end as usize)?;
        let body = FunctionBody::new(BinaryReader::new(bytes, range.start));
        if body.get_locals_reader().ok()?.get_count() != 0 {
            return None;
        }
        let params = signature.params().len() as u32;
        // How many `local.get 0`, `local.get 1`, ... came last, in a row.
        let mut passed = 0;
        let mut ops = body.get_operators_reader().ok()?;
        while !ops.eof() {
            match ops.read().ok()? {
                Operator::LocalGet { local_index } => {
                    passed = match local_index {
                        i if i == passed => passed + 1,
                        0 => 1,
                        _ => 0,
                    };
                }
                Operator::Call { function_index } => {
                    let wraps = passed == params
                        && function_index >= self.imported
                        && function_index != wrapper
                        && self.of(function_index) == Some(signature);
                    return wraps.then_some(function_index);
                }
                _ => passed = 0,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(wat: &str) -> FunctionNames {
        let module = wat::parse_str(wat).unwrap();
        FunctionNames::read(&module, &ModuleLayout::parse(&module).unwrap())
    }

    #[test]
    fn name_section_then_export_then_import_then_none() {
        let names = names(
            r#"(module
                (import "env" "log" (func (param i32)))
                (import "env" "named" (func $imported))
                (func $named (export "exported_too") nop)
                (func (export "first") (export "second") nop)
                (func nop))"#,
        );
        assert_eq!(names.get(0), Some(("env.log", NameOrigin::Import)));
        assert_eq!(names.get(1), Some(("imported", NameOrigin::NameSection)));
        assert_eq!(names.get(2), Some(("named", NameOrigin::NameSection)));
        assert_eq!(names.get(3), Some(("first", NameOrigin::Export)));
        assert_eq!(names.get(4), None);
        assert_eq!(names.name_or_index(4), "func[4]");
        assert_eq!(names.name_or_index(3), "first");
    }

    #[test]
    fn an_entry_wrapper_lends_its_export_name() {
        // The shape of the rewriter's wrappers: bookkeeping, then the params passed on to a
        // function of the same signature, then more calls.
        let names = names(
            r#"(module
                (global $entries (mut i32) (i32.const 0))
                (func (param i32 i64) (result i32) i32.const 0)
                (func (param i32 i64) (result i32) i32.const 1)
                (func $finish)
                (func (export "run") (param i32 i64) (result i32)
                    global.get $entries
                    i32.const 1
                    i32.add
                    global.set $entries
                    local.get 0
                    local.get 1
                    call 0
                    call $finish)
                (func (export "swapped") (param i32 i32) (result i32)
                    local.get 1
                    local.get 0
                    call 5)
                (func (param i32 i32) (result i32) i32.const 2)
                (func (export "other_type") (param i32) (result i32)
                    local.get 0
                    call 7
                    drop
                    i32.const 0)
                (func (param i32) (result i64) i64.const 3)
                (func (export "start") call $finish))"#,
        );
        assert_eq!(names.get(0), Some(("run", NameOrigin::Export)));
        assert_eq!(names.get(3), Some(("run", NameOrigin::Export)));
        // Not passed on unchanged, not the same signature: no wrapper.
        assert_eq!(names.get(5), None);
        assert_eq!(names.get(7), None);
        // A function with a name of its own keeps it.
        assert_eq!(names.get(2), Some(("finish", NameOrigin::NameSection)));
        assert_eq!(names.get(1), None);
    }

    #[test]
    fn malformed_sections_only_lose_names() {
        let mut module = wat::parse_str(r#"(module (func (export "f") nop))"#).unwrap();
        module.extend(crate::custom_section(NAME_SECTION, &[1, 9, 1]));
        let names = FunctionNames::read(&module, &ModuleLayout::parse(&module).unwrap());
        assert_eq!(names.get(0), Some(("f", NameOrigin::Export)));
    }
}
