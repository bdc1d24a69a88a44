//! A scan of the input module: its layout (sections, function bodies, build
//! id and name, from `wasm_layout`), and the facts the instrumentation needs
//! (function types, globals, memory, exports).

use std::ops::Range;

use wasm_layout::{BuildId, CodeLayout, FunctionNames, ModuleLayout, Section, index_name};
use wasmparser::{
    BinaryReader, CompositeInnerType, ExternalKind, FuncType, FunctionBody, GlobalType,
    KnownCustom, Parser, Payload, TypeRef,
};

use crate::error::{Error, unsupported};

/// What the rewriter knows of the input module.
#[derive(Debug)]
pub(crate) struct ModuleInfo<'a> {
    pub bytes: &'a [u8],
    /// The sections, as file ranges.
    pub layout: ModuleLayout,
    /// Where the Code section's payload and each body lie (empty without
    /// a Code section).
    pub code: CodeLayout,
    /// Function signatures by type index (`None` for non-function types).
    pub types: Vec<Option<FuncType>>,
    /// Type index of every function, imports first.
    pub func_types: Vec<u32>,
    pub imported_funcs: u32,
    /// Every global, imports first.
    pub globals: Vec<GlobalType>,
    /// For each global (imports first), its initial value when it is a
    /// defined mutable i32 initialized by one `i32.const`.
    pub mutable_i32_inits: Vec<Option<u32>>,
    /// The global the `name` section calls `__stack_pointer`, if any.
    pub named_stack_pointer: Option<u32>,
    /// Each data segment's address in memory 0, when it is an active segment
    /// of memory 0 at a constant `i32.const` offset (`None` otherwise).
    pub data_addresses: Vec<Option<u64>>,
    /// Every table, imports first.
    pub tables: Vec<Table>,
    /// Active element segments with a constant offset: (table, offset,
    /// function per slot, `None` for a null).
    pub elements: Vec<(u32, u64, Vec<Option<u32>>)>,
    /// Tables some active segment fills at a non-constant offset.
    pub tables_with_dynamic_elements: Vec<u32>,
    /// Every function an element segment names (active, passive or
    /// declared), as often as named.
    pub element_funcs: Vec<u32>,
    /// How many memories the module has (imported and defined): it is refused with a second
    /// one (multi-memory) or a 64-bit one.
    pub memories: u32,
    /// Where the module's first exception tag is declared (imported or defined), if it has
    /// one.
    pub first_tag: Option<u64>,
    pub exports: Vec<(String, ExternalKind, u32)>,
    /// The input's build id, if it has one.
    pub build_id: Option<BuildId>,
    /// The module name of the `name` section, if any.
    pub name: Option<String>,
}

impl<'a> ModuleInfo<'a> {
    /// Scans `bytes`, reading only what the rewriter needs.
    pub fn scan(bytes: &'a [u8]) -> Result<Self, Error> {
        let layout = ModuleLayout::parse(bytes)?;
        let code =
            CodeLayout::read(bytes, &layout)?.unwrap_or_else(|| CodeLayout::new(0, 0, Vec::new()));
        let build_id = layout.build_id(bytes)?.map(|(id, _)| id);
        let name = layout.module_name(bytes);
        let mut info = ModuleInfo {
            bytes,
            layout,
            code,
            types: Vec::new(),
            func_types: Vec::new(),
            imported_funcs: 0,
            globals: Vec::new(),
            mutable_i32_inits: Vec::new(),
            named_stack_pointer: None,
            data_addresses: Vec::new(),
            tables: Vec::new(),
            elements: Vec::new(),
            tables_with_dynamic_elements: Vec::new(),
            element_funcs: Vec::new(),
            memories: 0,
            first_tag: None,
            exports: Vec::new(),
            build_id,
            name,
        };
        // `ModuleLayout::parse` has refused components: this is a core module.
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
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
                    for import in reader.into_imports_with_offsets() {
                        let (offset, import) = import?;
                        match import.ty {
                            TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                                info.func_types.push(t);
                                info.imported_funcs += 1;
                            }
                            TypeRef::Global(g) => {
                                check_global(&g, info.globals.len(), offset)?;
                                info.globals.push(g);
                                info.mutable_i32_inits.push(None);
                            }
                            TypeRef::Table(t) => info.tables.push(Table::new(t, true)),
                            TypeRef::Memory(m) => info.add_memory(&m, offset)?,
                            TypeRef::Tag(_) => {
                                info.first_tag.get_or_insert(offset);
                            }
                        }
                    }
                }
                Payload::FunctionSection(reader) => {
                    for t in reader {
                        info.func_types.push(t?);
                    }
                }
                Payload::MemorySection(reader) => {
                    for m in reader.into_iter_with_offsets() {
                        let (offset, m) = m?;
                        info.add_memory(&m, offset)?;
                    }
                }
                Payload::TableSection(reader) => {
                    for t in reader {
                        info.tables.push(Table::new(t?.ty, false));
                    }
                }
                Payload::ElementSection(reader) => {
                    for element in reader {
                        info.read_element(element?)?;
                    }
                }
                Payload::TagSection(reader) if reader.count() > 0 => {
                    info.first_tag.get_or_insert(reader.original_position());
                }
                Payload::GlobalSection(reader) => {
                    for g in reader.into_iter_with_offsets() {
                        let (offset, g) = g?;
                        check_global(&g.ty, info.globals.len(), offset)?;
                        info.globals.push(g.ty);
                        info.mutable_i32_inits.push(mutable_i32_init(&g));
                    }
                }
                Payload::DataSection(reader) => {
                    for data in reader {
                        let address = data.ok().and_then(|d| data_address(&d));
                        info.data_addresses.push(address);
                    }
                }
                Payload::ExportSection(reader) => {
                    for e in reader {
                        let e = e?;
                        info.exports.push((e.name.to_string(), e.kind, e.index));
                    }
                }
                Payload::CustomSection(reader) if reader.name() == "name" => {
                    if let KnownCustom::Name(names) = reader.as_known() {
                        for name in names.into_iter().flatten() {
                            info.read_global_name(name);
                        }
                    }
                }
                _ => {}
            }
        }
        let defined = info.func_types.len() - info.imported_funcs as usize;
        if defined != info.body_count() {
            // The Code section, or the Function section where there is none.
            let offset = (info.layout.code_section())
                .or(info.layout.section(3))
                .map(|s| s.range.start as u64);
            return Err(Error::Malformed {
                offset,
                message: format!(
                    "{defined} functions declared but {} bodies in the Code section",
                    info.body_count()
                ),
            });
        }
        info.check_function_indices()?;
        Ok(info)
    }

    /// Fails on an export, element segment or start function that names a
    /// function the module does not have.
    fn check_function_indices(&self) -> Result<(), Error> {
        let count = self.func_count();
        let exported = self
            .exports
            .iter()
            .filter(|(_, kind, _)| *kind == ExternalKind::Func);
        let named = [
            (7, exported.map(|&(_, _, f)| f).max()),
            (9, self.element_funcs.iter().copied().max()),
        ];
        for (id, highest) in named {
            if let Some(f) = highest.filter(|&f| f >= count)
                && let Some(section) = self.layout.section(id)
            {
                let what = if id == 7 { "export" } else { "element segment" };
                return Err(Error::Malformed {
                    offset: Some(section.range.start as u64),
                    message: format!("an {what} names function {f}, but there are {count}"),
                });
            }
        }
        Ok(())
    }

    /// Counts a memory declared at `offset`, refusing a second one or a 64-bit one.
    fn add_memory(&mut self, memory: &wasmparser::MemoryType, offset: u64) -> Result<(), Error> {
        self.memories += 1;
        if self.memories > 1 {
            return Err(unsupported("multi-memory (more than one memory)", offset));
        }
        if memory.memory64 {
            return Err(unsupported("memory64 (64-bit memory)", offset));
        }
        Ok(())
    }

    /// Takes the stack pointer's index from a `name` subsection.
    fn read_global_name(&mut self, name: wasmparser::Name<'_>) {
        if let wasmparser::Name::Global(map) = name {
            let named = map
                .into_iter()
                .flatten()
                .find(|n| n.name == "__stack_pointer");
            if let Some(naming) = named {
                self.named_stack_pointer = Some(naming.index);
            }
        }
    }

    /// The top-level sections, in file order.
    pub fn sections(&self) -> &[Section] {
        self.layout.sections()
    }

    /// The file offset of the Code section's payload, where DWARF code
    /// addresses start.
    pub fn code_payload_start(&self) -> usize {
        self.code.code_payload_start() as usize
    }

    /// Where function `func`'s body starts in the input (`None` for an import): where an error
    /// about the function as a whole is located.
    pub fn function_offset(&self, func: u32) -> Option<u64> {
        let defined = func.checked_sub(self.imported_funcs)?;
        Some(self.code.bodies().get(defined as usize)?.start)
    }

    /// The number of defined functions (bodies in the Code section).
    pub fn body_count(&self) -> usize {
        self.code.bodies().len()
    }

    /// The file range of defined function `index`'s body (without imports),
    /// from its first byte after the size LEB to its end.
    pub fn body(&self, index: usize) -> Range<usize> {
        let range = &self.code.bodies()[index];
        range.start as usize..range.end as usize
    }

    /// Defined function `index`'s body, to read.
    pub fn function_body(&self, index: usize) -> FunctionBody<'a> {
        let range = self.body(index);
        FunctionBody::new(BinaryReader::new(
            &self.bytes[range.clone()],
            range.start as u64,
        ))
    }

    /// The shadow stack of a stack-first layout (Rust's default): the stack
    /// pointer global (`__stack_pointer` by the `name` section, else the first
    /// defined mutable i32 global) when its initial value is no higher than
    /// every data segment's address, so that the memory below it holds only
    /// the stack. `None` for other layouts, without data segments (nothing
    /// then tells the layout), or when a data segment's address is not a
    /// constant (passive segments, position-independent code).
    pub fn stack_first(&self) -> Option<StackFirst> {
        let stack_pointer = match self.named_stack_pointer {
            Some(index) => index,
            None => self.mutable_i32_inits.iter().position(Option::is_some)? as u32,
        };
        let initial = (*self.mutable_i32_inits.get(stack_pointer as usize)?)?;
        let lowest_data = self
            .data_addresses
            .iter()
            .copied()
            .collect::<Option<Vec<u64>>>()?
            .into_iter()
            .min()?;
        (initial > 0 && u64::from(initial) <= lowest_data).then_some(StackFirst {
            stack_pointer,
            initial,
        })
    }

    fn read_element(&mut self, element: wasmparser::Element<'_>) -> Result<(), Error> {
        let funcs = element_funcs(&element.items)?;
        self.element_funcs.extend(funcs.iter().flatten());
        let wasmparser::ElementKind::Active {
            table_index,
            offset_expr,
        } = element.kind
        else {
            return Ok(());
        };
        let table = table_index.unwrap_or(0);
        let mut ops = offset_expr.get_operators_reader();
        let offset = match ops.read()? {
            wasmparser::Operator::I32Const { value } => u64::from(value as u32),
            wasmparser::Operator::I64Const { value } => value as u64,
            _ => {
                self.tables_with_dynamic_elements.push(table);
                return Ok(());
            }
        };
        self.elements.push((table, offset, funcs));
        Ok(())
    }

    /// The signature of function `func` (an error has no offset: the caller locates it).
    pub fn func_type(&self, func: u32) -> Result<&FuncType, Error> {
        let ty = *self
            .func_types
            .get(func as usize)
            .ok_or_else(|| unsupported(format!("call of unknown function {func}"), None))?;
        self.signature(ty).map_err(|_| {
            unsupported(
                format!(
                    "function {} of a non-function type {ty} (GC proposal)",
                    self.function_label(func)
                ),
                None,
            )
        })
    }

    /// Function `func` as messages name it: `` `run` (func[3]) `` with the name the module
    /// gives it ([`FunctionNames`]: its `name` section, export or import), else `func[3]`.
    /// Reads the names on each call: for error messages only.
    pub fn function_label(&self, func: u32) -> String {
        let names = FunctionNames::read(self.bytes, &self.layout);
        match names.get(func) {
            Some((name, _)) => format!("`{name}` ({})", index_name(func)),
            None => index_name(func),
        }
    }

    /// The function type at type index `ty` (an error has no offset: the caller locates it).
    pub fn signature(&self, ty: u32) -> Result<&FuncType, Error> {
        self.types
            .get(ty as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| unsupported(format!("non-function type {ty} (GC proposal)"), None))
    }

    /// The number of functions, imports included.
    pub fn func_count(&self) -> u32 {
        self.func_types.len() as u32
    }
}

/// Refuses global `index`, declared at `offset`, if it holds a reference a dump cannot record
/// (GC and typed function references: anything but a nullable `funcref` or `externref`).
fn check_global(global: &GlobalType, index: usize, offset: u64) -> Result<(), Error> {
    match global.content_type {
        wasmparser::ValType::Ref(r)
            if !(r.is_nullable() && (r.is_func_ref() || r.is_extern_ref())) =>
        {
            Err(unsupported(
                format!("global {index} of reference type {r} (GC / typed function references)"),
                offset,
            ))
        }
        _ => Ok(()),
    }
}

/// The stack pointer of a stack-first layout: see [`ModuleInfo::stack_first`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StackFirst {
    /// The index of the stack pointer global.
    pub stack_pointer: u32,
    /// Its initial value: the top of the stack, below which only the stack lies.
    pub initial: u32,
}

/// The initial value of a defined global that is a mutable i32 set by one
/// `i32.const`.
fn mutable_i32_init(global: &wasmparser::Global<'_>) -> Option<u32> {
    let mutable_i32 = global.ty.mutable && global.ty.content_type == wasmparser::ValType::I32;
    constant_i32(&global.init_expr).filter(|_| mutable_i32)
}

/// The address of an active data segment of memory 0 at a constant offset.
fn data_address(data: &wasmparser::Data<'_>) -> Option<u64> {
    match &data.kind {
        wasmparser::DataKind::Active {
            memory_index: 0,
            offset_expr,
        } => constant_i32(offset_expr).map(u64::from),
        _ => None,
    }
}

/// The value of a constant expression that is exactly one `i32.const`
/// (`None` for any other expression, malformed ones included).
fn constant_i32(expr: &wasmparser::ConstExpr<'_>) -> Option<u32> {
    let mut ops = expr.get_operators_reader();
    let value = match ops.read().ok()? {
        wasmparser::Operator::I32Const { value } => value as u32,
        _ => return None,
    };
    matches!(ops.read().ok()?, wasmparser::Operator::End).then_some(value)
}

/// The functions of an element segment's items, `None` for an item that is
/// not a `ref.func`.
fn element_funcs(items: &wasmparser::ElementItems<'_>) -> Result<Vec<Option<u32>>, Error> {
    let mut funcs = Vec::new();
    match items.clone() {
        wasmparser::ElementItems::Functions(list) => {
            for f in list {
                funcs.push(Some(f?));
            }
        }
        wasmparser::ElementItems::Expressions(_, exprs) => {
            for expr in exprs {
                let mut ops = expr?.get_operators_reader();
                funcs.push(match ops.read()? {
                    wasmparser::Operator::RefFunc { function_index } => Some(function_index),
                    _ => None,
                });
            }
        }
    }
    Ok(funcs)
}

/// A table of the module.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Whether it is imported (its contents are then unknown).
    pub imported: bool,
    /// Whether it holds untyped `funcref`s with 32-bit indices: the tables
    /// `--check-indirect-calls` checks.
    pub checkable: bool,
    /// Its initial size.
    pub initial: u64,
    /// Whether its indices are 64-bit.
    pub table64: bool,
}

impl Table {
    fn new(ty: wasmparser::TableType, imported: bool) -> Self {
        Table {
            imported,
            checkable: ty.element_type == wasmparser::RefType::FUNCREF && !ty.table64,
            initial: ty.initial,
            table64: ty.table64,
        }
    }
}
