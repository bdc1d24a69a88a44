//! The output's Code section: the rewritten bodies, held in one buffer until
//! the section is written (and then freed at once, returning their memory
//! before the DWARF is patched), and the address map, made as it is written.

use std::io::Write;
use std::ops::Range;

use crate::Stats;
use crate::address_map::{AddressMap, FunctionMap};
use crate::error::Error;
use crate::instrument::{Rewritten, Site};
use crate::module::ModuleInfo;
use crate::sink::{Sink, uleb_len};

/// The bodies of the output's defined functions, as they are made.
#[derive(Debug, Default)]
pub(crate) struct Code {
    /// The rewritten bodies, one after the other.
    bytes: Vec<u8>,
    /// Their instrumented points, one body's after the other's.
    sites: Vec<Site>,
    /// Each defined function's rewritten body, `None` where the input's is
    /// copied.
    bodies: Vec<Option<Body>>,
}

/// Where one rewritten body lies in [`Code`], and what the address map
/// needs of it.
#[derive(Debug)]
struct Body {
    /// Its bytes in [`Code::bytes`].
    bytes: Range<usize>,
    /// Its instrumented points in [`Code::sites`].
    sites: Range<usize>,
    /// As in [`Rewritten`].
    ops_start: u32,
    /// As in [`Rewritten`].
    prefix: u32,
}

impl Code {
    /// Adds the next defined function's body: `None` to copy the input's.
    pub fn push(&mut self, rewritten: Option<Rewritten>) {
        let body = rewritten.map(|r| {
            let bytes = self.bytes.len()..self.bytes.len() + r.body.len();
            self.bytes.extend_from_slice(&r.body);
            let sites = self.sites.len()..self.sites.len() + r.sites.len();
            self.sites.extend_from_slice(&r.sites);
            Body {
                bytes,
                sites,
                ops_start: r.ops_start,
                prefix: r.prefix,
            }
        });
        self.bodies.push(body);
    }

    /// Writes the Code section: every body, then `funcs` (bodies without
    /// their size); sets the sizes in `stats` and returns the address map.
    pub fn write<W: Write>(
        self,
        out: &mut Sink<W>,
        info: &ModuleInfo<'_>,
        funcs: &[(u32, Vec<u8>)],
        stats: &mut Stats,
    ) -> Result<AddressMap, Error> {
        let body = |i: usize| match &self.bodies[i] {
            Some(b) => &self.bytes[b.bytes.clone()],
            None => &info.bytes[info.body(i)],
        };
        let entry = |len: usize| uleb_len(len as u32) + len;
        let count = (self.bodies.len() + funcs.len()) as u32;
        let size = uleb_len(count)
            + (0..self.bodies.len())
                .map(|i| entry(body(i).len()))
                .sum::<usize>()
            + funcs.iter().map(|(_, f)| entry(f.len())).sum::<usize>();
        // The size as a 5-byte LEB, as the rewriter always wrote it.
        let mut head = [10, 0, 0, 0, 0, 0];
        for (i, byte) in head[1..].iter_mut().enumerate() {
            let bits = (size >> (7 * i)) as u8 & 0x7f;
            *byte = if i < 4 { bits | 0x80 } else { bits };
        }
        out.bytes(&head)?;
        out.uleb(count)?;
        let code_start = info.code_payload_start();
        let mut functions = Vec::with_capacity(self.bodies.len());
        let mut offset = uleb_len(count); // in the payload
        for (i, rewritten) in self.bodies.iter().enumerate() {
            let bytes = body(i);
            out.uleb(bytes.len() as u32)?;
            offset += uleb_len(bytes.len() as u32);
            let input = info.body(i);
            functions.push(FunctionMap {
                input: (
                    (input.start - code_start) as u32,
                    (input.end - code_start) as u32,
                ),
                output: (offset as u32, (offset + bytes.len()) as u32),
                ops_start: rewritten.as_ref().map_or(0, |b| b.ops_start),
                prefix: rewritten.as_ref().map_or(0, |b| b.prefix),
                sites: rewritten.as_ref().map_or(0..0, |b| b.sites.clone()),
            });
            out.bytes(bytes)?;
            offset += bytes.len();
        }
        for (_, f) in funcs {
            out.uleb(f.len() as u32)?;
            out.bytes(f)?;
        }
        stats.code_size_before = info.layout.code_section().map_or(0, |s| s.content.len());
        stats.code_size_after = size;
        Ok(AddressMap {
            functions,
            sites: self.sites,
        })
    }
}
