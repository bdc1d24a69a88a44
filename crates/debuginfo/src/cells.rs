//! rust-gdb's printers for shared and interior-mutable values: `Rc(strong=2, weak=0) = {value =
//! 6, strong = 2, weak = 0}` (and `Arc`), `Cell = {value = 3}`, `RefCell(borrow=0) = {value = 6,
//! borrow = 0}` (`borrow_mut=1` while mutably borrowed), and a `NonZero<T>` as its number.

use crate::children::{Child, Hint};
use crate::error::Result;
use crate::format::Printer;
use crate::types::TypeId;

impl Printer<'_> {
    /// `Rc(strong=N, weak=M) = {value = ..., strong = N, weak = M}` (`kind` `Rc` or `Arc`): the
    /// `RcInner` (`ArcInner`) its `ptr` points to, whose counts are `count` inside `strong` and
    /// `weak` and whose value is `value`. `weak` counts one less than the inner field, as
    /// rust-gdb shows it: the strong references together hold one weak one.
    pub(crate) fn rc(
        &mut self,
        ty: TypeId,
        bytes: &[u8],
        kind: &str,
        count: [&str; 2],
        value: &str,
    ) -> Result<()> {
        let (ptr_ty, ptr) = self.member_of(ty, bytes, "ptr")?;
        let (address, inner_ty) = self.thin_pointer(ptr_ty, ptr)?;
        let inner = self.read(address, self.size_of(inner_ty)?)?;
        let (value_ty, value_bytes) = self.member_of(inner_ty, &inner, value)?;
        let (strong_ty, strong) = self.member_of(inner_ty, &inner, "strong")?;
        let (strong_ty, strong) = self.path(strong_ty, strong, &count)?;
        let (weak_ty, weak) = self.member_of(inner_ty, &inner, "weak")?;
        let (weak_ty, weak) = self.path(weak_ty, weak, &count)?;
        let strong_count = self.uint(strong_ty, strong)?;
        let weak_count = truncate(self.uint(weak_ty, weak)?.wrapping_sub(1), weak.len());
        let weak_bytes = weak_count.to_le_bytes()[..weak.len()].to_vec();
        let summary = format!("{kind}(strong={strong_count}, weak={weak_count})");
        let children = [
            Child {
                name: "value",
                ty: value_ty,
                bytes: value_bytes.to_vec(),
            },
            Child {
                name: "strong",
                ty: strong_ty,
                bytes: strong.to_vec(),
            },
            Child {
                name: "weak",
                ty: weak_ty,
                bytes: weak_bytes,
            },
        ];
        self.with_children(&summary, Hint::Named, &children)
    }

    /// `Cell = {value = ...}`.
    pub(crate) fn cell(&mut self, ty: TypeId, bytes: &[u8]) -> Result<()> {
        let (value_ty, value) = self.path(ty, bytes, &["value", "value"])?;
        let children = [Child {
            name: "value",
            ty: value_ty,
            bytes: value.to_vec(),
        }];
        self.with_children("Cell", Hint::Named, &children)
    }

    /// `RefCell(borrow=N) = {value = ..., borrow = N}`, or `RefCell(borrow_mut=1)` when the
    /// borrow count is negative.
    pub(crate) fn ref_cell(&mut self, ty: TypeId, bytes: &[u8]) -> Result<()> {
        let (value_ty, value) = self.path(ty, bytes, &["value", "value"])?;
        let (borrow_ty, borrow) = self.path(ty, bytes, &["borrow", "value", "value"])?;
        let count = self.int(borrow_ty, borrow)?;
        let summary = if count >= 0 {
            format!("RefCell(borrow={count})")
        } else {
            format!("RefCell(borrow_mut={})", -count)
        };
        let children = [
            Child {
                name: "value",
                ty: value_ty,
                bytes: value.to_vec(),
            },
            Child {
                name: "borrow",
                ty: borrow_ty,
                bytes: borrow.to_vec(),
            },
        ];
        self.with_children(&summary, Hint::Named, &children)
    }

    /// A `NonZero<T>`: the `T` inside its one member, itself of one member.
    pub(crate) fn non_zero(&mut self, ty: TypeId, bytes: &[u8]) -> Result<()> {
        let (inner_ty, inner) = self.only_member(ty, bytes)?;
        let (value_ty, value) = self.only_member(inner_ty, inner)?;
        self.value(value_ty, value)
    }
}

/// `n` as an unsigned integer of `size` bytes (at most 8).
fn truncate(n: u64, size: usize) -> u64 {
    match size {
        0..8 => n & ((1 << (size * 8)) - 1),
        _ => n,
    }
}
