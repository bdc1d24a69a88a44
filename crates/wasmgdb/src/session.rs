//! [`Session`]: a module's debug info and a core dump, loaded, with the stack symbolized and a
//! selected frame; the state every command reads.

use std::path::{Path, PathBuf};

use coredump::CoreDump;
use debuginfo::wasm_layout::CodeLocation;
use debuginfo::{BuildId, BuildIdEncoding, CoreDumpFrame, DebugInfo, FormatOptions, Module};

use crate::error::{CommandError, Error};
use crate::expr::Value;
use crate::source::{SourceFile, SourcePaths};

/// How to load a session.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Directories to look for `debug-<build_id>.wasm` in, after the module's own directory.
    pub debug_dirs: Vec<PathBuf>,
    /// Directories to look for source files in (gdb's `directory`).
    pub source_dirs: Vec<PathBuf>,
}

/// Which code offsets the frames are symbolized with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSource {
    /// The offsets the dump's frames record (valid for the module that ran).
    Dump,
    /// The pre-rewrite offsets the rewriter's runtime saved: the module given is the original.
    Original,
}

/// One frame as the debugger numbers them: a Wasm frame of the dump expands to one frame per
/// inlined function, innermost first (gdb's frame #0 is the youngest).
#[derive(Debug, Clone)]
pub struct StackFrame {
    /// Index of the Wasm frame in the dump's thread (0: youngest).
    pub dump_index: usize,
    /// The function index.
    pub func: u32,
    /// The code offset the frame was symbolized with (see [`OffsetSource`]).
    pub code_offset: u32,
    /// The symbolized function and location.
    pub symbol: debuginfo::Frame,
    /// Whether this is the innermost frame of its Wasm frame (where its pc is).
    pub innermost: bool,
}

/// A loaded module and core dump, and the debugger's state: the selected thread and frame, the
/// value history (`$1`, `$2`, ...), source directories.
///
/// Costly to build (it indexes the module's DWARF and symbolizes the stack), cheap to query.
/// Commands are run with [`Session::execute`].
#[derive(Debug)]
pub struct Session<'a> {
    pub(crate) dump: CoreDump<'a>,
    pub(crate) info: DebugInfo,
    pub(crate) module_path: PathBuf,
    pub(crate) thread: usize,
    pub(crate) frames: Vec<StackFrame>,
    pub(crate) selected: usize,
    pub(crate) history: Vec<Value>,
    pub(crate) notes: Vec<String>,
    /// Why the program crashed: the trap and the panic.
    pub(crate) crash: debuginfo::CrashReason,
    pub(crate) offsets: OffsetSource,
    pub(crate) sources: SourcePaths,
    /// The file and line `list` centers on first (set by `frame`, `up`, `down`).
    pub(crate) list_next: Option<(SourceFile, u32)>,
    /// The line after the last one `list` showed.
    pub(crate) list_cursor: Option<(SourceFile, u32)>,
    /// The first line `list` showed last (for `list -`).
    pub(crate) list_first: Option<(SourceFile, u32)>,
    pub(crate) examine_state: crate::memory::ExamineState,
    /// What an empty line runs (see [`crate::Command::repeated`]).
    pub(crate) last_command: Option<crate::Command>,
    pub(crate) format: FormatOptions,
    /// Whether a user is at a terminal (the REPL), not a script: gdb's `from_tty`.
    pub(crate) interactive: bool,
}

impl<'a> Session<'a> {
    /// Loads the module at `module` (its DWARF, or the debug file its build_id names) and the
    /// core dump `dump_bytes`. Checks that the two belong together and records what it found in
    /// [`Session::notes`].
    pub fn load(
        module: &Path,
        dump_bytes: &'a [u8],
        options: &LoadOptions,
    ) -> Result<Session<'a>, Error> {
        let dump = CoreDump::parse(dump_bytes).map_err(Error::Dump)?;
        if !module.exists() {
            return Err(Error::Missing(module.to_path_buf()));
        }
        let info = DebugInfo::load(module, &options.debug_dirs).map_err(|e| Error::Module {
            path: module.to_path_buf(),
            source: e,
        })?;
        Self::new(module, dump, info, options)
    }

    /// A session over an already parsed dump and debug info. `module_path` names the module in
    /// messages.
    pub fn new(
        module_path: &Path,
        dump: CoreDump<'a>,
        info: DebugInfo,
        options: &LoadOptions,
    ) -> Result<Session<'a>, Error> {
        let mut notes = Vec::new();
        let Some(code) = info.dwarf_module().and_then(Module::code_layout) else {
            return Err(Error::NoCode(module_path.to_path_buf()));
        };
        let _ = code;
        if dump.threads().is_empty() {
            return Err(Error::NoThreads);
        }
        let offsets = check_match(module_path, &dump, &info, &mut notes);
        if !info.has_dwarf() {
            notes.push(format!(
                "warning: no DWARF in {} and no debug file found: names only",
                module_path.display()
            ));
        }
        let has_locals = dump.threads()[0]
            .frames
            .iter()
            .any(|f| !f.locals.is_empty());
        if !has_locals && !dump.threads()[0].frames.is_empty() {
            notes.push(
                "note: the core dump records no locals (as Wasmtime writes them): \
                 values of parameters and locals are unavailable"
                    .into(),
            );
        }
        if dump.legacy_format() {
            notes.push(
                "note: the dump comes from the older wasm-coredump-rewriter (0.2): caller frames \
                 hold placeholder values and code offsets refer to that tool's rewritten module"
                    .into(),
            );
        }
        notes.extend(runtime_notes(&dump));
        let crash = info.crash_reason(&dump);
        let mut session = Session {
            crash,
            dump,
            info,
            module_path: module_path.to_path_buf(),
            thread: 0,
            frames: Vec::new(),
            selected: 0,
            history: Vec::new(),
            notes,
            offsets,
            sources: SourcePaths::new(options.source_dirs.clone()),
            list_next: None,
            list_cursor: None,
            list_first: None,
            examine_state: Default::default(),
            last_command: None,
            format: FormatOptions::default(),
            interactive: false,
        };
        session.select_thread(0);
        // Past the panic machinery: the frame where the panic happened, numbers unchanged.
        if let Some(level) = session.panic_frame() {
            session.selected = level;
        }
        Ok(session)
    }

    /// What loading found worth saying: build_id or module name mismatches, which code offsets
    /// are used, missing DWARF or locals. One line each.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// What gdb prints first for a core file, for a Wasm trap: `Program terminated with wasm
    /// trap: unreachable.` (`unknown` for a dump that records no trap, as Wasmtime's), then, for
    /// a Rust panic, `panicked at FILE:LINE:COLUMN: MESSAGE` and which frame is the panic's.
    /// One line each, without a final newline.
    pub fn termination(&self) -> String {
        let kind = self.crash.trap.map(|t| t.to_string());
        let mut text = format!(
            "Program terminated with wasm trap: {}.",
            kind.as_deref().unwrap_or("unknown")
        );
        if let Some(oom) = &self.crash.out_of_memory {
            text.push_str(&format!("\n{oom}"));
        }
        if let Some(assertion) = &self.crash.assertion {
            text.push_str(&format!("\n{assertion}"));
        }
        let Some(panic) = &self.crash.panic else {
            return text;
        };
        text.push_str(&format!("\n{panic}"));
        if let Some(level) = self.panic_frame() {
            text.push_str(&format!(
                "\n(frame {level} is where the panic happened: it is selected)"
            ));
        }
        text
    }

    /// The level of the frame where the panic happened: the first frame older than
    /// `core::panicking::panic_fmt` at the panic's file and line.
    pub(crate) fn panic_frame(&self) -> Option<usize> {
        let panic = self.crash.panic.as_ref()?;
        let location = panic.location.as_ref().ok()?;
        self.frames.iter().position(|f| {
            f.dump_index > panic.frame
                && f.symbol.location.as_ref().is_some_and(|l| {
                    l.shown_file() == Some(location.file.as_str()) && l.line == Some(location.line)
                })
        })
    }

    /// The frames of the selected thread, youngest first.
    pub fn frames(&self) -> &[StackFrame] {
        &self.frames
    }

    /// The core dump.
    pub fn dump(&self) -> &CoreDump<'a> {
        &self.dump
    }

    /// The debug info.
    pub fn debug_info(&self) -> &DebugInfo {
        &self.info
    }

    /// Which code offsets the frames are symbolized with.
    pub fn offset_source(&self) -> OffsetSource {
        self.offsets
    }

    /// The selected frame's level.
    pub fn selected_level(&self) -> usize {
        self.selected
    }

    /// Selects thread `index` (0-based) and its frame #0, symbolizing its stack.
    pub(crate) fn select_thread(&mut self, index: usize) {
        self.thread = index;
        let thread = &self.dump.threads()[index];
        let original = match self.offsets {
            OffsetSource::Original if index == 0 => self.dump.original_code_offsets(),
            _ => None,
        };
        let mut frames = Vec::new();
        for (i, f) in thread.frames.iter().enumerate() {
            let code_offset = original.as_ref().map_or(f.code_offset, |o| o[i]);
            let symbols = self
                .info
                .frames(f.func, code_offset)
                .unwrap_or_else(|_| vec![fallback_frame(&self.info, f.func)]);
            for (j, symbol) in symbols.into_iter().enumerate() {
                frames.push(StackFrame {
                    dump_index: i,
                    func: f.func,
                    code_offset,
                    symbol,
                    innermost: j == 0,
                });
            }
        }
        self.frames = frames;
        self.selected = 0;
        self.list_next = None;
        self.list_cursor = None;
        self.list_first = None;
    }

    /// The selected frame, or gdb's "No stack." when there is none.
    pub(crate) fn frame(&self) -> Result<&StackFrame, CommandError> {
        self.frames
            .get(self.selected)
            .ok_or_else(|| CommandError::new("No stack."))
    }

    /// The dump's record of a frame.
    pub(crate) fn dump_frame(&self, frame: &StackFrame) -> &coredump::Frame {
        &self.dump.threads()[self.thread].frames[frame.dump_index]
    }

    /// The state of a frame, for location expressions.
    pub(crate) fn state(&self, frame: &StackFrame) -> CoreDumpFrame<'_, 'a> {
        CoreDumpFrame::new(&self.dump, self.dump_frame(frame))
    }

    /// The pc of a frame as a module file offset (what browsers show as `wasm-function[N]:0x..`),
    /// or `None` when the code offset does not fit the module.
    pub(crate) fn pc(&self, func: u32, code_offset: u32) -> Option<u64> {
        let layout = self.info.code_layout()?;
        let address = layout.dwarf_address(func, code_offset).ok()?;
        Some(layout.file_offset(address))
    }

    /// The inverse of [`Session::pc`]: the function and code offset at module file offset `pc`,
    /// or `None` when no function body holds it.
    pub(crate) fn code_at(&self, pc: u64) -> Option<CodeLocation> {
        let layout = self.info.code_layout()?;
        layout.code_location(pc.checked_sub(layout.code_payload_start())?)
    }

    /// The Wasm module the code comes from (the module, or its debug file with the same Code).
    pub(crate) fn code_module(&self) -> Option<&Module> {
        self.info.dwarf_module()
    }

    /// The memory index of the selected thread's first instance memory.
    pub(crate) fn memory_index(&self) -> u32 {
        self.frames
            .get(self.selected)
            .and_then(|f| {
                let instance = self.dump_frame(f).instance;
                self.dump.instances().get(instance as usize)
            })
            .and_then(|i| i.memories.first().copied())
            .unwrap_or(0)
    }

    /// The module file name shown in messages.
    pub(crate) fn module_path(&self) -> &Path {
        &self.module_path
    }
}

fn fallback_frame(info: &DebugInfo, func: u32) -> debuginfo::Frame {
    debuginfo::Frame {
        function: info.function_name(func),
        location: None,
        inlined: false,
        scope: None,
    }
}

/// Checks that the dump was made by this module (build_id, module name) and decides which code
/// offsets to use.
fn check_match(
    path: &Path,
    dump: &CoreDump<'_>,
    info: &DebugInfo,
    notes: &mut Vec<String>,
) -> OffsetSource {
    let module = info.dwarf_module();
    let module_id = module.and_then(Module::build_id_and_encoding);
    let dump_id = dump
        .custom_section(debuginfo::BUILD_ID_SECTION)
        .and_then(BuildId::from_payload);
    for (id, whose) in [(&dump_id, "the dump"), (&module_id, &*file_name(path))] {
        if let Some((id, BuildIdEncoding::Raw)) = id {
            notes.push(format!(
                "note: {whose}'s build_id section has no length prefix (an older wasm-coredump \
                 wrote it): read as the raw id {id}"
            ));
        }
    }
    let module_id = module_id.map(|(id, _)| id);
    let dump_id = dump_id.map(|(id, _)| id);
    let original = dump.original_code_offsets().is_some();
    let show = |id: &Option<BuildId>| id.as_ref().map_or("none".into(), |i| i.to_string());
    let mut offsets = OffsetSource::Dump;
    if let Some(dump_id) = &dump_id
        && Some(dump_id) != module_id.as_ref()
    {
        if original {
            offsets = OffsetSource::Original;
            notes.push(format!(
                "note: the dump comes from a rewritten module (build_id {dump_id}), {} has build_id {}: using the dump's original (pre-rewrite) code offsets",
                file_name(path),
                show(&module_id)
            ));
        } else {
            notes.push(format!(
                "warning: the dump's build_id {dump_id} does not match {}'s ({}): the backtrace may be wrong",
                file_name(path),
                show(&module_id)
            ));
        }
    }
    // Equal build ids say the module is the right one, whatever its file is called.
    if dump_id.is_some() && dump_id == module_id {
        return offsets;
    }
    let names: Vec<String> = module
        .and_then(Module::module_name)
        .into_iter()
        .chain(Some(file_name(path)))
        .collect();
    let dumped = dump
        .modules()
        .first()
        .cloned()
        .unwrap_or_else(|| dump.process_name().to_string());
    let dumped = &dumped;
    if !dumped.is_empty() {
        let dumped_file = dumped.rsplit(['/', '\\']).next().unwrap_or(dumped);
        if !names.iter().any(|n| n == dumped || n == dumped_file) {
            notes.push(format!(
                "warning: the dump is of module \"{dumped}\", not of \"{}\"",
                names.join("\" or \"")
            ));
        }
    }
    offsets
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// What the rewriter's runtime says about how it wrote the dump, when that matters to a reader:
/// frames it had no room for, memory it wrote the dump over.
fn runtime_notes(dump: &CoreDump<'_>) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(missing) = dump.unavailable_memory() {
        notes.push(format!(
            "note: memory was full at the trap, so the dump was written over the dead stack below \
             the stack pointer: memory {:#x}..{:#x} is not in the dump",
            missing.start, missing.end
        ));
    }
    if dump.runtime_info().is_some_and(|r| r.frames_dropped()) {
        notes.push(
            "note: there was no room to record every frame: the oldest ones are missing".into(),
        );
    }
    notes
}
