//! The ids Sentry gives a module (`code_id`, `debug_id`), computed by `wasm_layout::SentryIds`,
//! against Sentry's own library: `symbolic` (PyPI, installed by .ci/run), which Sentry's server
//! and sentry-cli use to read uploaded debug files. Checked on the stripped module and the debug
//! file of a split with a new id, of modules linked with lld's `--build-id` and
//! `--build-id=sha1`, and of a file with the older tools' raw id.

use std::path::{Path, PathBuf};
use std::process::Command;

use debuginfo_split::{NewBuildId, SplitOptions, split};
use wasm_coredump_tests::{Fixture, Profile, fixture, workspace_root};
use wasm_layout::SentryIds;

/// `(code_id, debug_id)` of each file as symbolic reads it.
fn symbolic_ids(paths: &[PathBuf]) -> Vec<(String, String)> {
    const SCRIPT: &str = "
import sys
from symbolic.debuginfo import Archive
for path in sys.argv[1:]:
    objects = list(Archive.open(path).iter_objects())
    assert len(objects) == 1, path
    print(objects[0].code_id, objects[0].debug_id)
";
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .args(paths)
        .output()
        .expect("python3 runs (.ci/run installs it with `pip install symbolic`)");
    assert!(
        out.status.success(),
        "symbolic failed (`pip install symbolic`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (code_id, debug_id) = line.split_once(' ').unwrap();
            (code_id.to_owned(), debug_id.to_owned())
        })
        .collect()
}

fn ours(path: &Path) -> (String, String) {
    let ids = SentryIds::of_module(&std::fs::read(path).unwrap())
        .unwrap()
        .expect("a build_id");
    (ids.code_id, ids.debug_id.hyphenated().to_string())
}

#[test]
fn sentry_ids_match_symbolic() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sentry-ids");
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = Vec::new();
    let mut deterministic = SplitOptions::default();
    deterministic.new_build_id = NewBuildId::Deterministic;
    for kind in [
        Fixture::MyThing,
        Fixture::LldBuildId,
        Fixture::LldBuildIdSha1,
    ] {
        let input = std::fs::read(fixture(kind, Profile::Debug)).unwrap();
        let out = split(&input, &deterministic).unwrap();
        let stripped = dir.join(format!("{kind}-{}.wasm", kind.wasm_file_name()));
        std::fs::write(&stripped, out.stripped().to_vec()).unwrap();
        let debug = dir.join(format!("{kind}-{}", out.build_id().debug_file_name()));
        std::fs::write(&debug, out.debug().to_vec()).unwrap();
        paths.extend([stripped, debug]);
    }
    paths.push(workspace_root().join("tests/build-id-forms/raw/app.wasm"));

    let theirs = symbolic_ids(&paths);
    assert_eq!(theirs.len(), paths.len());
    for (path, theirs) in paths.iter().zip(theirs) {
        assert_eq!(ours(path), theirs, "{}", path.display());
    }
    // Sentry takes the whole payload, the length byte too: the BuildId.md form of a 16-byte
    // id gives a debug_id that starts with that length (0x10).
    assert!(ours(&paths[0]).1.starts_with("10"), "{:?}", ours(&paths[0]));
}
