//! The rewritten module as it is written: section by section to any writer,
//! so that it is never held whole.

use std::io::Write;

use wasm_encoder::Encode;

use crate::error::Error;

/// A writer receiving the output module, and how many bytes it received.
pub(crate) struct Sink<W> {
    out: W,
    written: usize,
}

impl<W: Write> Sink<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> Self {
        Sink { out, written: 0 }
    }

    /// Writes `bytes`.
    pub fn bytes(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.out.write_all(bytes).map_err(Error::write)?;
        self.written += bytes.len();
        Ok(())
    }

    /// Writes `value` as a ULEB128.
    pub fn uleb(&mut self, value: u32) -> Result<(), Error> {
        let mut bytes = Vec::with_capacity(5);
        value.encode(&mut bytes);
        self.bytes(&bytes)
    }

    /// Writes a section: its id, then its payload with the size before it.
    pub fn section(&mut self, id: u8, payload: &[u8]) -> Result<(), Error> {
        self.bytes(&[id])?;
        self.uleb(payload.len() as u32)?;
        self.bytes(payload)
    }

    /// Writes a section that wasm-encoder encodes (size included).
    pub fn encoded(&mut self, id: u8, section: &impl Encode) -> Result<(), Error> {
        let mut bytes = vec![id];
        section.encode(&mut bytes);
        self.bytes(&bytes)
    }

    /// Writes a custom section called `name` holding `data`.
    pub fn custom_section(&mut self, name: &str, data: &[u8]) -> Result<(), Error> {
        let mut head = Vec::new();
        name.encode(&mut head);
        self.bytes(&[0])?;
        self.uleb((head.len() + data.len()) as u32)?;
        self.bytes(&head)?;
        self.bytes(data)
    }

    /// Flushes the writer; returns how many bytes were written in all.
    pub fn finish(mut self) -> Result<usize, Error> {
        self.out.flush().map_err(Error::write)?;
        Ok(self.written)
    }
}

/// The number of bytes of `value` as a ULEB128.
pub(crate) fn uleb_len(value: u32) -> usize {
    (32 - value.leading_zeros() as usize).max(1).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use wasm_encoder::Encode;

    #[test]
    fn uleb_len_is_the_encoded_length() {
        for value in [0, 1, 127, 128, 16_383, 16_384, 1 << 21, 1 << 28, u32::MAX] {
            let mut bytes = Vec::new();
            value.encode(&mut bytes);
            assert_eq!(super::uleb_len(value), bytes.len(), "{value}");
        }
    }
}
