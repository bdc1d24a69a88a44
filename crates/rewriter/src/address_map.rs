//! The map from code addresses of the input module to those of the
//! rewritten one: what the DWARF remap and the offsets of recorded frames
//! are checked against.

use std::ops::Range;

use crate::instrument::Site;

/// One function body's place in both Code sections, and its instrumented
/// points.
#[derive(Debug, Clone)]
pub(crate) struct FunctionMap {
    /// Body start and end in the input, relative to the Code section payload.
    pub input: (u32, u32),
    /// Body start and end in the output, relative to the Code section payload.
    pub output: (u32, u32),
    /// Offset (from the body start) of the first operator in the input; the
    /// rewriter inserts `prefix` bytes there.
    pub ops_start: u32,
    /// Bytes inserted before the first operator.
    pub prefix: u32,
    /// The instrumented points, in order: where they are in
    /// [`AddressMap::sites`].
    pub sites: Range<usize>,
}

/// Maps DWARF code addresses (offsets from the start of the Code section's
/// payload, the byte where the function count starts) of the input module to
/// the rewritten module.
#[derive(Debug, Clone, Default)]
pub struct AddressMap {
    pub(crate) functions: Vec<FunctionMap>,
    /// The instrumented points of every function, one function's after the
    /// other's (in one vector: a module can have hundreds of thousands).
    pub(crate) sites: Vec<Site>,
}

impl AddressMap {
    /// The output address of input address `address`: an instruction maps to
    /// the instruction (an instrumented call or trap to the call that stands
    /// for it), a body's end to the new body's end. `None` for an address
    /// outside every function body (e.g. a body-size LEB or past the code).
    pub fn map(&self, address: u64) -> Option<u64> {
        let address = u32::try_from(address).ok()?;
        let i = self.functions.partition_point(|f| f.input.1 < address);
        let f = self.functions.get(i)?;
        if address < f.input.0 {
            return None;
        }
        let offset = address - f.input.0;
        Some(u64::from(f.output.0 + self.map_offset(f, offset)))
    }

    /// The output body offset of input body offset `offset` in defined
    /// function `index` (imports not counted), as recorded in core dumps.
    pub fn map_code_offset(&self, index: usize, offset: u32) -> Option<u32> {
        let f = self.functions.get(index)?;
        (offset <= f.input.1 - f.input.0).then(|| self.map_offset(f, offset))
    }

    /// The instrumented points of `f`, in order.
    pub(crate) fn sites(&self, f: &FunctionMap) -> &[Site] {
        &self.sites[f.sites.clone()]
    }

    /// The output body offset of input body offset `offset` in `f`.
    fn map_offset(&self, f: &FunctionMap, offset: u32) -> u32 {
        let sites = self.sites(f);
        if sites.is_empty() && f.prefix == 0 {
            return offset;
        }
        if offset >= f.input.1 - f.input.0 {
            return f.output.1 - f.output.0;
        }
        if offset < f.ops_start {
            return offset;
        }
        let i = sites.partition_point(|s| s.original <= offset);
        match i.checked_sub(1).map(|i| sites[i]) {
            None => offset + f.prefix,
            Some(s) if offset < s.original_end => s.new,
            Some(s) => offset - s.original_end + s.new_end,
        }
    }
}
