//! Where a module's debug file `debug-<id>.wasm` is looked for. The build id itself is
//! [`wasm_layout::BuildId`].

use std::path::{Path, PathBuf};

use wasm_layout::BuildId;

/// The paths where the debug file of a module with `build_id` is looked for, in order: next to
/// the module (when its path is known), then in each of `dirs`.
pub fn debug_file_candidates(
    module_path: Option<&Path>,
    build_id: &BuildId,
    dirs: &[PathBuf],
) -> Vec<PathBuf> {
    let name = build_id.debug_file_name();
    let beside = module_path.map(|p| match p.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(&name),
        _ => PathBuf::from(&name),
    });
    beside
        .into_iter()
        .chain(dirs.iter().map(|d| d.join(&name)))
        .collect()
}

/// The first of [`debug_file_candidates`] that is a file.
pub fn find_debug_file(
    module_path: Option<&Path>,
    build_id: &BuildId,
    dirs: &[PathBuf],
) -> Option<PathBuf> {
    debug_file_candidates(module_path, build_id, dirs)
        .into_iter()
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_beside_the_module_then_in_dirs() {
        let id = BuildId::from_bytes(&[0xaa; 2]).unwrap();
        let c = debug_file_candidates(
            Some(Path::new("/srv/app.wasm")),
            &id,
            &[PathBuf::from("/debug")],
        );
        assert_eq!(
            c,
            [
                PathBuf::from("/srv/debug-aaaa.wasm"),
                PathBuf::from("/debug/debug-aaaa.wasm")
            ]
        );
        let c = debug_file_candidates(Some(Path::new("app.wasm")), &id, &[]);
        assert_eq!(c, [PathBuf::from("debug-aaaa.wasm")]);
    }
}
