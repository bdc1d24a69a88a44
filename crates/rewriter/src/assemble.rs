//! Putting the rewritten module together: the input's sections in order,
//! copied or extended, plus the runtime, the export wrappers and a new
//! build_id.

use std::collections::HashMap;
use std::io::Write;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{BlockType, Encode, ExportKind, ExportSection, Function, InstructionSink};
use wasmparser::ExternalKind;

use crate::address_map::AddressMap;
use crate::analysis::analyze;
use crate::code::Code;
use crate::dwarf;
use crate::error::{Error, unsupported};
use crate::indirect::IndirectChecks;
use crate::instrument::{Context, instrument};
use crate::module::ModuleInfo;
use crate::runtime::{
    self, DumpInfo, G, G_COUNT, IndirectRetrap, RT_COUNT, Recorders, Rt, Runtime,
};
use crate::sink::Sink;
use crate::types::TypeRegistry;
use crate::{Options, Stats, Summary, Unwind};
use wasm_layout::BuildId;

/// Namespace of the build ids the rewriter derives (UUID v5).
const BUILD_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6c0e_9b2a_58f1_4d0e_9a6e_2f7c_3d41_b8e5);

/// Standard sections in the order the spec requires.
const ORDER: [u8; 13] = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

fn rank(id: u8) -> usize {
    ORDER.iter().position(|&o| o == id).unwrap_or(usize::MAX)
}

/// Rewrites `input`, writing the module to `out` section by section: only
/// the rewritten function bodies are held until the Code section is
/// written, and the patched DWARF sections until each is written.
pub(crate) fn rewrite_to(
    input: &[u8],
    options: &Options,
    out: impl Write,
) -> Result<Summary, Error> {
    rewrite_module(input, options, out).map_err(|err| err.in_section_of(input))
}

/// [`rewrite_to`], its errors not yet given their section.
fn rewrite_module(input: &[u8], options: &Options, out: impl Write) -> Result<Summary, Error> {
    let info = ModuleInfo::scan(input)?;
    crate::validate::validate(input)?;
    if info.memories == 0 {
        return Err(Error::NoMemory);
    }
    let analysis = analyze(&info, options)?;
    let may_unwind = analysis.may_unwind;
    // Where the module handles exceptions: its first tag, else its first instruction that does.
    let handles_exceptions = info.first_tag.or(analysis.exceptions_at);
    let unwind = match options.unwind {
        Unwind::Auto if handles_exceptions.is_some() => Unwind::Checks,
        Unwind::Auto => Unwind::Exceptions,
        Unwind::Exceptions if handles_exceptions.is_some() => {
            return Err(unsupported(
                "unwinding with exceptions in a module that handles exceptions itself \
                 (unwind with checks instead)",
                handles_exceptions,
            ));
        }
        explicit => explicit,
    };
    let mut types = TypeRegistry::new(info.types.len() as u32);
    // With exceptions, the module has no tag of its own: ours is tag 0.
    let tag_type = (unwind == Unwind::Exceptions).then(|| types.func(&[], &[]));
    let runtime = Runtime {
        func_base: info.func_count(),
        global_base: info.globals.len() as u32,
        tag: tag_type.map(|_| 0),
    };
    let mut stats = Stats {
        input_size: input.len(),
        unwind,
        ..Stats::default()
    };
    // Entry points: exports and the start function that can unwind get a
    // wrapper that finishes the dump and re-raises the trap.
    let wrapper_base = runtime.func_base + RT_COUNT;
    let mut wrapped: Vec<u32> = Vec::new();
    let mut wrapper_of = |func: u32| -> Option<u32> {
        let defined = func.checked_sub(info.imported_funcs)?;
        if !may_unwind[defined as usize] {
            return None;
        }
        let k = match wrapped.iter().position(|&f| f == func) {
            Some(k) => k,
            None => {
                wrapped.push(func);
                wrapped.len() - 1
            }
        };
        Some(wrapper_base + k as u32)
    };
    let exports: Vec<(String, ExternalKind, u32)> = info
        .exports
        .iter()
        .map(|(name, kind, index)| {
            let index = match kind {
                ExternalKind::Func => wrapper_of(*index).unwrap_or(*index),
                _ => *index,
            };
            (name.clone(), *kind, index)
        })
        .collect();
    let start = start_function(&info)?.map(|f| wrapper_of(f).unwrap_or(f));
    // Functions the host can call through a table it sees (exported or
    // imported) get a wrapper in the table: an entry point when no other
    // entry is running, a plain call when Wasm calls it.
    let host_table = (info.tables.iter().enumerate()).any(|(i, t)| {
        t.imported
            || (info.exports.iter())
                .any(|(_, kind, index)| *kind == ExternalKind::Table && *index as usize == i)
    });
    let mut in_tables: Vec<u32> = match host_table {
        true => (info.element_funcs.iter().copied())
            .filter(|&f| {
                (f.checked_sub(info.imported_funcs)).is_some_and(|d| may_unwind[d as usize])
            })
            .collect(),
        false => Vec::new(),
    };
    in_tables.sort_unstable();
    in_tables.dedup();
    let table_base = wrapper_base + wrapped.len() as u32;
    let table_wrappers: HashMap<u32, u32> = (in_tables.iter().enumerate())
        .map(|(k, &f)| (f, table_base + k as u32))
        .collect();
    stats.entry_points = (wrapped.len() + in_tables.len()) as u32;

    let recorders = Recorders::plan(
        &info,
        &may_unwind,
        &analysis.loop_without_calls,
        options,
        &runtime,
        table_base + in_tables.len() as u32,
    )?;
    let mut indirect = match options.check_indirect_calls {
        true => Some(IndirectChecks::new(&info, recorders.end())?),
        false => None,
    };
    let cx = Context {
        info: &info,
        runtime,
        may_unwind: &may_unwind,
        options,
        recorders: &recorders,
    };
    let mut code = Code::default();
    for (i, &unwinds) in may_unwind.iter().enumerate() {
        if !unwinds {
            code.push(None);
            continue;
        }
        let rewritten = instrument(&cx, &mut types, &mut indirect, i)?;
        stats.functions_instrumented += 1;
        code.push(Some(rewritten));
    }

    let build_id = build_id(&info);
    let module_name = options
        .module_name
        .clone()
        .or_else(|| info.name.clone())
        .unwrap_or_else(|| "module.wasm".to_string());
    let dump_info = DumpInfo {
        process_name: module_name.clone(),
        module_name,
        instance_id: options.instance_id,
        build_id_payload: build_id.payload(),
        globals: info.globals.clone(),
        stack_first: info.stack_first(),
    };
    let retraps = match &indirect {
        Some(checks) => indirect_retraps(&info, checks)?,
        None => Vec::new(),
    };
    let runtime_funcs = runtime.functions(&mut types, &dump_info, &retraps);
    let mut wrappers = Vec::new();
    let in_exports = wrapped.iter().map(|&f| (f, false));
    for (func, in_table) in in_exports.chain(in_tables.iter().map(|&f| (f, true))) {
        let located = |e: Error| e.located(info.function_offset(func));
        let sig = info.func_type(func).map_err(located)?;
        let params: Vec<wasm_encoder::ValType> = sig
            .params()
            .iter()
            .map(|&t| crate::instrument::encoder_type(t))
            .collect::<Result<_, _>>()
            .map_err(located)?;
        let results: Vec<wasm_encoder::ValType> = sig
            .results()
            .iter()
            .map(|&t| crate::instrument::encoder_type(t))
            .collect::<Result<_, _>>()
            .map_err(located)?;
        let ty = types.func(&params, &results);
        let body_type = types.func(&[], &results);
        let entry = Entry {
            func,
            params: params.len() as u32,
            body_type,
        };
        wrappers.push((ty, entry.wrapper(&runtime, in_table)));
    }

    let checks = indirect
        .as_ref()
        .map(|c| c.functions(&runtime, &mut types))
        .unwrap_or_default();
    let new_funcs: Vec<(u32, Vec<u8>)> = runtime_funcs
        .into_iter()
        .chain(wrappers)
        .chain(recorders.functions(&runtime, &mut types))
        .chain(checks)
        .map(|(ty, f)| (ty, f.into_raw_body()))
        .collect();
    // (Its plan of every site is no longer needed.)
    drop(recorders);
    let mut out = Sink::new(out);
    out.bytes(&input[..8])?;
    let new = NewItems {
        info: &info,
        code: std::cell::RefCell::new(code),
        types: &types,
        funcs: &new_funcs,
        tag_type,
    };
    // Sections the rewrite adds to, created where the input has none.
    let mut missing: Vec<u8> = vec![1, 3, 6, 10];
    if tag_type.is_some() {
        missing.push(13);
    }
    let mut address_map = AddressMap::default();
    let mut dwarf = dwarf::Patcher::default();
    for section in info.sections() {
        let id = section.id;
        if id != 0 {
            emit_missing(
                &mut out,
                &mut missing,
                rank(id),
                &new,
                &mut stats,
                &mut address_map,
            )?;
            missing.retain(|&m| m != id);
        }
        let payload = &input[section.content.clone()];
        match id {
            1 => {
                let (count, rest) = split_count(payload, section.range.start)?;
                type_section(&mut out, count, rest, &types)?;
            }
            3 => {
                let (count, rest) = split_count(payload, section.range.start)?;
                function_section(&mut out, count, rest, &new)?;
            }
            6 => {
                let (count, rest) = split_count(payload, section.range.start)?;
                global_section(&mut out, count, rest)?;
            }
            7 => {
                let mut exports_out = ExportSection::new();
                for (name, kind, index) in &exports {
                    exports_out.export(name, export_kind(*kind, section.range.start)?, *index);
                }
                out.encoded(7, &exports_out)?;
            }
            8 => {
                let mut p = Vec::new();
                start.unwrap_or(0).encode(&mut p);
                out.section(8, &p)?;
            }
            9 if !table_wrappers.is_empty() => {
                let elements = element_section(payload, section.range.start, &table_wrappers)?;
                out.encoded(9, &elements)?;
            }
            10 => code_section(&mut out, &new, &mut stats, &mut address_map)?,
            0 if section.name.as_deref() == Some("build_id") => {}
            0 if dwarf::is_dwarf(section.name.as_deref()) => {
                dwarf.emit(&mut out, &info, section, &address_map)?;
            }
            _ => out.bytes(&input[section.range.clone()])?,
        }
    }
    emit_missing(
        &mut out,
        &mut missing,
        usize::MAX,
        &new,
        &mut stats,
        &mut address_map,
    )?;
    out.bytes(&build_id.section())?;
    stats.dwarf_ranges_tombstoned = dwarf.tombstoned();

    stats.call_sites = 0;
    stats.trap_points = 0;
    for f in &address_map.functions {
        let base = info.code_payload_start() + f.input.0 as usize;
        for site in address_map.sites(f) {
            let op = input[base + site.original as usize];
            if matches!(op, 0x10 | 0x11 | 0x14) {
                stats.call_sites += 1;
            } else {
                stats.trap_points += 1;
            }
        }
    }
    stats.output_size = out.finish()?;
    Ok(Summary {
        build_id,
        stats,
        address_map,
    })
}

/// What re-raising each failed indirect-call check takes.
fn indirect_retraps(
    info: &ModuleInfo<'_>,
    checks: &IndirectChecks,
) -> Result<Vec<IndirectRetrap>, Error> {
    checks
        .retraps()
        .into_iter()
        .map(|(kind, ty, table)| {
            let sig = info
                .types
                .get(ty as usize)
                .and_then(Option::as_ref)
                .ok_or_else(|| {
                    unsupported(format!("call_indirect of non-function type {ty}"), None)
                })?;
            let params = sig
                .params()
                .iter()
                .map(|&t| crate::instrument::encoder_type(t))
                .collect::<Result<_, _>>()?;
            Ok(IndirectRetrap {
                kind,
                ty,
                table,
                params,
                results: sig.results().len(),
            })
        })
        .collect()
}

/// The input and what the rewrite made of it and appends to it.
struct NewItems<'a> {
    info: &'a ModuleInfo<'a>,
    /// The rewritten bodies, taken (and freed) by the Code section.
    code: std::cell::RefCell<Code>,
    types: &'a TypeRegistry,
    /// The functions added after the input's: (type, body without its size).
    funcs: &'a [(u32, Vec<u8>)],
    /// The type of the tag the runtime throws, with exceptions.
    tag_type: Option<u32>,
}

fn start_function(info: &ModuleInfo<'_>) -> Result<Option<u32>, Error> {
    let Some(section) = info.layout.section(8) else {
        return Ok(None);
    };
    let payload = &info.bytes[section.content.clone()];
    let mut reader = wasmparser::BinaryReader::new(payload, section.range.start as u64);
    // Validated: it names a function.
    Ok(Some(reader.read_var_u32()?))
}

/// A new build id: a UUID v5 of the runtime version, the input's old build
/// id and its Code section, so the same input always gets the same id.
/// (`Uuid::new_v5` of them one after the other, hashed where they lie.)
fn build_id(info: &ModuleInfo<'_>) -> BuildId {
    use sha1::{Digest, Sha1};
    let mut hasher = Sha1::new();
    hasher.update(BUILD_ID_NAMESPACE.as_bytes());
    hasher.update(runtime::VERSION.as_bytes());
    if let Some(id) = &info.build_id {
        hasher.update(id.as_bytes());
    }
    if let Some(code) = info.layout.code_section() {
        hasher.update(&info.bytes[code.range.clone()]);
    }
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&hasher.finalize()[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid().into()
}

/// An entry point: a call of `func` (with `params` params, its results
/// `body_type`'s) that writes the dump and raises the trap when a trap
/// unwinds out of it.
struct Entry {
    func: u32,
    params: u32,
    /// The type `[] -> results` of `func`.
    body_type: u32,
}

impl Entry {
    /// The wrapper of an export or the start function (always an entry),
    /// or of a function in a table the host sees (`in_table`: an entry only
    /// when no other entry is running; Wasm calling it gets a plain call).
    fn wrapper(&self, rt: &Runtime, in_table: bool) -> Function {
        let mut f = Function::new([]);
        let mut s = f.instructions();
        let entries = rt.global(G::Entries);
        if in_table {
            s.global_get(entries)
                .if_(BlockType::FunctionType(self.body_type));
            self.call(&mut s);
            s.else_();
        }
        let count = |s: &mut InstructionSink<'_>, delta: i32| {
            s.global_get(entries)
                .i32_const(delta)
                .i32_add()
                .global_set(entries);
        };
        count(&mut s, 1);
        if let Some(tag) = rt.tag {
            s.try_(BlockType::FunctionType(self.body_type));
            self.call(&mut s);
            s.catch(tag);
            count(&mut s, -1);
            finish(&mut s, rt);
            s.unreachable();
            // (A host exception passes through.)
            s.catch_all();
            count(&mut s, -1);
            s.rethrow(0).end();
            count(&mut s, -1);
        } else {
            self.call(&mut s);
            count(&mut s, -1);
            s.global_get(rt.global(G::State))
                .i32_const(1)
                .i32_eq()
                .if_(BlockType::Empty);
            finish(&mut s, rt);
            s.end();
        }
        if in_table {
            s.end();
        }
        s.end();
        f
    }

    /// Calls the function with the wrapper's params.
    fn call(&self, s: &mut InstructionSink<'_>) {
        for i in 0..self.params {
            s.local_get(i);
        }
        s.call(self.func);
    }
}

/// Writes the dump and raises the trap.
fn finish(s: &mut InstructionSink<'_>, rt: &Runtime) {
    s.call(rt.func(Rt::Finish));
    s.global_get(rt.global(G::Kind)).call(rt.func(Rt::Retrap));
}

/// The Element section with the functions of `wrappers` replaced by their
/// wrappers, and a declarative segment of the functions replaced.
fn element_section(
    payload: &[u8],
    offset: usize,
    wrappers: &HashMap<u32, u32>,
) -> Result<wasm_encoder::ElementSection, Error> {
    struct Replace<'a>(&'a HashMap<u32, u32>);
    impl Reencode for Replace<'_> {
        type Error = std::convert::Infallible;
        fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
            Ok(self.0.get(&func).copied().unwrap_or(func))
        }
    }
    let reader = wasmparser::ElementSectionReader::new(wasmparser::BinaryReader::new(
        payload,
        offset as u64,
    ))?;
    let mut section = wasm_encoder::ElementSection::new();
    Replace(wrappers)
        .parse_element_section(&mut section, reader)
        .map_err(|e| match e {
            reencode::Error::ParseError(e) => Error::from(e),
            e => unsupported(format!("element section: {e}"), offset as u64),
        })?;
    // The functions replaced stay declared, for the `ref.func`s of the code.
    let mut replaced: Vec<u32> = wrappers.keys().copied().collect();
    replaced.sort_unstable();
    section.declared(wasm_encoder::Elements::Functions(replaced.into()));
    Ok(section)
}

/// A vector's count and the bytes of its items.
fn split_count(payload: &[u8], offset: usize) -> Result<(u32, &[u8]), Error> {
    let mut reader = wasmparser::BinaryReader::new(payload, offset as u64);
    let count = reader.read_var_u32()?;
    Ok((count, &payload[reader.current_position()..]))
}

fn function_section<W: Write>(
    out: &mut Sink<W>,
    count: u32,
    rest: &[u8],
    new: &NewItems<'_>,
) -> Result<(), Error> {
    let mut p = Vec::new();
    (count + new.funcs.len() as u32).encode(&mut p);
    p.extend_from_slice(rest);
    for (ty, _) in new.funcs {
        ty.encode(&mut p);
    }
    out.section(3, &p)
}

fn global_section<W: Write>(out: &mut Sink<W>, count: u32, rest: &[u8]) -> Result<(), Error> {
    let mut p = Vec::new();
    (count + G_COUNT).encode(&mut p);
    p.extend_from_slice(rest);
    for _ in 0..G_COUNT {
        // (global (mut i32) (i32.const 0))
        p.extend_from_slice(&[0x7f, 0x01, 0x41, 0x00, 0x0b]);
    }
    out.section(6, &p)
}

fn type_section<W: Write>(
    out: &mut Sink<W>,
    count: u32,
    rest: &[u8],
    types: &TypeRegistry,
) -> Result<(), Error> {
    let mut p = Vec::new();
    (count + types.added_count()).encode(&mut p);
    p.extend_from_slice(rest);
    types.encode_entries(&mut p);
    out.section(1, &p)
}

/// The Code section: rewritten bodies, untouched ones copied, then the
/// runtime and the wrappers.
fn code_section<W: Write>(
    out: &mut Sink<W>,
    new: &NewItems<'_>,
    stats: &mut Stats,
    map: &mut AddressMap,
) -> Result<(), Error> {
    let code = std::mem::take(&mut *new.code.borrow_mut());
    *map = code.write(out, new.info, new.funcs, stats)?;
    Ok(())
}

/// Emits the sections the rewrite needs that the input lacks, once their
/// place in the section order (before rank `before`) is reached.
fn emit_missing<W: Write>(
    out: &mut Sink<W>,
    missing: &mut Vec<u8>,
    before: usize,
    new: &NewItems<'_>,
    stats: &mut Stats,
    map: &mut AddressMap,
) -> Result<(), Error> {
    let (mut due, later): (Vec<u8>, Vec<u8>) = missing.iter().partition(|&&id| rank(id) < before);
    due.sort_by_key(|&id| rank(id));
    *missing = later;
    for id in due {
        match id {
            1 => type_section(out, 0, &[], new.types)?,
            3 => function_section(out, 0, &[], new)?,
            6 => global_section(out, 0, &[])?,
            13 => {
                let mut tags = wasm_encoder::TagSection::new();
                tags.tag(wasm_encoder::TagType {
                    kind: wasm_encoder::TagKind::Exception,
                    func_type_idx: new.tag_type.expect("a tag is added with exceptions"),
                });
                out.encoded(13, &tags)?;
            }
            _ => code_section(out, new, stats, map)?,
        }
    }
    Ok(())
}

fn export_kind(kind: ExternalKind, offset: usize) -> Result<ExportKind, Error> {
    Ok(match kind {
        ExternalKind::Func => ExportKind::Func,
        ExternalKind::Table => ExportKind::Table,
        ExternalKind::Memory => ExportKind::Memory,
        ExternalKind::Global => ExportKind::Global,
        ExternalKind::Tag => ExportKind::Tag,
        #[allow(unreachable_patterns)]
        _ => {
            return Err(unsupported(
                format!("export of kind {kind:?}"),
                offset as u64,
            ));
        }
    })
}
