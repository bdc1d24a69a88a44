//! Round trips, memory reads and error reporting of the core dump format.

use std::borrow::Cow;

use coredump::{
    CoreDump, CustomSection, Error, Frame, Global, GlobalValue, HeapKind, Instance, Memory,
    MemoryType, RuntimeInfo, Segment, Thread, Value,
};

fn memory(pages: u64, segments: &[(u64, &'static [u8])]) -> Memory<'static> {
    Memory {
        ty: MemoryType::new(pages),
        segments: segments
            .iter()
            .map(|&(address, data)| Segment {
                address,
                data: Cow::Borrowed(data),
            })
            .collect(),
    }
}

/// A dump using every construct the model has.
fn sample() -> CoreDump<'static> {
    sample_with(Some(GlobalValue::RefFunc(3)))
}

/// The sample dump, with `extra` as its last global.
fn sample_with(extra: Option<GlobalValue>) -> CoreDump<'static> {
    let mut dump = CoreDump::new("app.wasm");
    let module = dump.add_module("app.wasm");
    dump.add_memory(memory(
        2,
        &[(0x10, b"hello"), (0x1000, b"world"), (0x1fffe, b"!!")],
    ));
    let mut wide = memory(1, &[(0x20, b"64-bit")]);
    wide.ty.memory64 = true;
    wide.ty.maximum = Some(10);
    dump.add_memory(wide);
    let values = [
        GlobalValue::I32(-5),
        GlobalValue::I64(i64::MIN),
        GlobalValue::F32(f32::NAN.to_bits() | 1),
        GlobalValue::F64(2.5f64.to_bits()),
        GlobalValue::V128(u128::MAX - 7),
        GlobalValue::RefNull(HeapKind::Func),
        GlobalValue::RefNull(HeapKind::Extern),
        GlobalValue::RefNull(HeapKind::Any),
    ];
    for (i, value) in values.into_iter().chain(extra).enumerate() {
        dump.add_global(Global {
            mutable: i % 2 == 0,
            value,
        });
    }
    dump.add_instance(Instance {
        module,
        memories: vec![0, 1],
        globals: (0..dump.globals().len() as u32).collect(),
    });
    dump.add_thread(Thread {
        name: "main".into(),
        frames: vec![
            Frame {
                instance: 0,
                func: 12,
                code_offset: 0x33,
                locals: vec![
                    Value::I32(3),
                    Value::I64(-1),
                    Value::F32(1.5f32.to_bits()),
                    Value::F64(f64::INFINITY.to_bits()),
                    Value::Missing,
                ],
                stack: vec![Value::I32(i32::MIN)],
            },
            Frame {
                instance: 0,
                func: 1,
                code_offset: 0,
                locals: vec![],
                stack: vec![],
            },
        ],
    });
    dump.add_thread(Thread {
        name: "worker".into(),
        frames: vec![],
    });
    dump.add_custom_section(CustomSection {
        name: "build_id".into(),
        data: Cow::Borrowed(&[1, 2, 3, 4]),
    });
    dump
}

#[test]
fn round_trip_is_lossless() {
    let dump = sample();
    let bytes = dump.encode();
    let parsed = CoreDump::parse(&bytes).unwrap();
    assert_eq!(parsed, dump);
    assert_eq!(
        parsed.encode(),
        bytes,
        "encoding a parsed dump gives the same bytes"
    );
    assert_eq!(parsed.custom_section("build_id"), Some(&[1, 2, 3, 4][..]));
}

#[test]
fn encoded_dump_is_a_valid_module() {
    // `ref.func` of a function the dump does not define cannot validate.
    let bytes = sample_with(None).encode();
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&bytes)
        .unwrap();
}

#[test]
fn parse_borrows_memory_from_input() {
    let bytes = sample().encode();
    let dump = CoreDump::parse(&bytes).unwrap();
    let segment = &dump.memories()[0].segments[0];
    assert!(matches!(segment.data, Cow::Borrowed(_)));
    let range = bytes.as_ptr_range();
    assert!(range.contains(&segment.data.as_ptr()));
    let owned = dump.clone().into_owned();
    assert!(matches!(
        owned.memories()[0].segments[0].data,
        Cow::Owned(_)
    ));
    assert_eq!(owned, dump);
}

#[test]
fn reads_within_one_segment_borrow() {
    let dump = sample();
    let bytes = dump.read(0, 0x11, 3).unwrap();
    assert_eq!(&*bytes, b"ell");
    assert!(matches!(bytes, Cow::Borrowed(_)));
}

#[test]
fn reads_across_segments_fill_gaps_with_zeros() {
    let dump = sample();
    let bytes = dump.read(0, 0xe, 9).unwrap();
    assert_eq!(&*bytes, b"\0\0hello\0\0");
    let bytes = dump.read(0, 0x1003, 4).unwrap();
    assert_eq!(&*bytes, b"ld\0\0");
    assert_eq!(&*dump.read(0, 0x5000, 4).unwrap(), [0; 4]);
    assert_eq!(&*dump.read(0, 0x1fffe, 2).unwrap(), b"!!");
    assert_eq!(&*dump.read(1, 0x20, 6).unwrap(), b"64-bit");
    assert_eq!(&*dump.read(0, 0x20000, 0).unwrap(), b"");
}

#[test]
fn reads_past_the_end_fail() {
    let dump = sample();
    let err = dump.read(0, 0x1ffff, 2).unwrap_err();
    assert_eq!(
        err,
        Error::OutOfBounds {
            memory: 0,
            address: 0x1ffff,
            len: 2,
            size: 0x20000
        }
    );
    assert_eq!(
        err.to_string(),
        "cannot access memory at address 0x1ffff: 2 bytes read past the end of memory 0 (131072 bytes)"
    );
    assert!(matches!(
        dump.read(0, u64::MAX, 2),
        Err(Error::OutOfBounds { .. })
    ));
    assert_eq!(dump.read(7, 0, 1), Err(Error::NoSuchMemory(7)));
}

/// The runtime section of `wasm-coredump-rewriter`: its version, then `flags`.
fn runtime_section(flags: u8) -> CustomSection<'static> {
    let mut data = vec![6];
    data.extend_from_slice(b"rt 0.1");
    data.push(flags);
    CustomSection {
        name: coredump::RUNTIME_SECTION.into(),
        data: Cow::Owned(data),
    }
}

#[test]
fn a_dump_written_in_the_dead_stack_refuses_reads_below_its_data() {
    let mut dump = sample();
    dump.add_custom_section(runtime_section(RuntimeInfo::LOW_REGION as u8));
    let bytes = dump.encode();
    let parsed = CoreDump::parse(&bytes).unwrap();
    let info = parsed.runtime_info().unwrap();
    assert_eq!(info.version, "rt 0.1");
    assert!(info.low_region() && !info.frames_dropped());
    // Memory 0's first segment is at 0x10.
    assert_eq!(parsed.unavailable_memory(), Some(0..0x10));
    let err = parsed.read(0, 0xe, 4).unwrap_err();
    assert_eq!(
        err,
        Error::Unavailable {
            memory: 0,
            address: 0xe,
            len: 4,
            end: 0x10
        }
    );
    assert!(err.to_string().contains("not in the core dump"), "{err}");
    assert_eq!(&*parsed.read(0, 0x10, 5).unwrap(), b"hello");
    assert_eq!(&*parsed.read(0, 0, 0).unwrap(), b"", "an empty read");
    // Other memories read as before.
    assert_eq!(&*parsed.read(1, 0, 2).unwrap(), [0, 0]);
}

#[test]
fn runtime_flags_are_read_and_other_dumps_are_whole() {
    let mut dropped = sample();
    dropped.add_custom_section(runtime_section(RuntimeInfo::FRAMES_DROPPED as u8));
    let info = dropped.runtime_info().unwrap();
    assert!(info.frames_dropped() && !info.low_region());
    assert_eq!(dropped.unavailable_memory(), None);
    assert_eq!(&*dropped.read(0, 0, 2).unwrap(), [0, 0]);
    assert_eq!(sample().runtime_info(), None);
    let mut malformed = sample();
    malformed.add_custom_section(CustomSection {
        name: coredump::RUNTIME_SECTION.into(),
        data: Cow::Borrowed(&[0x7f, b'x']),
    });
    assert_eq!(malformed.runtime_info(), None);
    assert_eq!(malformed.unavailable_memory(), None);
}

#[test]
fn many_segments_read_like_one() {
    // Wasmtime's layout: 4 KiB chunks with zero runs trimmed.
    let mut flat = vec![0u8; 4 * 65536];
    for (i, b) in flat.iter_mut().enumerate() {
        if (i / 1000) % 3 != 0 {
            *b = (i % 251) as u8 + 1;
        }
    }
    let mut mem = memory(4, &[]);
    for (i, chunk) in flat.chunks(4096).enumerate() {
        let Some(start) = chunk.iter().position(|&b| b != 0) else {
            continue;
        };
        let end = chunk.iter().rposition(|&b| b != 0).unwrap() + 1;
        mem.segments.push(Segment {
            address: (i * 4096 + start) as u64,
            data: Cow::Owned(chunk[start..end].to_vec()),
        });
    }
    let mut dump = CoreDump::new("x");
    dump.add_memory(mem);
    let bytes = dump.encode();
    let dump = CoreDump::parse(&bytes).unwrap();
    assert!(dump.memories()[0].segments.len() > 50);
    for (address, len) in [(0, 65536 * 4), (999, 3), (4090, 20), (123_456, 7890)] {
        let got = dump.read(0, address, len).unwrap();
        assert_eq!(&*got, &flat[address as usize..(address + len) as usize]);
    }
}

fn err(bytes: &[u8]) -> String {
    CoreDump::parse(bytes).unwrap_err().to_string()
}

#[test]
fn errors_say_what_and_where() {
    assert_eq!(
        err(b""),
        "malformed module header at offset 0x0: unexpected end-of-file"
    );
    assert_eq!(
        err(b"\x7fELF\x02\x01\x01\0"),
        "not a Wasm core dump: the file starts with 7f 45 4c 46, not the Wasm magic `00 61 73 6d`"
    );
    let message = err(b"\0asm\x02\0\0\0");
    assert!(
        message.starts_with("malformed module header at offset 0x4: unknown binary version"),
        "{message}"
    );
    assert!(!message.contains('\n'));
    let module = wat::parse_str("(module)").unwrap();
    assert_eq!(
        err(&module),
        "not a Wasm core dump: no `core` custom section"
    );
    let component = wat::parse_str("(component)").unwrap();
    assert_eq!(
        err(&component),
        "not a Wasm core dump: the binary is a component, not a core module"
    );
    let with_code = wat::parse_str("(module (func))").unwrap();
    assert_eq!(
        err(&with_code),
        "unexpected Type section at offset 0xa: core dumps hold no such section"
    );

    let bytes = sample().encode();
    let truncated = &bytes[..bytes.len() - 3];
    let message = err(truncated);
    assert!(
        message.starts_with("malformed custom section at offset 0x"),
        "{message}"
    );

    // A corrupt value type inside a frame names the corestack section.
    let mut dump = CoreDump::new("x");
    dump.add_thread(Thread {
        name: "t".into(),
        frames: vec![Frame {
            instance: 0,
            func: 0,
            code_offset: 0,
            locals: vec![Value::I32(1)],
            stack: vec![],
        }],
    });
    let mut bytes = dump.encode();
    let at = bytes.iter().rposition(|&b| b == 0x7f).unwrap();
    bytes[at] = 0x42;
    assert_eq!(
        err(&bytes),
        format!(
            "malformed `corestack` custom section at offset {at:#x}: invalid CoreDumpValue type"
        )
    );
}

#[test]
fn inconsistent_dumps_are_rejected() {
    let mut dump = CoreDump::new("x");
    dump.add_instance(Instance {
        module: 0,
        memories: vec![],
        globals: vec![],
    });
    let message = err(&dump.encode());
    assert!(
        message.starts_with(
            "module index 0 out of range (0 defined) in `coreinstances` custom section at offset 0x"
        ),
        "{message}"
    );

    let mut dump = CoreDump::new("x");
    dump.add_memory(memory(1, &[(65530, b"too long")]));
    let message = err(&dump.encode());
    assert!(
        message.starts_with("data segment at address 0xfffa (8 bytes) of memory 0 exceeds the memory size of 0x10000 bytes"),
        "{message}"
    );

    let mut dump = CoreDump::new("x");
    dump.add_memory(memory(1, &[(0x10, b"abcd"), (0x12, b"xy")]));
    let message = err(&dump.encode());
    assert!(
        message.contains("overlaps the segment at 0x10..0x14"),
        "{message}"
    );
}

#[test]
fn reads_dumps_written_by_wasm_encoder_directly() {
    // The section order Wasmtime uses: core, Memory, Global, Data, then
    // coremodules, coreinstances, corestack; frames without locals.
    let mut module = wasm_encoder::Module::new();
    module.section(&wasm_encoder::CoreDumpSection::new("store_name"));
    let mut memories = wasm_encoder::MemorySection::new();
    memories.memory(wasm_encoder::MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&memories);
    let mut globals = wasm_encoder::GlobalSection::new();
    globals.global(
        wasm_encoder::GlobalType {
            val_type: wasm_encoder::ValType::I32,
            mutable: true,
            shared: false,
        },
        &wasm_encoder::ConstExpr::i32_const(65536),
    );
    module.section(&globals);
    let mut data = wasm_encoder::DataSection::new();
    data.active(
        0,
        &wasm_encoder::ConstExpr::i32_const(100),
        b"marker".iter().copied(),
    );
    module.section(&data);
    let mut modules = wasm_encoder::CoreDumpModulesSection::new();
    modules.module("m.wasm");
    module.section(&modules);
    let mut instances = wasm_encoder::CoreDumpInstancesSection::new();
    instances.instance(0, [0], [0]);
    module.section(&instances);
    let mut stack = wasm_encoder::CoreDumpStackSection::new("main");
    stack.frame(0, 4, 17, [], []);
    stack.frame(0, 2, 9, [], []);
    module.section(&stack);
    let bytes = module.finish();

    let dump = CoreDump::parse(&bytes).unwrap();
    assert_eq!(dump.process_name(), "store_name");
    assert_eq!(dump.modules(), ["m.wasm"]);
    let frames = &dump.threads()[0].frames;
    assert_eq!(
        frames
            .iter()
            .map(|f| (f.func, f.code_offset))
            .collect::<Vec<_>>(),
        [(4, 17), (2, 9)]
    );
    assert!(frames.iter().all(|f| f.locals.is_empty()));
    assert_eq!(dump.globals()[0].value, GlobalValue::I32(65536));
    assert_eq!(&*dump.read(0, 100, 6).unwrap(), b"marker");
}
