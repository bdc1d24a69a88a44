//! Reading a core dump file into a [`CoreDump`], with wasmparser's readers.

use std::borrow::Cow;

use wasmparser::{
    AbstractHeapType, BinaryReader, CoreDumpInstancesSection, CoreDumpModulesSection,
    CoreDumpSection, CoreDumpStackSection, CoreDumpValue, DataKind, HeapType, Operator, Parser,
    Payload, RefType, ValType,
};

use crate::CoreDump;
use crate::error::{Error, Section};
use crate::model::{
    CustomSection, Frame, Global, GlobalValue, HeapKind, Instance, Memory, MemoryType, Segment,
    Thread, Value,
};

const MEMORY: Section = Section::Standard("Memory");
const GLOBAL: Section = Section::Standard("Global");
const DATA: Section = Section::Standard("Data");

/// A segment as found in the Data section, before it is sorted into its memory.
struct RawSegment<'a> {
    memory: u32,
    address: u64,
    data: &'a [u8],
    offset: u64,
}

/// Where the index-bearing sections were found, for error messages.
#[derive(Default)]
struct Offsets {
    instances: u64,
    data: u64,
}

pub(crate) fn parse(bytes: &[u8]) -> Result<CoreDump<'_>, Error> {
    if let Some(magic) = bytes.first_chunk::<4>()
        && magic != b"\0asm"
    {
        return Err(Error::NotWasm(*magic));
    }
    let mut dump = CoreDump::new("");
    let mut seen_core = false;
    let mut segments = Vec::new();
    let mut offsets = Offsets::default();
    // Where the section being parsed starts, to name it in errors.
    let mut section_start = 0;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| Error::malformed(section_at(bytes, section_start), e))?;
        section_start = match &payload {
            Payload::Version { range, .. } => range.end,
            other => other.as_section().map_or(section_start, |(_, r)| r.end),
        };
        match payload {
            Payload::Version { encoding, .. } => {
                if encoding == wasmparser::Encoding::Component {
                    return Err(Error::Component);
                }
            }
            Payload::MemorySection(reader) => {
                for ty in reader {
                    let ty = ty.map_err(|e| Error::malformed(MEMORY, e))?;
                    dump.memories.push(Memory {
                        ty: MemoryType {
                            pages: ty.initial,
                            maximum: ty.maximum,
                            memory64: ty.memory64,
                            shared: ty.shared,
                            page_size_log2: ty.page_size_log2,
                        },
                        segments: Vec::new(),
                    });
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader.into_iter_with_offsets() {
                    let (offset, global) = global.map_err(|e| Error::malformed(GLOBAL, e))?;
                    dump.globals.push(read_global(global, offset)?);
                }
            }
            Payload::DataSection(reader) => {
                offsets.data = reader.range().start;
                for data in reader {
                    let data = data.map_err(|e| Error::malformed(DATA, e))?;
                    segments.push(read_segment(data)?);
                }
            }
            Payload::DataCountSection { .. } | Payload::End(_) => {}
            Payload::CustomSection(reader) => {
                let name = reader.name();
                let section = || Section::Custom(name.to_string());
                let body = BinaryReader::new(reader.data(), reader.data_offset());
                let malformed = |e| Error::malformed(section(), e);
                match name {
                    "core" => {
                        dump.process_name =
                            CoreDumpSection::new(body).map_err(malformed)?.name.into();
                        seen_core = true;
                    }
                    "coremodules" => {
                        let modules = CoreDumpModulesSection::new(body).map_err(malformed)?;
                        dump.modules
                            .extend(modules.modules.iter().map(|m| m.to_string()));
                    }
                    "coreinstances" => {
                        offsets.instances = reader.range().start;
                        let instances = CoreDumpInstancesSection::new(body).map_err(malformed)?;
                        dump.instances
                            .extend(instances.instances.into_iter().map(|i| Instance {
                                module: i.module_index,
                                memories: i.memories,
                                globals: i.globals,
                            }));
                    }
                    "corestack" => match CoreDumpStackSection::new(body) {
                        Ok(stack) => dump.threads.push(read_thread(stack)),
                        Err(err) => match crate::legacy::read_thread(reader.data()) {
                            Some(thread) => {
                                dump.legacy_format = true;
                                dump.threads.push(thread);
                            }
                            None => return Err(malformed(err)),
                        },
                    },
                    _ => dump.custom_sections.push(CustomSection {
                        name: Cow::Borrowed(name),
                        data: Cow::Borrowed(reader.data()),
                    }),
                }
            }
            other => {
                let (id, range) = other
                    .as_section()
                    .expect("every payload that is not a section was matched above");
                return Err(Error::UnexpectedSection {
                    section: Section::Standard(section_name(id)),
                    offset: range.start,
                });
            }
        }
    }
    if !seen_core {
        return Err(Error::NotACoreDump);
    }
    restore_low_bytes(&mut dump, &mut segments);
    if dump.legacy_format {
        // The older runtime declared 0 pages and the size as the maximum.
        for memory in &mut dump.memories {
            memory.ty.pages = memory.ty.pages.max(memory.ty.maximum.unwrap_or(0));
        }
    }
    place_segments(&mut dump.memories, segments, offsets.data)?;
    check_indices(&dump, &offsets)?;
    Ok(dump)
}

/// The name of the custom section in which the rewriter's runtime saves the
/// bytes of memory 0 that the dump's header overwrote (`[0, len)`).
pub const LOW_BYTES_SECTION: &str = "wasm-coredump.low-bytes";

/// Puts the bytes saved by the rewriter's runtime back at address 0 of
/// memory 0, as a segment; the custom section is consumed.
fn restore_low_bytes<'a>(dump: &mut CoreDump<'a>, segments: &mut Vec<RawSegment<'a>>) {
    let Some(i) = dump
        .custom_sections
        .iter()
        .position(|c| c.name == LOW_BYTES_SECTION)
    else {
        return;
    };
    let section = dump.custom_sections.remove(i);
    if let Cow::Borrowed(data) = section.data {
        segments.push(RawSegment {
            memory: 0,
            address: 0,
            data,
            offset: 0,
        });
    }
}

fn read_thread(stack: CoreDumpStackSection<'_>) -> Thread {
    let values = |vs: Vec<CoreDumpValue>| vs.into_iter().map(value).collect();
    Thread {
        name: stack.name.to_string(),
        frames: stack
            .frames
            .into_iter()
            .map(|f| Frame {
                instance: f.instanceidx,
                func: f.funcidx,
                code_offset: f.codeoffset,
                locals: values(f.locals),
                stack: values(f.stack),
            })
            .collect(),
    }
}

fn value(v: CoreDumpValue) -> Value {
    match v {
        CoreDumpValue::Missing => Value::Missing,
        CoreDumpValue::I32(x) => Value::I32(x),
        CoreDumpValue::I64(x) => Value::I64(x),
        CoreDumpValue::F32(x) => Value::F32(x.bits()),
        CoreDumpValue::F64(x) => Value::F64(x.bits()),
    }
}

/// Reads the single constant instruction of an init or offset expression.
fn const_operator<'a>(
    expr: &wasmparser::ConstExpr<'a>,
    section: Section,
) -> Result<(Operator<'a>, u64), Error> {
    let mut ops = expr.get_operators_reader();
    let (op, offset) = ops
        .read_with_offset()
        .map_err(|e| Error::malformed(section.clone(), e))?;
    match ops.read() {
        Ok(Operator::End) if ops.eof() => Ok((op, offset)),
        _ => Err(Error::Unsupported {
            what: "constant expression of more than one instruction".into(),
            section,
            offset,
        }),
    }
}

fn read_global(global: wasmparser::Global<'_>, offset: u64) -> Result<Global, Error> {
    let (op, op_offset) = const_operator(&global.init_expr, GLOBAL)?;
    let value = match (global.ty.content_type, op) {
        (ValType::I32, Operator::I32Const { value }) => GlobalValue::I32(value),
        (ValType::I64, Operator::I64Const { value }) => GlobalValue::I64(value),
        (ValType::F32, Operator::F32Const { value }) => GlobalValue::F32(value.bits()),
        (ValType::F64, Operator::F64Const { value }) => GlobalValue::F64(value.bits()),
        (ValType::V128, Operator::V128Const { value }) => {
            GlobalValue::V128(u128::from_le_bytes(*value.bytes()))
        }
        (ValType::Ref(ty), Operator::RefNull { hty }) if heap_kind(ty) == heap_kind_of(hty) => {
            match heap_kind(ty) {
                Some(kind) if ty.is_nullable() => GlobalValue::RefNull(kind),
                _ => return unsupported_global(global.ty.content_type, op_offset),
            }
        }
        (ValType::Ref(ty), Operator::RefFunc { function_index }) if ty == RefType::FUNCREF => {
            GlobalValue::RefFunc(function_index)
        }
        (ty, _) => return unsupported_global(ty, op_offset.max(offset)),
    };
    Ok(Global {
        mutable: global.ty.mutable,
        value,
    })
}

fn unsupported_global<T>(ty: ValType, offset: u64) -> Result<T, Error> {
    Err(Error::Unsupported {
        what: format!("initializer of a global of type {ty}"),
        section: GLOBAL,
        offset,
    })
}

fn heap_kind(ty: RefType) -> Option<HeapKind> {
    heap_kind_of(ty.heap_type())
}

fn heap_kind_of(hty: HeapType) -> Option<HeapKind> {
    match hty {
        HeapType::Abstract { shared: false, ty } => match ty {
            AbstractHeapType::Func => Some(HeapKind::Func),
            AbstractHeapType::Extern => Some(HeapKind::Extern),
            AbstractHeapType::Any => Some(HeapKind::Any),
            _ => None,
        },
        _ => None,
    }
}

fn read_segment(data: wasmparser::Data<'_>) -> Result<RawSegment<'_>, Error> {
    let offset = data.range.start;
    let DataKind::Active {
        memory_index,
        offset_expr,
    } = data.kind
    else {
        return Err(Error::Unsupported {
            what: "passive data segment".into(),
            section: DATA,
            offset,
        });
    };
    let address = match const_operator(&offset_expr, DATA)? {
        (Operator::I32Const { value }, _) => u64::from(value as u32),
        (Operator::I64Const { value }, _) => value as u64,
        (_, op_offset) => {
            return Err(Error::Unsupported {
                what: "data segment offset that is not a constant".into(),
                section: DATA,
                offset: op_offset,
            });
        }
    };
    Ok(RawSegment {
        memory: memory_index,
        address,
        data: data.data,
        offset,
    })
}

/// Sorts the segments into their memories and checks they fit and do not
/// overlap, so that reads can binary-search them.
fn place_segments<'a>(
    memories: &mut [Memory<'a>],
    mut segments: Vec<RawSegment<'a>>,
    section_offset: u64,
) -> Result<(), Error> {
    segments.sort_by_key(|s| (s.memory, s.address));
    for s in segments {
        let count = memories.len();
        let memory = memories
            .get_mut(s.memory as usize)
            .ok_or(Error::IndexOutOfRange {
                what: "memory",
                index: s.memory,
                count,
                section: DATA,
                offset: section_offset,
            })?;
        let bad = |problem: String| Error::BadSegment {
            memory: s.memory,
            address: s.address,
            len: s.data.len(),
            problem,
            offset: s.offset,
        };
        let size = memory.ty.size();
        match s.address.checked_add(s.data.len() as u64) {
            Some(end) if end <= size => {}
            _ => return Err(bad(format!("exceeds the memory size of {size:#x} bytes"))),
        }
        if let Some(prev) = memory.segments.last()
            && prev.end() > s.address
        {
            return Err(bad(format!(
                "overlaps the segment at {:#x}..{:#x}",
                prev.address,
                prev.end()
            )));
        }
        if !s.data.is_empty() {
            memory.segments.push(Segment {
                address: s.address,
                data: Cow::Borrowed(s.data),
            });
        }
    }
    Ok(())
}

fn check_indices(dump: &CoreDump<'_>, offsets: &Offsets) -> Result<(), Error> {
    let section = || Section::Custom("coreinstances".into());
    let out_of_range = |what, index, count| Error::IndexOutOfRange {
        what,
        index,
        count,
        section: section(),
        offset: offsets.instances,
    };
    for instance in &dump.instances {
        if instance.module as usize >= dump.modules.len() {
            return Err(out_of_range("module", instance.module, dump.modules.len()));
        }
        if let Some(&m) = instance
            .memories
            .iter()
            .find(|&&m| m as usize >= dump.memories.len())
        {
            return Err(out_of_range("memory", m, dump.memories.len()));
        }
        if let Some(&g) = instance
            .globals
            .iter()
            .find(|&&g| g as usize >= dump.globals.len())
        {
            return Err(out_of_range("global", g, dump.globals.len()));
        }
    }
    Ok(())
}

/// Names the section that starts at `start`, where the parser failed.
fn section_at(bytes: &[u8], start: u64) -> Section {
    match bytes.get(start as usize) {
        _ if start < 8 => Section::Header,
        Some(&id) => Section::Standard(section_name(id)),
        None => Section::Standard("(end of file)"),
    }
}

fn section_name(id: u8) -> &'static str {
    match id {
        0 => "custom",
        1 => "Type",
        2 => "Import",
        3 => "Function",
        4 => "Table",
        5 => "Memory",
        6 => "Global",
        7 => "Export",
        8 => "Start",
        9 => "Element",
        10 => "Code",
        11 => "Data",
        12 => "DataCount",
        13 => "Tag",
        _ => "unknown",
    }
}
