//! Evaluating DWARF location expressions against a [`FrameState`], `DW_OP_WASM_location`
//! included: gimli decodes the operations, this module supplies what they ask for.

use gimli::{EvaluationResult, Location as GimliLocation, Reader as _, Value as GimliValue};

use crate::context::Reader;
use crate::error::{Error, Result, Unavailable};
use crate::place::{Piece, Place};
use crate::state::{FrameState, WasmValue};

/// What an expression needs besides the frame state: its unit, and the frame base on demand.
pub(crate) struct ExprContext<'a> {
    pub(crate) dwarf: &'a gimli::Dwarf<Reader>,
    /// The unit, for base types and `.debug_addr`; `None` in tests.
    pub(crate) unit: Option<&'a gimli::Unit<Reader>>,
    pub(crate) encoding: gimli::Encoding,
    /// Computes the frame base (`DW_OP_fbreg`), or fails if there is none.
    pub(crate) frame_base: &'a dyn Fn() -> Result<u64>,
}

/// A Wasm value as gimli's evaluator takes it. An `i32` is an address-sized generic value on
/// wasm32 (so `DW_OP_plus_uconst` and friends work on it); an `i64` is one on wasm64.
fn to_gimli(value: WasmValue, address_size: u8) -> GimliValue {
    match value {
        WasmValue::I32(v) => GimliValue::Generic(u64::from(v as u32)),
        WasmValue::I64(v) if address_size == 8 => GimliValue::Generic(v as u64),
        WasmValue::I64(v) => GimliValue::U64(v as u64),
        WasmValue::F32(b) => GimliValue::F32(f32::from_bits(b)),
        WasmValue::F64(b) => GimliValue::F64(f64::from_bits(b)),
    }
}

fn bits(value: GimliValue) -> u64 {
    match value {
        GimliValue::Generic(v) | GimliValue::U64(v) => v,
        GimliValue::I8(v) => v as u8 as u64,
        GimliValue::U8(v) => u64::from(v),
        GimliValue::I16(v) => v as u16 as u64,
        GimliValue::U16(v) => u64::from(v),
        GimliValue::I32(v) => u64::from(v as u32),
        GimliValue::U32(v) => u64::from(v),
        GimliValue::I64(v) => v as u64,
        GimliValue::F32(v) => u64::from(v.to_bits()),
        GimliValue::F64(v) => v.to_bits(),
    }
}

fn base_type(cx: &ExprContext<'_>, offset: gimli::UnitOffset) -> Result<gimli::ValueType> {
    if offset.0 == 0 {
        return Ok(gimli::ValueType::Generic);
    }
    let unit = cx
        .unit
        .ok_or_else(|| Error::UnsupportedExpression("a base type without a unit".into()))?;
    let entry = unit.entry(offset)?;
    let encoding = match entry.attr_value(gimli::DW_AT_encoding) {
        Some(gimli::AttributeValue::Encoding(e)) => e,
        _ => {
            return Err(Error::UnsupportedExpression(
                "base type without encoding".into(),
            ));
        }
    };
    let size = entry
        .attr_value(gimli::DW_AT_byte_size)
        .and_then(|v| v.udata_value())
        .unwrap_or(0);
    gimli::ValueType::from_encoding(encoding, size).ok_or_else(|| {
        Error::UnsupportedExpression(format!("base type {encoding} of {size} bytes"))
    })
}

/// Evaluates `expr` and says where its value is.
pub(crate) fn evaluate(
    cx: &ExprContext<'_>,
    expr: gimli::Expression<Reader>,
    state: &dyn FrameState,
) -> Result<Place> {
    // An empty location description: the value has no location (DWARF 5 §2.6.1.1.1).
    if expr.0.is_empty() {
        return Ok(Place::OptimizedOut);
    }
    let encoding = cx.encoding;
    let address_size = encoding.address_size;
    let mut eval = expr.evaluation(encoding);
    let mut result = eval.evaluate()?;
    loop {
        result = match result {
            EvaluationResult::Complete => break,
            EvaluationResult::RequiresWasmLocal { index } => {
                let v = state
                    .local(index)
                    .ok_or(Error::Unavailable(Unavailable::Local(index)))?;
                eval.resume_with_wasm_value(to_gimli(v, address_size))?
            }
            EvaluationResult::RequiresWasmGlobal { index } => {
                let v = state
                    .global(index)
                    .ok_or(Error::Unavailable(Unavailable::Global(index)))?;
                eval.resume_with_wasm_value(to_gimli(v, address_size))?
            }
            EvaluationResult::RequiresWasmStack { index } => {
                let v = state
                    .stack(index)
                    .ok_or(Error::Unavailable(Unavailable::Stack(index)))?;
                eval.resume_with_wasm_value(to_gimli(v, address_size))?
            }
            EvaluationResult::RequiresFrameBase => {
                eval.resume_with_frame_base((cx.frame_base)()?)?
            }
            EvaluationResult::RequiresMemory { address, size, .. } => {
                let bytes = state.read_memory(address, u64::from(size))?;
                let mut buf = [0u8; 8];
                let n = bytes.len().min(8);
                buf[..n].copy_from_slice(&bytes[..n]);
                eval.resume_with_memory(GimliValue::Generic(u64::from_le_bytes(buf)))?
            }
            EvaluationResult::RequiresRelocatedAddress(address) => {
                eval.resume_with_relocated_address(address)?
            }
            EvaluationResult::RequiresIndexedAddress { index, .. } => {
                let unit = cx.unit.ok_or_else(|| {
                    Error::UnsupportedExpression("DW_OP_addrx without a unit".into())
                })?;
                let address = cx.dwarf.address(unit, index)?;
                eval.resume_with_indexed_address(address)?
            }
            EvaluationResult::RequiresBaseType(offset) => {
                eval.resume_with_base_type(base_type(cx, offset)?)?
            }
            EvaluationResult::RequiresEntryValue(_) | EvaluationResult::RequiresParameterRef(_) => {
                return Ok(Place::OptimizedOut);
            }
            other => {
                return Err(Error::UnsupportedExpression(format!("{other:?}")));
            }
        };
    }
    let pieces = eval.result();
    if let [piece] = pieces.as_slice()
        && piece.size_in_bits.is_none()
    {
        return place(&piece.location);
    }
    let mut out = Vec::with_capacity(pieces.len());
    for piece in &pieces {
        out.push(Piece {
            size_in_bits: piece.size_in_bits.unwrap_or(u64::from(address_size) * 8),
            bit_offset: piece.bit_offset.unwrap_or(0),
            place: place(&piece.location)?,
        });
    }
    Ok(Place::Pieces(out))
}

fn place(location: &GimliLocation<Reader>) -> Result<Place> {
    match location {
        GimliLocation::Empty => Ok(Place::OptimizedOut),
        GimliLocation::Address { address } => Ok(Place::Memory(*address)),
        GimliLocation::Value { value } => Ok(Place::Value(bits(*value))),
        GimliLocation::Bytes { value } => Ok(Place::Bytes(value.to_slice()?.into_owned())),
        GimliLocation::Register { register } => Err(Error::UnsupportedExpression(format!(
            "a value in register {}",
            register.0
        ))),
        GimliLocation::ImplicitPointer { .. } => Err(Error::UnsupportedExpression(
            "DW_OP_implicit_pointer".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;
    use std::sync::Arc;

    /// Locals 0..=2 hold 0x100, 0x200, 7; global 0 (the stack pointer) 0x1000; the stack holds
    /// 5, 6; memory is 256 bytes of `i as u8` at 0x1000.
    struct State;
    impl FrameState for State {
        fn local(&self, i: u32) -> Option<WasmValue> {
            [0x100, 0x200, 7]
                .get(i as usize)
                .map(|&v| WasmValue::I32(v))
        }
        fn global(&self, i: u32) -> Option<WasmValue> {
            (i == 0).then_some(WasmValue::I32(0x1000))
        }
        fn stack(&self, i: u32) -> Option<WasmValue> {
            [5, 6].get(i as usize).map(|&v| WasmValue::I64(v))
        }
        fn read_memory(&self, address: u64, len: u64) -> Result<Cow<'_, [u8]>> {
            Ok(Cow::Owned(
                (address..address + len).map(|a| a as u8).collect(),
            ))
        }
    }

    fn eval(bytes: &[u8], frame_base: Option<u64>) -> Result<Place> {
        let empty = Reader::new(Arc::from(&[][..]), gimli::LittleEndian);
        let dwarf = gimli::Dwarf::load(|_| Ok::<_, gimli::Error>(empty.clone())).unwrap();
        let encoding = gimli::Encoding {
            format: gimli::Format::Dwarf32,
            version: 4,
            address_size: 4,
        };
        let base = move || frame_base.ok_or(Error::Unavailable(Unavailable::FrameBase));
        let cx = ExprContext {
            dwarf: &dwarf,
            unit: None,
            encoding,
            frame_base: &base,
        };
        let expr = gimli::Expression(Reader::new(Arc::from(bytes), gimli::LittleEndian));
        evaluate(&cx, expr, &State)
    }

    #[test]
    fn wasm_location_local() {
        // A local holding an address (LLVM's TI_LOCAL_INDIRECT) and one holding the value.
        assert_eq!(
            eval(&[0xed, 0x00, 0x01], None).unwrap(),
            Place::Memory(0x200)
        );
        assert_eq!(
            eval(&[0xed, 0x00, 0x02, 0x9f], None).unwrap(),
            Place::Value(7)
        );
    }

    #[test]
    fn wasm_location_global_both_encodings() {
        assert_eq!(
            eval(&[0xed, 0x01, 0x00, 0x9f], None).unwrap(),
            Place::Value(0x1000)
        );
        // 0x03: the index is a fixed 4-byte u32 (LLVM's `__stack_pointer` frame base).
        assert_eq!(
            eval(&[0xed, 0x03, 0, 0, 0, 0, 0x23, 0x10], None).unwrap(),
            Place::Memory(0x1010)
        );
    }

    #[test]
    fn wasm_location_operand_stack() {
        // Slot 1 from the bottom; an i64 on wasm32 is a typed value.
        assert_eq!(
            eval(&[0xed, 0x02, 0x01, 0x9f], None).unwrap(),
            Place::Value(6)
        );
    }

    #[test]
    fn fbreg_adds_to_the_frame_base() {
        assert_eq!(
            eval(&[0x91, 0x0c], Some(0x2000)).unwrap(),
            Place::Memory(0x200c)
        );
        assert_eq!(
            eval(&[0x91, 0x74], Some(0x2000)).unwrap(),
            Place::Memory(0x1ff4)
        );
        assert!(matches!(
            eval(&[0x91, 0x0c], None),
            Err(Error::Unavailable(Unavailable::FrameBase))
        ));
    }

    #[test]
    fn pieces_and_memory_reads() {
        // Local 2 as the first 4 bytes, memory at local 0 as the next 4.
        let place = eval(
            &[0xed, 0x00, 0x02, 0x9f, 0x93, 4, 0xed, 0x00, 0x00, 0x93, 4],
            None,
        )
        .unwrap();
        assert_eq!(
            place,
            Place::Pieces(vec![
                Piece {
                    size_in_bits: 32,
                    bit_offset: 0,
                    place: Place::Value(7)
                },
                Piece {
                    size_in_bits: 32,
                    bit_offset: 0,
                    place: Place::Memory(0x100)
                },
            ])
        );
        assert_eq!(place.read(8, &State).unwrap(), [7, 0, 0, 0, 0, 1, 2, 3]);
        // DW_OP_deref reads memory: global 0 is 0x1000, which holds bytes 00 01 02 03.
        assert_eq!(
            eval(&[0xed, 0x01, 0x00, 0x06, 0x9f], None).unwrap(),
            Place::Value(0x0302_0100)
        );
    }

    #[test]
    fn missing_state_is_reported() {
        assert!(matches!(
            eval(&[0xed, 0x00, 0x09], None),
            Err(Error::Unavailable(Unavailable::Local(9)))
        ));
        assert!(matches!(
            eval(&[0xed, 0x02, 0x05, 0x9f], None),
            Err(Error::Unavailable(Unavailable::Stack(5)))
        ));
        // An empty expression: optimized out.
        assert_eq!(eval(&[], None).unwrap(), Place::OptimizedOut);
    }
}
