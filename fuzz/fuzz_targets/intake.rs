//! coredump-service's intake of a dump from arbitrary bytes in pieces of arbitrary size (the
//! first byte): plain, gzip or zstd, condensed to its non-zero pages. It refuses or takes the
//! dump, never panics; and a plain dump that parses whole parses condensed, with the same
//! threads and the same non-zero memory it kept.

#![no_main]

use coredump::CoreDump;
use coredump_service::Intake;
use libfuzzer_sys::fuzz_target;
use wasm_coredump_fuzz as _;

fuzz_target!(|data: &[u8]| {
    let Some((&piece, dump)) = data.split_first() else {
        return;
    };
    let mut intake = Intake::new(1 << 24, 1 << 20);
    for chunk in dump.chunks(usize::from(piece).max(1)) {
        if intake.push(chunk).is_err() {
            return;
        }
        let _ = intake.take_stored();
    }
    let whole = CoreDump::parse(dump);
    let taken = match intake.finish() {
        Ok((_, taken)) => taken,
        Err(e) => {
            assert!(
                whole.is_err() || !dump.starts_with(b"\0asm"),
                "a dump that parses was refused: {e}"
            );
            return;
        }
    };
    let Ok(whole) = whole else {
        return;
    };
    let condensed = CoreDump::parse(&taken.condensed.bytes).expect("the condensed dump parses");
    assert_eq!(condensed.threads(), whole.threads());
    for (index, (memory, kept)) in whole.memories().iter().zip(condensed.memories()).enumerate() {
        for segment in &kept.segments {
            let read = whole.read(index as u32, segment.address, segment.data.len() as u64);
            if let Ok(bytes) = read {
                assert_eq!(&*bytes, &*segment.data);
            }
        }
        assert_eq!(memory.ty, kept.ty);
    }
});
