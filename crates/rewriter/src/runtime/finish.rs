//! `Finish`: serializes the raw frame records into the core dump image, after
//! the program's memory (grown for it) or, when memory cannot grow, in the
//! low region (see the parent module).

use wasm_encoder::{BlockType, Function, InstructionSink, ValType};

use coredump::TrapKind;

use super::{
    DATA_HEADER, DumpInfo, FRAMES_DROPPED, G, IndirectRetrap, LOW_BYTES_SECTION, LOW_REGION,
    ORIGINAL_OFFSETS_SECTION, PADDING_SECTION, RUNTIME_SECTION, Rt, Runtime, TRAP_SECTION, VERSION,
    global_section_size, kind, mem, min_into, name_size, push_dump_room, uleb_size,
};

/// The `corestack` section's name.
const CORESTACK: &str = "corestack";
/// The `core` section's name.
const CORE: &str = "core";
/// The `coremodules` section's name.
const COREMODULES: &str = "coremodules";
/// The `coreinstances` section's name.
const COREINSTANCES: &str = "coreinstances";
/// The `build_id` section's name.
const BUILD_ID: &str = "build_id";
/// The name of the one thread in `corestack`.
const THREAD: &str = "main";
/// The most bytes the unsigned LEB128 of a u32 takes.
const ULEB_MAX: u32 = 5;
/// The size of a custom section's id and 5-byte size.
const SECTION_HEADER: u32 = 1 + 5;

// Locals of `Finish`.
/// Where the output starts in grown memory.
const OUT_BASE: u32 = 0;
/// The raw record being read.
const P: u32 = 1;
/// Locals left to read in the raw frame.
const N: u32 = 2;
/// The type byte of the local being read.
const T: u32 = 3;
/// Where the size of the section being written goes.
const SIZE_AT: u32 = 4;
/// The length of the sections copied after the data.
const LEN: u32 = 5;
/// The end of the last section (where the padding starts).
const END: u32 = 6;
/// The end of the raw records.
const RECORDS_END: u32 = 7;
/// The address where the Data section's segment starts.
const DATA_START: u32 = 8;
/// The room there is below the raw records in the low region.
const ROOM: u32 = 9;
/// The bytes from the end of the last section to the end of memory.
const TAIL: u32 = 10;
/// The trap's code in the dump ([`TrapKind::code`]).
const CODE: u32 = 11;
const LOCALS: u32 = 12;

/// Emits code writing into the dump at the cursor.
struct Writer<'a, 'b> {
    rt: &'a Runtime,
    s: InstructionSink<'b>,
}

impl Writer<'_, '_> {
    fn byte(&mut self, b: u8) {
        self.s.i32_const(b as i32).call(self.rt.func(Rt::WU8));
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.byte(b);
        }
    }

    /// A Wasm name: LEB length, then the UTF-8 bytes.
    fn name(&mut self, name: &[u8]) {
        self.s
            .i32_const(name.len() as i32)
            .call(self.rt.func(Rt::WUleb));
        self.bytes(name);
    }

    fn uleb_const(&mut self, v: u32) {
        self.s.i32_const(v as i32).call(self.rt.func(Rt::WUleb));
    }

    /// A 5-byte LEB of the i32 that `push` leaves on the stack.
    fn fixed5(&mut self, push: impl FnOnce(&mut InstructionSink<'_>)) {
        let cursor = self.rt.global(G::Cursor);
        self.s.global_get(cursor);
        push(&mut self.s);
        self.s.call(self.rt.func(Rt::WFix5At));
        self.advance(5);
    }

    fn advance(&mut self, n: i32) {
        super::advance(&mut self.s, self.rt.global(G::Cursor), n);
    }

    fn begin_section(&mut self, name: &str) {
        self.s.call(self.rt.func(Rt::SecBegin)).local_set(SIZE_AT);
        self.name(name.as_bytes());
    }

    fn end_section(&mut self) {
        self.s.local_get(SIZE_AT).call(self.rt.func(Rt::SecEnd));
    }

    /// Loads a u32 at `P + offset`.
    fn load_p(&mut self, offset: u64) {
        self.s.local_get(P).i32_load(mem(offset));
    }
}

impl Runtime {
    /// `Finish()`: writes the dump; a no-op unless a trap is unwinding.
    pub(super) fn finish(&self, info: &DumpInfo, indirect: &[IndirectRetrap]) -> Function {
        let mut f = Function::new([(LOCALS, ValType::I32)]);
        let mut w = Writer {
            rt: self,
            s: f.instructions(),
        };
        let cursor = self.global(G::Cursor);
        let low = info.stack_first.is_some();

        w.s.global_get(self.global(G::State))
            .i32_const(1)
            .i32_ne()
            .if_(BlockType::Empty);
        w.s.return_();
        w.s.end();
        w.s.i32_const(2).global_set(self.global(G::State));
        w.s.i32_const(0).global_set(self.global(G::Unwinding));
        w.s.i32_const(0).global_set(self.global(G::Depth));
        w.s.global_get(cursor).local_set(RECORDS_END);
        self.trap_code(&mut w, indirect);
        // Block 1: the image in the low region; block 0: after the memory.
        w.s.block(BlockType::Empty).block(BlockType::Empty);
        if low {
            w.s.global_get(self.global(G::Flags))
                .i32_const(LOW_REGION)
                .i32_and()
                .br_if(1);
        }
        // Room for the output (`Reserve` made it for each frame recorded,
        // but there may be none), with the header inside the memory at the
        // trap.
        w.s.global_get(self.global(G::Base))
            .i32_const(Runtime::header_size(info) as i32)
            .i32_ge_u();
        w.s.if_(BlockType::Result(ValType::I32));
        push_dump_room(&mut w.s, info, |s| self.raw_size(s));
        w.s.call(self.func(Rt::Grow));
        w.s.else_().i32_const(0).end();
        w.s.br_if(0);
        if low {
            w.s.br(1);
        } else {
            w.s.return_();
        }
        w.s.end();
        self.image_after_memory(&mut w, info);
        w.s.return_();
        w.s.end();
        if low {
            self.image_in_low_region(&mut w, info);
        }
        w.s.end();
        f
    }

    /// Pushes the size of the raw records.
    fn raw_size(&self, s: &mut InstructionSink<'_>) {
        s.local_get(RECORDS_END)
            .global_get(self.global(G::Records))
            .i32_sub();
    }

    /// A bound on what `Finish` writes besides the frames (see
    /// [`push_dump_room`]), for the image after the memory, which is the
    /// larger: the header and the saved bytes it covers, the custom sections
    /// without their frames, and the padding section's header.
    pub(super) fn output_slack(info: &DumpInfo) -> i32 {
        let section = |name: &str, payload: u32| SECTION_HEADER + name_size(name.len()) + payload;
        let header = Runtime::header_size(info);
        let globals = info.globals.len() as u32;
        // One instance: its module, one memory, every global.
        let instance = uleb_size(1) + 1 + uleb_size(0) + uleb_size(1) + uleb_size(0);
        let global_indices = uleb_size(globals) + (0..globals).map(uleb_size).sum::<u32>();
        let sizes = [
            header,
            section(LOW_BYTES_SECTION, header),
            section(CORESTACK, 1 + name_size(THREAD.len()) + ULEB_MAX),
            section(ORIGINAL_OFFSETS_SECTION, ULEB_MAX),
            section(CORE, 1 + name_size(info.process_name.len())),
            section(
                COREMODULES,
                uleb_size(1) + 1 + name_size(info.module_name.len()),
            ),
            section(COREINSTANCES, instance + global_indices),
            section(BUILD_ID, info.build_id_payload.len() as u32),
            section(RUNTIME_SECTION, name_size(VERSION.len()) + ULEB_MAX),
            // The trap's code, then 1 and its place.
            section(TRAP_SECTION, ULEB_MAX + 1 + 3 * ULEB_MAX),
            section(PADDING_SECTION, 0),
        ];
        i32::try_from(sizes.iter().sum::<u32>())
            .expect("under 100 MB for the million globals a module may have")
    }

    /// The image of DESIGN §3: the header at 0 (the bytes it covers saved),
    /// the data, the custom sections in the memory grown after it.
    fn image_after_memory(&self, w: &mut Writer<'_, '_>, info: &DumpInfo) {
        let cursor = self.global(G::Cursor);
        let base = self.global(G::Base);
        let header = Runtime::header_size(info) as i32;
        w.s.global_get(cursor).local_set(OUT_BASE);
        w.bytes(MAGIC);
        self.memory_sections(w, info, |s| {
            s.i32_const(header);
        });

        w.begin_section(LOW_BYTES_SECTION);
        w.s.global_get(cursor)
            .i32_const(0)
            .i32_const(header)
            .memory_copy(0, 0);
        w.advance(header);
        w.end_section();

        self.custom_sections(w, info);

        // The header goes to address 0, the sections right after the data.
        w.s.i32_const(0)
            .local_get(OUT_BASE)
            .i32_const(header)
            .memory_copy(0, 0);
        w.s.global_get(cursor)
            .local_get(OUT_BASE)
            .i32_sub()
            .i32_const(header)
            .i32_sub();
        w.s.local_set(LEN);
        w.s.global_get(base)
            .local_get(OUT_BASE)
            .i32_const(header)
            .i32_add()
            .local_get(LEN);
        w.s.memory_copy(0, 0);
        w.s.global_get(base).local_get(LEN).i32_add().local_set(END);
        self.padding(w);
    }

    /// The image laid out in the low region, from address 0: the module
    /// header, the custom sections, then the Memory, Global and Data
    /// sections, whose one segment covers the memory from the end of that
    /// header to `base`. The output must stay below the low region's end and
    /// below the raw records it reads; if it would not, every frame is
    /// dropped, and without room for the rest there is no dump.
    fn image_in_low_region(&self, w: &mut Writer<'_, '_>, info: &DumpInfo) {
        let cursor = self.global(G::Cursor);
        let flags = self.global(G::Flags);
        let records = self.global(G::Records);
        let slack = Runtime::output_slack(info);
        w.s.global_get(self.global(G::LowEnd)).local_set(ROOM);
        min_into(&mut w.s, ROOM, |s| {
            s.global_get(records);
        });
        // The dump's room > room, in 64 bits.
        push_dump_room(&mut w.s, info, |s| self.raw_size(s));
        w.s.local_get(ROOM).i64_extend_i32_u().i64_gt_u();
        w.s.if_(BlockType::Empty);
        w.s.i32_const(0).global_set(self.global(G::Frames));
        w.s.global_get(records).local_set(RECORDS_END);
        w.s.global_get(flags)
            .i32_const(FRAMES_DROPPED)
            .i32_or()
            .global_set(flags);
        w.s.local_get(ROOM)
            .i32_const(slack)
            .i32_lt_u()
            .if_(BlockType::Empty);
        w.s.return_();
        w.s.end();
        w.s.end();
        w.s.global_get(flags)
            .i32_const(LOW_REGION)
            .i32_or()
            .global_set(flags);

        w.s.i32_const(0).global_set(cursor);
        w.bytes(MAGIC);
        self.custom_sections(w, info);
        let sections = Runtime::header_size(info) as i32 - MAGIC.len() as i32;
        w.s.global_get(cursor)
            .i32_const(sections)
            .i32_add()
            .local_set(DATA_START);
        self.memory_sections(w, info, |s| {
            s.local_get(DATA_START);
        });
        w.s.global_get(self.global(G::Base)).local_set(END);
        self.padding(w);
    }

    /// The custom sections of the dump, at the cursor: `corestack`, the
    /// original offsets, `core`, `coremodules`, `coreinstances`, `build_id`
    /// and the runtime's version and flags.
    fn custom_sections(&self, w: &mut Writer<'_, '_>, info: &DumpInfo) {
        self.corestack(w, info);

        w.begin_section(ORIGINAL_OFFSETS_SECTION);
        w.s.global_get(self.global(G::Frames))
            .call(self.func(Rt::WUleb));
        w.s.global_get(self.global(G::Records)).local_set(P);
        w.s.block(BlockType::Empty).loop_(BlockType::Empty);
        w.s.local_get(P).local_get(RECORDS_END).i32_ge_u().br_if(1);
        w.load_p(8);
        w.s.call(self.func(Rt::WUleb));
        w.load_p(12);
        w.s.i32_const(9)
            .i32_mul()
            .i32_const(16)
            .i32_add()
            .local_get(P)
            .i32_add()
            .local_set(P);
        w.s.br(0).end().end();
        w.end_section();

        w.begin_section(CORE);
        w.byte(0);
        w.name(info.process_name.as_bytes());
        w.end_section();

        w.begin_section(COREMODULES);
        w.uleb_const(1);
        w.byte(0);
        w.name(info.module_name.as_bytes());
        w.end_section();

        w.begin_section(COREINSTANCES);
        w.uleb_const(1);
        w.byte(0);
        w.uleb_const(0);
        w.uleb_const(1);
        w.uleb_const(0);
        w.uleb_const(info.globals.len() as u32);
        for i in 0..info.globals.len() as u32 {
            w.uleb_const(i);
        }
        w.end_section();

        w.begin_section(BUILD_ID);
        w.bytes(&info.build_id_payload);
        w.end_section();

        w.begin_section(RUNTIME_SECTION);
        w.name(VERSION.as_bytes());
        w.s.global_get(self.global(G::Flags))
            .call(self.func(Rt::WUleb));
        w.end_section();

        // The trap and, when a frame was recorded, where: frame 0's place.
        w.begin_section(TRAP_SECTION);
        w.s.local_get(CODE).call(self.func(Rt::WUleb));
        w.s.global_get(self.global(G::Frames)).i32_eqz();
        w.s.if_(BlockType::Empty);
        w.byte(0);
        w.s.else_();
        w.byte(1);
        w.s.global_get(self.global(G::Records)).local_set(P);
        for offset in [0, 4, 8] {
            w.load_p(offset);
            w.s.call(self.func(Rt::WUleb));
        }
        w.s.end();
        w.end_section();
    }

    /// Sets [`CODE`] to the dump's code of the trap the runtime caught ([`G::Kind`]). A failed
    /// indirect-call check is told apart by its index ([`G::TrapArg`]): past the table's end,
    /// a null slot, or else a function of another signature.
    fn trap_code(&self, w: &mut Writer<'_, '_>, indirect: &[IndirectRetrap]) {
        let caught = self.global(G::Kind);
        w.s.global_get(caught).local_set(CODE);
        let codes = [
            (kind::UNREACHABLE, TrapKind::Unreachable),
            (kind::DIV_BY_ZERO, TrapKind::IntegerDivideByZero),
            (kind::REM_BY_ZERO, TrapKind::IntegerDivideByZero),
            (kind::DIV_OVERFLOW, TrapKind::IntegerOverflow),
            (
                kind::FLOAT_UNREPRESENTABLE,
                TrapKind::InvalidConversionToInteger,
            ),
            (kind::CALL_DEPTH, TrapKind::CallStackExhausted),
            (kind::MEMORY, TrapKind::OutOfBoundsMemoryAccess),
        ];
        for (caught_kind, trap) in codes {
            w.s.global_get(caught).i32_const(caught_kind).i32_eq();
            w.s.if_(BlockType::Empty);
            w.s.i32_const(trap.code() as i32).local_set(CODE);
            w.s.end();
        }
        let index = self.global(G::TrapArg);
        for check in indirect {
            let code = |trap: TrapKind| trap.code() as i32;
            w.s.global_get(caught).i32_const(check.kind).i32_eq();
            w.s.if_(BlockType::Empty);
            w.s.i32_const(code(TrapKind::UndefinedElement));
            w.s.i32_const(code(TrapKind::UninitializedElement));
            w.s.i32_const(code(TrapKind::IndirectCallTypeMismatch));
            // A null slot, read only where the index is inside the table.
            w.s.global_get(index).table_size(check.table).i32_lt_u();
            w.s.if_(BlockType::Result(ValType::I32));
            w.s.global_get(index).table_get(check.table).ref_is_null();
            w.s.else_();
            w.s.i32_const(0);
            w.s.end();
            w.s.select();
            w.s.global_get(index).table_size(check.table).i32_ge_u();
            w.s.select();
            w.s.local_set(CODE);
            w.s.end();
        }
    }

    /// The Memory, Global and Data section headers, at the cursor: one
    /// memory of the size at the trap, every global's value, and one data
    /// segment covering memory 0 from the address `data_start` pushes up to
    /// the size at the trap (its bytes are the memory itself, which follows).
    fn memory_sections(
        &self,
        w: &mut Writer<'_, '_>,
        info: &DumpInfo,
        data_start: impl Fn(&mut InstructionSink<'_>),
    ) {
        let base = self.global(G::Base);
        // Memory section: one memory, no maximum, the size at the trap.
        w.byte(0x05);
        w.fixed5(|s| {
            s.i32_const(7);
        });
        w.bytes(&[0x01, 0x00]);
        w.fixed5(|s| {
            s.global_get(base).i32_const(16).i32_shr_u();
        });
        if !info.globals.is_empty() {
            let size = global_section_size(&info.globals) as i32 - 6;
            w.byte(0x06);
            w.fixed5(|s| {
                s.i32_const(size);
            });
            w.fixed5(|s| {
                s.i32_const(info.globals.len() as i32);
            });
            for (i, g) in info.globals.iter().enumerate() {
                self.global_entry(w, i as u32, g);
            }
        }
        // Data section: one active segment for memory 0.
        w.byte(0x0b);
        w.fixed5(|s| {
            s.global_get(base);
            data_start(s);
            s.i32_sub().i32_const(DATA_HEADER as i32 - 6).i32_add();
        });
        w.bytes(&[0x01, 0x00, 0x41]);
        w.fixed5(&data_start);
        w.byte(0x0b);
        w.fixed5(|s| {
            s.global_get(base);
            data_start(s);
            s.i32_sub();
        });
    }

    fn global_entry(&self, w: &mut Writer<'_, '_>, index: u32, g: &wasmparser::GlobalType) {
        use wasmparser::ValType as V;
        let cursor = self.global(G::Cursor);
        let type_byte = match g.content_type {
            V::I32 => 0x7f,
            V::I64 => 0x7e,
            V::F32 => 0x7d,
            V::F64 => 0x7c,
            V::V128 => 0x7b,
            V::Ref(r) if r.is_func_ref() => 0x70,
            V::Ref(_) => 0x6f,
        };
        // Coredump.md: a dump's globals are constants, whatever the module declared.
        w.bytes(&[type_byte, 0]);
        match g.content_type {
            V::I32 => {
                w.byte(0x41);
                w.fixed5(|s| {
                    s.global_get(index);
                });
            }
            V::I64 => {
                w.byte(0x42);
                w.s.global_get(index).call(self.func(Rt::WSleb64Fix));
            }
            V::F32 | V::F64 | V::V128 => {
                let (opcode, len): (&[u8], i32) = match g.content_type {
                    V::F32 => (&[0x43], 4),
                    V::F64 => (&[0x44], 8),
                    _ => (&[0xfd, 0x0c], 16),
                };
                w.bytes(opcode);
                w.s.global_get(cursor).global_get(index);
                match g.content_type {
                    V::F32 => w.s.f32_store(mem(0)),
                    V::F64 => w.s.f64_store(mem(0)),
                    _ => w.s.v128_store(mem(0)),
                };
                w.advance(len);
            }
            V::Ref(_) => w.bytes(&[0xd0, type_byte]),
        }
        w.byte(0x0b);
    }

    /// The `corestack` section, from the raw frame records.
    fn corestack(&self, w: &mut Writer<'_, '_>, info: &DumpInfo) {
        let cursor = self.global(G::Cursor);
        w.begin_section(CORESTACK);
        w.byte(0);
        w.name(THREAD.as_bytes());
        w.s.global_get(self.global(G::Frames))
            .call(self.func(Rt::WUleb));
        w.s.global_get(self.global(G::Records)).local_set(P);
        w.s.block(BlockType::Empty).loop_(BlockType::Empty);
        w.s.local_get(P).local_get(RECORDS_END).i32_ge_u().br_if(1);
        w.byte(0);
        w.uleb_const(info.instance_id);
        for offset in [0, 4, 12] {
            w.load_p(offset);
            w.s.call(self.func(Rt::WUleb));
        }
        w.load_p(12);
        w.s.local_set(N);
        w.s.local_get(P).i32_const(16).i32_add().local_set(P);
        // Each local: type byte, then the value in the dump's encoding.
        w.s.block(BlockType::Empty).loop_(BlockType::Empty);
        w.s.local_get(N).i32_eqz().br_if(1);
        w.s.local_get(P)
            .i32_load8_u(mem(0))
            .local_tee(T)
            .call(self.func(Rt::WU8));
        let value = mem(1);
        let when = |w: &mut Writer<'_, '_>, t: i32| {
            w.s.local_get(T).i32_const(t).i32_eq().if_(BlockType::Empty);
        };
        when(w, 0x7f);
        w.s.local_get(P)
            .i64_load(value)
            .i32_wrap_i64()
            .call(self.func(Rt::WSleb32));
        w.s.end();
        when(w, 0x7e);
        w.s.local_get(P)
            .i64_load(value)
            .call(self.func(Rt::WSleb64));
        w.s.end();
        when(w, 0x7d);
        w.s.global_get(cursor)
            .local_get(P)
            .i32_load(value)
            .i32_store(mem(0));
        w.advance(4);
        w.s.end();
        when(w, 0x7c);
        w.s.global_get(cursor)
            .local_get(P)
            .i64_load(value)
            .i64_store(mem(0));
        w.advance(8);
        w.s.end();
        w.s.local_get(P).i32_const(9).i32_add().local_set(P);
        w.s.local_get(N).i32_const(1).i32_sub().local_set(N);
        w.s.br(0).end().end();
        // No operand stack values.
        w.byte(0);
        w.s.br(0).end().end();
        w.end_section();
    }

    /// A custom section from `END` to the end of memory, if memory goes on
    /// after `END`. Its header fits: after the memory, the room `Finish`
    /// made counts it; in the low region, `END` is `base`, and memory goes
    /// on by whole pages if at all.
    fn padding(&self, w: &mut Writer<'_, '_>) {
        let cursor = self.global(G::Cursor);
        w.s.memory_size(0)
            .i32_const(16)
            .i32_shl()
            .local_get(END)
            .i32_sub()
            .local_tee(TAIL);
        w.s.if_(BlockType::Empty);
        w.s.local_get(END).global_set(cursor);
        w.byte(0);
        w.fixed5(|s| {
            s.memory_size(0)
                .i32_const(16)
                .i32_shl()
                .local_get(END)
                .i32_sub()
                .i32_const(6)
                .i32_sub();
        });
        w.name(PADDING_SECTION.as_bytes());
        w.s.end();
    }
}

/// The module header: the magic bytes and version 1.
const MAGIC: &[u8] = b"\0asm\x01\0\0\0";
