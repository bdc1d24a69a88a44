//! Source file names (as the DWARF records them, and joined with the compilation directory) and
//! line table ranges (gdb's `info line`).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use gimli::Reader as _;

use crate::context::{DebugInfo, Reader};
use crate::error::Result;
use crate::frame::Location;

/// Whether `p` has a Unix-style root (`/...`, `C:/...`).
fn has_forward_slash_root(p: &str) -> bool {
    p.starts_with('/') || p.get(1..3) == Some(":/")
}

/// Whether `p` has a Windows-style root (`\...`, `C:\...`).
fn has_backward_slash_root(p: &str) -> bool {
    p.starts_with('\\') || p.get(1..3) == Some(":\\")
}

/// Joins `p` to `path` as addr2line does: an absolute `p` replaces it.
fn push(path: &mut String, p: &str) {
    if has_forward_slash_root(p) || has_backward_slash_root(p) {
        *path = p.to_string();
        return;
    }
    let separator = if has_backward_slash_root(path) {
        '\\'
    } else {
        '/'
    };
    if !path.is_empty() && !path.ends_with(separator) {
        path.push(separator);
    }
    path.push_str(p);
}

/// addr2line joins a unit's directory and a file name that may itself be a URL
/// (`wasisdk://v30.0/build/.../wasisdk://v30.0/src/abort.c`): keep the last URL.
pub(crate) fn clean_path(path: &str) -> String {
    if let Some(i) = path.rfind("://") {
        let scheme_start = path[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |j| j + 1);
        if scheme_start > 0 && path[..scheme_start].ends_with('/') && scheme_start < i {
            return path[scheme_start..].to_string();
        }
    }
    path.to_string()
}

/// A line table row, as far as `info line` needs it.
struct Row {
    address: u64,
    file: u64,
    line: u64,
    is_stmt: bool,
}

/// The recorded path of each file of a unit's line program, by full path (see [`FileNames`]).
pub(crate) type RecordedPaths = Arc<HashMap<String, String>>;

/// The names of one file of a line program.
pub(crate) struct FileNames {
    /// The full path, as addr2line joins it (and so as [`Location::file`] names it): the
    /// compilation directory, the file's include directory and its name.
    pub(crate) full: String,
    /// The path as the line table records it: the name, joined with its include directory
    /// unless that is the compilation directory (index 0). Relative to the compilation directory
    /// when relative (`mything/src/main.rs`); absolute when the include directory is
    /// (`/rustc/<commit>/library/std/src/rt.rs`), even if it is the compilation directory.
    pub(crate) recorded: String,
}

impl DebugInfo {
    /// The names of file `index` of a unit's line program.
    pub(crate) fn file_names(
        &self,
        unit: &gimli::Unit<Reader>,
        header: &gimli::LineProgramHeader<Reader>,
        index: u64,
    ) -> Result<Option<FileNames>> {
        let Some(file) = header.file(index) else {
            return Ok(None);
        };
        let mut recorded = String::new();
        if file.directory_index() != 0
            && let Some(dir) = file.directory(header)
        {
            push(&mut recorded, &self.attr_str(unit, dir)?);
        }
        push(&mut recorded, &self.attr_str(unit, file.path_name())?);
        let mut full = match &unit.comp_dir {
            Some(dir) => dir.to_string_lossy()?.into_owned(),
            None => String::new(),
        };
        push(&mut full, &recorded);
        Ok(Some(FileNames {
            full: clean_path(&full),
            recorded: clean_path(&recorded),
        }))
    }

    /// The recorded path of every file of a unit's line program, by full path. Read once per
    /// unit and kept.
    pub(crate) fn recorded_paths(&self, unit: &gimli::Unit<Reader>) -> Result<RecordedPaths> {
        let key = unit.header.offset().0;
        if let Some(paths) = self.recorded_paths.borrow().get(&key) {
            return Ok(paths.clone());
        }
        let mut paths = HashMap::new();
        if let Some(program) = &unit.line_program {
            let header = program.header();
            let count = header.file_names().len() as u64;
            // DWARF 5 numbers files from 0, earlier versions from 1.
            for index in 0..=count {
                if let Some(names) = self.file_names(unit, header, index)? {
                    paths.entry(names.full).or_insert(names.recorded);
                }
            }
        }
        let paths = Arc::new(paths);
        self.recorded_paths.borrow_mut().insert(key, paths.clone());
        Ok(paths)
    }

    /// The code addresses of `location`'s line, as gdb's `info line` finds them: in the line
    /// table of the unit that covers DWARF `address`, the first (lowest-address) statement row
    /// of that file and line, up to the next row (rows at one address count as one, the last).
    /// Without a statement row, the first row of the line. The range is empty for a row that
    /// holds no code. `None` when the location has no file or line, or no row has them.
    ///
    /// Reads the unit's line program on each call: meant for one command, not a loop.
    pub fn line_range(&self, address: u64, location: &Location) -> Result<Option<Range<u64>>> {
        let (Some(file), Some(line)) = (location.file.as_deref(), location.line) else {
            return Ok(None);
        };
        let Some(unit) = self.ctx.find_dwarf_and_unit(address).skip_all_loads() else {
            return Ok(None);
        };
        let Some(program) = unit.line_program.clone() else {
            return Ok(None);
        };
        let mut matches_file: HashMap<u64, bool> = HashMap::new();
        // (range, is_stmt) of each row of the line.
        let mut found: Vec<(Range<u64>, bool)> = Vec::new();
        let mut sequence: Vec<Row> = Vec::new();
        let mut rows = program.rows();
        while let Some((header, row)) = rows.next_row()? {
            if !row.end_sequence() {
                let next = Row {
                    address: row.address(),
                    file: row.file_index(),
                    line: row.line().map_or(0, |l| l.get()),
                    is_stmt: row.is_stmt(),
                };
                match sequence.last_mut() {
                    Some(last) if last.address == next.address => *last = next,
                    _ => sequence.push(next),
                }
                continue;
            }
            let end = row.address();
            for (i, r) in sequence.iter().enumerate() {
                if r.line != u64::from(line) {
                    continue;
                }
                let same_file = match matches_file.get(&r.file) {
                    Some(&m) => m,
                    None => {
                        let names = self.file_names(&unit, header, r.file)?;
                        let m = names.is_some_and(|n| n.full == file);
                        matches_file.insert(r.file, m);
                        m
                    }
                };
                if same_file {
                    let next = sequence.get(i + 1).map_or(end, |n| n.address);
                    found.push((r.address..next.max(r.address), r.is_stmt));
                }
            }
            sequence.clear();
        }
        let first = |stmt: bool| {
            found
                .iter()
                .filter(|(_, s)| *s || !stmt)
                .min_by_key(|(r, _)| r.start)
                .map(|(r, _)| r.clone())
        };
        Ok(first(true).or_else(|| first(false)))
    }
}

#[cfg(test)]
mod tests {
    use super::{clean_path, push};

    #[test]
    fn a_url_file_name_is_not_joined_to_the_directory() {
        assert_eq!(
            clean_path("wasisdk://v30.0/build/x/wasisdk://v30.0/src/abort.c"),
            "wasisdk://v30.0/src/abort.c"
        );
        assert_eq!(
            clean_path("wasisdk://v30.0/src/abort.c"),
            "wasisdk://v30.0/src/abort.c"
        );
        assert_eq!(
            clean_path("/rustc/abc/library/core/src/lib.rs"),
            "/rustc/abc/library/core/src/lib.rs"
        );
    }

    #[test]
    fn paths_join_as_addr2line_joins_them() {
        let mut p = String::from("/work");
        push(&mut p, "src");
        push(&mut p, "main.rs");
        assert_eq!(p, "/work/src/main.rs");
        push(&mut p, "/rustc/x/lib.rs");
        assert_eq!(p, "/rustc/x/lib.rs");
        let mut p = String::from("C:\\work");
        push(&mut p, "main.rs");
        assert_eq!(p, "C:\\work\\main.rs");
    }
}
