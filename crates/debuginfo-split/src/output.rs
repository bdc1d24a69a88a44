//! An output file described as pieces: ranges of the input (written without copying), a few
//! small encoded sections, and runs of zero bytes.

use std::io::{self, Write};
use std::ops::Range;

/// Zero bytes that [`Piece::Zeros`] are written from.
static ZEROS: [u8; 4096] = [0; 4096];

/// One of the two files a [`Split`](crate::Split) produces, not yet written anywhere.
///
/// Most of it borrows the input: [`chunks`](Output::chunks) yields those bytes as slices of the
/// input, so writing an output costs no copy of the module. Use [`write_to`](Output::write_to)
/// to write it, or [`to_vec`](Output::to_vec) to collect it.
#[derive(Debug, Clone)]
pub struct Output<'a> {
    input: &'a [u8],
    pieces: Vec<Piece>,
    len: usize,
}

#[derive(Debug, Clone)]
enum Piece {
    Input(Range<usize>),
    Owned(Vec<u8>),
    Zeros(usize),
}

impl<'a> Output<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Output {
            input,
            pieces: Vec::new(),
            len: 0,
        }
    }

    /// Appends `range` of the input, merging it with the previous piece when they touch.
    pub(crate) fn push_input(&mut self, range: Range<usize>) {
        self.len += range.len();
        if let Some(Piece::Input(last)) = self.pieces.last_mut()
            && last.end == range.start
        {
            last.end = range.end;
            return;
        }
        self.pieces.push(Piece::Input(range));
    }

    pub(crate) fn push_owned(&mut self, bytes: Vec<u8>) {
        self.len += bytes.len();
        self.pieces.push(Piece::Owned(bytes));
    }

    pub(crate) fn push_zeros(&mut self, len: usize) {
        self.len += len;
        self.pieces.push(Piece::Zeros(len));
    }

    /// The output's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the output is empty (it never is: a module has at least its header).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The output's bytes in order, as slices: of the input where the output copies it, else of
    /// the few bytes this crate encoded.
    pub fn chunks(&self) -> Chunks<'_> {
        Chunks {
            input: self.input,
            pieces: self.pieces.iter(),
            zeros_left: 0,
        }
    }

    /// Writes the output to `w`, slice by slice, without copying the input. Wrap a file in a
    /// `BufWriter`: the few small pieces then cost no extra system call.
    pub fn write_to<W: Write>(&self, mut w: W) -> io::Result<()> {
        for chunk in self.chunks() {
            w.write_all(chunk)?;
        }
        Ok(())
    }

    /// Collects the output into one buffer (tests, small modules).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for chunk in self.chunks() {
            out.extend_from_slice(chunk);
        }
        out
    }
}

/// The slices of an [`Output`], from [`Output::chunks`].
#[derive(Debug, Clone)]
pub struct Chunks<'o> {
    input: &'o [u8],
    pieces: std::slice::Iter<'o, Piece>,
    zeros_left: usize,
}

impl<'o> Iterator for Chunks<'o> {
    type Item = &'o [u8];

    fn next(&mut self) -> Option<&'o [u8]> {
        loop {
            if self.zeros_left > 0 {
                let n = self.zeros_left.min(ZEROS.len());
                self.zeros_left -= n;
                return Some(&ZEROS[..n]);
            }
            match self.pieces.next()? {
                Piece::Input(range) => return Some(&self.input[range.clone()]),
                Piece::Owned(bytes) => return Some(bytes),
                Piece::Zeros(n) => self.zeros_left = *n,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_in_order_and_merged() {
        let input: Vec<u8> = (0..20).collect();
        let mut out = Output::new(&input);
        out.push_input(0..4);
        out.push_input(4..6);
        out.push_input(10..12);
        out.push_owned(vec![0xaa, 0xbb]);
        out.push_zeros(5000);
        out.push_input(19..20);
        assert_eq!(out.pieces.len(), 5, "0..4 and 4..6 merge");
        assert_eq!(out.len(), 6 + 2 + 2 + 5000 + 1);
        let bytes = out.to_vec();
        assert_eq!(bytes.len(), out.len());
        assert_eq!(&bytes[..10], &[0, 1, 2, 3, 4, 5, 10, 11, 0xaa, 0xbb]);
        assert!(bytes[10..5010].iter().all(|&b| b == 0));
        assert_eq!(bytes[5010], 19);
        let mut written = Vec::new();
        out.write_to(&mut written).unwrap();
        assert_eq!(written, bytes);
    }
}
