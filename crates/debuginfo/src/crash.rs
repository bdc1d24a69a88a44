//! Why the program crashed: the trap a dump records and, for a Rust panic, its message and
//! location, recovered from the dump's memory and the panicking frames' recorded values.
//!
//! A Rust panic goes through `core::panicking::panic_fmt(fmt: fmt::Arguments, location:
//! &Location)` (`#[track_caller]`), whose three Wasm params are the two words of the
//! `Arguments` and the location. Rust's std (1.95) carries no variable DWARF for these frames
//! and often no type DWARF for `Location`, so the layouts used are std's own, as its sources
//! document them (`core/src/fmt/mod.rs`, `core/src/fmt/rt.rs`, `core/src/panic/location.rs`):
//! - `Arguments { template: *const u8, args }`: when `args & 1`, the message is the static
//!   string at `template` of `args >> 1` bytes; else `template` is a byte program of literal
//!   pieces (a length byte, or `0x80` and a u16 length, then UTF-8) and placeholders (a byte
//!   `0b11xxxxxx` and its optional fields), ended by a 0 byte, and `args` points at the
//!   placeholders' `rt::Argument`s: `{ value: *const (), formatter: fn }`, 8 bytes each.
//! - `Location { file: &str, line: u32, col: u32 }`: 16 bytes.
//!
//! A failed C `assert` calls wasi-libc's `__assert_fail(expr, file, line, function)`: its
//! params give the expression, file, line and function.
//!
//! A failed allocation goes through the allocator shim's `__rust_alloc_error_handler(size,
//! align)`: its first param is the size std reports.
//!
//! An argument is formatted when its formatter (a function table index) is std's `Display` or
//! `Debug` of an integer, float, `bool`, `char`, `&str` or `String` (behind any number of
//! references; a `String`'s layout comes from its DWARF type), or a `&dyn Debug` of one, as its
//! name (`<u64 as core::fmt::Display>::fmt`) says, or for a generic impl (`<&T as
//! core::fmt::Display>::fmt`) its DWARF `self` type; any other shows as `{..}` and makes the
//! message partial. Nothing here trusts the dump: every read is bounded and a failure gives
//! "message unavailable" with the reason.

use coredump::{CoreDump, TrapKind, Value};

use wasm_layout::section_id;

use crate::DebugInfo;

mod argument;

/// The function every Rust panic with a message goes through.
const PANIC_FMT: &str = "core::panicking::panic_fmt";

/// wasi-libc's (musl's) `__assert_fail(expr, file, line, function)`, which a failed C `assert`
/// calls.
const ASSERT_FAIL: &str = "__assert_fail";

/// The allocator shim's `__rust_alloc_error_handler(size: usize, align: usize) -> !`, which a
/// failed allocation calls (its name in the `name` section ends so).
const ALLOC_ERROR_HANDLER: &str = "__rust_alloc_error_handler";

/// The longest message template, static message or file name read, in bytes.
const MAX_TEXT: u64 = 1 << 16;

/// The most placeholders a message may have.
const MAX_ARGUMENTS: usize = 256;

/// Why the program crashed: see [`DebugInfo::crash_reason`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrashReason {
    /// The trap, if the dump records it (`None`: unknown, as in Wasmtime's dumps).
    pub trap: Option<TrapKind>,
    /// The Rust panic that led to the trap, if there was one.
    pub panic: Option<Panic>,
    /// A failed Rust allocation that led to the trap, if there was one.
    pub out_of_memory: Option<OutOfMemory>,
    /// A failed C `assert` that led to the trap, if there was one.
    pub assertion: Option<Assertion>,
}

/// A failed C `assert` (wasi-libc's `__assert_fail`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Assertion {
    /// The index in the dump's frames of `__assert_fail`.
    pub frame: usize,
    /// The asserted expression, as the source spells it, or why it could not be read.
    pub expression: Result<String, String>,
    /// The source file, or why it could not be read.
    pub file: Result<String, String>,
    /// The line.
    pub line: u32,
    /// The function, or why it could not be read.
    pub function: Result<String, String>,
}

impl std::fmt::Display for Assertion {
    /// wasi-libc's own words: `Assertion failed: EXPR (FILE: FUNCTION: LINE)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = |r: &Result<String, String>| match r {
            Ok(s) => s.clone(),
            Err(why) => format!("<unavailable: {why}>"),
        };
        write!(
            f,
            "Assertion failed: {} ({}: {}: {})",
            text(&self.expression),
            text(&self.file),
            text(&self.function),
            self.line
        )
    }
}

/// A Rust allocation that failed: std prints `memory allocation of N bytes failed` and aborts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutOfMemory {
    /// The index in the dump's frames of `__rust_alloc_error_handler`.
    pub frame: usize,
    /// The size of the allocation that failed, in bytes.
    pub size: u32,
}

impl std::fmt::Display for OutOfMemory {
    /// std's own words (`default_alloc_error_hook`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "memory allocation of {} bytes failed", self.size)
    }
}

/// A Rust panic: where it happened and what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Panic {
    /// The index in the dump's frames (youngest first) of `core::panicking::panic_fmt`.
    pub frame: usize,
    /// The message, or why it could not be read.
    pub message: Result<PanicMessage, String>,
    /// The `file:line:column` of the panic (`Location::caller()`), or why it could not be read.
    pub location: Result<PanicLocation, String>,
}

/// A panic's message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PanicMessage {
    /// The text as std formats it; an argument that could not be formatted shows as `{..}`.
    pub text: String,
    /// Whether every argument was formatted.
    pub complete: bool,
}

/// Where a panic happened, as Rust's `Location` says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PanicLocation {
    /// The source file, as rustc records it (`src/main.rs`).
    pub file: String,
    /// The line, from 1.
    pub line: u32,
    /// The column, from 1.
    pub column: u32,
}

impl std::fmt::Display for PanicLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl std::fmt::Display for Panic {
    /// What std prints: `panicked at FILE:LINE:COLUMN: MESSAGE`, saying what could not be read.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Ok(location) => write!(f, "panicked at {location}: ")?,
            Err(_) => f.write_str("panicked: ")?,
        }
        match &self.message {
            Ok(m) if m.complete => f.write_str(&m.text),
            Ok(m) => write!(
                f,
                "{} (partial: some arguments could not be formatted)",
                m.text
            ),
            Err(why) => write!(f, "message unavailable ({why})"),
        }
    }
}

impl CrashReason {
    /// The crash in one line, most specific first: the panic, the failed allocation or the
    /// failed assertion in the program's own words, else `wasm trap: KIND` (`unknown` when the
    /// dump records no trap).
    pub fn headline(&self) -> String {
        if let Some(panic) = &self.panic {
            return panic.to_string();
        }
        if let Some(oom) = &self.out_of_memory {
            return oom.to_string();
        }
        if let Some(assertion) = &self.assertion {
            return assertion.to_string();
        }
        match self.trap {
            Some(kind) => format!("wasm trap: {kind}"),
            None => "wasm trap: unknown".into(),
        }
    }

    /// What kind of crash, in a word: `panic`, `out_of_memory`, `assertion` or `trap`.
    pub fn kind(&self) -> &'static str {
        if self.panic.is_some() {
            "panic"
        } else if self.out_of_memory.is_some() {
            "out_of_memory"
        } else if self.assertion.is_some() {
            "assertion"
        } else {
            "trap"
        }
    }
}

impl DebugInfo {
    /// Why the program that left `dump` crashed: the trap it records and, when a frame is
    /// Rust's `core::panicking::panic_fmt`, the panic's message and location read from the
    /// dump's memory. Does no I/O; never fails: what cannot be read says why.
    pub fn crash_reason(&self, dump: &CoreDump<'_>) -> CrashReason {
        let frames = dump.threads().first().map_or(&[][..], |t| &t.frames[..]);
        let reader = Reader { dump };
        // The youngest frame whose function is called so, and its i32 param `i`.
        let names: Vec<String> = frames
            .iter()
            .map(|f| self.function_name(f.func).name)
            .collect();
        let frame = |is: &dyn Fn(&str) -> bool| names.iter().position(|name| is(name));
        let param = |index: usize, i: usize| match frames[index].locals.get(i) {
            Some(Value::I32(v)) => Some(*v as u32),
            _ => None,
        };
        let panic = frame(&|name| name == PANIC_FMT).map(|index| {
            let param = |i| {
                param(index, i)
                    .ok_or_else(|| format!("{PANIC_FMT}'s argument {i} was not recorded"))
            };
            // std 1.95 passes `fmt::Arguments` as two words and the location: three i32
            // params. Another std passes another representation, which this does not read.
            let known = self
                .param_types(frames[index].func)
                .is_none_or(|params| params == [wasmparser::ValType::I32; 3]);
            if !known {
                let why = format!(
                    "{PANIC_FMT} takes other params than std 1.95's (fmt::Arguments as two \
                     words, then &Location): another std's representation"
                );
                return Panic {
                    frame: index,
                    message: Err(why.clone()),
                    location: Err(why),
                };
            }
            let message = param(0).and_then(|template| {
                let args = param(1)?;
                self.message(&reader, template, args)
            });
            Panic {
                frame: index,
                message,
                location: param(2).and_then(|at| reader.location(at)),
            }
        });
        let out_of_memory = frame(&|name| name.ends_with(ALLOC_ERROR_HANDLER)).and_then(|index| {
            Some(OutOfMemory {
                frame: index,
                size: param(index, 0)?,
            })
        });
        let assertion = frame(&|name| name == ASSERT_FAIL).and_then(|index| {
            Some(Assertion {
                frame: index,
                expression: reader.c_string(param(index, 0)?),
                file: reader.c_string(param(index, 1)?),
                line: param(index, 2)?,
                function: reader.c_string(param(index, 3)?),
            })
        });
        CrashReason {
            trap: dump.trap().map(|t| t.kind),
            panic,
            out_of_memory,
            assertion,
        }
    }

    /// Formats a `fmt::Arguments` whose two words are `template` and `args`.
    fn message(
        &self,
        reader: &Reader<'_, '_>,
        template: u32,
        args: u32,
    ) -> Result<PanicMessage, String> {
        if args & 1 == 1 {
            let text = reader.text(template, u64::from(args >> 1))?;
            return Ok(PanicMessage {
                text,
                complete: true,
            });
        }
        let program = reader.bytes_up_to(template, MAX_TEXT)?;
        let formatters = argument::Formatters::new(self.function_table());
        let mut out = PanicMessage {
            text: String::new(),
            complete: true,
        };
        let mut next_arg = 0usize;
        let mut at = 0usize;
        let byte = |at: usize| {
            program
                .get(at)
                .copied()
                .ok_or_else(|| format!("the message template at {template:#x} has no end"))
        };
        let u16_at = |at: usize| Ok::<_, String>(u16::from_le_bytes([byte(at)?, byte(at + 1)?]));
        let mut placeholders = 0;
        loop {
            let first = byte(at)?;
            at += 1;
            match first {
                0 => return Ok(out),
                1..=0x80 => {
                    let (len, start) = match first {
                        0x80 => (usize::from(u16_at(at)?), at + 2),
                        n => (usize::from(n), at),
                    };
                    let piece = program.get(start..start + len).ok_or_else(|| {
                        format!("the message template at {template:#x} has no end")
                    })?;
                    let piece = std::str::from_utf8(piece).map_err(|_| {
                        format!("the message template at {template:#x} is not UTF-8")
                    })?;
                    out.text.push_str(piece);
                    at = start + len;
                }
                0xc0..=0xff => {
                    placeholders += 1;
                    if placeholders > MAX_ARGUMENTS {
                        return Err(format!("more than {MAX_ARGUMENTS} placeholders"));
                    }
                    // Optional fields: flags (u32), width, precision, arg_index (u16 each).
                    let has = |bit: u8| first & (1 << bit) != 0;
                    let options = has(0) || has(1) || has(2);
                    let mut field = at + if has(0) { 4 } else { 0 };
                    field += if has(1) { 2 } else { 0 };
                    field += if has(2) { 2 } else { 0 };
                    let index = match has(3) {
                        true => usize::from(u16_at(field)?),
                        false => next_arg,
                    };
                    at = field + if has(3) { 2 } else { 0 };
                    next_arg = index + 1;
                    let argument = args as u64 + 8 * index as u64;
                    match self.argument(reader, &formatters, argument) {
                        Some(text) if !options => out.text.push_str(&text),
                        _ => {
                            out.text.push_str("{..}");
                            out.complete = false;
                        }
                    }
                }
                _ => {
                    return Err(format!(
                        "the message template at {template:#x} is not one std writes"
                    ));
                }
            }
        }
    }

    /// The param types of function `func`, from the module's Type, Import and Function
    /// sections; `None` when the module is not at hand or does not say.
    fn param_types(&self, func: u32) -> Option<Vec<wasmparser::ValType>> {
        let module = self.dwarf_module()?;
        let (layout, bytes) = (module.layout(), module.bytes());
        let mut func_types = Vec::new();
        if let Some(imports) = layout.section(section_id::IMPORT) {
            let reader = wasmparser::ImportSectionReader::new(imports.reader(bytes)).ok()?;
            for import in reader.into_imports() {
                if let wasmparser::TypeRef::Func(t) | wasmparser::TypeRef::FuncExact(t) =
                    import.ok()?.ty
                {
                    func_types.push(t);
                }
            }
        }
        let functions = layout.section(section_id::FUNCTION)?;
        for t in wasmparser::FunctionSectionReader::new(functions.reader(bytes)).ok()? {
            func_types.push(t.ok()?);
        }
        let ty = *func_types.get(func as usize)?;
        let types = layout.section(section_id::TYPE)?;
        let reader = wasmparser::TypeSectionReader::new(types.reader(bytes)).ok()?;
        let ty = reader.into_iter_err_on_gc_types().nth(ty as usize)?.ok()?;
        Some(ty.params().to_vec())
    }

    /// Table 0's function per slot, from the active element segments at constant offsets.
    fn function_table(&self) -> Vec<Option<u32>> {
        let mut table = Vec::new();
        let Some(module) = self.dwarf_module() else {
            return table;
        };
        let Some(elements) = module.layout().section(section_id::ELEMENT) else {
            return table;
        };
        if let Ok(reader) = wasmparser::ElementSectionReader::new(elements.reader(module.bytes())) {
            for element in reader.into_iter().flatten() {
                let wasmparser::ElementKind::Active {
                    table_index: None | Some(0),
                    offset_expr,
                } = element.kind
                else {
                    continue;
                };
                let Ok(wasmparser::Operator::I32Const { value }) =
                    offset_expr.get_operators_reader().read()
                else {
                    continue;
                };
                let funcs: Vec<Option<u32>> = match element.items {
                    wasmparser::ElementItems::Functions(list) => {
                        list.into_iter().map(Result::ok).collect()
                    }
                    wasmparser::ElementItems::Expressions(_, exprs) => exprs
                        .into_iter()
                        .map(|e| match e.ok()?.get_operators_reader().read().ok()? {
                            wasmparser::Operator::RefFunc { function_index } => {
                                Some(function_index)
                            }
                            _ => None,
                        })
                        .collect(),
                };
                let start = value as u32 as usize;
                // A table slot past 2^20 is no formatter this reads.
                if start + funcs.len() > 1 << 20 {
                    continue;
                }
                if table.len() < start + funcs.len() {
                    table.resize(start + funcs.len(), None);
                }
                for (i, f) in funcs.into_iter().enumerate() {
                    table[start + i] = f;
                }
            }
        }
        table
    }
}

/// Bounded reads of memory 0 of a dump.
struct Reader<'d, 'a> {
    dump: &'d CoreDump<'a>,
}

impl Reader<'_, '_> {
    fn bytes(&self, address: u64, len: u64) -> Result<Vec<u8>, String> {
        self.dump
            .read(0, address, len)
            .map(|b| b.into_owned())
            .map_err(|e| format!("{e}"))
    }

    /// Up to `max` bytes from `address`, fewer at the end of memory.
    fn bytes_up_to(&self, address: u32, max: u64) -> Result<Vec<u8>, String> {
        let size = self.dump.memories().first().map_or(0, |m| m.ty.size());
        let len = size.saturating_sub(address.into()).min(max);
        self.bytes(address.into(), len)
    }

    /// `len` bytes of UTF-8 at `address`.
    fn text(&self, address: u32, len: u64) -> Result<String, String> {
        if len > MAX_TEXT {
            return Err(format!(
                "a string of {len} bytes at {address:#x} is too long"
            ));
        }
        String::from_utf8(self.bytes(address.into(), len)?)
            .map_err(|_| format!("the string at {address:#x} is not UTF-8"))
    }

    /// The NUL-terminated UTF-8 string at `address`.
    fn c_string(&self, address: u32) -> Result<String, String> {
        let bytes = self.bytes_up_to(address, MAX_TEXT)?;
        let end = bytes
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| format!("no end to the string at {address:#x}"))?;
        String::from_utf8(bytes[..end].to_vec())
            .map_err(|_| format!("the string at {address:#x} is not UTF-8"))
    }

    /// The `Location` at `address`.
    fn location(&self, address: u32) -> Result<PanicLocation, String> {
        let words = self.bytes(address.into(), 16)?;
        let word = |i: usize| u32::from_le_bytes(words[4 * i..4 * i + 4].try_into().unwrap());
        Ok(PanicLocation {
            file: self.text(word(0), word(1).into())?,
            line: word(2),
            column: word(3),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dump of one frame of function 0, named `core::panicking::panic_fmt` with `params`,
    /// whose recorded params point at a static message ("boom" at 64) and a location (at 96:
    /// "a.rs" at 80, line 7, column 3).
    fn panic_with_params(params: &str) -> CrashReason {
        let wat = format!("(module (func $core::panicking::panic_fmt (param {params})))");
        let module = crate::Module::parse(wat::parse_str(wat).unwrap()).unwrap();
        let info = DebugInfo::new(module).unwrap();
        let memory = {
            let mut bytes = vec![0u8; 65536];
            bytes[64..68].copy_from_slice(b"boom");
            bytes[80..84].copy_from_slice(b"a.rs");
            for (i, word) in [80u32, 4, 7, 3].iter().enumerate() {
                bytes[96 + 4 * i..100 + 4 * i].copy_from_slice(&word.to_le_bytes());
            }
            bytes
        };
        let mut dump = CoreDump::new("a.wasm");
        dump.add_memory(coredump::Memory {
            ty: coredump::MemoryType::new(1),
            segments: vec![coredump::Segment {
                address: 0,
                data: memory.into(),
            }],
        });
        dump.add_thread(coredump::Thread {
            name: "main".into(),
            frames: vec![coredump::Frame {
                instance: 0,
                func: 0,
                code_offset: 0,
                // A static message of 4 bytes at 64 (`len << 1 | 1`), the location at 96.
                locals: vec![Value::I32(64), Value::I32(4 << 1 | 1), Value::I32(96)],
                stack: vec![],
            }],
        });
        info.crash_reason(&dump)
    }

    #[test]
    fn the_panic_is_read_only_from_std_1_95s_panic_fmt() {
        let panic = panic_with_params("i32 i32 i32").panic.unwrap();
        assert_eq!(panic.message.unwrap().text, "boom");
        assert_eq!(panic.location.unwrap().to_string(), "a.rs:7:3");
        // Another std's panic_fmt (fmt::Arguments by reference): unavailable, never misread.
        let panic = panic_with_params("i32 i32").panic.unwrap();
        assert!(panic.message.unwrap_err().contains("another std"));
        assert!(panic.location.is_err());
    }
}
