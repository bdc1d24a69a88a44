//! The line numbers of every frame of every fixture's dump, as crates/debuginfo
//! gives them, checked against `wasm-tools addr2line` (Bytecode Alliance's
//! DWARF reader) on the same rewritten module. CI installs wasm-tools.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use coredump::CoreDump;
use debuginfo::{DebugInfo, Module};
use wasm_coredump_tests::{Fixture, NodeCommand, Profile, fixture};

/// `wasm-tools addr2line --code-section-relative`: (file, line) of each
/// frame, innermost first, per address.
fn wasm_tools(module: &std::path::Path, addresses: &[u64]) -> HashMap<u64, Vec<(String, u32)>> {
    let out = Command::new("wasm-tools")
        .args(["addr2line", "--code-section-relative"])
        .arg(module)
        .args(addresses.iter().map(|a| format!("{a:#x}")))
        .output()
        .expect("wasm-tools is installed (cargo install wasm-tools --features addr2line)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut frames: HashMap<u64, Vec<(String, u32)>> = HashMap::new();
    let mut current = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let text = match line.strip_prefix('\t') {
            Some(inlined) => inlined,
            None => {
                let (address, rest) = line.split_once(": ").unwrap();
                current = u64::from_str_radix(address.trim_start_matches("0x"), 16).unwrap();
                frames.entry(current).or_default();
                rest
            }
        };
        // "<function> <file>:<line>:<column>", the function may hold spaces.
        let Some(location) = text.rsplit(' ').next() else {
            continue;
        };
        let mut parts = location.rsplitn(3, ':');
        let (Some(_column), Some(line_no), Some(file)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if let Ok(line_no) = line_no.parse() {
            frames
                .get_mut(&current)
                .unwrap()
                .push((file.to_string(), line_no));
        }
    }
    frames
}

#[test]
fn every_frame_of_every_fixture_matches_wasm_tools_addr2line() {
    for kind in Fixture::ALL {
        for profile in [Profile::Debug, Profile::Release] {
            let input = std::fs::read(fixture(kind, profile)).unwrap();
            let out = rewriter::rewrite(&input, &rewriter::Options::default()).unwrap();
            let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("addr2line-{}-{profile}.wasm", kind.package()));
            std::fs::write(&path, &out.module).unwrap();
            let mut command = NodeCommand::new(&path);
            if !kind.is_wasi_command() {
                command.invoke("process").invoke_args(&["10"]);
            }
            let run = command.run();
            let core = run.core.expect("a dump");
            let dump = CoreDump::parse(&core).unwrap();
            let info = DebugInfo::new(Module::parse(out.module.clone()).unwrap()).unwrap();

            let frames = &dump.threads()[0].frames;
            let addresses: Vec<u64> = frames
                .iter()
                .map(|f| info.dwarf_address(f.func, f.code_offset).unwrap())
                .collect();
            let mut unique = addresses.clone();
            unique.sort_unstable();
            unique.dedup();
            let expected = wasm_tools(&path, &unique);
            for (frame, address) in frames.iter().zip(&addresses) {
                let ours: Vec<(String, u32)> = info
                    .frames(frame.func, frame.code_offset)
                    .unwrap()
                    .into_iter()
                    .filter_map(|f| {
                        let l = f.location?;
                        Some((l.file?, l.line?))
                    })
                    .collect();
                let theirs = &expected[address];
                assert_eq!(
                    ours.iter().map(|f| f.1).collect::<Vec<_>>(),
                    theirs.iter().map(|f| f.1).collect::<Vec<_>>(),
                    "{kind} {profile} func {} at {address:#x}: lines ({ours:?} vs {theirs:?})",
                    frame.func
                );
                for ((ours, _), (theirs, _)) in ours.iter().zip(theirs) {
                    let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
                    assert_eq!(name(ours), name(theirs), "{kind} {profile} at {address:#x}");
                }
            }
        }
    }
}
