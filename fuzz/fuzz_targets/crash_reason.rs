//! The crash-reason decoders on hostile dumps: a module whose functions are named as
//! `core::panicking::panic_fmt`, wasi-libc's `__assert_fail`, std's allocation error handler and
//! std's formatters (its table holds them), and a dump whose memory, youngest frame's function
//! (the first byte) and four params come from the fuzzer. Any template, argument array,
//! location, C string or size gives a message, a partial one or "unavailable": never a panic or
//! a hang.
#![no_main]

use std::borrow::Cow;

use coredump::{CoreDump, Frame, Memory, MemoryType, Segment, Thread, Value};
use debuginfo::{DebugInfo, Module, Panic};
use libfuzzer_sys::fuzz_target;
use wasm_coredump_fuzz as _;
use wasm_encoder::{
    CodeSection, ConstExpr, ElementSection, Elements, Function, FunctionSection, IndirectNameMap,
    MemorySection, MemoryType as EncMemoryType, NameMap, NameSection, RefType, TableSection,
    TableType, TypeSection, ValType,
};

/// The functions whose frames the decoders read, as std and wasi-libc name them.
const PANIC_FMT: &str = "core::panicking::panic_fmt";
const ASSERT_FAIL: &str = "__assert_fail";
const ALLOC_ERROR_HANDLER: &str = "__rust_alloc_error_handler";

/// Function names: the three the decoders look for, then formatters of each kind the panic
/// decoder knows, and one it does not.
const NAMES: &[&str] = &[
    PANIC_FMT,
    ASSERT_FAIL,
    ALLOC_ERROR_HANDLER,
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
    // std 1.95's panic_fmt: fmt::Arguments as two words, then &Location (the others' params
    // are read from the frame's values alone).
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
    elements.active(
        None,
        &ConstExpr::i32_const(1),
        Elements::Functions(indices.into()),
    );
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
    let Some((&func, rest)) = data.split_first() else {
        return;
    };
    if rest.len() < 16 {
        return;
    }
    let (params, memory) = rest.split_at(16);
    let params: Vec<Value> = params
        .chunks(4)
        .map(|word| Value::I32(i32::from_le_bytes(word.try_into().unwrap())))
        .collect();
    let func = u32::from(func) % NAMES.len() as u32;
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
            func,
            code_offset: 0,
            locals: params,
            stack: vec![],
        }],
    });
    let name = NAMES[func as usize];
    INFO.with(|info| {
        let reason = info.crash_reason(&dump);
        let _ = reason.headline();
        assert_eq!(reason.panic.is_some(), name == PANIC_FMT);
        assert_eq!(reason.assertion.is_some(), name == ASSERT_FAIL);
        assert_eq!(reason.out_of_memory.is_some(), name == ALLOC_ERROR_HANDLER);
        // Some inputs get through to the panic decoder: a message, or why not from the reads.
        if let Some(Panic {
            message: Err(why), ..
        }) = &reason.panic
        {
            assert!(!why.contains("another std"), "{why}");
        }
    });
});
