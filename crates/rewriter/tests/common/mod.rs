//! Helpers that the rewriter's integration tests share.

use std::path::PathBuf;

/// A file named `name` in the integration tests' scratch directory.
pub fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// Writes `original` and its rewrite with `options` to the scratch files
/// `NAME.wasm` and `NAME.rewritten.wasm`: (original, rewritten, the
/// rewrite).
pub fn rewrite_pair(
    name: &str,
    original: &[u8],
    options: &rewriter::Options,
) -> (PathBuf, PathBuf, rewriter::Output) {
    let out = rewriter::rewrite(original, options).unwrap();
    let (a, b) = (
        scratch(&format!("{name}.wasm")),
        scratch(&format!("{name}.rewritten.wasm")),
    );
    std::fs::write(&a, original).unwrap();
    std::fs::write(&b, &out.module).unwrap();
    (a, b, out)
}
