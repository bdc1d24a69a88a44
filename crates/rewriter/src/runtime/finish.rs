//! `Finish`: serializes the raw frame records into the core dump image.

use wasm_encoder::{BlockType, Function, InstructionSink, ValType};

use super::{
    DATA_HEADER, DumpInfo, G, LOW_BYTES_SECTION, ORIGINAL_OFFSETS_SECTION, PADDING_SECTION,
    RUNTIME_SECTION, Rt, Runtime, VERSION, global_section_size, mem,
};

// Locals of `Finish`.
const OUT_BASE: u32 = 0;
const P: u32 = 1;
const N: u32 = 2;
const T: u32 = 3;
const SIZE_AT: u32 = 4;
const LEN: u32 = 5;
const END: u32 = 6;

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
    pub(super) fn finish(&self, info: &DumpInfo) -> Function {
        let mut f = Function::new([(7, ValType::I32)]);
        let header = Runtime::header_size(info) as i32;
        let mut w = Writer {
            rt: self,
            s: f.instructions(),
        };
        let cursor = self.global(G::Cursor);
        let base = self.global(G::Base);

        w.s.global_get(self.global(G::State))
            .i32_const(1)
            .i32_ne()
            .if_(BlockType::Empty);
        w.s.return_();
        w.s.end();
        w.s.i32_const(2).global_set(self.global(G::State));
        w.s.i32_const(0).global_set(self.global(G::Unwinding));
        w.s.i32_const(0).global_set(self.global(G::Depth));
        // Room for the output: at most twice the raw records plus the fixed
        // parts (header, saved bytes, names) plus slack.
        w.s.global_get(cursor)
            .global_get(base)
            .i32_sub()
            .i32_const(1)
            .i32_shl();
        w.s.i32_const(2 * header + 4096 + 2 * info.build_id.len() as i32);
        w.s.i32_add()
            .call(self.func(Rt::Reserve))
            .i32_eqz()
            .if_(BlockType::Empty);
        w.s.return_();
        w.s.end();
        w.s.global_get(cursor).local_set(OUT_BASE);

        self.header(&mut w, info, header);

        w.begin_section(LOW_BYTES_SECTION);
        w.s.global_get(cursor)
            .i32_const(0)
            .i32_const(header)
            .memory_copy(0, 0);
        w.advance(header);
        w.end_section();

        self.corestack(&mut w, info);

        w.begin_section(ORIGINAL_OFFSETS_SECTION);
        w.s.global_get(self.global(G::Frames))
            .call(self.func(Rt::WUleb));
        w.s.global_get(base).local_set(P);
        w.s.block(BlockType::Empty).loop_(BlockType::Empty);
        w.s.local_get(P).local_get(OUT_BASE).i32_ge_u().br_if(1);
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

        w.begin_section("core");
        w.byte(0);
        w.name(info.process_name.as_bytes());
        w.end_section();

        w.begin_section("coremodules");
        w.uleb_const(1);
        w.byte(0);
        w.name(info.module_name.as_bytes());
        w.end_section();

        w.begin_section("coreinstances");
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

        w.begin_section("build_id");
        w.bytes(&info.build_id);
        w.end_section();

        w.begin_section(RUNTIME_SECTION);
        w.name(VERSION.as_bytes());
        w.s.global_get(self.global(G::Flags))
            .call(self.func(Rt::WUleb));
        w.end_section();

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
        self.padding(&mut w);
        w.s.end();
        f
    }

    /// The module header, Memory, Global and Data section headers: `header`
    /// bytes, at the cursor.
    fn header(&self, w: &mut Writer<'_, '_>, info: &DumpInfo, header: i32) {
        let base = self.global(G::Base);
        w.bytes(b"\0asm\x01\0\0\0");
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
        // Data section: one active segment for memory 0 at `header`,
        // covering the memory up to `base`.
        w.byte(0x0b);
        w.fixed5(|s| {
            s.global_get(base)
                .i32_const(header - (DATA_HEADER as i32 - 6))
                .i32_sub();
        });
        w.bytes(&[0x01, 0x00, 0x41]);
        w.fixed5(|s| {
            s.i32_const(header);
        });
        w.byte(0x0b);
        w.fixed5(|s| {
            s.global_get(base).i32_const(header).i32_sub();
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
        w.bytes(&[type_byte, g.mutable as u8]);
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
        w.begin_section("corestack");
        w.byte(0);
        w.name(b"main");
        w.s.global_get(self.global(G::Frames))
            .call(self.func(Rt::WUleb));
        w.s.global_get(self.global(G::Base)).local_set(P);
        w.s.block(BlockType::Empty).loop_(BlockType::Empty);
        w.s.local_get(P).local_get(OUT_BASE).i32_ge_u().br_if(1);
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

    /// A custom section from `END` to the end of memory, growing it by a
    /// page when the tail is too short to hold the section's header.
    fn padding(&self, w: &mut Writer<'_, '_>) {
        let cursor = self.global(G::Cursor);
        let min = 1 + 5 + 1 + PADDING_SECTION.len() as i32;
        w.s.memory_size(0)
            .i32_const(16)
            .i32_shl()
            .local_get(END)
            .i32_sub();
        w.s.i32_const(min).i32_lt_u().if_(BlockType::Empty);
        w.s.i32_const(1).memory_grow(0).drop();
        w.s.end();
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
    }
}
