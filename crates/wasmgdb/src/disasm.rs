//! `disassemble`: the selected frame's Wasm function in the text format, one instruction a line,
//! `=>` on the current one.
//!
//! wasmprinter prints whole modules; to print one function of a big module quickly, a reduced
//! module is printed: the sections that name what a body refers to (types, the index spaces of
//! functions, tables, memories, globals and tags, the `name` section), and a Code section in
//! which every other body is an empty one. No other section is kept: the printer checks some
//! against others (a DataCount section needs its Data section), and none of them is printed.

use std::fmt::Write as _;

use serde_json::json;
use wasmparser::{Parser, Payload};

use crate::error::CommandError;
use crate::exec::Reply;
use crate::session::Session;

type Result<T> = std::result::Result<T, CommandError>;

fn leb(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A module with only function `index` (of the defined ones) kept, and the file offset of that
/// body's start in the reduced module.
fn reduce(module: &[u8], index: usize) -> Result<(Vec<u8>, u64)> {
    let bad = |e: wasmparser::BinaryReaderError| CommandError::new(format!("invalid module: {e}"));
    let mut out = module[..8].to_vec();
    let mut body_start = None;
    let mut code: Option<(u32, u32, Vec<u8>, Option<usize>)> = None;
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.map_err(bad)?;
        match &payload {
            Payload::CodeSectionStart { count, .. } => {
                let mut section = Vec::new();
                leb(u64::from(*count), &mut section);
                code = Some((*count, 0, section, None));
            }
            Payload::CodeSectionEntry(body) => {
                if let Some((count, seen, section, at)) = &mut code {
                    if *seen as usize == index {
                        let range = body.range();
                        let bytes = &module[range.start as usize..range.end as usize];
                        leb(bytes.len() as u64, section);
                        *at = Some(section.len());
                        section.extend_from_slice(bytes);
                    } else {
                        section.extend_from_slice(&[2, 0, 0x0b]);
                    }
                    *seen += 1;
                    if seen == count
                        && let Some((_, _, section, at)) = code.take()
                    {
                        out.push(10);
                        leb(section.len() as u64, &mut out);
                        body_start = at.map(|o| (out.len() + o) as u64);
                        out.extend_from_slice(&section);
                    }
                }
            }
            Payload::CustomSection(c) if c.name() == "name" => {
                out.push(0);
                let mut payload = Vec::new();
                leb(4, &mut payload);
                payload.extend_from_slice(b"name");
                payload.extend_from_slice(c.data());
                leb(payload.len() as u64, &mut out);
                out.extend_from_slice(&payload);
            }
            Payload::End(_) => break,
            _ => {}
        }
        let names_operands = matches!(
            payload,
            Payload::TypeSection(_)
                | Payload::ImportSection(_)
                | Payload::FunctionSection(_)
                | Payload::TableSection(_)
                | Payload::MemorySection(_)
                | Payload::TagSection(_)
                | Payload::GlobalSection(_)
        );
        if names_operands && let Some((id, range)) = payload.as_section() {
            let bytes = &module[range.start as usize..range.end as usize];
            out.push(id);
            leb(bytes.len() as u64, &mut out);
            out.extend_from_slice(bytes);
        }
    }
    let start = body_start.ok_or_else(|| CommandError::new("The function has no code."))?;
    Ok((out, start))
}

impl Session<'_> {
    /// `disassemble [ADDR]`: the function at module offset ADDR (`at`: the expression), else
    /// the selected frame's; gdb's `No function contains specified address.` outside every
    /// function. The frame's instruction is marked when its function is shown.
    pub(crate) fn disassemble(&self, at: Option<&str>) -> Result<Reply> {
        let frame = self.frame();
        let (func, current) = match at {
            None => {
                let frame = frame?;
                (frame.func, Some(frame.code_offset))
            }
            Some(text) => {
                let pc = self.eval_address(text)?;
                let at = self
                    .code_at(pc)
                    .ok_or_else(|| CommandError::new("No function contains specified address."))?;
                let current = frame.ok().filter(|f| f.func == at.func);
                (at.func, current.map(|f| f.code_offset))
            }
        };
        let module = self
            .code_module()
            .ok_or_else(|| CommandError::new("No module."))?;
        let layout = self
            .info
            .code_layout()
            .ok_or_else(|| CommandError::new("No code section."))?;
        let body = layout.body_range(func)?;
        let index = (func - layout.imported_functions()) as usize;
        let (reduced, start) = reduce(module.bytes(), index)?;
        let mut storage = String::new();
        let mut config = wasmprinter::Config::new();
        config.print_offsets(true);
        let lines = config
            .offsets_and_lines(&reduced, &mut storage)
            .map_err(|e| CommandError::new(format!("cannot disassemble: {e}")))?;
        let len = body.end - body.start;
        // The function itself, not a function inlined into it.
        let name = match self
            .info
            .frames(func, 0)
            .ok()
            .and_then(|f| f.into_iter().last())
        {
            Some(outer) => outer.function.name,
            None => self.info.function_name(func).name,
        };
        let mut text = format!("Dump of assembler code for function {name} (func[{func}]):\n");
        let mut items = Vec::new();
        for (offset, line) in lines {
            let Some(offset) = offset else { continue };
            if offset < start || offset >= start + len {
                continue;
            }
            let code_offset = offset - start;
            let address = body.start + code_offset;
            let current = current.is_some_and(|c| code_offset == u64::from(c));
            let instr = line.trim();
            // wasmprinter's `(;@2d7   ;)` offset comment.
            let instr = match instr.strip_prefix("(;@").and_then(|r| r.split_once(";)")) {
                Some((_, rest)) => rest.trim(),
                None => instr,
            };
            if instr.is_empty() {
                continue;
            }
            let marker = if current { "=> " } else { "   " };
            writeln!(text, "{marker}0x{address:08x} <+{code_offset}>:\t{instr}").ok();
            items.push(json!({ "address": format!("{address:#x}"), "offset": code_offset, "current": current, "text": instr }));
        }
        text.push_str("End of assembler dump.\n");
        Ok(Reply::new(
            text,
            json!({ "function": name, "instructions": items }),
        ))
    }
}
