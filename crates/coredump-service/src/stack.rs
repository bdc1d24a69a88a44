//! A dump's symbolized stack and crash reason: what the service logs, answers, groups by and
//! sends to Sentry.

use std::fmt::Write as _;

use coredump::CoreDump;
use debuginfo::DebugInfo;
use serde::{Deserialize, Serialize};

use crate::key::Fingerprint;

/// The symbolized stack of a dump's crashed thread, with why it crashed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    /// The crash reason.
    pub crash: Crash,
    /// The frames, youngest first; inlined functions are frames of their own, before the
    /// function they were inlined into.
    pub frames: Vec<StackFrame>,
    /// What was missing to symbolize fully (no debug file, sections that did not come, ...).
    pub notes: Vec<String>,
    /// The group: the crash's kind and the in-app functions, not addresses or lines.
    pub fingerprint: Fingerprint,
}

/// Why the program crashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crash {
    /// `panic`, `out_of_memory`, `assertion` or `trap`.
    pub kind: String,
    /// The trap (`unreachable`, `integer divide by zero`, ...), when the dump records one.
    pub trap: Option<String>,
    /// The crash in one line: `panicked at src/main.rs:42:64: called ...`, `wasm trap: ...`.
    pub title: String,
}

/// One symbolized frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackFrame {
    /// The Wasm function index.
    pub func: u32,
    /// The code offset in the function's body, as the dump records it.
    pub code_offset: u32,
    /// The frame's offset in the module file (what wasmgdb and V8 print), when the code layout
    /// is known.
    pub instruction_addr: Option<u64>,
    /// The function's demangled name: from the DWARF, else the module's `name` section, export
    /// or import (`func[N]` when nothing names it). It is the symbol's name
    /// ([`debuginfo::FunctionName::symbol_name`]: `app::main::{{closure}}`, no generic
    /// arguments), not gdb's: what Sentry's own symbolication of the uploaded debug file gives
    /// the same frame, and what fingerprints were computed from.
    pub function: String,
    /// The source file as the DWARF records it (what gdb shows).
    pub file: Option<String>,
    /// The source file's full path.
    pub abs_path: Option<String>,
    /// The 1-based line.
    pub line: Option<u32>,
    /// The 1-based column.
    pub column: Option<u32>,
    /// Whether this function was inlined into the next frame.
    pub inlined: bool,
    /// Whether the code is the program's own, not the standard library's, a dependency's from
    /// the cargo registry, or wasi-libc's.
    pub in_app: bool,
}

impl Stack {
    /// Symbolizes `dump`'s first thread with `info` (which may have no DWARF: then names come
    /// from the module's `name` section, exports and imports, or are `func[N]`). `notes` say
    /// what was missing.
    pub fn new(dump: &CoreDump<'_>, info: &DebugInfo, mut notes: Vec<String>) -> Stack {
        let reason = info.crash_reason(dump);
        let crash = Crash {
            kind: reason.kind().into(),
            trap: reason.trap.map(|t| t.to_string()),
            title: reason.headline(),
        };
        let mut frames = Vec::new();
        let thread = dump.threads().first();
        for f in thread.map_or(&[][..], |t| &t.frames) {
            let mut symbols = info.frames(f.func, f.code_offset).unwrap_or_else(|_| {
                vec![debuginfo::Frame {
                    function: info.function_name(f.func),
                    location: None,
                    inlined: false,
                    scope: None,
                }]
            });
            // Without the Code section, the DWARF still says where each function is declared.
            if info.code_layout().is_none() && info.has_dwarf() {
                for symbol in &mut symbols {
                    symbol.location = info.declaration(f.func).ok().flatten();
                }
            }
            let instruction_addr = info.code_layout().and_then(|layout| {
                let address = layout.dwarf_address(f.func, f.code_offset).ok()?;
                Some(layout.file_offset(address))
            });
            for symbol in symbols {
                let location = symbol.location.unwrap_or_default();
                let in_app = location.file.as_deref().is_some_and(is_app_path);
                frames.push(StackFrame {
                    func: f.func,
                    code_offset: f.code_offset,
                    instruction_addr,
                    function: symbol.function.symbol_name().to_string(),
                    file: location.shown_file().map(str::to_string),
                    abs_path: location.file,
                    line: location.line,
                    column: location.column,
                    inlined: symbol.inlined,
                    in_app,
                });
            }
        }
        if thread.is_none() {
            notes.push("the dump records no thread: no frames".into());
        }
        let fingerprint = fingerprint(&crash, &frames);
        Stack {
            crash,
            frames,
            notes,
            fingerprint,
        }
    }

    /// The top in-app frame, else the top frame.
    pub fn top_frame(&self) -> Option<&StackFrame> {
        self.frames
            .iter()
            .find(|f| f.in_app)
            .or(self.frames.first())
    }

    /// The log text, as the older service printed it: `Error: Wasm trapped.`, the crash
    /// reason, then `    at <function> (<file>:<line>)` per frame, youngest first, then the
    /// notes.
    pub fn log_text(&self) -> String {
        let mut text = String::from("Error: Wasm trapped.\n");
        let _ = writeln!(text, "    {}", self.crash.title);
        for f in &self.frames {
            let _ = write!(text, "    at {}", f.function);
            match (&f.file, f.line) {
                (Some(file), Some(line)) => {
                    let _ = write!(text, " ({file}:{line})");
                }
                (Some(file), None) => {
                    let _ = write!(text, " ({file})");
                }
                _ => {
                    let _ = write!(text, " (wasm-function[{}]:{:#x})", f.func, f.code_offset);
                }
            }
            text.push('\n');
        }
        for note in &self.notes {
            let _ = writeln!(text, "    note: {note}");
        }
        text
    }
}

/// Whether a source path is the program's own: not the Rust standard library (`/rustc/...`,
/// `library/...`), not a crates.io dependency (`.../cargo/registry/...`), not wasi-libc.
pub fn is_app_path(path: &str) -> bool {
    !(path.starts_with("/rustc/")
        || path.starts_with("library/")
        || path.contains("/rustlib/src/rust/library/")
        || path.contains("cargo/registry/")
        || path.contains("cargo/git/checkouts/")
        || path.contains("wasi-libc"))
}

/// The group of a crash: its kind, its trap, and its in-app function names (all function names
/// when no frame has a source file), youngest first.
fn fingerprint(crash: &Crash, frames: &[StackFrame]) -> Fingerprint {
    let any_app = frames.iter().any(|f| f.in_app);
    let functions = frames
        .iter()
        .filter(|f| f.in_app || !any_app)
        .map(|f| f.function.as_str());
    let head = [crash.kind.as_str(), crash.trap.as_deref().unwrap_or("")];
    Fingerprint::of(head.into_iter().chain(functions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_paths_are_told_from_library_ones() {
        assert!(is_app_path("/work/app/src/main.rs"));
        assert!(is_app_path("mything/src/main.rs"));
        assert!(!is_app_path(
            "/rustc/01f6ddf7588f42ae2d7eb0a2f21d44e8e96674cf/library/core/src/panicking.rs"
        ));
        assert!(!is_app_path("library/std/src/rt.rs"));
        assert!(!is_app_path(
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/regex-1.11.1/src/lib.rs"
        ));
        assert!(!is_app_path(
            "/build/wasi-libc-0.0~git20230113.4362b18/libc-top-half/musl/src/exit/assert.c"
        ));
    }
}
