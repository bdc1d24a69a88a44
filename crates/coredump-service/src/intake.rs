//! A dump as it arrives, piece by piece: gzip, zstd or plain, turned into the gzip bytes that
//! are stored and, on the side, the condensed dump that is symbolized. Memory stays bounded
//! whatever the dump's size: nothing holds the whole dump.

use std::io::{self, Write};

use flate2::Compression;
use flate2::write::{GzEncoder, MultiGzDecoder};

use crate::condense::{CondenseError, Condensed, Condenser};

/// How the dump came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// As `memory.buffer` is: starts with `\0asm`.
    Plain,
    /// gzip (`CompressionStream('gzip')`): stored as received.
    Gzip,
    /// zstd: stored recompressed as gzip.
    Zstd,
}

/// Why a dump was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntakeError {
    /// The dump (once decompressed) is not a core dump.
    #[error(transparent)]
    Dump(#[from] CondenseError),
    /// The compressed data is corrupt.
    #[error("the {encoding:?} dump does not decompress: {source}")]
    Decompress {
        /// The compression.
        encoding: Encoding,
        /// The decoder's error.
        source: io::Error,
    },
    /// The dump decompresses to more than the limit.
    #[error("the dump is larger than {limit} bytes once decompressed")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The dump is empty.
    #[error("the coredump part is empty")]
    Empty,
}

/// What the decompressed bytes go through: the condenser, and the gzip encoder when the dump
/// did not come as gzip.
#[derive(Debug)]
struct Plain {
    condenser: Condenser,
    encoder: Option<GzEncoder<Vec<u8>>>,
    size: u64,
    limit: u64,
    /// The first error of the condenser (an `io::Write` can only return `io::Error`s).
    error: Option<IntakeError>,
}

impl Write for Plain {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.size += buf.len() as u64;
        let refused = if self.size > self.limit {
            Some(IntakeError::TooLarge { limit: self.limit })
        } else {
            self.condenser.push(buf).err().map(IntakeError::from)
        };
        if let Some(error) = refused {
            self.error.get_or_insert(error);
            return Err(io::Error::other("refused"));
        }
        if let Some(encoder) = &mut self.encoder {
            encoder.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Decoder {
    /// The first bytes, until there are enough to tell the encoding.
    Sniffing(Vec<u8>),
    Plain(Box<Plain>),
    Gzip(Box<MultiGzDecoder<Plain>>),
    Zstd(Box<zstd::stream::write::Decoder<'static, Plain>>),
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Decoder::Sniffing(_) => "Sniffing",
            Decoder::Plain(_) => "Plain",
            Decoder::Gzip(_) => "Gzip",
            Decoder::Zstd(_) => "Zstd",
        })
    }
}

/// Takes a dump piece by piece (see the module doc).
#[derive(Debug)]
pub struct Intake {
    decoder: Decoder,
    /// What is to be stored and not yet taken.
    stored: Vec<u8>,
    encoding: Option<Encoding>,
    condense_limit: usize,
    size_limit: u64,
}

/// A dump taken in whole.
#[derive(Debug)]
pub struct Taken {
    /// The condensed dump, to symbolize.
    pub condensed: Condensed,
    /// How it came.
    pub encoding: Encoding,
}

impl Intake {
    /// An intake that refuses dumps over `size_limit` bytes decompressed and keeps at most
    /// `condense_limit` bytes of their non-zero memory for symbolizing.
    pub fn new(size_limit: u64, condense_limit: usize) -> Self {
        Intake {
            decoder: Decoder::Sniffing(Vec::new()),
            stored: Vec::new(),
            encoding: None,
            condense_limit,
            size_limit,
        }
    }

    /// Takes the next piece.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), IntakeError> {
        if let Decoder::Sniffing(head) = &mut self.decoder {
            head.extend_from_slice(chunk);
            if head.len() < 4 {
                return Ok(());
            }
            let head = std::mem::take(head);
            self.start(&head[..4]);
            return self.feed(&head);
        }
        self.feed(chunk)
    }

    /// Takes the bytes to store produced so far (gzip).
    pub fn take_stored(&mut self) -> Vec<u8> {
        let mut stored = std::mem::take(&mut self.stored);
        if let Some(encoder) = self.plain_mut().and_then(|p| p.encoder.as_mut()) {
            stored.append(encoder.get_mut());
        }
        stored
    }

    /// Ends the dump: the last bytes to store, and the dump taken.
    pub fn finish(mut self) -> Result<(Vec<u8>, Taken), IntakeError> {
        if let Decoder::Sniffing(head) = &mut self.decoder {
            if head.is_empty() {
                return Err(IntakeError::Empty);
            }
            let head = std::mem::take(head);
            self.start(&head);
            self.feed(&head)?;
        }
        let encoding = self.encoding.unwrap_or(Encoding::Plain);
        let decompress = |source| IntakeError::Decompress { encoding, source };
        let mut plain = match self.decoder {
            Decoder::Sniffing(_) => unreachable!("started above"),
            Decoder::Plain(plain) => *plain,
            Decoder::Gzip(mut gz) => {
                gz.try_finish()
                    .map_err(|e| gz_error(gz.get_mut(), e, encoding))?;
                gz.finish().map_err(decompress)?
            }
            Decoder::Zstd(mut zstd) => {
                zstd.flush()
                    .map_err(|e| gz_error(zstd.get_mut(), e, encoding))?;
                zstd.into_inner()
            }
        };
        if let Some(error) = plain.error.take() {
            return Err(error);
        }
        let mut stored = self.stored;
        if let Some(encoder) = plain.encoder.take() {
            stored.extend(encoder.finish().map_err(decompress)?);
        }
        let condensed = plain.condenser.finish()?;
        Ok((
            stored,
            Taken {
                condensed,
                encoding,
            },
        ))
    }

    fn start(&mut self, head: &[u8]) {
        let encoding = match head {
            [0x1f, 0x8b, ..] => Encoding::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Encoding::Zstd,
            _ => Encoding::Plain,
        };
        let plain = Plain {
            condenser: Condenser::new(self.condense_limit),
            encoder: (encoding != Encoding::Gzip)
                .then(|| GzEncoder::new(Vec::new(), Compression::fast())),
            size: 0,
            limit: self.size_limit,
            error: None,
        };
        self.encoding = Some(encoding);
        self.decoder = match encoding {
            Encoding::Plain => Decoder::Plain(Box::new(plain)),
            Encoding::Gzip => Decoder::Gzip(Box::new(MultiGzDecoder::new(plain))),
            Encoding::Zstd => Decoder::Zstd(Box::new(
                zstd::stream::write::Decoder::new(plain).expect("a zstd decoder needs no input"),
            )),
        };
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), IntakeError> {
        let encoding = self.encoding.unwrap_or(Encoding::Plain);
        match &mut self.decoder {
            Decoder::Sniffing(_) => unreachable!("started before feeding"),
            Decoder::Plain(plain) => plain
                .write_all(chunk)
                .map_err(|e| gz_error(plain, e, encoding)),
            Decoder::Gzip(gz) => {
                self.stored.extend_from_slice(chunk);
                gz.write_all(chunk)
                    .map_err(|e| gz_error(gz.get_mut(), e, encoding))
            }
            Decoder::Zstd(zstd) => zstd
                .write_all(chunk)
                .map_err(|e| gz_error(zstd.get_mut(), e, encoding)),
        }
    }

    fn plain_mut(&mut self) -> Option<&mut Plain> {
        match &mut self.decoder {
            Decoder::Sniffing(_) => None,
            Decoder::Plain(plain) => Some(plain),
            Decoder::Gzip(gz) => Some(gz.get_mut()),
            Decoder::Zstd(zstd) => Some(zstd.get_mut()),
        }
    }
}

/// The error behind a failed write: the condenser's if it refused, else the decoder's.
fn gz_error(plain: &mut Plain, source: io::Error, encoding: Encoding) -> IntakeError {
    plain
        .error
        .take()
        .unwrap_or(IntakeError::Decompress { encoding, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump() -> Vec<u8> {
        let mut dump = coredump::CoreDump::new("test");
        dump.add_thread(coredump::Thread {
            name: "main".into(),
            frames: vec![],
        });
        dump.encode()
    }

    fn take(bytes: &[u8], piece: usize) -> Result<(Vec<u8>, Taken), IntakeError> {
        let mut intake = Intake::new(1 << 30, 1 << 20);
        let mut stored = Vec::new();
        for chunk in bytes.chunks(piece) {
            intake.push(chunk)?;
            stored.extend(intake.take_stored());
        }
        let (tail, taken) = intake.finish()?;
        stored.extend(tail);
        Ok((stored, taken))
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        io::copy(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out).unwrap();
        out
    }

    #[test]
    fn plain_gzip_and_zstd_dumps_are_stored_as_gzip() {
        let plain = dump();
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&plain).unwrap();
        let gzip = gz.finish().unwrap();
        let zstd = zstd::encode_all(&plain[..], 3).unwrap();
        for (bytes, encoding) in [
            (&plain, Encoding::Plain),
            (&gzip, Encoding::Gzip),
            (&zstd, Encoding::Zstd),
        ] {
            for piece in [1, 2, 5, 1000] {
                let (stored, taken) = take(bytes, piece).unwrap();
                assert_eq!(taken.encoding, encoding);
                assert_eq!(gunzip(&stored), plain, "{encoding:?} in pieces of {piece}");
                assert_eq!(taken.condensed.received, plain.len() as u64);
            }
        }
        // gzip is stored exactly as it came.
        assert_eq!(take(&gzip, 3).unwrap().0, gzip);
    }

    #[test]
    fn refusals_say_why() {
        let err = |bytes: &[u8]| take(bytes, 2).unwrap_err().to_string();
        assert_eq!(err(b""), "the coredump part is empty");
        assert_eq!(err(b"hi"), "not a Wasm core dump: it starts with 68 69");
        assert!(err(b"\x1f\x8b\x08\0garbage").starts_with("the Gzip dump does not decompress"));
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(b"PK\x03\x04 a zip").unwrap();
        assert_eq!(
            err(&gz.finish().unwrap()),
            "not a Wasm core dump: it starts with 50 4b 03 04"
        );
        let mut intake = Intake::new(10, 100);
        let big = dump();
        assert_eq!(
            intake.push(&big).unwrap_err().to_string(),
            "the dump is larger than 10 bytes once decompressed"
        );
    }
}
