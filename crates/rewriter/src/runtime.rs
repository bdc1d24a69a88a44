//! The core dump runtime, generated as Wasm functions and globals.
//!
//! While a trap unwinds, each instrumented function hands its frame to
//! [`Rt::Frame`] and its locals to the value recorders, which append raw
//! records at [`G::Cursor`] from [`G::Records`] on, in memory grown past the
//! program's own (`base`, the memory size at the trap). Raw frame: `func u32,
//! new_offset u32, original_offset u32, nlocals u32`, then per local `type u8,
//! value i64` (9 bytes).
//!
//! [`Rt::Finish`], called by the export wrapper, serializes the raw records
//! into the memory image of DESIGN §3: the core dump header at address 0 (its
//! Data section's one segment covers `[H, base)`), the custom sections from
//! `base` on (the saved bytes `[0, H)`, `corestack`, original offsets, `core`,
//! `coremodules`, `coreinstances`, `build_id`, runtime info), and a padding
//! custom section to the end of memory, so the whole `memory.buffer` parses.
//!
//! **The room.** A memory smaller than the header grows to hold it at the
//! trap. Each frame is recorded only once memory holds its raw record and
//! there is room for the whole dump of the records then (after them, or in
//! the low region below): [`push_dump_room`], twice the raw records plus a
//! bound on the rest computed at rewrite time from the globals and names.
//! A frame without that room is dropped ([`FRAMES_DROPPED`]), with the
//! frames older than it, so what `Finish` writes always fits. When even the
//! frameless dump does not fit, there is no dump: the export wrapper raises
//! the original trap all the same, and no store of the runtime ever traps.
//!
//! **The low region.** When memory cannot grow (the program hit its maximum:
//! an out-of-memory crash), a module with a stack-first layout (see
//! `ModuleInfo::stack_first`) falls back to the dead stack below the stack
//! pointer: `[0, low_end)`, where `low_end` is the stack pointer at the trap
//! less LLVM's red zone, and never above the stack's initial top. The raw
//! records then go to the top third of that region (those recorded in grown
//! memory so far move there once grown memory cannot hold more, or the low
//! region cannot hold their dump while they stay there), and `Finish`
//! lays the whole image out inside it: the module header, the custom
//! sections, then the Memory, Global and Data sections, the Data section's one
//! segment covering `[D, base)` (custom sections may come before the Memory
//! section). The dump then says so (flag [`LOW_REGION`]) and holds no memory
//! below `D`. If `Finish` cannot grow memory for a dump of frames recorded in
//! grown memory, it lays the image out in the low region the same way.
//! Frames that do not fit are dropped ([`FRAMES_DROPPED`]), never written
//! above the low region.

use wasm_encoder::{Function, InstructionSink, MemArg, ValType};
use wasmparser::Operator;

use crate::module::StackFirst;
use crate::types::TypeRegistry;

/// Version of the runtime, recorded in every dump.
pub(crate) const VERSION: &str = concat!("wasm-coredump-rewriter ", env!("CARGO_PKG_VERSION"));

pub use coredump::{LOW_BYTES_SECTION, ORIGINAL_OFFSETS_SECTION, RUNTIME_SECTION, TRAP_SECTION};
/// Name of the custom section that pads the image to the end of memory.
pub const PADDING_SECTION: &str = "wasm-coredump.padding";

/// Flag bit of [`G::Flags`]: there was no room for every frame.
const FRAMES_DROPPED: i32 = coredump::RuntimeInfo::FRAMES_DROPPED as i32;
/// Flag bit of [`G::Flags`]: the frames and the dump live in the low region.
const LOW_REGION: i32 = coredump::RuntimeInfo::LOW_REGION as i32;

/// The bytes below the stack pointer that a leaf function may use without
/// moving it (LLVM's Wasm red zone), kept out of the low region.
const RED_ZONE: i32 = 128;

/// Trap kinds, as recorded and re-raised.
pub(crate) mod kind {
    pub const UNREACHABLE: i32 = 1;
    pub const DIV_BY_ZERO: i32 = 2;
    pub const REM_BY_ZERO: i32 = 3;
    pub const DIV_OVERFLOW: i32 = 4;
    pub const FLOAT_UNREPRESENTABLE: i32 = 5;
    pub const CALL_DEPTH: i32 = 6;
    pub const MEMORY: i32 = 7;
}

/// Runtime functions, in the order they are appended to the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Rt {
    Trap,
    Unreachable,
    Retrap,
    /// `Reserve(n) -> ok`: room for `n` bytes of raw records at the cursor,
    /// and for the dump of the records then.
    Reserve,
    /// `Grow(n: i64) -> ok`: grows memory so `n` bytes fit at the cursor.
    Grow,
    Frame,
    I32,
    I64,
    F32,
    F64,
    Missing,
    WU8,
    WUleb,
    WSleb32,
    WSleb64,
    WFix5At,
    WSleb64Fix,
    SecBegin,
    SecEnd,
    Finish,
    /// Recurses until the engine's stack overflows (V8's RangeError).
    Overflow,
    /// `CheckMem(addr, end) -> addr`: starts unwinding when `addr + end`
    /// is past the end of memory.
    CheckMem,
    I32DivS,
    I32DivU,
    I32RemS,
    I32RemU,
    I64DivS,
    I64DivU,
    I64RemS,
    I64RemU,
    I32TruncF32S,
    I32TruncF32U,
    I32TruncF64S,
    I32TruncF64U,
    I64TruncF32S,
    I64TruncF32U,
    I64TruncF64S,
    I64TruncF64U,
}

/// How many runtime functions there are.
pub(crate) const RT_COUNT: u32 = Rt::I64TruncF64U as u32 + 1;

/// Runtime globals, in the order they are appended to the module.
#[derive(Debug, Clone, Copy)]
#[repr(u32)]
pub(crate) enum G {
    /// Non-zero while a trap unwinds: the check after each call reads it.
    Unwinding,
    /// 0 idle, 1 unwinding, 2 dump written.
    State,
    Kind,
    Cursor,
    /// The memory size in bytes at the trap (grown to hold the header).
    Base,
    Frames,
    /// [`FRAMES_DROPPED`], [`LOW_REGION`].
    Flags,
    /// The Wasm call depth, with `max_call_depth`.
    Depth,
    /// The table index of a failed indirect-call check.
    TrapArg,
    /// Where the raw records start.
    Records,
    /// The end of the low region (0 without one).
    LowEnd,
    /// How many entry wrappers are running: a function the host can call
    /// through a table is an entry point only when none is.
    Entries,
}

/// How many runtime globals there are.
pub(crate) const G_COUNT: u32 = G::Entries as u32 + 1;

/// A `call_indirect` to re-execute to re-raise a failed check's trap: its
/// trap kind, type index, table, param types and result count.
#[derive(Debug, Clone)]
pub(crate) struct IndirectRetrap {
    pub kind: i32,
    pub ty: u32,
    pub table: u32,
    pub params: Vec<ValType>,
    pub results: usize,
}

/// The helper that replaces a trapping operator, if it is one.
///
/// `divisor` is the constant the operator before `op` pushed, if it pushed
/// one: a division or remainder by a constant that cannot make it trap
/// (not zero, and not -1 for signed division) is no trap point.
pub(crate) fn helper_for(op: &Operator<'_>, divisor: Option<i64>) -> Option<Rt> {
    use Operator as O;
    let cannot_trap = match (op, divisor) {
        (O::I32DivS | O::I64DivS, Some(d)) => d != 0 && d != -1,
        (O::I32DivU | O::I32RemS | O::I32RemU | O::I64DivU | O::I64RemS | O::I64RemU, Some(d)) => {
            d != 0
        }
        _ => false,
    };
    if cannot_trap {
        return None;
    }
    Some(match op {
        O::Unreachable => Rt::Unreachable,
        O::I32DivS => Rt::I32DivS,
        O::I32DivU => Rt::I32DivU,
        O::I32RemS => Rt::I32RemS,
        O::I32RemU => Rt::I32RemU,
        O::I64DivS => Rt::I64DivS,
        O::I64DivU => Rt::I64DivU,
        O::I64RemS => Rt::I64RemS,
        O::I64RemU => Rt::I64RemU,
        O::I32TruncF32S => Rt::I32TruncF32S,
        O::I32TruncF32U => Rt::I32TruncF32U,
        O::I32TruncF64S => Rt::I32TruncF64S,
        O::I32TruncF64U => Rt::I32TruncF64U,
        O::I64TruncF32S => Rt::I64TruncF32S,
        O::I64TruncF32U => Rt::I64TruncF32U,
        O::I64TruncF64S => Rt::I64TruncF64S,
        O::I64TruncF64U => Rt::I64TruncF64U,
        _ => return None,
    })
}

/// For a division or remainder whose only trap is a zero divisor, the trap
/// kind and whether it is 64-bit: these check the divisor inline instead of
/// calling the runtime. Signed division (which also overflows) calls it.
pub(crate) fn divisor_check(rt: Rt) -> Option<(i32, bool)> {
    Some(match rt {
        Rt::I32DivU => (kind::DIV_BY_ZERO, false),
        Rt::I64DivU => (kind::DIV_BY_ZERO, true),
        Rt::I32RemU | Rt::I32RemS => (kind::REM_BY_ZERO, false),
        Rt::I64RemU | Rt::I64RemS => (kind::REM_BY_ZERO, true),
        _ => return None,
    })
}

/// The constant `op` pushes, if it is `i32.const` or `i64.const`.
pub(crate) fn pushed_constant(op: &Operator<'_>) -> Option<i64> {
    match *op {
        Operator::I32Const { value } => Some(value.into()),
        Operator::I64Const { value } => Some(value),
        _ => None,
    }
}

/// The params and results of runtime function `rt`.
pub(crate) fn signature(rt: Rt) -> (&'static [ValType], &'static [ValType]) {
    use ValType::{F32, F64, I32, I64};
    match rt {
        Rt::Trap | Rt::Retrap | Rt::I32 | Rt::WU8 | Rt::WUleb | Rt::WSleb32 | Rt::SecEnd => {
            (&[I32], &[])
        }
        Rt::Unreachable | Rt::Missing | Rt::Finish | Rt::Overflow => (&[], &[]),
        Rt::Reserve => (&[I32], &[I32]),
        Rt::Grow => (&[I64], &[I32]),
        Rt::Frame => (&[I32, I32, I32, I32], &[]),
        Rt::I64 | Rt::WSleb64 | Rt::WSleb64Fix => (&[I64], &[]),
        Rt::F32 => (&[F32], &[]),
        Rt::F64 => (&[F64], &[]),
        Rt::WFix5At => (&[I32, I32], &[]),
        Rt::SecBegin => (&[], &[I32]),
        Rt::CheckMem => (&[I32, I64], &[I32]),
        Rt::I32DivS | Rt::I32DivU | Rt::I32RemS | Rt::I32RemU => (&[I32, I32], &[I32]),
        Rt::I64DivS | Rt::I64DivU | Rt::I64RemS | Rt::I64RemU => (&[I64, I64], &[I64]),
        Rt::I32TruncF32S | Rt::I32TruncF32U => (&[F32], &[I32]),
        Rt::I32TruncF64S | Rt::I32TruncF64U => (&[F64], &[I32]),
        Rt::I64TruncF32S | Rt::I64TruncF32U => (&[F32], &[I64]),
        Rt::I64TruncF64S | Rt::I64TruncF64U => (&[F64], &[I64]),
    }
}

/// What the dump's static parts say: written into every dump by `Finish`.
#[derive(Debug)]
pub(crate) struct DumpInfo {
    pub process_name: String,
    pub module_name: String,
    pub instance_id: u32,
    /// The `build_id` section's payload (BuildId.md: length, then the id).
    pub build_id_payload: Vec<u8>,
    /// Every global of the module (imports first), to copy into the header.
    pub globals: Vec<wasmparser::GlobalType>,
    /// The stack pointer, where the low region can serve when memory cannot
    /// grow.
    pub stack_first: Option<StackFirst>,
}

/// Where the runtime lives in the rewritten module.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Runtime {
    /// Index of the first runtime function.
    pub func_base: u32,
    /// Index of the first runtime global.
    pub global_base: u32,
    /// The exception tag a trap throws, with [`crate::Unwind::Exceptions`].
    pub tag: Option<u32>,
}

const MEM: MemArg = mem(0);

/// A byte-aligned access to memory 0 at `offset`.
const fn mem(offset: u64) -> MemArg {
    MemArg {
        offset,
        align: 0,
        target: wasm_encoder::MemArgTarget::Memory(0),
        ordering: None,
    }
}

/// Size of the Data section header written by `Finish`:
/// id, size (5), count, flags, `i32.const` (1 + 5), `end`, length (5).
const DATA_HEADER: u32 = 1 + 5 + 1 + 1 + 6 + 1 + 5;

impl Runtime {
    /// Index of runtime function `f`.
    pub fn func(&self, f: Rt) -> u32 {
        self.func_base + f as u32
    }

    /// Index of runtime global `g`.
    pub fn global(&self, g: G) -> u32 {
        self.global_base + g as u32
    }

    /// The size of the header `Finish` writes at address 0.
    pub fn header_size(info: &DumpInfo) -> u32 {
        8 + 13 + global_section_size(&info.globals) + DATA_HEADER
    }

    /// The runtime functions, in [`Rt`] order: (type index, body).
    pub fn functions(
        &self,
        types: &mut TypeRegistry,
        info: &DumpInfo,
        indirect: &[IndirectRetrap],
    ) -> Vec<(u32, Function)> {
        let mut out = Vec::with_capacity(RT_COUNT as usize);
        let all = [
            Rt::Trap,
            Rt::Unreachable,
            Rt::Retrap,
            Rt::Reserve,
            Rt::Grow,
            Rt::Frame,
            Rt::I32,
            Rt::I64,
            Rt::F32,
            Rt::F64,
            Rt::Missing,
            Rt::WU8,
            Rt::WUleb,
            Rt::WSleb32,
            Rt::WSleb64,
            Rt::WFix5At,
            Rt::WSleb64Fix,
            Rt::SecBegin,
            Rt::SecEnd,
            Rt::Finish,
            Rt::Overflow,
            Rt::CheckMem,
            Rt::I32DivS,
            Rt::I32DivU,
            Rt::I32RemS,
            Rt::I32RemU,
            Rt::I64DivS,
            Rt::I64DivU,
            Rt::I64RemS,
            Rt::I64RemU,
            Rt::I32TruncF32S,
            Rt::I32TruncF32U,
            Rt::I32TruncF64S,
            Rt::I32TruncF64U,
            Rt::I64TruncF32S,
            Rt::I64TruncF32U,
            Rt::I64TruncF64S,
            Rt::I64TruncF64U,
        ];
        for (i, rt) in all.into_iter().enumerate() {
            debug_assert_eq!(i as u32, rt as u32);
            let f = match rt {
                Rt::Trap => self.trap(info),
                Rt::Unreachable => self.call_const(Rt::Trap, kind::UNREACHABLE),
                Rt::Retrap => self.retrap(indirect),
                Rt::Reserve => self.reserve(info),
                Rt::Grow => self.grow(),
                Rt::Frame => self.frame(),
                Rt::I32 => self.value(0x7f, |s| {
                    s.local_get(0).i64_extend_i32_s();
                }),
                Rt::I64 => self.value(0x7e, |s| {
                    s.local_get(0);
                }),
                Rt::F32 => self.value(0x7d, |s| {
                    s.local_get(0).i32_reinterpret_f32().i64_extend_i32_u();
                }),
                Rt::F64 => self.value(0x7c, |s| {
                    s.local_get(0).i64_reinterpret_f64();
                }),
                Rt::Missing => self.value(0x01, |s| {
                    s.i64_const(0);
                }),
                Rt::WU8 => self.write_u8(),
                Rt::WUleb => self.write_leb(false, false),
                Rt::WSleb32 => self.write_leb(true, false),
                Rt::WSleb64 => self.write_leb(true, true),
                Rt::WFix5At => write_fixed5_at(),
                Rt::WSleb64Fix => self.write_sleb64_fixed(),
                Rt::SecBegin => self.section_begin(),
                Rt::SecEnd => self.section_end(),
                Rt::Finish => self.finish(info, indirect),
                Rt::Overflow => self.overflow(),
                Rt::CheckMem => self.check_memory(),
                Rt::I32DivS | Rt::I32DivU | Rt::I32RemS | Rt::I32RemU => self.divide(rt, false),
                Rt::I64DivS | Rt::I64DivU | Rt::I64RemS | Rt::I64RemU => self.divide(rt, true),
                Rt::I32TruncF32S
                | Rt::I32TruncF32U
                | Rt::I32TruncF64S
                | Rt::I32TruncF64U
                | Rt::I64TruncF32S
                | Rt::I64TruncF32U
                | Rt::I64TruncF64S
                | Rt::I64TruncF64U => self.truncate(rt),
            };
            let (params, results) = signature(rt);
            let ty = types.func(params, results);
            out.push((ty, f));
        }
        out
    }

    fn g(&self, g: G) -> u32 {
        self.global(g)
    }

    fn f(&self, f: Rt) -> u32 {
        self.func(f)
    }

    /// `Trap(kind)`: start unwinding (with exceptions: throw the tag), or
    /// trap at once if a dump was already begun (the first dump is the one
    /// kept) or no entry wrapper runs to finish one.
    fn trap(&self, info: &DumpInfo) -> Function {
        let mut f = Function::new([(1, ValType::I32)]);
        let mut s = f.instructions();
        // After a first dump, or with no entry wrapper to finish a dump
        // (the host called a function it got some other way than an
        // export or a table it sees): the trap, at once.
        s.global_get(self.g(G::State))
            .global_get(self.g(G::Entries))
            .i32_eqz()
            .i32_or()
            .if_(wasm_encoder::BlockType::Empty);
        s.local_get(0).call(self.f(Rt::Retrap));
        s.end();
        s.i32_const(1).global_set(self.g(G::State));
        s.i32_const(1).global_set(self.g(G::Unwinding));
        s.local_get(0).global_set(self.g(G::Kind));
        // A memory smaller than the header (which goes at address 0) grows
        // to hold it; if it cannot, `Finish` writes no header there.
        let pages = Runtime::header_size(info).div_ceil(PAGE) as i32;
        s.memory_size(0)
            .i32_const(pages)
            .i32_lt_u()
            .if_(wasm_encoder::BlockType::Empty);
        s.i32_const(pages)
            .memory_size(0)
            .i32_sub()
            .memory_grow(0)
            .drop();
        s.end();
        s.memory_size(0)
            .i32_const(16)
            .i32_shl()
            .global_set(self.g(G::Base));
        s.global_get(self.g(G::Base)).global_set(self.g(G::Cursor));
        s.global_get(self.g(G::Base)).global_set(self.g(G::Records));
        s.i32_const(0).global_set(self.g(G::Frames));
        // A memory of 4 GiB, whose size an i32 cannot hold (`base` is 0),
        // records no frame.
        s.i32_const(FRAMES_DROPPED).i32_const(0);
        s.memory_size(0).i32_const(MAX_PAGES).i32_ge_u().select();
        s.global_set(self.g(G::Flags));
        if let Some(stack) = info.stack_first {
            self.low_region(&mut s, stack, 1);
            // The first page the records need; without it, the low region.
            s.i32_const(1)
                .memory_grow(0)
                .i32_const(-1)
                .i32_eq()
                .if_(wasm_encoder::BlockType::Empty);
            self.enter_low_region(&mut s, info, 1);
            s.drop();
            s.end();
        }
        if let Some(tag) = self.tag {
            s.throw(tag);
        }
        s.end();
        f
    }

    /// Sets [`G::LowEnd`]: the stack pointer less the red zone (0 below it),
    /// but no higher than the stack's initial top or the memory's size.
    /// Uses local `temp`.
    fn low_region(&self, s: &mut InstructionSink<'_>, stack: StackFirst, temp: u32) {
        let sp = stack.stack_pointer;
        s.global_get(sp).i32_const(RED_ZONE).i32_sub();
        s.i32_const(0);
        s.global_get(sp).i32_const(RED_ZONE).i32_ge_u().select();
        s.local_set(temp);
        let initial = stack.initial as i32;
        min_into(s, temp, |s| {
            s.i32_const(initial);
        });
        let base = self.g(G::Base);
        min_into(s, temp, |s| {
            s.global_get(base);
        });
        s.local_get(temp).global_set(self.g(G::LowEnd));
    }

    /// Moves the raw records to the top third of the low region, which
    /// leaves room below them for `Finish`'s output, and records there from
    /// then on; pushes 0 instead when they do not fit. Uses local `temp`.
    fn enter_low_region(&self, s: &mut InstructionSink<'_>, info: &DumpInfo, temp: u32) {
        let (low_end, cursor, records) = (self.g(G::LowEnd), self.g(G::Cursor), self.g(G::Records));
        let slack = Runtime::output_slack(info);
        // temp = low_end - (low_end > slack ? (low_end - slack) / 3 : 0)
        s.global_get(low_end);
        s.global_get(low_end)
            .i32_const(slack)
            .i32_sub()
            .i32_const(3)
            .i32_div_u();
        s.i32_const(0);
        s.global_get(low_end).i32_const(slack).i32_gt_u().select();
        s.i32_sub().local_set(temp);
        s.global_get(cursor).global_get(records).i32_sub();
        s.global_get(low_end).local_get(temp).i32_sub().i32_le_u();
        s.if_(wasm_encoder::BlockType::Result(ValType::I32));
        s.local_get(temp)
            .global_get(records)
            .global_get(cursor)
            .global_get(records)
            .i32_sub()
            .memory_copy(0, 0);
        s.local_get(temp)
            .global_get(cursor)
            .i32_add()
            .global_get(records)
            .i32_sub()
            .global_set(cursor);
        s.local_get(temp).global_set(records);
        s.global_get(self.g(G::Flags))
            .i32_const(LOW_REGION)
            .i32_or()
            .global_set(self.g(G::Flags));
        s.i32_const(1);
        s.else_();
        s.i32_const(0);
        s.end();
    }

    fn call_const(&self, target: Rt, value: i32) -> Function {
        let mut f = Function::new([]);
        f.instructions().i32_const(value).call(self.f(target)).end();
        f
    }

    /// `Reserve(n) -> ok`: room for `n` bytes at the cursor and for the dump
    /// of every record then: in grown memory with room after them; or, with
    /// a low region, in grown memory while the low region holds the dump;
    /// or, once it does not, below the low region's end (the records move
    /// to its top third, which leaves room below for the dump). Sets
    /// [`FRAMES_DROPPED`] when there is none.
    fn reserve(&self, info: &DumpInfo) -> Function {
        use wasm_encoder::BlockType::Empty;
        let mut f = Function::new([(1, ValType::I32)]);
        let mut s = f.instructions();
        let (cursor, records) = (self.g(G::Cursor), self.g(G::Records));
        let low_end = self.g(G::LowEnd);
        let records_then = |s: &mut InstructionSink<'_>| {
            s.global_get(cursor)
                .local_get(0)
                .i32_add()
                .global_get(records)
                .i32_sub();
        };
        let ok = |s: &mut InstructionSink<'_>| {
            s.if_(Empty).i32_const(1).return_().end();
        };
        s.block(Empty);
        s.global_get(self.g(G::Flags))
            .i32_const(LOW_REGION)
            .i32_and()
            .i32_eqz()
            .if_(Empty);
        s.local_get(0).i64_extend_i32_u();
        push_dump_room(&mut s, info, records_then);
        s.i64_add().call(self.f(Rt::Grow));
        ok(&mut s);
        if info.stack_first.is_some() {
            push_dump_room(&mut s, info, records_then);
            s.global_get(low_end).i64_extend_i32_u().i64_le_u();
            s.if_(wasm_encoder::BlockType::Result(ValType::I32));
            s.local_get(0).i64_extend_i32_u().call(self.f(Rt::Grow));
            s.else_().i32_const(0).end();
            ok(&mut s);
            self.enter_low_region(&mut s, info, 1);
            s.i32_eqz().br_if(1);
        } else {
            s.br(1);
        }
        s.end();
        s.global_get(cursor)
            .local_get(0)
            .i32_add()
            .global_get(low_end)
            .i32_le_u();
        ok(&mut s);
        s.end();
        s.global_get(self.g(G::Flags))
            .i32_const(FRAMES_DROPPED)
            .i32_or()
            .global_set(self.g(G::Flags));
        s.i32_const(0).end();
        f
    }

    /// `Grow(n: i64) -> ok`: grows memory so `n` bytes fit at the cursor;
    /// 0 when it cannot (at its maximum, or past 4 GiB), in 64 bits so that
    /// no sum wraps around.
    fn grow(&self) -> Function {
        use wasm_encoder::BlockType::Empty;
        let mut f = Function::new([(1, ValType::I64)]);
        let mut s = f.instructions();
        let fail = |s: &mut InstructionSink<'_>| {
            s.if_(Empty).i32_const(0).return_().end();
        };
        // need = cursor + n - memory size in bytes
        s.global_get(self.g(G::Cursor))
            .i64_extend_i32_u()
            .local_get(0)
            .i64_add();
        s.memory_size(0)
            .i64_extend_i32_u()
            .i64_const(16)
            .i64_shl()
            .i64_sub()
            .local_tee(1);
        s.i64_const(0).i64_gt_s().if_(Empty);
        // pages = ceil(need / 64 KiB), of which a memory holds MAX_PAGES
        s.local_get(1)
            .i64_const(i64::from(PAGE) - 1)
            .i64_add()
            .i64_const(16)
            .i64_shr_u()
            .local_tee(1);
        s.i64_const(MAX_PAGES.into()).i64_gt_u();
        fail(&mut s);
        s.local_get(1)
            .i32_wrap_i64()
            .memory_grow(0)
            .i32_const(-1)
            .i32_eq();
        fail(&mut s);
        s.end();
        s.i32_const(1).end();
        f
    }

    /// `Frame(new, orig, func, nlocals)`: appends a raw frame header.
    fn frame(&self) -> Function {
        let mut f = Function::new([]);
        let mut s = f.instructions();
        s.global_get(self.g(G::Flags))
            .i32_const(FRAMES_DROPPED)
            .i32_and()
            .if_(wasm_encoder::BlockType::Empty);
        s.return_();
        s.end();
        s.local_get(3)
            .i32_const(9)
            .i32_mul()
            .i32_const(16)
            .i32_add()
            .call(self.f(Rt::Reserve));
        s.i32_eqz().if_(wasm_encoder::BlockType::Empty);
        s.return_();
        s.end();
        let cursor = self.g(G::Cursor);
        for (param, offset) in [(2, 0), (0, 4), (1, 8), (3, 12)] {
            s.global_get(cursor).local_get(param).i32_store(mem(offset));
        }
        advance(&mut s, cursor, 16);
        s.global_get(self.g(G::Frames))
            .i32_const(1)
            .i32_add()
            .global_set(self.g(G::Frames));
        s.end();
        f
    }

    /// A value recorder: type byte, then the i64 `push` leaves.
    fn value(&self, type_byte: i32, push: impl Fn(&mut InstructionSink<'_>)) -> Function {
        let mut f = Function::new([]);
        let mut s = f.instructions();
        s.global_get(self.g(G::Flags))
            .i32_const(FRAMES_DROPPED)
            .i32_and()
            .if_(wasm_encoder::BlockType::Empty);
        s.return_();
        s.end();
        let cursor = self.g(G::Cursor);
        s.global_get(cursor).i32_const(type_byte).i32_store8(MEM);
        s.global_get(cursor);
        push(&mut s);
        s.i64_store(mem(1));
        advance(&mut s, cursor, 9);
        s.end();
        f
    }

    fn write_u8(&self) -> Function {
        let mut f = Function::new([]);
        let mut s = f.instructions();
        let cursor = self.g(G::Cursor);
        s.global_get(cursor).local_get(0).i32_store8(MEM);
        advance(&mut s, cursor, 1);
        s.end();
        f
    }

    /// LEB128 writer of param 0: unsigned or signed, 32 or 64 bits.
    fn write_leb(&self, signed: bool, wide: bool) -> Function {
        // locals: 1 = byte (i32), 2 = more (i32)
        let mut f = Function::new([(2, ValType::I32)]);
        let mut s = f.instructions();
        let cursor = self.g(G::Cursor);
        s.loop_(wasm_encoder::BlockType::Empty);
        // byte = value & 0x7f
        s.local_get(0);
        if wide {
            s.i32_wrap_i64();
        }
        s.i32_const(0x7f).i32_and().local_set(1);
        // value >>= 7
        s.local_get(0);
        if wide {
            s.i64_const(7);
            if signed {
                s.i64_shr_s()
            } else {
                s.i64_shr_u()
            };
        } else {
            s.i32_const(7);
            if signed {
                s.i32_shr_s()
            } else {
                s.i32_shr_u()
            };
        }
        s.local_set(0);
        // more = signed ? !((v == 0 && !(b & 0x40)) || (v == -1 && b & 0x40)) : v != 0
        let is = |s: &mut InstructionSink<'_>, x: i64| {
            s.local_get(0);
            if wide {
                s.i64_const(x).i64_eq();
            } else {
                s.i32_const(x as i32).i32_eq();
            }
        };
        if signed {
            is(&mut s, 0);
            s.local_get(1).i32_const(0x40).i32_and().i32_eqz().i32_and();
            is(&mut s, -1);
            s.local_get(1)
                .i32_const(0x40)
                .i32_and()
                .i32_const(0)
                .i32_ne()
                .i32_and();
            s.i32_or().i32_eqz();
        } else {
            is(&mut s, 0);
            s.i32_eqz();
        }
        s.local_set(2);
        s.global_get(cursor)
            .local_get(1)
            .local_get(2)
            .i32_const(7)
            .i32_shl()
            .i32_or()
            .i32_store8(MEM);
        advance(&mut s, cursor, 1);
        s.local_get(2).br_if(0);
        s.end();
        s.end();
        f
    }

    /// A signed LEB128 of param 0 in exactly 10 bytes.
    fn write_sleb64_fixed(&self) -> Function {
        let mut f = Function::new([]);
        let mut s = f.instructions();
        let cursor = self.g(G::Cursor);
        for i in 0..10u64 {
            s.global_get(cursor)
                .local_get(0)
                .i64_const(7 * i as i64)
                .i64_shr_s();
            s.i32_wrap_i64().i32_const(0x7f).i32_and();
            if i < 9 {
                s.i32_const(0x80).i32_or();
            }
            s.i32_store8(mem(i));
        }
        advance(&mut s, cursor, 10);
        s.end();
        f
    }

    /// `SecBegin() -> size_at`: a custom section's id and a 5-byte size to
    /// be patched by `SecEnd(size_at)`.
    fn section_begin(&self) -> Function {
        let mut f = Function::new([]);
        let mut s = f.instructions();
        let cursor = self.g(G::Cursor);
        s.i32_const(0).call(self.f(Rt::WU8));
        s.global_get(cursor);
        advance(&mut s, cursor, 5);
        s.end();
        f
    }

    fn section_end(&self) -> Function {
        let mut f = Function::new([]);
        let mut s = f.instructions();
        s.local_get(0);
        s.global_get(self.g(G::Cursor))
            .local_get(0)
            .i32_sub()
            .i32_const(5)
            .i32_sub();
        s.call(self.f(Rt::WFix5At));
        s.end();
        f
    }
}

/// `WFix5At(addr, v)`: a LEB128 of `v` in exactly 5 bytes at `addr`; the
/// same bytes serve unsigned values and signed 32-bit ones.
fn write_fixed5_at() -> Function {
    let mut f = Function::new([]);
    let mut s = f.instructions();
    for i in 0..5u64 {
        s.local_get(0)
            .local_get(1)
            .i32_const(7 * i as i32)
            .i32_shr_s();
        s.i32_const(0x7f).i32_and();
        if i < 4 {
            s.i32_const(0x80).i32_or();
        }
        s.i32_store8(mem(i));
    }
    s.end();
    f
}

/// Size of the Global section `Finish` writes (0 without globals): id, size
/// (5), count (5), entries with fixed-width initializers.
fn global_section_size(globals: &[wasmparser::GlobalType]) -> u32 {
    if globals.is_empty() {
        return 0;
    }
    11 + globals
        .iter()
        .map(|g| global_entry_size(g.content_type))
        .sum::<u32>()
}

/// Size of one Global section entry: type, mutability, initializer, `end`.
fn global_entry_size(ty: wasmparser::ValType) -> u32 {
    use wasmparser::ValType as V;
    2 + 1
        + match ty {
            V::I32 => 1 + 5,
            V::I64 => 1 + 10,
            V::F32 => 1 + 4,
            V::F64 => 1 + 8,
            V::V128 => 2 + 16,
            V::Ref(_) => 2,
        }
}

/// Pushes, as an i64, the room the dump of raw records of the size the
/// i32 `raw` pushes takes after them: twice their size (each frame's
/// `corestack` entry and original offset take at most 27 bytes and 11 per
/// local, its raw record 16 and 9 per local), plus
/// [`Runtime::output_slack`] for the rest.
fn push_dump_room(
    s: &mut InstructionSink<'_>,
    info: &DumpInfo,
    raw: impl FnOnce(&mut InstructionSink<'_>),
) {
    raw(s);
    s.i64_extend_i32_u().i64_const(1).i64_shl();
    s.i64_const(Runtime::output_slack(info).into()).i64_add();
}

/// The size of a Wasm page.
const PAGE: u32 = 1 << 16;
/// The most pages a memory of 32-bit addresses has (4 GiB).
const MAX_PAGES: i32 = 1 << 16;

/// The size of the unsigned LEB128 of `v`.
const fn uleb_size(v: u32) -> u32 {
    (u32::BITS - (v | 1).leading_zeros()).div_ceil(7)
}

/// The size of a Wasm name of `len` bytes: its LEB128 length, the bytes.
const fn name_size(len: usize) -> u32 {
    uleb_size(len as u32) + len as u32
}

/// Replaces local `x` with the unsigned minimum of it and the i32 `other`
/// pushes.
fn min_into(s: &mut InstructionSink<'_>, x: u32, other: impl Fn(&mut InstructionSink<'_>)) {
    s.local_get(x);
    other(s);
    s.local_get(x);
    other(s);
    s.i32_lt_u().select().local_set(x);
}

/// `cursor += n`, in a runtime function being built.
fn advance(s: &mut InstructionSink<'_>, cursor: u32, n: i32) {
    s.global_get(cursor)
        .i32_const(n)
        .i32_add()
        .global_set(cursor);
}

/// The finishing routine lives in its own file.
mod finish;
/// The trapping operations' stand-ins and the re-raise.
mod traps;

/// Frame recorders and trampolines live in their own file.
mod recorders;
pub(crate) use recorders::{Frame, Recorders, zeros};
