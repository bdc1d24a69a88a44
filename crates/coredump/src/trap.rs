//! The `wasm-coredump.trap` custom section: which trap `wasm-coredump-rewriter`'s runtime
//! caught, and where.

use std::fmt;

/// The custom section in which `wasm-coredump-rewriter`'s runtime records the trap: its kind
/// (an unsigned LEB128 [`TrapKind::code`]), then a count of 0 or 1 locations, each the
/// function index, the code offset in the module that ran and the code offset in the module
/// before the rewrite (three unsigned LEB128s) of the trapping instruction, the place of
/// frame 0. Dumps of other tools (Wasmtime's) have no such section: their trap is unknown.
pub const TRAP_SECTION: &str = "wasm-coredump.trap";

/// Which trap ended the program, named in the words of the WebAssembly spec's test suite (which
/// Wasmtime uses too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrapKind {
    /// `unreachable` (Rust's panics and aborts end in one).
    Unreachable,
    /// An integer division or remainder by zero.
    IntegerDivideByZero,
    /// A signed division of the minimum value by -1.
    IntegerOverflow,
    /// A float-to-integer conversion of NaN or of a value out of range.
    InvalidConversionToInteger,
    /// A load or store past the end of memory (`--check-memory`).
    OutOfBoundsMemoryAccess,
    /// A `call_indirect` past the end of its table (`--check-indirect-calls`).
    UndefinedElement,
    /// A `call_indirect` of a null slot (`--check-indirect-calls`).
    UninitializedElement,
    /// A `call_indirect` of a function of another signature (`--check-indirect-calls`).
    IndirectCallTypeMismatch,
    /// The call stack ran out (`--max-call-depth`).
    CallStackExhausted,
    /// A code this reader does not know (written by a newer runtime).
    Other(u32),
}

impl TrapKind {
    /// Every kind with a code, in code order.
    pub const ALL: [TrapKind; 9] = [
        TrapKind::Unreachable,
        TrapKind::IntegerDivideByZero,
        TrapKind::IntegerOverflow,
        TrapKind::InvalidConversionToInteger,
        TrapKind::OutOfBoundsMemoryAccess,
        TrapKind::UndefinedElement,
        TrapKind::UninitializedElement,
        TrapKind::IndirectCallTypeMismatch,
        TrapKind::CallStackExhausted,
    ];

    /// The kind's code in [`TRAP_SECTION`].
    pub fn code(self) -> u32 {
        match self {
            TrapKind::Unreachable => 1,
            TrapKind::IntegerDivideByZero => 2,
            TrapKind::IntegerOverflow => 3,
            TrapKind::InvalidConversionToInteger => 4,
            TrapKind::OutOfBoundsMemoryAccess => 5,
            TrapKind::UndefinedElement => 6,
            TrapKind::UninitializedElement => 7,
            TrapKind::IndirectCallTypeMismatch => 8,
            TrapKind::CallStackExhausted => 9,
            TrapKind::Other(code) => code,
        }
    }

    /// The kind of `code`.
    pub fn from_code(code: u32) -> TrapKind {
        TrapKind::ALL
            .into_iter()
            .find(|k| k.code() == code)
            .unwrap_or(TrapKind::Other(code))
    }
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrapKind::Unreachable => "unreachable",
            TrapKind::IntegerDivideByZero => "integer divide by zero",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::InvalidConversionToInteger => "invalid conversion to integer",
            TrapKind::OutOfBoundsMemoryAccess => "out of bounds memory access",
            TrapKind::UndefinedElement => "undefined element",
            TrapKind::UninitializedElement => "uninitialized element",
            TrapKind::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapKind::CallStackExhausted => "call stack exhausted",
            TrapKind::Other(code) => return write!(f, "trap code {code}"),
        })
    }
}

/// Where the trapping instruction is: frame 0's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrapLocation {
    /// The function index.
    pub func: u32,
    /// The code offset (from the start of the function's body) in the module that ran.
    pub code_offset: u32,
    /// The code offset in the module before the rewrite.
    pub original_code_offset: u32,
}

/// The trap a dump records (its [`TRAP_SECTION`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trap {
    /// Which trap.
    pub kind: TrapKind,
    /// Where, when a frame was recorded.
    pub location: Option<TrapLocation>,
}

impl Trap {
    /// Reads the section's payload; `None` if it is malformed.
    pub(crate) fn parse(data: &[u8]) -> Option<Trap> {
        let mut reader = wasmparser::BinaryReader::new(data, 0);
        let kind = TrapKind::from_code(reader.read_var_u32().ok()?);
        let location = match reader.read_u8().ok()? {
            0 => None,
            1 => Some(TrapLocation {
                func: reader.read_var_u32().ok()?,
                code_offset: reader.read_var_u32().ok()?,
                original_code_offset: reader.read_var_u32().ok()?,
            }),
            _ => return None,
        };
        reader.eof().then_some(Trap { kind, location })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_ones_are_kept() {
        for kind in TrapKind::ALL {
            assert_eq!(TrapKind::from_code(kind.code()), kind);
        }
        assert_eq!(TrapKind::from_code(77), TrapKind::Other(77));
        assert_eq!(TrapKind::Other(77).to_string(), "trap code 77");
    }

    #[test]
    fn sections_parse() {
        assert_eq!(
            Trap::parse(&[2, 1, 5, 0x80, 0x01, 3]),
            Some(Trap {
                kind: TrapKind::IntegerDivideByZero,
                location: Some(TrapLocation {
                    func: 5,
                    code_offset: 128,
                    original_code_offset: 3
                })
            })
        );
        assert_eq!(
            Trap::parse(&[1, 0]).map(|t| t.kind),
            Some(TrapKind::Unreachable)
        );
        for bad in [&[][..], &[1], &[1, 2], &[1, 1, 5], &[1, 0, 0]] {
            assert_eq!(Trap::parse(bad), None, "{bad:?}");
        }
    }
}
