//! Memory: `x/NFU ADDR` and `find`.

use std::fmt::Write as _;

use debuginfo::format_integer;
use serde_json::json;

use crate::command::Examine;
use crate::error::CommandError;
use crate::exec::{Piece, Reply, Sink};
use crate::expr::{Expr, Value};
use crate::session::Session;

type Result<T> = std::result::Result<T, CommandError>;

/// The bytes of a unit letter.
fn unit_size(c: char) -> u64 {
    match c {
        'b' => 1,
        'h' => 2,
        'g' => 8,
        _ => 4,
    }
}

/// Splits `a, b, "c, d"` at the commas outside quotes and brackets.
pub(crate) fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote = None;
    let mut cur = String::new();
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

impl Session<'_> {
    fn read_memory(&self, address: u64, len: u64) -> Result<std::borrow::Cow<'_, [u8]>> {
        Ok(self.dump.read(self.memory_index(), address, len)?)
    }

    /// `x/NFU ADDR`: hands its lines to `sink` as it reads them. A count that runs past the end
    /// of memory stops there, with gdb's `Cannot access memory at address ...` after the lines
    /// read before it.
    pub(crate) fn examine(&mut self, x: &Examine, sink: &mut Sink<'_>) -> Result<()> {
        let format = x.format.unwrap_or(self.examine_state.format);
        let size = match (x.size, format) {
            (Some(s), _) => s,
            (None, 'c') => 'b',
            (None, 'a') => {
                if self.pointer_size() == 8 {
                    'g'
                } else {
                    'w'
                }
            }
            (None, _) => self.examine_state.size,
        };
        if format == 'i' {
            return Err(CommandError::new(
                "x/i is not supported: use `disassemble`.",
            ));
        }
        // A bare `x` goes on with the last count too.
        let bare = x.expr.is_none() && x.format.is_none() && x.size.is_none();
        let count = match x.count {
            Some(n) => n,
            None if bare => self.examine_state.count,
            None => 1,
        };
        let mut address = match &x.expr {
            Some(text) => {
                let e = self.parse_expr(text)?;
                let v = self.eval(&e)?;
                self.address_of_operand(&v)?
            }
            None => self.examine_state.next.ok_or_else(|| {
                CommandError::new("Argument required (starting display address).")
            })?,
        };
        // `x/-N`: the N units before the address, shown in order.
        if count < 0 {
            if format == 's' {
                return Err(CommandError::new(
                    "x/-Ns is not supported: give the string's address.",
                ));
            }
            let back = count.unsigned_abs().saturating_mul(unit_size(size));
            address = address.checked_sub(back).ok_or_else(|| {
                CommandError::new(format!("Cannot access memory at address {address:#x}"))
            })?;
        }
        let start = address;
        let units = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        let mut out = Pending {
            sink,
            text: String::new(),
            items: Vec::new(),
            lines: 0,
            stopped: false,
            last: None,
        };
        let read = if format == 's' {
            self.examine_strings(&mut address, units, &mut out)
        } else {
            self.examine_units(&mut address, units, format, size, &mut out)
        };
        // What was read is shown before the error (on the line the error ends, as in gdb), and
        // the next `x` goes on from where this one stopped.
        if read.is_ok() {
            out.finish();
        } else {
            out.hand_over();
        }
        self.examine_state = ExamineState {
            format,
            size,
            count,
            // Backwards, the next `x` goes on further back.
            next: Some(if count < 0 { start } else { address }),
            last: out.last.or(self.examine_state.last),
        };
        read
    }

    /// `x/Ns`: `count` strings from `address`, which moves past each one read.
    fn examine_strings(
        &self,
        address: &mut u64,
        count: usize,
        out: &mut Pending<'_, '_>,
    ) -> Result<()> {
        for _ in 0..count {
            if out.stopped {
                break;
            }
            // What cannot be read shows as gdb shows it; the count stops there (the end of
            // memory).
            let (s, len) = match self.c_string(*address) {
                Err(e) => {
                    let e = format!("<error: {e}>");
                    writeln!(out.text, "{address:#x}:\t{e}").ok();
                    out.items
                        .push(json!({ "address": format!("{address:#x}"), "error": e }));
                    out.line_done();
                    break;
                }
                Ok(read) => read,
            };
            out.last = Some((*address, 1));
            writeln!(out.text, "{address:#x}:\t{s}").ok();
            out.items
                .push(json!({ "address": format!("{address:#x}"), "value": s }));
            out.line_done();
            *address += len;
        }
        Ok(())
    }

    /// `x/NFU` for the other formats: `count` units of `size` from `address`, which moves past
    /// each one read. A line's address comes with its first unit, so none is left dangling.
    fn examine_units(
        &self,
        address: &mut u64,
        count: usize,
        format: char,
        size: char,
        out: &mut Pending<'_, '_>,
    ) -> Result<()> {
        let unit = unit_size(size);
        let per_line = match (size, format) {
            (_, 'c') => 8,
            ('b', _) | ('h', _) => 8,
            ('g', _) => 2,
            _ => 4,
        };
        let f = if format == 'x' { 'z' } else { format };
        for i in 0..count {
            if out.stopped {
                break;
            }
            let at = *address;
            // The address and the tab before the value come first: a unit that cannot be read
            // leaves them, and the error goes on from there, as in gdb
            // (`0x0:\tCannot access memory at address 0x0`).
            if i % per_line == 0 {
                if i > 0 {
                    out.text.push('\n');
                    out.line_done();
                }
                write!(out.text, "{at:#x}:").ok();
            }
            out.text.push('\t');
            let bytes = self.read_memory(at, unit)?;
            out.last = Some((at, unit));
            // `t` shows every bit of the unit, as gdb does.
            let v = match f {
                't' => format!(
                    "{:0>width$}",
                    format_integer(&bytes, false, 't'),
                    width = bytes.len() * 8
                ),
                f => format_integer(&bytes, format == 'd', f),
            };
            out.text.push_str(&v);
            out.items
                .push(json!({ "address": format!("{at:#x}"), "value": v }));
            *address += unit;
        }
        Ok(())
    }

    /// The NUL-terminated string at `address` as `x/s` shows it (at most `print elements`
    /// bytes, 200 by default, then `...`), and how many bytes it spans.
    fn c_string(&self, address: u64) -> Result<(String, u64)> {
        let (bytes, len, complete) = self.c_string_bytes(address)?;
        let more = if complete { "" } else { "..." };
        Ok((format!("{}{more}", quoted(&bytes)), len))
    }

    /// The bytes of the NUL-terminated string at `address` (at most `print elements` of them),
    /// how many bytes were read, and whether its NUL was among them.
    pub(crate) fn c_string_bytes(&self, address: u64) -> Result<(Vec<u8>, u64, bool)> {
        let mut bytes = Vec::new();
        let mut len = 0;
        let limit = self.format.max_elements as u64;
        while len < limit {
            let b = self.read_memory(address + len, 1)?[0];
            len += 1;
            if b == 0 {
                return Ok((bytes, len, true));
            }
            bytes.push(b);
        }
        Ok((bytes, len, false))
    }

    /// `find [/SIZE] [/MAX] START, +LEN|END, VAL...`.
    pub(crate) fn find(
        &mut self,
        size: Option<char>,
        max: Option<usize>,
        args: &str,
    ) -> Result<Reply> {
        let args = split_args(args);
        if args.len() < 3 {
            return Err(CommandError::new("Missing search parameters."));
        }
        let start = self.eval_address(&args[0])?;
        let end = match args[1].strip_prefix('+') {
            Some(len) => {
                let len = self.eval_address(len)?;
                start
                    .checked_add(len)
                    .ok_or_else(|| CommandError::new("Search space too large."))?
            }
            None => self.eval_address(&args[1])?.saturating_add(1),
        };
        if end <= start {
            return Err(CommandError::new(
                "Invalid search space, end precedes start.",
            ));
        }
        let mut pattern = Vec::new();
        for arg in &args[2..] {
            let e = self.parse_expr(arg)?;
            if let Expr::Str(s) = &e {
                pattern.extend_from_slice(s);
                continue;
            }
            let v: Value = self.eval(&e)?;
            let n = self.as_int(&v)?;
            let width = size.map_or(v.bytes.len() as u64, unit_size) as usize;
            pattern.extend_from_slice(&n.to_le_bytes()[..width]);
        }
        let memory = self.read_memory(start, end - start)?;
        let mut found = Vec::new();
        if !pattern.is_empty() {
            for (i, window) in memory.windows(pattern.len()).enumerate() {
                if window == pattern.as_slice() {
                    found.push(start + i as u64);
                    if max.is_some_and(|m| found.len() >= m) {
                        break;
                    }
                }
            }
        }
        let mut text = String::new();
        for a in &found {
            writeln!(text, "{a:#x}").ok();
        }
        match found.len() {
            0 => text.push_str("Pattern not found.\n"),
            1 => text.push_str("1 pattern found.\n"),
            n => writeln!(text, "{n} patterns found.").unwrap_or(()),
        }
        let addresses: Vec<String> = found.iter().map(|a| format!("{a:#x}")).collect();
        Ok(Reply::new(text, json!({ "found": addresses })))
    }

    /// The address expression `text` gives (a pointer's or integer's value, an aggregate's
    /// address).
    pub(crate) fn eval_address(&self, text: &str) -> Result<u64> {
        let e = self.parse_expr(text)?;
        let v = self.eval(&e)?;
        self.address_of_operand(&v)
    }
}

/// How many lines `x` hands its sink at a time.
const LINES_PER_PIECE: usize = 1024;

/// The lines `x` has read and not yet handed to its sink.
struct Pending<'a, 's> {
    sink: &'a mut Sink<'s>,
    text: String,
    items: Vec<serde_json::Value>,
    /// Complete lines in `text`.
    lines: usize,
    /// The sink wants no more.
    stopped: bool,
    /// The address and size of the last unit or string read.
    last: Option<(u64, u64)>,
}

impl Pending<'_, '_> {
    /// Counts a line ended in `text`, and hands the lines over when there are enough.
    fn line_done(&mut self) {
        self.lines += 1;
        if self.lines == LINES_PER_PIECE {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        self.lines = 0;
        let piece = Piece::Lines {
            key: "memory",
            text: std::mem::take(&mut self.text),
            items: std::mem::take(&mut self.items),
        };
        if !self.stopped {
            self.stopped = (self.sink)(piece).is_break();
        }
    }

    /// Ends the last line and hands over what is left (an empty piece too: the command's output
    /// is there, if empty).
    fn finish(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        self.hand_over();
    }
}

/// What `x` remembers between calls: the last format, unit and the next address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExamineState {
    pub(crate) format: char,
    pub(crate) size: char,
    /// The last count (a bare `x` repeats it).
    pub(crate) count: i64,
    pub(crate) next: Option<u64>,
    /// The address of the last unit or string examined (`$_`), and its size in bytes (1 for a
    /// string).
    pub(crate) last: Option<(u64, u64)>,
}

impl Default for ExamineState {
    fn default() -> Self {
        ExamineState {
            format: 'x',
            size: 'w',
            count: 1,
            next: None,
            last: None,
        }
    }
}

/// `bytes` quoted as gdb quotes a string (host charset UTF-8): printable characters as they are,
/// C's escapes for `\n`, `\t`, `"`, `\\` and the like, octal for other control characters and
/// for bytes that are not UTF-8 (`\034`, `\351`), and a sequence cut short at the end after the
/// quotes (`"ab" <incomplete sequence \310>`).
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    let mut incomplete = String::new();
    let mut chunks = bytes.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\x0b' => out.push_str("\\v"),
                c if c.is_control() && (c as u32) < 0x100 => {
                    out.push_str(&format!("\\{:03o}", c as u32));
                }
                c => out.push(c),
            }
        }
        let invalid = chunk.invalid();
        // Only the last chunk's invalid bytes can be a sequence cut short.
        let cut_short = chunks.peek().is_none()
            && !invalid.is_empty()
            && std::str::from_utf8(invalid).is_err_and(|e| e.error_len().is_none());
        let target = if cut_short { &mut incomplete } else { &mut out };
        for b in invalid {
            target.push_str(&format!("\\{b:03o}"));
        }
    }
    out.push('"');
    if !incomplete.is_empty() {
        out.push_str(&format!(" <incomplete sequence {incomplete}>"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{quoted, split_args};

    #[test]
    fn find_arguments_split_outside_quotes() {
        assert_eq!(
            split_args("0x10, +8, \"a,b\", 3"),
            ["0x10", "+8", "\"a,b\"", "3"]
        );
        assert_eq!(split_args("f(1, 2), 3"), ["f(1, 2)", "3"]);
    }

    /// As gdb 13 `x/s` printed these bytes (host charset UTF-8).
    #[test]
    fn strings_are_quoted_as_gdb_quotes_them() {
        assert_eq!(quoted(b"\x03"), r#""\003""#);
        assert_eq!(quoted(b"\xc8"), r#""" <incomplete sequence \310>"#);
        assert_eq!(
            quoted("a\u{e9}\x1c\tb\"q\\".as_bytes()),
            r#""aé\034\tb\"q\\""#
        );
        assert_eq!(quoted(b"\xff\xfeA"), r#""\377\376A""#);
    }
}
