//! Reading bytes of a dumped linear memory.

use std::borrow::Cow;

use crate::error::Error;
use crate::model::Memory;

/// Reads `len` bytes at `address` of `memory` (index `index` in its dump).
///
/// Borrows when one segment holds the whole range; otherwise assembles the
/// bytes, with zeros where no segment covers them.
pub(crate) fn read<'m>(
    memory: &'m Memory<'_>,
    index: u32,
    address: u64,
    len: u64,
) -> Result<Cow<'m, [u8]>, Error> {
    let size = memory.ty.size();
    let end = address
        .checked_add(len)
        .filter(|&end| end <= size)
        .ok_or(Error::OutOfBounds {
            memory: index,
            address,
            len,
            size,
        })?;
    let segments = &memory.segments;
    let first = segments.partition_point(|s| s.end() <= address);
    if let Some(s) = segments.get(first)
        && s.address <= address
        && end <= s.end()
    {
        let start = (address - s.address) as usize;
        return Ok(Cow::Borrowed(&s.data[start..start + len as usize]));
    }
    let mut out = vec![0; len as usize];
    for s in segments[first..].iter().take_while(|s| s.address < end) {
        let from = s.address.max(address);
        let to = s.end().min(end);
        let src = &s.data[(from - s.address) as usize..(to - s.address) as usize];
        out[(from - address) as usize..(to - address) as usize].copy_from_slice(src);
    }
    Ok(Cow::Owned(out))
}
