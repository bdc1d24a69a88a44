//! Source files: finding them (`directory`, `set substitute-path`), `list`, `info source`,
//! `info line`, and the source line `frame` prints.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use debuginfo::Location;
use debuginfo::wasm_layout::read_input_file;
use serde_json::json;

use crate::backtrace::names_function;
use crate::error::{CommandError, excerpt};
use crate::exec::Reply;
use crate::session::Session;

type Result<T> = std::result::Result<T, CommandError>;

/// A source file: the name a debugger shows, as the DWARF records it (`mything/src/main.rs`),
/// and the path to look for it at (joined with the compilation directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceFile {
    /// The name as recorded (gdb's `set filename-display relative`).
    pub(crate) name: String,
    /// The full path.
    pub(crate) path: String,
}

impl SourceFile {
    /// The file of a location, if it names one.
    pub(crate) fn of(location: &Location) -> Option<SourceFile> {
        let path = location.file.clone()?;
        Some(SourceFile {
            name: location.shown_file().unwrap_or(&path).to_string(),
            path,
        })
    }

    /// A file named as typed (`list foo.rs:3` for a file no frame knows).
    fn typed(name: &str) -> SourceFile {
        SourceFile {
            name: name.to_string(),
            path: name.to_string(),
        }
    }

    /// The compilation directory, when the name is the path relative to it.
    fn comp_dir(&self) -> Option<&str> {
        if self.name == self.path {
            return None;
        }
        let dir = self.path.strip_suffix(&self.name)?;
        dir.strip_suffix(['/', '\\']).filter(|d| !d.is_empty())
    }
}

/// Where source files are looked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourcePaths {
    dirs: Vec<PathBuf>,
    substitutions: Vec<(String, String)>,
}

impl SourcePaths {
    pub(crate) fn new(dirs: Vec<PathBuf>) -> Self {
        SourcePaths {
            dirs,
            substitutions: Vec::new(),
        }
    }

    /// The file a DWARF path names: the path with the first matching substitution applied, as
    /// is, then in each source directory (the whole path, then shorter and shorter tails).
    pub(crate) fn find(&self, file: &str) -> Option<PathBuf> {
        let mut path = file.to_string();
        for (from, to) in &self.substitutions {
            if let Some(rest) = path.strip_prefix(from.as_str())
                && (rest.is_empty() || rest.starts_with('/') || from.ends_with('/'))
            {
                path = format!("{to}{rest}");
                break;
            }
        }
        let p = Path::new(&path);
        if p.is_file() {
            return Some(p.to_path_buf());
        }
        let parts: Vec<_> = p
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .collect();
        for dir in &self.dirs {
            for skip in 0..parts.len() {
                let candidate: PathBuf = dir.join(parts[skip..].iter().collect::<PathBuf>());
                if candidate.is_file() {
                    return Some(candidate);
                }
            }
        }
        None
    }
}

impl SourcePaths {
    /// Where `file` is: at its full path, else at its recorded name (see [`SourcePaths::find`]).
    pub(crate) fn find_file(&self, file: &SourceFile) -> Option<PathBuf> {
        self.find(&file.path).or_else(|| {
            (file.name != file.path)
                .then(|| self.find(&file.name))
                .flatten()
        })
    }
}

/// The lines of a source file (a regular file only: a FIFO in its place would block `list`).
fn read_lines(path: &Path) -> Option<Vec<String>> {
    let text = read_input_file(path).ok()?;
    Some(
        String::from_utf8_lossy(&text)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

impl Session<'_> {
    /// `11\t    let result = ...`, or gdb's `11\tFILE: No such file or directory.` when the
    /// file is not found.
    pub(crate) fn source_line(&self, file: &SourceFile, line: u32) -> String {
        let name = &file.name;
        match self.sources.find_file(file).and_then(|p| read_lines(&p)) {
            Some(lines) => match lines.get(line as usize - 1) {
                Some(text) => format!("{line}\t{text}\n"),
                None => format!(
                    "Line number {line} out of range; \"{name}\" has {} lines.\n",
                    lines.len()
                ),
            },
            None => format!("{line}\t{name}: No such file or directory.\n"),
        }
    }

    /// `list`, `list N`, `list FILE:N`, `list FUNCTION`, `list -`.
    pub(crate) fn list(&mut self, arg: Option<&str>) -> Result<Reply> {
        let (file, first) = match arg {
            None => {
                let (file, next) = self.list_next.clone().ok_or_else(|| {
                    CommandError::new("No default source file: select a frame with source first.")
                })?;
                match &self.list_cursor {
                    Some((f, after)) if *f == file => (file, *after),
                    _ => (file, next.saturating_sub(5).max(1)),
                }
            }
            Some("-") => {
                let (file, first_shown) = self
                    .list_first
                    .clone()
                    .ok_or_else(|| CommandError::new("No default source file."))?;
                if first_shown <= 1 {
                    return Err(CommandError::new("Already at the start of the file."));
                }
                (file, first_shown.saturating_sub(10).max(1))
            }
            Some(arg) if arg.contains(',') => {
                // `list FIRST,LAST`, `list FIRST,` (ten lines from FIRST), `list ,LAST` (ten
                // lines up to LAST).
                let (first, last) = arg.split_once(',').expect("checked above");
                let (first, last) = (first.trim(), last.trim());
                let (file, first, last) = match (first.is_empty(), last.is_empty()) {
                    (false, false) => {
                        let (file, first) = self.list_target(first)?;
                        let last = last.parse::<u32>().map_err(|_| {
                            CommandError::new(format!("Invalid number \"{}\".", excerpt(last)))
                        })?;
                        (file, first, last)
                    }
                    (false, true) => {
                        let (file, first) = self.list_target(first)?;
                        (file, first, first.saturating_add(9))
                    }
                    (true, false) => {
                        let (file, last) = self.list_target(last)?;
                        (file, last.saturating_sub(9).max(1), last)
                    }
                    (true, true) => {
                        return Err(CommandError::new("Junk at end of line specification."));
                    }
                };
                return self.list_lines(file, first, Some(last));
            }
            Some(arg) => {
                let (file, line) = self.list_target(arg)?;
                (file, line.saturating_sub(5).max(1))
            }
        };
        self.list_lines(file, first, None)
    }

    /// Shows the lines from `first` to `last` (ten lines without) of `file`, as `list` does.
    fn list_lines(&mut self, file: SourceFile, first: u32, last: Option<u32>) -> Result<Reply> {
        // Lines count from 1 (`list 0,3` shows lines 1 to 3).
        let first = first.max(1);
        let name = &file.name;
        let path = self
            .sources
            .find_file(&file)
            .ok_or_else(|| CommandError::new(format!("{name}: No such file or directory.")))?;
        let lines = read_lines(&path).unwrap_or_default();
        if first as usize > lines.len() {
            return Err(CommandError::new(format!(
                "Line number {first} out of range; \"{name}\" has {} lines.",
                lines.len()
            )));
        }
        let last = (last.map_or(first as usize + 9, |l| l as usize)).min(lines.len());
        if last < first as usize {
            return Ok(Reply::new("", json!({ "file": name, "lines": [] })));
        }
        let mut text = String::new();
        let mut shown = Vec::new();
        for n in first as usize..=last {
            writeln!(text, "{n}\t{}", lines[n - 1]).ok();
            shown.push(json!({ "line": n, "text": lines[n - 1] }));
        }
        let json = json!({
            "file": name,
            "fullname": path.display().to_string(),
            "lines": shown,
        });
        self.list_first = Some((file.clone(), first));
        self.list_cursor = Some((file, last as u32 + 1));
        Ok(Reply::new(text, json))
    }

    /// The file and line `list ARG` centers on.
    fn list_target(&self, arg: &str) -> Result<(SourceFile, u32)> {
        // The file `list` showed last, else the one it would show: the selected frame's.
        let current = (self.list_cursor.as_ref().map(|(f, _)| f.clone()))
            .or_else(|| self.list_next.as_ref().map(|(f, _)| f.clone()))
            .or_else(|| SourceFile::of(self.frame().ok()?.symbol.location.as_ref()?));
        if let Ok(n) = arg.parse::<u32>() {
            let file = current.ok_or_else(|| CommandError::new("No default source file."))?;
            return Ok((file, n));
        }
        if let Some((file, n)) = arg.rsplit_once(':')
            && let Ok(n) = n.parse::<u32>()
        {
            // Match the DWARF's file names by suffix, as gdb does.
            let known = self
                .frames
                .iter()
                .filter_map(|f| SourceFile::of(f.symbol.location.as_ref()?))
                .find(|f| f.name.ends_with(file) || f.path.ends_with(file));
            return Ok((known.unwrap_or_else(|| SourceFile::typed(file)), n));
        }
        // A function: where it is declared, as gdb centers on its beginning.
        let func = self.function_named(arg).ok_or_else(|| {
            CommandError::new(format!("Function \"{}\" not defined.", excerpt(arg)))
        })?;
        let location = self.info.declaration(func)?.unwrap_or_default();
        match (SourceFile::of(&location), location.line) {
            (Some(f), Some(l)) => Ok((f, l)),
            _ => Err(CommandError::new(format!(
                "No line number known for {}.",
                excerpt(arg)
            ))),
        }
    }

    /// The function named `name`: by its full name (`mything::calculate`), else by its last
    /// path segments (`calculate`), the first in the module; `None` when none has it.
    pub(crate) fn function_named(&self, name: &str) -> Option<u32> {
        let layout = self.info.code_layout()?;
        let count = layout.imported_functions() + layout.defined_functions();
        let names: Vec<(u32, String)> = (0..count)
            .map(|func| (func, self.info.function_name(func).name))
            .collect();
        names
            .iter()
            .find(|(_, n)| n == name)
            .or_else(|| names.iter().find(|(_, n)| names_function(n, name)))
            .map(|(func, _)| *func)
    }

    pub(crate) fn directory(&mut self, dirs: Option<&str>) -> Reply {
        match dirs {
            None => self.sources.dirs.clear(),
            Some(dirs) => {
                for d in dirs.split([':', ' ']).filter(|d| !d.is_empty()).rev() {
                    self.sources.dirs.insert(0, PathBuf::from(d));
                }
            }
        }
        self.show_directories()
    }

    pub(crate) fn show_directories(&self) -> Reply {
        let dirs: Vec<String> = self
            .sources
            .dirs
            .iter()
            .map(|d| d.display().to_string())
            .chain(["$cdir".to_string(), "$cwd".to_string()])
            .collect();
        Reply::new(
            format!("Source directories searched: {}\n", dirs.join(":")),
            json!({ "directories": dirs }),
        )
    }

    pub(crate) fn substitute_path(&mut self, from: &str, to: &str) -> Reply {
        self.sources.substitutions.retain(|(f, _)| f != from);
        self.sources
            .substitutions
            .push((from.to_string(), to.to_string()));
        Reply::text("")
    }

    pub(crate) fn show_substitute_path(&self) -> Reply {
        let mut text = String::from("List of all source path substitution rules:\n");
        for (from, to) in &self.sources.substitutions {
            writeln!(text, "  `{from}' -> `{to}'.").ok();
        }
        Reply::text(text)
    }

    /// `info source`.
    pub(crate) fn info_source(&self) -> Result<Reply> {
        let frame = self.frame()?;
        let Some(file) = frame.symbol.location.as_ref().and_then(SourceFile::of) else {
            return Ok(Reply::text("No current source file.\n"));
        };
        let mut text = format!("Current source file is {}\n", file.name);
        if let Some(dir) = file.comp_dir() {
            writeln!(text, "Compilation directory is {dir}").ok();
        }
        let found = self.sources.find_file(&file);
        if let Some(path) = &found {
            writeln!(text, "Located in {}", path.display()).ok();
            if let Some(lines) = read_lines(path) {
                writeln!(text, "Contains {} lines.", lines.len()).ok();
            }
        } else {
            text.push_str("The file is not found (see `directory` and `set substitute-path`).\n");
        }
        let language = if file.name.ends_with(".rs") {
            "rust"
        } else if file.name.ends_with(".c") {
            "c"
        } else {
            "unknown"
        };
        writeln!(text, "Source language is {language}.").ok();
        writeln!(
            text,
            "Producer is DWARF in {}.",
            self.module_path()
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        )
        .ok();
        Ok(Reply::new(
            text,
            json!({
                "file": file.name,
                "fullname": file.path,
                "compilation_directory": file.comp_dir(),
                "found": found.map(|p| p.display().to_string()),
                "language": language,
            }),
        ))
    }

    /// A DWARF address as gdb's `print_address` shows it: `0x3a9 <mything::process_thing+24>`
    /// (a module file offset, and the function it falls in).
    fn symbolic_address(&self, address: u64) -> (u64, String) {
        let Some(layout) = self.info.code_layout() else {
            return (address, format!("{address:#x}"));
        };
        let pc = layout.file_offset(address);
        let text = match layout.code_location(address) {
            Some(at) => {
                let name = self.info.function_name(at.func).name;
                match at.code_offset {
                    0 => format!("{pc:#x} <{name}>"),
                    offset => format!("{pc:#x} <{name}+{offset}>"),
                }
            }
            None => format!("{pc:#x}"),
        };
        (pc, text)
    }

    /// `info line`: where the selected frame's line starts and ends, as gdb prints it:
    /// `Line 16 of "mything/src/main.rs" starts at address 0x43e <mything::calculate+29> and
    /// ends at 0x451 <mything::calculate+48>.` (the line's first statement row, as gdb finds it).
    /// With `*ADDR` (`at`: the expression), the line of the code at that module offset; outside
    /// every function, gdb's `No line number information available for address 0x...`.
    pub(crate) fn info_line(&self, at: Option<&str>) -> Result<Reply> {
        let (func, code_offset, location) = match at {
            None => {
                let frame = self.frame()?;
                (frame.func, frame.code_offset, frame.symbol.location.clone())
            }
            Some(function) if !function.starts_with('*') => {
                let func = self.function_named(function).ok_or_else(|| {
                    CommandError::new(format!("Function \"{}\" not defined.", excerpt(function)))
                })?;
                let location = self.info.declaration(func)?;
                (func, 0, location)
            }
            Some(text) => {
                let text = &text[1..];
                let pc = self.eval_address(text)?;
                let Some(at) = self.code_at(pc) else {
                    return Ok(Reply::new(
                        format!("No line number information available for address {pc:#x}\n"),
                        json!({ "file": null, "line": null }),
                    ));
                };
                // The innermost function's line, as for a frame.
                let frames = self
                    .info
                    .frames(at.func, at.code_offset)
                    .unwrap_or_default();
                let location = frames.into_iter().next().and_then(|f| f.location);
                (at.func, at.code_offset, location)
            }
        };
        let location = location.unwrap_or_default();
        let address = self.info.dwarf_address(func, code_offset).ok();
        let file = location.shown_file().map(str::to_string);
        let (Some(address), Some(name), Some(line)) = (address, &file, location.line) else {
            let text = match address {
                Some(a) => format!(
                    "No line number information available for address {}\n",
                    self.symbolic_address(a).1
                ),
                None => "No line number information available.\n".into(),
            };
            return Ok(Reply::new(text, json!({ "file": null, "line": null })));
        };
        let range = self.info.line_range(address, &location)?;
        let Some(range) = range else {
            return Ok(Reply::new(
                format!("Line {line} of \"{name}\" has no code.\n"),
                json!({ "file": name, "fullname": location.file, "line": line }),
            ));
        };
        let (start, start_text) = self.symbolic_address(range.start);
        let (end, end_text) = self.symbolic_address(range.end);
        let text = if range.is_empty() {
            format!("Line {line} of \"{name}\" is at address {start_text} but contains no code.\n")
        } else {
            format!(
                "Line {line} of \"{name}\" starts at address {start_text} and ends at {end_text}.\n"
            )
        };
        Ok(Reply::new(
            text,
            json!({
                "file": name,
                "fullname": location.file,
                "line": line,
                "start": format!("{start:#x}"),
                "end": format!("{end:#x}"),
            }),
        ))
    }
}
