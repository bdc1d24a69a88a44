//! The panic decoder on hostile dumps: a module whose function 0 is named
//! `core::panicking::panic_fmt` and whose table holds functions named as std's formatters, and a
//! dump whose memory and panic_fmt's three params come from the fuzzer. Any template, argument
//! array or location gives a message, a partial one or "unavailable": never a panic or a hang.
#![no_main]

use std::borrow::Cow;

use coredump::{CoreDump, Frame, Memory, MemoryType, Segment, Thread, Value};
use debuginfo::{DebugInfo, Module};
use libfuzzer_sys::fuzz_target;
use wasm_encoder::{
    CodeSection, ConstExpr, ElementSection, Elements, Function, FunctionSection, IndirectNameMap,
    MemorySection, MemoryType as EncMemoryType, NameMap, NameSection, RefType, TableSection,
    TableType, TypeSection, ValType,
};

/// Function names: panic_fmt, then formatters of each kind the decoder knows, and one it does not.
const NAMES: &[&str] = &[
    "core::panicking::panic_fmt",
    "<u64 as core::fmt::Display>::fmt",
    "<i8 as core::fmt::Debug>::fmt",
    "<&str as core::fmt::Display>::fmt",
    "<&&str as core::fmt::Debug>::fmt",
    "<f64 as core::fmt::Display>::fmt",
    "<char as core::fmt::Debug>::fmt",
    "<bool as core::fmt::Display>::fmt",
    "<alloc::string::String as core::fmt::Display>::fmt",
];

fn module() -> Vec<u8> {
    let mut module = wasm_encoder::Module::new();
    let mut types = TypeSection::new();
    // std 1.95's panic_fmt: fmt::Arguments as two words, then &Location.
    types.ty().function([ValType::I32; 3], []);
    module.section(&types);
    let mut funcs = FunctionSection::new();
    NAMES.iter().for_each(|_| {
        funcs.function(0);
    });
    module.section(&funcs);
    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: 16,
        maximum: None,
        shared: false,
    });
    module.section(&tables);
    let mut memories = MemorySection::new();
    memories.memory(EncMemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&memories);
    let mut elements = ElementSection::new();
    let indices: Vec<u32> = (0..NAMES.len() as u32).collect();
    elements.active(None, &ConstExpr::i32_const(1), Elements::Functions(indices.into()));
    module.section(&elements);
    let mut code = CodeSection::new();
    for _ in NAMES {
        let mut body = Function::new([]);
        body.instructions().end();
        code.function(&body);
    }
    module.section(&code);
    let mut names = NameMap::new();
    for (i, name) in NAMES.iter().enumerate() {
        names.append(i as u32, name);
    }
    let mut section = NameSection::new();
    section.functions(&names);
    section.locals(&IndirectNameMap::new());
    module.section(&section);
    module.finish()
}

thread_local! {
    static INFO: DebugInfo = DebugInfo::new(Module::parse(module()).unwrap()).unwrap();
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 12 {
        return;
    }
    let (params, memory) = data.split_at(12);
    let word = |i: usize| i32::from_le_bytes(params[4 * i..4 * i + 4].try_into().unwrap());
    let mut dump = CoreDump::new("fuzz.wasm");
    dump.add_memory(Memory {
        ty: MemoryType::new(1),
        segments: vec![Segment {
            address: 0,
            data: Cow::Borrowed(&memory[..memory.len().min(65536)]),
        }],
    });
    dump.add_thread(Thread {
        name: "main".into(),
        frames: vec![Frame {
            instance: 0,
            func: 0,
            code_offset: 0,
            locals: vec![Value::I32(word(0)), Value::I32(word(1)), Value::I32(word(2))],
            stack: vec![],
        }],
    });
    INFO.with(|info| {
        let reason = info.crash_reason(&dump);
        let panic = reason.panic.expect("function 0 is panic_fmt");
        // Some inputs get through to the decoder: a message, or why not from the reads.
        if let Err(why) = &panic.message {
            assert!(!why.contains("another std"), "{why}");
        }
    });
});
