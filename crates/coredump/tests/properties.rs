//! Property tests: any model survives a round trip, and no mutation of a
//! valid dump makes the parser panic.

use std::borrow::Cow;

use coredump::{
    CoreDump, CustomSection, Frame, Global, GlobalValue, HeapKind, Instance, Memory, MemoryType,
    Segment, Thread, Value,
};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Missing),
        any::<i32>().prop_map(Value::I32),
        any::<i64>().prop_map(Value::I64),
        any::<u32>().prop_map(Value::F32),
        any::<u64>().prop_map(Value::F64),
    ]
}

fn global() -> impl Strategy<Value = Global> {
    let value = prop_oneof![
        any::<i32>().prop_map(GlobalValue::I32),
        any::<i64>().prop_map(GlobalValue::I64),
        any::<u32>().prop_map(GlobalValue::F32),
        any::<u64>().prop_map(GlobalValue::F64),
        any::<u128>().prop_map(GlobalValue::V128),
        prop_oneof![
            Just(HeapKind::Func),
            Just(HeapKind::Extern),
            Just(HeapKind::Any)
        ]
        .prop_map(GlobalValue::RefNull),
        any::<u32>().prop_map(GlobalValue::RefFunc),
    ];
    (any::<bool>(), value).prop_map(|(mutable, value)| Global { mutable, value })
}

fn frame() -> impl Strategy<Value = Frame> {
    (
        0u32..2,
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(value(), 0..6),
        prop::collection::vec(value(), 0..3),
    )
        .prop_map(|(instance, func, code_offset, locals, stack)| Frame {
            instance,
            func,
            code_offset,
            locals,
            stack,
        })
}

fn memory() -> impl Strategy<Value = Memory<'static>> {
    (
        1u64..3,
        any::<bool>(),
        prop::collection::vec(
            (0u64..4096, prop::collection::vec(any::<u8>(), 1..64)),
            0..8,
        ),
    )
        .prop_map(|(pages, memory64, chunks)| {
            // Lay the chunks out in order, without overlap.
            let mut address = 0;
            let segments = chunks
                .into_iter()
                .map(|(gap, data)| {
                    address += gap;
                    let segment = Segment {
                        address,
                        data: Cow::Owned(data),
                    };
                    address = segment.end();
                    segment
                })
                .collect();
            Memory {
                ty: MemoryType {
                    pages,
                    maximum: None,
                    memory64,
                    shared: false,
                    page_size_log2: None,
                },
                segments,
            }
        })
}

fn dump() -> impl Strategy<Value = CoreDump<'static>> {
    (
        "[a-z./]{0,12}",
        prop::collection::vec(memory(), 0..3),
        prop::collection::vec(global(), 0..5),
        prop::collection::vec(("[a-z]{0,5}", prop::collection::vec(frame(), 0..5)), 0..3),
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(|(name, memories, globals, threads, custom)| {
            let mut dump = CoreDump::new(name.clone());
            let module = dump.add_module(name);
            let memory_count = memories.len() as u32;
            let global_count = globals.len() as u32;
            memories.into_iter().for_each(|m| {
                dump.add_memory(m);
            });
            globals.into_iter().for_each(|g| {
                dump.add_global(g);
            });
            for _ in 0..2 {
                dump.add_instance(Instance {
                    module,
                    memories: (0..memory_count).collect(),
                    globals: (0..global_count).collect(),
                });
            }
            for (name, frames) in threads {
                dump.add_thread(Thread { name, frames });
            }
            dump.add_custom_section(CustomSection {
                name: "extra".into(),
                data: Cow::Owned(custom),
            });
            dump
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn any_dump_round_trips(dump in dump()) {
        let bytes = dump.encode();
        let parsed = CoreDump::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed, &dump);
    }

    #[test]
    fn mutated_dumps_never_panic(
        dump in dump(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    ) {
        let mut bytes = dump.encode();
        for (at, byte, kind) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => bytes.truncate(i),
                2 => bytes.insert(i, byte),
                _ => {
                    bytes.remove(i);
                }
            }
        }
        if let Ok(dump) = CoreDump::parse(&bytes) {
            // Whatever parses must be readable everywhere it says it has memory.
            for (index, memory) in dump.memories().iter().enumerate() {
                let size = memory.ty.size().min(1 << 20);
                dump.read(index as u32, 0, size).unwrap();
            }
        }
    }
}
