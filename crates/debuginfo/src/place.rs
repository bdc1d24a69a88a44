//! [`Place`]: where a variable's value is, once its location is evaluated, and reading it.

use crate::error::{Error, Result};
use crate::state::FrameState;

/// Where a variable's value is at a given code address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Place {
    /// In linear memory, at this address.
    Memory(u64),
    /// Nowhere: the value itself is known (`DW_OP_stack_value`, e.g. a Wasm local holding it),
    /// as bits, least significant first.
    Value(u64),
    /// Nowhere: the value is these bytes (`DW_OP_implicit_value`, `DW_AT_const_value`).
    Bytes(Vec<u8>),
    /// Assembled from pieces (`DW_OP_piece`), first piece at the lowest address.
    Pieces(Vec<Piece>),
    /// The compiler kept no location for the value at this address.
    OptimizedOut,
}

/// One piece of a [`Place::Pieces`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The piece's size in bits.
    pub size_in_bits: u64,
    /// Where in its place the piece starts, in bits.
    pub bit_offset: u64,
    /// Where the piece is.
    pub place: Place,
}

impl Place {
    /// The address, for a value in memory.
    pub fn address(&self) -> Option<u64> {
        match self {
            Place::Memory(a) => Some(*a),
            _ => None,
        }
    }

    /// Reads the first `size` bytes of the value, and which of them the place describes:
    /// `None` when it describes them all; else, for [`Place::Pieces`], `false` for each byte
    /// that no piece covers whole, or that an empty piece (`DW_OP_piece` alone: optimized out)
    /// covers. Such bytes read as zero: print them as `<optimized out>`, never as a value.
    pub fn read_described(
        &self,
        size: u64,
        state: &dyn FrameState,
    ) -> Result<(Vec<u8>, Option<Vec<bool>>)> {
        let Place::Pieces(pieces) = self else {
            return Ok((self.read(size, state)?, None));
        };
        let mut out = vec![0u8; size as usize];
        let mut described = vec![false; size as usize];
        let mut at = 0u64; // bit position in `out`
        for piece in pieces {
            let bits = piece.size_in_bits;
            if piece.place != Place::OptimizedOut {
                let bytes = piece
                    .place
                    .read((piece.bit_offset + bits).div_ceil(8), state)?;
                copy_bits(&bytes, piece.bit_offset, &mut out, at, bits);
                // The bytes this piece covers whole.
                let (first, end) = (at.div_ceil(8), (at + bits) / 8);
                for byte in described.iter_mut().take(end as usize).skip(first as usize) {
                    *byte = true;
                }
            }
            at += bits;
        }
        let all = described.iter().all(|&d| d);
        Ok((out, (!all).then_some(described)))
    }

    /// Reads the first `size` bytes of the value (fewer bytes in the place read as zero, as a
    /// value narrower than its type is).
    pub fn read(&self, size: u64, state: &dyn FrameState) -> Result<Vec<u8>> {
        match self {
            Place::Memory(address) => Ok(state.read_memory(*address, size)?.into_owned()),
            Place::Value(bits) => Ok(resize(bits.to_le_bytes().to_vec(), size)),
            Place::Bytes(bytes) => Ok(resize(bytes.clone(), size)),
            Place::OptimizedOut => Err(Error::OptimizedOut),
            Place::Pieces(pieces) => {
                let mut out = vec![0u8; size as usize];
                let mut at = 0u64; // bit position in `out`
                for piece in pieces {
                    let bits = piece.size_in_bits;
                    let bytes = piece
                        .place
                        .read((piece.bit_offset + bits).div_ceil(8), state)?;
                    copy_bits(&bytes, piece.bit_offset, &mut out, at, bits);
                    at += bits;
                }
                Ok(out)
            }
        }
    }
}

fn resize(mut bytes: Vec<u8>, size: u64) -> Vec<u8> {
    bytes.resize(size as usize, 0);
    bytes
}

/// Copies `bits` bits from `from` at bit `src` to `to` at bit `dst` (little-endian bit order),
/// dropping what falls outside `to`.
fn copy_bits(from: &[u8], src: u64, to: &mut [u8], dst: u64, bits: u64) {
    for i in 0..bits {
        let (s, d) = (src + i, dst + i);
        let Some(&byte) = from.get((s / 8) as usize) else {
            return;
        };
        let Some(out) = to.get_mut((d / 8) as usize) else {
            return;
        };
        let bit = (byte >> (s % 8)) & 1;
        *out = (*out & !(1 << (d % 8))) | (bit << (d % 8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::WasmValue;
    use std::borrow::Cow;

    struct Memory(Vec<u8>);
    impl FrameState for Memory {
        fn local(&self, _: u32) -> Option<WasmValue> {
            None
        }
        fn global(&self, _: u32) -> Option<WasmValue> {
            None
        }
        fn stack(&self, _: u32) -> Option<WasmValue> {
            None
        }
        fn read_memory(&self, address: u64, len: u64) -> Result<Cow<'_, [u8]>> {
            Ok(Cow::Borrowed(
                &self.0[address as usize..(address + len) as usize],
            ))
        }
    }

    /// `[u32; 2]` with only its first element described (`DW_OP_piece 4` and nothing for the
    /// rest), then with its second piece empty (optimized out).
    #[test]
    fn bytes_no_piece_describes_are_marked() {
        let mem = Memory(Vec::new());
        let first = Piece {
            size_in_bits: 32,
            bit_offset: 0,
            place: Place::Value(3),
        };
        let place = Place::Pieces(vec![first.clone()]);
        let (bytes, described) = place.read_described(8, &mem).unwrap();
        assert_eq!(bytes, [3, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            described.unwrap(),
            [true, true, true, true, false, false, false, false]
        );
        let empty = Piece {
            size_in_bits: 32,
            bit_offset: 0,
            place: Place::OptimizedOut,
        };
        let place = Place::Pieces(vec![empty, first]);
        let (bytes, described) = place.read_described(8, &mem).unwrap();
        assert_eq!(bytes, [0, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(
            described.unwrap(),
            [false, false, false, false, true, true, true, true]
        );
        assert_eq!(Place::Value(7).read_described(4, &mem).unwrap().1, None);
    }

    #[test]
    fn pieces_concatenate() {
        let mem = Memory((0..16).collect());
        let place = Place::Pieces(vec![
            Piece {
                size_in_bits: 32,
                bit_offset: 0,
                place: Place::Value(0xaabb_ccdd),
            },
            Piece {
                size_in_bits: 16,
                bit_offset: 0,
                place: Place::Memory(4),
            },
        ]);
        assert_eq!(place.read(6, &mem).unwrap(), [0xdd, 0xcc, 0xbb, 0xaa, 4, 5]);
        assert_eq!(Place::Value(0x0102).read(3, &mem).unwrap(), [2, 1, 0]);
        assert!(matches!(
            Place::OptimizedOut.read(1, &mem),
            Err(Error::OptimizedOut)
        ));
    }
}
