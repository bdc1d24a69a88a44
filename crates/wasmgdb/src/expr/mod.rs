//! Expressions: the parser ([`parse`]) and the evaluator over a session's selected frame
//! (variables, `*`, `&`, `.`, `->`, `[i]`, casts, integer arithmetic, `sizeof`, `$N`).

pub(crate) mod eval;
pub(crate) mod format;
pub mod parse;

pub use parse::{BinOp, Expr, TypeSpec, UnOp};

use debuginfo::TypeId;

/// The type of a value: one from the DWARF, or one the evaluator made up (literals, `&x` of a
/// type whose pointer type the DWARF does not have).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ty {
    /// A DWARF type.
    Dwarf(TypeId),
    /// An integer of `size` bytes; `name` is how it prints (`i32`, `int`).
    Int {
        size: u8,
        signed: bool,
        name: &'static str,
    },
    /// A float of `size` bytes (4 or 8); `name` is how it prints (`f32`, `double`).
    Float { size: u8, name: &'static str },
    /// A pointer to a type.
    Ptr(Box<Ty>),
    /// `count` values of a type one after the other (`*p@8`).
    Array { element: Box<Ty>, count: u64 },
    /// `void` (what `void *` points at).
    Void,
}

/// A value: its type, its bytes and, when it lives in linear memory, its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Value {
    pub(crate) ty: Ty,
    pub(crate) bytes: Vec<u8>,
    pub(crate) address: Option<u64>,
    /// The compiler kept no location for it here: it prints as `<optimized out>`, and only its
    /// type can be used.
    pub(crate) optimized_out: bool,
    /// Which of `bytes` the variable's location describes, when not all (a `DW_OP_piece` that
    /// covers part of it): the others print as `<optimized out>`, and arithmetic refuses them.
    pub(crate) described: Option<Vec<bool>>,
}

impl Value {
    /// A value made here (a literal, a result, a register): in no memory, every byte known.
    pub(crate) fn computed(ty: Ty, bytes: Vec<u8>) -> Value {
        Value {
            ty,
            bytes,
            address: None,
            optimized_out: false,
            described: None,
        }
    }

    /// A variable of type `ty` the compiler kept no location for here.
    pub(crate) fn optimized_out(ty: Ty) -> Value {
        Value {
            optimized_out: true,
            ..Value::computed(ty, Vec::new())
        }
    }

    /// An integer literal of C's type for it: `int` (4 bytes) when it fits, else 8 bytes.
    pub(crate) fn int(v: i128) -> Value {
        if i32::try_from(v).is_ok() {
            Value::int_of(v, 4, true, "i32")
        } else {
            Value::int_of(v, 8, v < 0, if v < 0 { "i64" } else { "u64" })
        }
    }

    /// An unsuffixed integer literal of Rust's type for it, as gdb gives it: `i32` when it fits,
    /// else `i64` (which a literal past `i64::MAX` wraps in, as in gdb).
    pub(crate) fn rust_int(v: i128) -> Value {
        if i32::try_from(v).is_ok() {
            Value::int_of(v, 4, true, "i32")
        } else {
            Value::int_of(v, 8, true, "i64")
        }
    }

    /// A float of `size` bytes (4 or 8) named `name`.
    pub(crate) fn float(v: f64, size: u8, name: &'static str) -> Value {
        let bytes = if size == 4 {
            (v as f32).to_le_bytes().to_vec()
        } else {
            v.to_le_bytes().to_vec()
        };
        Value::computed(Ty::Float { size, name }, bytes)
    }

    /// A bool: Rust's `bool`, or C's `int` 1 or 0.
    pub(crate) fn boolean(b: bool, rust: bool) -> Value {
        if rust {
            Value::int_of(i128::from(b), 1, false, "bool")
        } else {
            Value::int(i128::from(b))
        }
    }

    pub(crate) fn int_of(v: i128, size: u8, signed: bool, name: &'static str) -> Value {
        Value::computed(
            Ty::Int { size, signed, name },
            v.to_le_bytes()[..size as usize].to_vec(),
        )
    }
}

/// The integer in little-endian `bytes`, sign-extended when `signed`.
pub(crate) fn le_int(bytes: &[u8], signed: bool) -> i128 {
    let n = bytes.len().min(16);
    let mut v: u128 = 0;
    for &b in bytes[..n].iter().rev() {
        v = (v << 8) | u128::from(b);
    }
    if signed && n > 0 && n < 16 {
        let shift = 128 - 8 * n as u32;
        ((v << shift) as i128) >> shift
    } else {
        v as i128
    }
}
