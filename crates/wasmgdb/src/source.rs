//! Source files: finding them (`directory`, `set substitute-path`), `list`, `info source`,
//! `info line`, and the source line `frame` prints.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::CommandError;
use crate::exec::Reply;
use crate::session::Session;

type Result<T> = std::result::Result<T, CommandError>;

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

/// The lines of a source file.
fn read_lines(path: &Path) -> Option<Vec<String>> {
    let text = std::fs::read(path).ok()?;
    Some(
        String::from_utf8_lossy(&text)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

impl Session<'_> {
    /// `11\t    let result = ...` or gdb's `11\tin FILE` when the file is not found.
    pub(crate) fn source_line(&self, file: &str, line: u32) -> String {
        match self.sources.find(file).and_then(|p| read_lines(&p)) {
            Some(lines) => match lines.get(line as usize - 1) {
                Some(text) => format!("{line}\t{text}\n"),
                None => format!(
                    "Line number {line} out of range; \"{file}\" has {} lines.\n",
                    lines.len()
                ),
            },
            None => format!("{line}\t{file}: No such file or directory.\n"),
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
            Some(arg) => {
                let (file, line) = self.list_target(arg)?;
                (file, line.saturating_sub(5).max(1))
            }
        };
        let path = self
            .sources
            .find(&file)
            .ok_or_else(|| CommandError::new(format!("{file}: No such file or directory.")))?;
        let lines = read_lines(&path).unwrap_or_default();
        if first as usize > lines.len() {
            return Err(CommandError::new(format!(
                "Line number {first} out of range; \"{file}\" has {} lines.",
                lines.len()
            )));
        }
        let last = (first as usize + 9).min(lines.len());
        let mut text = String::new();
        let mut shown = Vec::new();
        for n in first as usize..=last {
            writeln!(text, "{n}\t{}", lines[n - 1]).ok();
            shown.push(json!({ "line": n, "text": lines[n - 1] }));
        }
        self.list_first = Some((file.clone(), first));
        self.list_cursor = Some((file.clone(), last as u32 + 1));
        Ok(Reply::new(text, json!({ "file": file, "lines": shown })))
    }

    /// The file and line `list ARG` centers on.
    fn list_target(&self, arg: &str) -> Result<(String, u32)> {
        let current = self.list_next.as_ref().map(|(f, _)| f.clone());
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
                .filter_map(|f| f.symbol.location.as_ref()?.file.clone())
                .find(|f| f.ends_with(file));
            return Ok((known.unwrap_or_else(|| file.to_string()), n));
        }
        // A function on the stack.
        let frame = self
            .frames
            .iter()
            .find(|f| {
                let name = &f.symbol.function.name;
                name == arg || name.ends_with(&format!("::{arg}"))
            })
            .ok_or_else(|| CommandError::new(format!("Function \"{arg}\" not defined.")))?;
        let location = frame.symbol.location.clone().unwrap_or_default();
        match (location.file, location.line) {
            (Some(f), Some(l)) => Ok((f, l)),
            _ => Err(CommandError::new(format!(
                "No line number known for {arg}."
            ))),
        }
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
        let Some(file) = frame.symbol.location.as_ref().and_then(|l| l.file.clone()) else {
            return Ok(Reply::text("No current source file.\n"));
        };
        let mut text = format!("Current source file is {file}\n");
        let found = self.sources.find(&file);
        if let Some(path) = &found {
            writeln!(text, "Located in {}", path.display()).ok();
            if let Some(lines) = read_lines(path) {
                writeln!(text, "Contains {} lines.", lines.len()).ok();
            }
        } else {
            text.push_str("The file is not found (see `directory` and `set substitute-path`).\n");
        }
        let language = if file.ends_with(".rs") {
            "rust"
        } else if file.ends_with(".c") {
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
            json!({ "file": file, "found": found.map(|p| p.display().to_string()), "language": language }),
        ))
    }

    /// `info line`: the selected frame's line and its address.
    pub(crate) fn info_line(&self) -> Result<Reply> {
        let frame = self.frame()?;
        let pc = self.pc(frame.func, frame.code_offset);
        let name = &frame.symbol.function.name;
        let location = frame.symbol.location.clone().unwrap_or_default();
        let text = match (&location.file, location.line, pc) {
            (Some(file), Some(line), Some(pc)) => format!(
                "Line {line} of \"{file}\" is at address 0x{pc:08x} <{name}+{}>.\n",
                frame.code_offset
            ),
            (_, _, Some(pc)) => format!(
                "No line number information available for address 0x{pc:08x} <{name}+{}>\n",
                frame.code_offset
            ),
            _ => "No line number information available.\n".into(),
        };
        Ok(Reply::new(
            text,
            json!({ "file": location.file, "line": location.line, "pc": pc.map(|p| format!("{p:#x}")) }),
        ))
    }
}
