//! Variables of the MyThing fixture and their locations, evaluated against a Wasmtime dump (no
//! locals) and a synthetic frame state built from the fixture's facts.

use std::borrow::Cow;
use std::collections::HashMap;

use coredump::CoreDump;
use debuginfo::{
    CoreDumpFrame, DebugInfo, Error, Frame, FrameState, Module, Unavailable, VariableKind,
    WasmValue,
};
use wasm_coredump_tests::{Fixture, Profile, fixture, wasmtime_dump};

fn load(kind: Fixture, profile: Profile) -> DebugInfo {
    DebugInfo::new(Module::read(fixture(kind, profile)).unwrap()).unwrap()
}

/// The dump's frames of MyThing, symbolized, with the dump frame index.
fn mything_stack(info: &DebugInfo) -> (Vec<u8>, Vec<(usize, Frame)>) {
    let bytes = std::fs::read(wasmtime_dump(Fixture::MyThing)).unwrap();
    let dump = CoreDump::parse(&bytes).unwrap();
    let frames = dump.threads()[0]
        .frames
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            info.frames(f.func, f.code_offset)
                .unwrap()
                .into_iter()
                .map(move |fr| (i, fr))
        })
        .collect();
    (bytes, frames)
}

/// A frame state with some locals and a memory region at `base`.
#[derive(Default)]
struct Synthetic {
    locals: HashMap<u32, WasmValue>,
    globals: HashMap<u32, WasmValue>,
    base: u64,
    memory: Vec<u8>,
}

impl FrameState for Synthetic {
    fn local(&self, i: u32) -> Option<WasmValue> {
        self.locals.get(&i).copied()
    }
    fn global(&self, i: u32) -> Option<WasmValue> {
        self.globals.get(&i).copied()
    }
    fn stack(&self, _: u32) -> Option<WasmValue> {
        None
    }
    fn read_memory(&self, address: u64, len: u64) -> debuginfo::Result<Cow<'_, [u8]>> {
        let start = address.checked_sub(self.base);
        start
            .and_then(|s| self.memory.get(s as usize..(s + len) as usize))
            .map(Cow::Borrowed)
            .ok_or(Error::Memory {
                address,
                len,
                message: "outside the synthetic memory".into(),
            })
    }
}

#[test]
fn calculate_has_its_param_value_and_it_evaluates_to_3() {
    let info = load(Fixture::MyThing, Profile::Debug);
    let (_, stack) = mything_stack(&info);
    let calculate = &stack
        .iter()
        .find(|(_, f)| f.function.name == "mything::calculate")
        .unwrap()
        .1;
    let scope = calculate.scope.unwrap();
    let vars = info.variables(&scope).unwrap();
    let value = vars
        .iter()
        .find(|v| v.name.as_deref() == Some("value"))
        .expect("calculate(value: usize)");
    assert_eq!(value.kind, VariableKind::Parameter);
    assert_eq!(info.type_name(value.ty).unwrap(), "usize");
    assert!(!value.is_optimized_out());

    // Debug builds keep `value` in the frame (`DW_OP_fbreg`), with the frame base in a Wasm
    // local (`DW_OP_WASM_location 0x0 N`). Find which local by trying: give every local the
    // same frame address, and put 3 where the variable's offset lands.
    let frame_address = 0x1_0000u64;
    let mut state = Synthetic {
        base: frame_address,
        memory: vec![0; 64],
        ..Default::default()
    };
    for i in 0..8 {
        state.locals.insert(i, WasmValue::I32(frame_address as i32));
    }
    let place = info.locate(value, &state).unwrap();
    let address = place.address().expect("in the frame, in linear memory");
    assert!(address >= frame_address && address + 4 <= frame_address + 64);
    let at = (address - frame_address) as usize;
    state.memory[at..at + 4].copy_from_slice(&3u32.to_le_bytes());
    // In memory: every byte described.
    assert_eq!(
        info.read_variable(value, &state).unwrap(),
        (3u32.to_le_bytes().to_vec(), None)
    );
    assert_eq!(info.frame_base(&scope, &state).unwrap(), frame_address);
}

#[test]
fn a_wasmtime_dump_has_no_locals_so_values_are_unavailable() {
    let info = load(Fixture::MyThing, Profile::Debug);
    let (bytes, stack) = mything_stack(&info);
    let dump = CoreDump::parse(&bytes).unwrap();
    let (i, frame) = stack
        .iter()
        .find(|(_, f)| f.function.name == "mything::process_thing")
        .unwrap();
    let state = CoreDumpFrame::new(&dump, &dump.threads()[0].frames[*i]);
    let vars = info.variables(&frame.scope.unwrap()).unwrap();
    let names: Vec<_> = vars.iter().map(|v| v.name.clone().unwrap()).collect();
    // fn process_thing(thing: &MyThing) { let result = calculate(thing.value); ... }: at the
    // call, `result` is not in scope yet.
    assert_eq!(names, ["thing"]);
    assert_eq!(vars[0].kind, VariableKind::Parameter);
    for var in &vars {
        let err = info.locate(var, &state).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Unavailable(Unavailable::Local(_) | Unavailable::FrameBase)
            ),
            "{err}"
        );
    }
    // The globals are in the dump: `__stack_pointer` is global 0.
    assert!(state.global(0).is_some());
}

#[test]
fn core_dump_frame_reads_locals_globals_and_memory() {
    let mut dump = CoreDump::new("t.wasm");
    dump.add_memory(coredump::Memory {
        ty: coredump::MemoryType::new(1),
        segments: vec![coredump::Segment {
            address: 16,
            data: Cow::Owned(vec![3, 0, 0, 0]),
        }],
    });
    dump.add_global(coredump::Global {
        mutable: true,
        value: coredump::GlobalValue::I32(4096),
    });
    let frame = coredump::Frame {
        instance: 0,
        func: 1,
        code_offset: 2,
        locals: vec![coredump::Value::I32(-1), coredump::Value::Missing],
        stack: vec![coredump::Value::I64(5)],
    };
    let state = CoreDumpFrame::new(&dump, &frame);
    assert_eq!(state.local(0), Some(WasmValue::I32(-1)));
    assert_eq!(state.local(0).unwrap().bits(), 0xffff_ffff);
    assert_eq!(state.local(1), None);
    assert_eq!(state.stack(0), Some(WasmValue::I64(5)));
    assert_eq!(state.global(0), Some(WasmValue::I32(4096)));
    assert_eq!(&*state.read_memory(16, 4).unwrap(), &[3, 0, 0, 0]);
    assert_eq!(&*state.read_memory(0, 2).unwrap(), &[0, 0]);
    assert!(state.read_memory(65535, 4).is_err());
}

#[test]
fn release_build_variables_have_locations_or_are_optimized_out() {
    // In release, `main`'s inlined frames are scopes of their own; listing and locating their
    // variables must not fail on location lists or abstract origins.
    let path = fixture(Fixture::MyThing, Profile::Release);
    let info = load(Fixture::MyThing, Profile::Release);
    let module = std::fs::read(path).unwrap();
    let layout = info.code_layout().unwrap();
    let state = Synthetic::default();
    let mut scopes = 0;
    for func in
        layout.imported_functions()..layout.imported_functions() + layout.defined_functions()
    {
        let len = layout.body_range(func).unwrap();
        let len = (len.end - len.start) as u32;
        for off in (0..len).step_by(7) {
            for frame in info.frames(func, off).unwrap() {
                let Some(scope) = frame.scope else { continue };
                scopes += 1;
                for var in info.variables(&scope).unwrap() {
                    match info.locate(&var, &state) {
                        Ok(_) => {}
                        Err(Error::Unavailable(_) | Error::Memory { .. }) => {}
                        Err(e) => panic!("{frame}: {:?}: {e}", var.name),
                    }
                }
            }
        }
    }
    assert!(scopes > 1000, "{scopes}");
    drop(module);
}

#[test]
fn lexical_blocks_scope_locals_innermost_first() {
    // At the `println!` of process_thing (line 12), `result` (line 11) is in scope, and so are
    // the macro's `args`, in blocks nested inside `result`'s: they come first.
    let info = load(Fixture::MyThing, Profile::Debug);
    let (_, stack) = mything_stack(&info);
    let scope = stack
        .iter()
        .find(|(_, f)| f.function.name == "mything::process_thing")
        .unwrap()
        .1
        .scope
        .unwrap();
    let println_line = Fixture::MyThing.source_location("println!", "println!");
    let println_line: u32 = println_line.split(':').nth(1).unwrap().parse().unwrap();
    let layout = info.code_layout().unwrap();
    let func = layout.code_location(scope.address()).unwrap().func;
    let body = layout.body_range(func).unwrap();
    let inside = (0..(body.end - body.start) as u32)
        .filter_map(|off| {
            let frames = info.frames(func, off).unwrap();
            let f = frames.last().unwrap();
            (f.location.as_ref()?.line? == println_line).then(|| f.scope.unwrap())
        })
        .collect::<Vec<_>>();
    assert!(!inside.is_empty());
    let mut saw_args = false;
    for scope in inside {
        let vars = info.variables(&scope).unwrap();
        let names: Vec<_> = vars.iter().map(|v| v.name.clone().unwrap()).collect();
        assert_eq!(names[0], "thing", "{names:?}");
        assert_eq!(names.last().unwrap(), "result", "{names:?}");
        let result = vars.last().unwrap();
        assert_eq!(result.kind, VariableKind::Local);
        assert_eq!(result.decl_line, Some(println_line - 1));
        if names.len() > 2 {
            saw_args = true;
            assert!(vars[1].block_depth > result.block_depth, "{names:?}");
        }
    }
    assert!(saw_args);
}
