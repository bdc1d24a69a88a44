//! The runtime functions that stand in for trapping operations (division,
//! float-to-int, memory bounds, call depth) and the one that re-raises the
//! original trap once the dump is written.

use wasm_encoder::{Function, Ieee32, Ieee64, InstructionSink, ValType};

use super::{G, IndirectRetrap, Rt, Runtime, kind, mem};

impl Runtime {
    /// `Retrap(kind)`: raises the trap of that kind for real, so the host
    /// sees the same trap as without the rewriter.
    pub(super) fn retrap(&self, indirect: &[IndirectRetrap]) -> Function {
        use wasm_encoder::BlockType::Empty;
        let mut f = Function::new([]);
        let mut s = f.instructions();
        let when = |s: &mut InstructionSink<'_>, k: i32| {
            s.local_get(0).i32_const(k).i32_eq().if_(Empty);
        };
        when(&mut s, kind::DIV_BY_ZERO);
        s.i32_const(1).i32_const(0).i32_div_u().drop().end();
        when(&mut s, kind::REM_BY_ZERO);
        s.i32_const(1).i32_const(0).i32_rem_u().drop().end();
        when(&mut s, kind::DIV_OVERFLOW);
        s.i32_const(i32::MIN).i32_const(-1).i32_div_s().drop().end();
        when(&mut s, kind::FLOAT_UNREPRESENTABLE);
        s.f32_const(Ieee32::from(f32::NAN))
            .i32_trunc_f32_s()
            .drop()
            .end();
        when(&mut s, kind::CALL_DEPTH);
        s.call(self.f(Rt::Overflow)).end();
        when(&mut s, kind::MEMORY);
        s.i32_const(-1).i32_load(mem(0)).drop().end();
        for r in indirect {
            when(&mut s, r.kind);
            for ty in &r.params {
                match ty {
                    ValType::I32 => s.i32_const(0),
                    ValType::I64 => s.i64_const(0),
                    ValType::F32 => s.f32_const(Ieee32::from(0.0)),
                    ValType::F64 => s.f64_const(Ieee64::from(0.0)),
                    ValType::V128 => s.v128_const(0),
                    ValType::Ref(r) => s.ref_null(r.heap_type),
                };
            }
            s.global_get(self.g(G::TrapArg));
            s.call_indirect(r.table, r.ty);
            for _ in 0..r.results {
                s.drop();
            }
            s.end();
        }
        s.unreachable();
        s.end();
        f
    }

    /// `Overflow()`: calls itself until the engine runs out of stack.
    pub(super) fn overflow(&self) -> Function {
        let mut f = Function::new([]);
        f.instructions().call(self.f(Rt::Overflow)).end();
        f
    }

    /// `CheckMem(addr, end) -> addr`: `end` is the access's static offset
    /// plus its size.
    pub(super) fn check_memory(&self) -> Function {
        use wasm_encoder::BlockType::Empty;
        let mut f = Function::new([]);
        let mut s = f.instructions();
        s.local_get(0).i64_extend_i32_u().local_get(1).i64_add();
        s.memory_size(0).i64_extend_i32_u().i64_const(16).i64_shl();
        s.i64_gt_u().if_(Empty);
        s.i32_const(kind::MEMORY).call(self.f(Rt::Trap));
        s.end();
        s.local_get(0).end();
        f
    }

    /// Division and remainder that start unwinding instead of trapping.
    pub(super) fn divide(&self, rt: Rt, wide: bool) -> Function {
        use wasm_encoder::BlockType::Empty;
        let mut f = Function::new([]);
        let mut s = f.instructions();
        let zero_kind = match rt {
            Rt::I32RemS | Rt::I32RemU | Rt::I64RemS | Rt::I64RemU => kind::REM_BY_ZERO,
            _ => kind::DIV_BY_ZERO,
        };
        let zero = |s: &mut InstructionSink<'_>| {
            if wide {
                s.i64_const(0)
            } else {
                s.i32_const(0)
            };
        };
        s.local_get(1);
        if wide {
            s.i64_eqz()
        } else {
            s.i32_eqz()
        };
        s.if_(Empty);
        s.i32_const(zero_kind).call(self.f(Rt::Trap));
        zero(&mut s);
        s.return_();
        s.end();
        if matches!(rt, Rt::I32DivS | Rt::I64DivS) {
            if wide {
                s.local_get(0).i64_const(i64::MIN).i64_eq();
                s.local_get(1).i64_const(-1).i64_eq().i32_and();
            } else {
                s.local_get(0).i32_const(i32::MIN).i32_eq();
                s.local_get(1).i32_const(-1).i32_eq().i32_and();
            }
            s.if_(Empty);
            s.i32_const(kind::DIV_OVERFLOW).call(self.f(Rt::Trap));
            zero(&mut s);
            s.return_();
            s.end();
        }
        s.local_get(0).local_get(1);
        match rt {
            Rt::I32DivS => s.i32_div_s(),
            Rt::I32DivU => s.i32_div_u(),
            Rt::I32RemS => s.i32_rem_s(),
            Rt::I32RemU => s.i32_rem_u(),
            Rt::I64DivS => s.i64_div_s(),
            Rt::I64DivU => s.i64_div_u(),
            Rt::I64RemS => s.i64_rem_s(),
            _ => s.i64_rem_u(),
        };
        s.end();
        f
    }

    /// Float-to-int conversions that start unwinding instead of trapping.
    pub(super) fn truncate(&self, rt: Rt) -> Function {
        use wasm_encoder::BlockType::Empty;
        let mut f = Function::new([]);
        let mut s = f.instructions();
        let from64 = matches!(
            rt,
            Rt::I32TruncF64S | Rt::I32TruncF64U | Rt::I64TruncF64S | Rt::I64TruncF64U
        );
        let to64 = matches!(
            rt,
            Rt::I64TruncF32S | Rt::I64TruncF32U | Rt::I64TruncF64S | Rt::I64TruncF64U
        );
        let signed = matches!(
            rt,
            Rt::I32TruncF32S | Rt::I32TruncF64S | Rt::I64TruncF32S | Rt::I64TruncF64S
        );
        // In range: lo < x (or lo <= x) and x < hi; NaN compares false.
        let (lo, lo_inclusive, hi) = match (signed, to64) {
            (true, false) if from64 => (-2147483649.0, false, 2147483648.0),
            (true, false) => (-2147483648.0, true, 2147483648.0),
            (false, false) => (-1.0, false, 4294967296.0),
            (true, true) => (-9223372036854775808.0, true, 9223372036854775808.0),
            (false, true) => (-1.0, false, 18446744073709551616.0),
        };
        let cmp = |s: &mut InstructionSink<'_>, value: f64, op: &str| {
            s.local_get(0);
            if from64 {
                s.f64_const(Ieee64::from(value));
                match op {
                    "gt" => s.f64_gt(),
                    "ge" => s.f64_ge(),
                    _ => s.f64_lt(),
                };
            } else {
                s.f32_const(Ieee32::from(value as f32));
                match op {
                    "gt" => s.f32_gt(),
                    "ge" => s.f32_ge(),
                    _ => s.f32_lt(),
                };
            }
        };
        cmp(&mut s, lo, if lo_inclusive { "ge" } else { "gt" });
        cmp(&mut s, hi, "lt");
        s.i32_and().i32_eqz().if_(Empty);
        s.i32_const(kind::FLOAT_UNREPRESENTABLE)
            .call(self.f(Rt::Trap));
        if to64 {
            s.i64_const(0)
        } else {
            s.i32_const(0)
        };
        s.return_();
        s.end();
        s.local_get(0);
        match rt {
            Rt::I32TruncF32S => s.i32_trunc_f32_s(),
            Rt::I32TruncF32U => s.i32_trunc_f32_u(),
            Rt::I32TruncF64S => s.i32_trunc_f64_s(),
            Rt::I32TruncF64U => s.i32_trunc_f64_u(),
            Rt::I64TruncF32S => s.i64_trunc_f32_s(),
            Rt::I64TruncF32U => s.i64_trunc_f32_u(),
            Rt::I64TruncF64S => s.i64_trunc_f64_s(),
            _ => s.i64_trunc_f64_u(),
        };
        s.end();
        f
    }
}
