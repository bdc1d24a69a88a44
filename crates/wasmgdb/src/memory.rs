//! Memory: `x/NFU ADDR` and `find`.

use std::fmt::Write as _;

use serde_json::json;

use crate::command::Examine;
use crate::error::CommandError;
use crate::exec::Reply;
use crate::expr::format::format_int;
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
fn split_args(s: &str) -> Vec<String> {
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

    /// `x/NFU ADDR`.
    pub(crate) fn examine(&mut self, x: &Examine) -> Result<Reply> {
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
        let mut text = String::new();
        let mut items = Vec::new();
        if format == 's' {
            for _ in 0..x.count {
                let (s, len) = self.c_string(address)?;
                writeln!(text, "{address:#x}:\t{s}").ok();
                items.push(json!({ "address": format!("{address:#x}"), "value": s }));
                address += len;
            }
        } else if format == 'i' {
            return Err(CommandError::new(
                "x/i is not supported: use `disassemble`.",
            ));
        } else {
            let unit = unit_size(size);
            let per_line = match (size, format) {
                (_, 'c') => 8,
                ('b', _) | ('h', _) => 8,
                ('g', _) => 2,
                _ => 4,
            };
            let bytes = self
                .read_memory(address, unit * x.count as u64)?
                .into_owned();
            for (i, chunk) in bytes.chunks(unit as usize).enumerate() {
                let at = address + i as u64 * unit;
                if i % per_line == 0 {
                    if i > 0 {
                        text.push('\n');
                    }
                    write!(text, "{at:#x}:").ok();
                }
                let f = if format == 'x' { 'z' } else { format };
                let v = format_int(chunk, format == 'd', f);
                write!(text, "\t{v}").ok();
                items.push(json!({ "address": format!("{at:#x}"), "value": v }));
            }
            text.push('\n');
            address += bytes.len() as u64;
        }
        self.examine_state = ExamineState {
            format,
            size,
            next: Some(address),
        };
        Ok(Reply::new(text, json!({ "memory": items })))
    }

    /// The NUL-terminated string at `address` (at most 200 bytes, as gdb's `print elements`),
    /// quoted, and how many bytes it spans.
    fn c_string(&self, address: u64) -> Result<(String, u64)> {
        let mut bytes = Vec::new();
        let mut len = 0;
        let limit = self.format.max_elements as u64;
        while len < limit {
            let b = self.read_memory(address + len, 1)?[0];
            len += 1;
            if b == 0 {
                return Ok((format!("{:?}", String::from_utf8_lossy(&bytes)), len));
            }
            bytes.push(b);
        }
        Ok((format!("{:?}...", String::from_utf8_lossy(&bytes)), len))
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

    fn eval_address(&self, text: &str) -> Result<u64> {
        let e = self.parse_expr(text)?;
        let v = self.eval(&e)?;
        self.address_of_operand(&v)
    }
}

/// What `x` remembers between calls: the last format, unit and the next address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExamineState {
    pub(crate) format: char,
    pub(crate) size: char,
    pub(crate) next: Option<u64>,
}

impl Default for ExamineState {
    fn default() -> Self {
        ExamineState {
            format: 'x',
            size: 'w',
            next: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_args;

    #[test]
    fn find_arguments_split_outside_quotes() {
        assert_eq!(
            split_args("0x10, +8, \"a,b\", 3"),
            ["0x10", "+8", "\"a,b\"", "3"]
        );
        assert_eq!(split_args("f(1, 2), 3"), ["f(1, 2)", "3"]);
    }
}
