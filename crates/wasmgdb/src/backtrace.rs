//! Frames: `backtrace`, `frame`, `up`, `down`, `info frame`, `info threads`, `thread`, and the
//! frame line they share (`#1  0x000003a1 in process_thing (thing=0xfff9c) at src/main.rs:11`).

use std::fmt::Write as _;

use debuginfo::{Error as DwarfError, VariableKind};
use serde_json::{Value as Json, json};

use crate::command::FrameSpec;
use crate::error::{CommandError, excerpt};
use crate::exec::Reply;
use crate::expr::Ty;
use crate::expr::eval::Shape;
use crate::session::{Session, StackFrame};
use crate::source::SourceFile;

type Result<T> = std::result::Result<T, CommandError>;

/// A variable of a frame, formatted.
pub(crate) struct ShownVariable {
    pub(crate) name: String,
    pub(crate) kind: VariableKind,
    pub(crate) ty: Option<String>,
    pub(crate) value: String,
}

impl ShownVariable {
    pub(crate) fn json(&self) -> Json {
        json!({
            "name": self.name,
            "kind": match self.kind { VariableKind::Parameter => "parameter", _ => "local" },
            "type": self.ty,
            "value": self.value,
        })
    }
}

impl Session<'_> {
    /// The variables of frame `level`, formatted; with `scalars_only`, aggregates show as their
    /// pretty printer's summary (`Vec(size=5) = {...}`) or `...` (gdb's `print frame-arguments
    /// scalars`).
    pub(crate) fn shown_variables(
        &self,
        level: usize,
        scalars_only: bool,
    ) -> Result<Vec<ShownVariable>> {
        let frame = &self.frames[level];
        let Some(scope) = frame.symbol.scope else {
            return Ok(Vec::new());
        };
        let state = self.state(frame);
        let mut out = Vec::new();
        for var in self.info.variables(&scope)? {
            let Some(name) = var.name.clone() else {
                continue;
            };
            let ty = var.ty.map(|t| self.info.type_name(Some(t))).transpose()?;
            let aggregate = var.ty.is_some_and(|t| {
                matches!(
                    self.shape(&Ty::Dwarf(t)),
                    Ok(Shape::Aggregate | Shape::Array { .. })
                )
            });
            let value = match self.info.read_variable(&var, &state) {
                Err(DwarfError::Unavailable(_)) => "<unavailable>".into(),
                Err(DwarfError::OptimizedOut) => "<optimized out>".into(),
                Err(DwarfError::Memory { address, .. }) => {
                    format!("<error: Cannot access memory at address {address:#x}>")
                }
                Err(e) => format!("<error: {e}>"),
                Ok((bytes, described)) => match var.ty {
                    Some(t) if scalars_only && aggregate => self
                        .info
                        .format_summary(t, &bytes, &state, self.format)
                        .unwrap_or_else(|e| format!("<error: {e}>")),
                    Some(t) => {
                        let v = crate::expr::Value {
                            ty: Ty::Dwarf(t),
                            bytes,
                            address: None,
                            optimized_out: false,
                            described,
                        };
                        self.format(&v, None)
                            .unwrap_or_else(|e| format!("<error: {e}>"))
                    }
                    None => "<no type>".into(),
                },
            };
            out.push(ShownVariable {
                name,
                kind: var.kind,
                ty,
                value,
            });
        }
        Ok(out)
    }

    /// `#1  0x000003a1 in process_thing (thing=0xfff9c) at src/main.rs:11`: as gdb prints it,
    /// the level padded to two columns and then a space, so `#100 0x...` keeps one too.
    pub(crate) fn frame_line(&self, level: usize) -> String {
        let frame = &self.frames[level];
        let mut line = format!("#{level:<2} ");
        if frame.innermost
            && let Some(pc) = self.pc(frame.func, frame.code_offset)
        {
            write!(line, "0x{pc:08x} in ").ok();
        }
        line.push_str(&frame.symbol.function.name);
        let args: Vec<String> = self
            .shown_variables(level, true)
            .unwrap_or_default()
            .into_iter()
            .filter(|v| v.kind == VariableKind::Parameter)
            .map(|v| format!("{}={}", v.name, v.value))
            .collect();
        write!(line, " ({})", args.join(", ")).ok();
        if let Some(location) = &frame.symbol.location {
            let file = location.shown_file().unwrap_or("??");
            write!(line, " at {file}").ok();
            if let Some(l) = location.line {
                write!(line, ":{l}").ok();
            }
        }
        line
    }

    pub(crate) fn frame_json(&self, level: usize) -> Json {
        let frame = &self.frames[level];
        let location = frame.symbol.location.clone().unwrap_or_default();
        let args: Vec<Json> = self
            .shown_variables(level, false)
            .unwrap_or_default()
            .iter()
            .filter(|v| v.kind == VariableKind::Parameter)
            .map(ShownVariable::json)
            .collect();
        json!({
            "level": level,
            "function": frame.symbol.function.name,
            "func": frame.func,
            "code_offset": frame.code_offset,
            "pc": self.pc(frame.func, frame.code_offset).map(|pc| format!("{pc:#x}")),
            "inlined": frame.symbol.inlined,
            "file": location.shown_file(),
            "fullname": location.file,
            "line": location.line,
            "column": location.column,
            "args": args,
        })
    }

    pub(crate) fn backtrace(&self, count: Option<i64>, full: bool) -> Result<Reply> {
        let n = self.frames.len();
        let (start, end) = match count {
            None => (0, n),
            Some(c) if c >= 0 => (0, (c as usize).min(n)),
            Some(c) => (n.saturating_sub(c.unsigned_abs() as usize), n),
        };
        if n == 0 {
            return Err(CommandError::new("No stack."));
        }
        let mut text = String::new();
        let mut frames = Vec::new();
        for level in start..end {
            writeln!(text, "{}", self.frame_line(level)).ok();
            let mut frame = self.frame_json(level);
            if full {
                let locals = self.shown_variables(level, false)?;
                let locals: Vec<_> = locals
                    .iter()
                    .filter(|v| v.kind == VariableKind::Local)
                    .collect();
                if locals.is_empty() {
                    text.push_str("No locals.\n");
                }
                for v in &locals {
                    writeln!(text, "        {} = {}", v.name, v.value).ok();
                }
                frame["locals"] = locals.iter().map(|v| v.json()).collect();
            }
            frames.push(frame);
        }
        // gdb says so only to a terminal user, not in batch mode.
        if end < n && start == 0 && self.interactive {
            text.push_str("(More stack frames follow...)\n");
        }
        Ok(Reply::new(text, json!({ "frames": frames })))
    }

    /// The frame line and the source line, as `frame`, `up` and `down` print them.
    pub(crate) fn describe_selected(&mut self) -> Result<Reply> {
        let level = self.selected;
        let mut text = self.frame_line(level);
        text.push('\n');
        let frame = &self.frames[level];
        if let Some(location) = &frame.symbol.location
            && let (Some(file), Some(line)) = (SourceFile::of(location), location.line)
        {
            text.push_str(&self.source_line(&file, line));
            self.list_next = Some((file, line));
        }
        Ok(Reply::new(text, json!({ "frame": self.frame_json(level) })))
    }

    pub(crate) fn select_frame(&mut self, spec: Option<&FrameSpec>) -> Result<Reply> {
        if let Some(spec) = spec {
            self.selected = self.frame_level(spec)?;
        }
        self.describe_selected()
    }

    /// The level of the frame `spec` names, with gdb's errors for none.
    pub(crate) fn frame_level(&self, spec: &FrameSpec) -> Result<usize> {
        match spec {
            FrameSpec::Level(level) => usize::try_from(*level)
                .ok()
                .filter(|&l| l < self.frames.len())
                .ok_or_else(|| CommandError::new(format!("No frame at level {level}."))),
            FrameSpec::Function(name) => self
                .frames
                .iter()
                .position(|f| names_function(&f.symbol.function.name, name))
                .ok_or_else(|| {
                    CommandError::new(format!("No frame for function \"{}\".", excerpt(name)))
                }),
        }
    }

    pub(crate) fn up(&mut self, n: usize) -> Result<Reply> {
        if self.selected + 1 >= self.frames.len() {
            return Err(CommandError::new(
                "Initial frame selected; you cannot go up.",
            ));
        }
        self.selected = (self.selected + n).min(self.frames.len() - 1);
        self.describe_selected()
    }

    pub(crate) fn down(&mut self, n: usize) -> Result<Reply> {
        if self.selected == 0 {
            return Err(CommandError::new(
                "Bottom (innermost) frame selected; you cannot go down.",
            ));
        }
        self.selected = self.selected.saturating_sub(n);
        self.describe_selected()
    }

    /// `info frame [SPEC]`: the frame `spec` names (the selected one without), not selected.
    pub(crate) fn info_frame(&self, spec: Option<&FrameSpec>) -> Result<Reply> {
        self.frame()?;
        let level = match spec {
            Some(spec) => self.frame_level(spec)?,
            None => self.selected,
        };
        let frame: &StackFrame = &self.frames[level];
        let dump_frame = self.dump_frame(frame);
        let mut t = String::new();
        let pc = self.pc(frame.func, frame.code_offset);
        let pc_text = pc.map_or("??".into(), |pc| format!("0x{pc:08x}"));
        writeln!(
            t,
            "Stack level {level}, wasm frame {} of thread {}:",
            frame.dump_index,
            self.thread + 1
        )
        .ok();
        write!(t, " pc = {pc_text} in {}", frame.symbol.function.name).ok();
        if let Some(l) = &frame.symbol.location {
            write!(t, " ({l})").ok();
        }
        t.push('\n');
        writeln!(
            t,
            " function {} ({}), code offset {:#x}{}",
            frame.func,
            format_args!("func[{}]", frame.func),
            frame.code_offset,
            match self.offsets {
                crate::session::OffsetSource::Original => format!(
                    " (pre-rewrite; {:#x} in the module that ran)",
                    dump_frame.code_offset
                ),
                crate::session::OffsetSource::Dump => String::new(),
            }
        )
        .ok();
        if frame.symbol.inlined {
            writeln!(t, " inlined into frame {}", level + 1).ok();
        }
        let caller = (level + 1 < self.frames.len())
            .then(|| format!("called by frame at level {}", level + 1));
        let callee = (level > 0).then(|| format!("caller of frame at level {}", level - 1));
        let links: Vec<String> = caller.into_iter().chain(callee).collect();
        if !links.is_empty() {
            writeln!(t, " {}", links.join(", ")).ok();
        }
        if let Some(scope) = frame.symbol.scope {
            let state = self.state(frame);
            if let Ok(base) = self.info.frame_base(&scope, &state) {
                writeln!(t, " frame base at {base:#x}").ok();
            }
        }
        let language = match frame
            .symbol
            .location
            .as_ref()
            .and_then(|l| l.file.as_deref())
        {
            Some(f) if f.ends_with(".rs") => "rust",
            Some(f) if f.ends_with(".c") || f.ends_with(".h") => "c",
            Some(f) if f.ends_with(".cc") || f.ends_with(".cpp") => "c++",
            _ => "unknown",
        };
        writeln!(t, " source language {language}.").ok();
        let locals: Vec<String> = dump_frame
            .locals
            .iter()
            .enumerate()
            .map(|(i, v)| format!("[{i}] {}", wasm_value(v)))
            .collect();
        if locals.is_empty() {
            t.push_str(" Wasm locals: not recorded in the dump\n");
        } else {
            writeln!(t, " Wasm locals: {}", locals.join(", ")).ok();
        }
        Ok(Reply::new(
            t,
            json!({ "frame": self.frame_json(level), "wasm_locals": locals }),
        ))
    }

    pub(crate) fn info_threads(&self) -> Reply {
        let mut t = String::from("  Id   Target Id         Frame \n");
        for (i, thread) in self.dump.threads().iter().enumerate() {
            let marker = if i == self.thread { '*' } else { ' ' };
            let current = (i == self.thread).then(|| self.frames.first()).flatten();
            let top = match thread.frames.first() {
                _ if current.is_some() => current.map_or(String::new(), |f| f.symbol.to_string()),
                Some(f) => self
                    .info
                    .frames(f.func, f.code_offset)
                    .ok()
                    .and_then(|fr| fr.into_iter().next())
                    .map_or_else(|| format!("func[{}]", f.func), |fr| fr.to_string()),
                None => "(no frames)".into(),
            };
            let name = if thread.name.is_empty() {
                "thread".into()
            } else {
                thread.name.clone()
            };
            writeln!(
                t,
                "{marker} {:<4} {:<17} {top}",
                i + 1,
                format!("\"{name}\"")
            )
            .ok();
        }
        Reply::text(t)
    }

    pub(crate) fn thread(&mut self, n: Option<usize>) -> Result<Reply> {
        let Some(n) = n else {
            let name = &self.dump.threads()[self.thread].name;
            return Ok(Reply::text(format!(
                "[Current thread is {} (\"{name}\")]\n",
                self.thread + 1
            )));
        };
        if n == 0 || n > self.dump.threads().len() {
            return Err(CommandError::new(format!("Invalid thread ID: {n}")));
        }
        self.select_thread(n - 1);
        let name = self.dump.threads()[n - 1].name.clone();
        let mut reply = self.describe_selected()?;
        reply.text = format!("[Switching to thread {n} (\"{name}\")]\n{}", reply.text);
        Ok(reply)
    }
}

/// A Wasm value as `info frame` lists it.
pub(crate) fn wasm_value(v: &coredump::Value) -> String {
    match *v {
        coredump::Value::Missing => "<missing>".into(),
        coredump::Value::I32(x) => format!("i32 {x}"),
        coredump::Value::I64(x) => format!("i64 {x}"),
        coredump::Value::F32(b) => format!("f32 {}", f32::from_bits(b)),
        coredump::Value::F64(b) => format!("f64 {}", f64::from_bits(b)),
    }
}

/// Whether `name`, as a user types it, names the function called `full`: all of it or its last
/// path segments (`calculate`, `mything::calculate`), with or without the generic arguments gdb
/// shows after it (`typezoo::generic_sum` for `typezoo::generic_sum<f32, ...>`).
pub(crate) fn names_function(full: &str, name: &str) -> bool {
    let matches = |candidate: &str| {
        candidate == name
            || (candidate.len() > name.len()
                && candidate.ends_with(name)
                && candidate[..candidate.len() - name.len()].ends_with("::"))
    };
    matches(full) || without_generic_arguments(full).is_some_and(matches)
}

/// `full` without the `<...>` that ends it, if it ends with one.
fn without_generic_arguments(full: &str) -> Option<&str> {
    let mut depth = 0usize;
    for (at, c) in full.char_indices().rev() {
        match c {
            '>' => depth += 1,
            '<' if depth == 1 => return Some(&full[..at]),
            '<' => depth = depth.checked_sub(1)?,
            _ if depth == 0 => return None,
            _ => {}
        }
    }
    None
}
