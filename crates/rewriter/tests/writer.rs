//! `rewrite_to`, the rewrite streamed to a writer: it writes the module
//! `rewrite` returns, and a writer that fails is an error, never a panic.

use std::io::{self, Write};

use rewriter::{Error, Options};
use wasm_coredump_tests::{Fixture, Profile, fixture};

#[test]
fn writes_the_module_rewrite_returns() {
    let check_memory = Options {
        check_memory: true,
        ..Options::default()
    };
    for profile in [Profile::Debug, Profile::Release] {
        let input = std::fs::read(fixture(Fixture::MyThing, profile)).unwrap();
        for options in [Options::default(), check_memory.clone()] {
            let out = rewriter::rewrite(&input, &options).unwrap();
            let mut written = Vec::new();
            let summary = rewriter::rewrite_to(&input, &options, &mut written).unwrap();
            assert!(written == out.module, "{profile:?} {options:?}");
            assert_eq!(summary.stats, out.stats);
            assert_eq!(summary.build_id, out.build_id);
            assert_eq!(summary.stats.output_size, written.len());
        }
    }
}

/// A writer that takes `limit` bytes, then fails; or fails to flush.
struct Failing {
    written: usize,
    limit: usize,
    flush_fails: bool,
}

impl Failing {
    fn new(limit: usize, flush_fails: bool) -> Self {
        Failing {
            written: 0,
            limit,
            flush_fails,
        }
    }
}

impl Write for Failing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(self.limit - self.written);
        if n == 0 && !buf.is_empty() {
            return Err(io::Error::other("disk full"));
        }
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.flush_fails {
            true => Err(io::Error::other("flush failed")),
            false => Ok(()),
        }
    }
}

#[test]
fn a_failing_writer_is_an_error() {
    let input = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    let size = rewriter::rewrite(&input, &Options::default())
        .unwrap()
        .module
        .len();
    // At the header, in the Code section, in the DWARF, at the last byte.
    let cases = [(0, false), (8, false), (1000, false), (size / 2, false)];
    let cases = cases.into_iter().chain([(size - 1, false), (size, true)]);
    for (limit, flush_fails) in cases {
        let out = Failing::new(limit, flush_fails);
        let err = rewriter::rewrite_to(&input, &Options::default(), out).unwrap_err();
        let Error::Write { kind, message } = &err else {
            panic!("{limit}: {err}");
        };
        assert_eq!(*kind, io::ErrorKind::Other);
        let expected = if flush_fails {
            "flush failed"
        } else {
            "disk full"
        };
        assert_eq!(message, expected);
        assert_eq!(
            err.to_string(),
            format!("writing the rewritten module: {expected}")
        );
    }
}
