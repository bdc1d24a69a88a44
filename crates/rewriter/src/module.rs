//! A scan of the input module: its sections as byte ranges, and the facts the
//! instrumentation needs (function types, globals, memory, exports, bodies).

use std::ops::Range;

use wasmparser::{
    CompositeInnerType, ExternalKind, FuncType, GlobalType, KnownCustom, Parser, Payload, TypeRef,
};

use crate::error::{Error, unsupported};

/// One top-level section of the input.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    /// Section id (0 for custom sections).
    pub id: u8,
    /// The whole section, id and size included.
    pub range: Range<usize>,
    /// The name of a custom section.
    pub name: Option<String>,
}

/// A function body of the input.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    /// The body, from its first byte after the size LEB to its end.
    pub range: Range<usize>,
}

/// What the rewriter knows of the input module.
#[derive(Debug)]
pub(crate) struct ModuleInfo<'a> {
    pub bytes: &'a [u8],
    pub sections: Vec<Section>,
    /// Function signatures by type index (`None` for non-function types).
    pub types: Vec<Option<FuncType>>,
    /// Type index of every function, imports first.
    pub func_types: Vec<u32>,
    pub imported_funcs: u32,
    /// Every global, imports first.
    pub globals: Vec<GlobalType>,
    pub memories: u32,
    pub memory64: bool,
    pub exports: Vec<(String, ExternalKind, u32)>,
    pub bodies: Vec<Body>,
    /// Start of the Code section's payload (where DWARF addresses start).
    pub code_payload_start: usize,
    /// The payload of the `build_id` custom section, if any.
    pub build_id: Option<&'a [u8]>,
    /// The module name of the `name` section, if any.
    pub name: Option<String>,
}

impl<'a> ModuleInfo<'a> {
    /// Scans `bytes`, reading only what the rewriter needs.
    pub fn scan(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut info = ModuleInfo {
            bytes,
            sections: Vec::new(),
            types: Vec::new(),
            func_types: Vec::new(),
            imported_funcs: 0,
            globals: Vec::new(),
            memories: 0,
            memory64: false,
            exports: Vec::new(),
            bodies: Vec::new(),
            code_payload_start: 0,
            build_id: None,
            name: None,
        };
        let mut section_start = 8;
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload?;
            if let Payload::Version {
                encoding, range, ..
            } = &payload
            {
                if *encoding == wasmparser::Encoding::Component {
                    return Err(unsupported("components (the component model)", range.start));
                }
                continue;
            }
            let section = payload.as_section();
            match payload {
                Payload::TypeSection(reader) => {
                    for group in reader {
                        let group = group?;
                        for ty in group.into_types() {
                            info.types.push(match ty.composite_type.inner {
                                CompositeInnerType::Func(f) => Some(f),
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        match import?.ty {
                            TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                                info.func_types.push(t);
                                info.imported_funcs += 1;
                            }
                            TypeRef::Global(g) => info.globals.push(g),
                            TypeRef::Memory(m) => {
                                info.memories += 1;
                                info.memory64 |= m.memory64;
                            }
                            _ => {}
                        }
                    }
                }
                Payload::FunctionSection(reader) => {
                    for t in reader {
                        info.func_types.push(t?);
                    }
                }
                Payload::MemorySection(reader) => {
                    for m in reader {
                        let m = m?;
                        info.memories += 1;
                        info.memory64 |= m.memory64;
                    }
                }
                Payload::GlobalSection(reader) => {
                    for g in reader {
                        info.globals.push(g?.ty);
                    }
                }
                Payload::ExportSection(reader) => {
                    for e in reader {
                        let e = e?;
                        info.exports.push((e.name.to_string(), e.kind, e.index));
                    }
                }
                Payload::CodeSectionStart {
                    unchecked_range, ..
                } => {
                    info.code_payload_start = unchecked_range.start as usize;
                }
                Payload::CodeSectionEntry(body) => {
                    let range = body.range();
                    info.bodies.push(Body {
                        range: range.start as usize..range.end as usize,
                    });
                }
                Payload::CustomSection(reader) => match reader.name() {
                    "build_id" => info.build_id = Some(reader.data()),
                    "name" => {
                        if let KnownCustom::Name(names) = reader.as_known() {
                            for name in names.into_iter().flatten() {
                                if let wasmparser::Name::Module { name, .. } = name {
                                    info.name = Some(name.to_string());
                                }
                            }
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
            if let Some((id, range)) = section {
                let end = range.end as usize;
                let name = (id == 0).then(|| custom_name(bytes, section_start, end));
                info.sections.push(Section {
                    id,
                    range: section_start..end,
                    name: name.flatten(),
                });
                section_start = end;
            }
        }
        let defined = info.func_types.len() - info.imported_funcs as usize;
        if defined != info.bodies.len() {
            return Err(Error::Malformed {
                offset: info.code_payload_start as u64,
                message: format!(
                    "{defined} functions declared but {} bodies in the Code section",
                    info.bodies.len()
                ),
            });
        }
        Ok(info)
    }

    /// The signature of function `func`.
    pub fn func_type(&self, func: u32) -> Result<&FuncType, Error> {
        let ty = self.func_types[func as usize];
        self.types
            .get(ty as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| {
                unsupported(
                    format!("function {func} of a non-function type {ty} (GC proposal)"),
                    0,
                )
            })
    }

    /// The number of functions, imports included.
    pub fn func_count(&self) -> u32 {
        self.func_types.len() as u32
    }
}

/// The name of the custom section spanning `range` of `bytes`.
fn custom_name(bytes: &[u8], start: usize, end: usize) -> Option<String> {
    let mut reader = wasmparser::BinaryReader::new(&bytes[start..end], start as u64);
    reader.read_u8().ok()?;
    reader.read_var_u32().ok()?;
    reader.read_string().ok().map(str::to_string)
}
