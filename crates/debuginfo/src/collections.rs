//! rust-gdb's printers for the std collections: `VecDeque(size=3) = {10, 20, 30}` (from its
//! ring buffer's head), `HashMap(size=3) = {[404] = 11, [303] = 9}` and `HashSet(size=1) = {5}`
//! (hashbrown's table, in the order of its control bytes), `BTreeMap(size=2) = {[1] = 2, [3] =
//! 4}` and `BTreeSet(size=2) = {1, 3}` (in order, through the tree's nodes). Each reads only the
//! children it shows, and stops at the element count the collection gives.

use crate::children::{Child, Hint, element_at, template_param, unexpected};
use crate::error::Result;
use crate::format::{Printer, field, unsigned};
use crate::scalar::format_integer;
use crate::types::{Composite, TypeId, TypeKind};

/// How tall a B-tree can be: one of 2^64 elements is less than 26 levels tall (each node
/// below the root holds at least 5 of them).
const MAX_BTREE_HEIGHT: u64 = 26;

/// How many control bytes of a hash table one read takes.
const CTRL_CHUNK: u64 = 4096;

/// Where a B-tree's nodes hold their parts, from the DWARF of its `LeafNode<K, V>` and
/// `InternalNode<K, V>`.
struct BTreeLayout {
    /// The size of a leaf node (a leaf's own, or the first part of an internal node).
    leaf_size: u64,
    /// The offset and type of `len`.
    len: (u64, TypeId),
    /// The offsets of `keys`, `vals` and `edges`.
    keys: u64,
    vals: u64,
    edges: u64,
    /// How many keys a node holds at most.
    capacity: u64,
    /// `K`, `V` and their sizes.
    key: (TypeId, u64),
    val: (TypeId, u64),
    /// The size of an edge (a pointer to a child node).
    edge_size: u64,
}

/// A `VecDeque<T>`'s ring buffer: `len` elements from slot `head` of `cap` at `data`.
pub(crate) struct Deque {
    pub(crate) data: u64,
    head: u64,
    pub(crate) len: u64,
    cap: u64,
    pub(crate) element: TypeId,
}

impl Deque {
    /// The slot of element `i` (below `len`): `head + i`, wrapped at the capacity (`head < cap`,
    /// so it wraps at most once).
    pub(crate) fn slot(&self, i: u64) -> u64 {
        match self.head.checked_add(i) {
            Some(n) if n < self.cap => n,
            _ => i - (self.cap - self.head),
        }
    }
}

impl Printer<'_> {
    /// `VecDeque(size=N) = {...}`: `len` elements of `buf` from `head` on, wrapping around at
    /// its capacity.
    pub(crate) fn vec_deque(&mut self, ty: TypeId, c: &Composite, bytes: &[u8]) -> Result<()> {
        let deque = self.deque(ty, c, bytes)?;
        let size = self.size_of(deque.element)?;
        let shown = deque.len.min(self.child_limit() as u64);
        let children = (0..shown)
            .map(|i| {
                let address = element_at(deque.data, deque.slot(i), size)?;
                Ok(Child::element(deque.element, self.read(address, size)?))
            })
            .collect::<Result<Vec<_>>>()?;
        self.with_children(
            &format!("VecDeque(size={})", deque.len),
            Hint::Array,
            &children,
        )
    }

    /// The parts of the `VecDeque<T>` of type `ty` (`c`) held in `bytes`.
    pub(crate) fn deque(&self, ty: TypeId, c: &Composite, bytes: &[u8]) -> Result<Deque> {
        let (head_ty, head) = self.member_of(ty, bytes, "head")?;
        let head = self.uint(head_ty, head)?;
        let (len_ty, len) = self.member_of(ty, bytes, "len")?;
        let len = self.uint(len_ty, len)?;
        let (cap_ty, cap) = self.path(ty, bytes, &["buf", "inner", "cap"])?;
        let cap = self.uint(cap_ty, cap)?;
        let (ptr_ty, ptr) = self.path(ty, bytes, &["buf", "inner", "ptr"])?;
        let (data, _) = self.thin_pointer(ptr_ty, ptr)?;
        if len > cap || (len > 0 && head >= cap) {
            return Err(unexpected("VecDeque's head or len past its capacity"));
        }
        Ok(Deque {
            data,
            head,
            len,
            cap,
            element: template_param(c, "T")?,
        })
    }

    /// `HashMap(size=N) = {[k] = v, ...}` or, for a set (`hint` [`Hint::Array`]), `HashSet(size=N)
    /// = {k, ...}`: the entries of the hashbrown `RawTable<(K, V)>` at `table` inside `ty`, in
    /// the order of their buckets. The buckets are stored before the control bytes, in reverse:
    /// bucket `i` ends `i * size_of((K, V))` bytes before them.
    pub(crate) fn hash_map(
        &mut self,
        ty: TypeId,
        bytes: &[u8],
        table: &[&str],
        hint: Hint,
    ) -> Result<()> {
        let (table_ty, table_bytes) = self.path(ty, bytes, table)?;
        let (_, table_type) = self.info.strip_type(table_ty)?;
        let TypeKind::Struct(table_c) = &table_type.kind else {
            return Err(unexpected("RawTable is not a struct"));
        };
        let pair = template_param(table_c, "T")?;
        let pair_size = self.size_of(pair)?;
        let (inner_ty, inner) = self.member_of(table_ty, table_bytes, "table")?;
        if self.member_of(inner_ty, inner, "data").is_ok() {
            return Err(unexpected("hashbrown's layout before Rust 1.52"));
        }
        let (mask_ty, mask) = self.member_of(inner_ty, inner, "bucket_mask")?;
        let buckets = self.uint(mask_ty, mask)?.wrapping_add(1);
        let (items_ty, items) = self.member_of(inner_ty, inner, "items")?;
        let items = self.uint(items_ty, items)?;
        let (ctrl_ty, ctrl) = self.member_of(inner_ty, inner, "ctrl")?;
        let (ctrl, _) = self.thin_pointer(ctrl_ty, ctrl)?;
        if !buckets.is_power_of_two() || items > buckets {
            return Err(unexpected("a hash table's bucket_mask or items"));
        }
        // A set's entries are `(K, ())`: it shows the keys only.
        let mut parts = vec![self.pair_member(pair, "__0")?];
        if hint == Hint::Map {
            parts.push(self.pair_member(pair, "__1")?);
        }
        let wanted = items.min(self.child_limit().div_ceil(parts.len()) as u64);
        let mut children = Vec::new();
        let mut found = 0;
        let mut chunk_start = 0;
        while found < wanted && chunk_start < buckets {
            let chunk = CTRL_CHUNK.min(buckets - chunk_start);
            let chunk_address = (ctrl.checked_add(chunk_start))
                .ok_or_else(|| unexpected("control bytes past the address space"))?;
            let ctrl_bytes = self.read(chunk_address, chunk)?;
            // A full bucket's control byte has its top bit clear.
            let full = (chunk_start..)
                .zip(ctrl_bytes)
                .filter(|(_, b)| b & 0x80 == 0);
            for (i, _) in full.take((wanted - found) as usize) {
                found += 1;
                let address = ((i + 1).checked_mul(pair_size))
                    .and_then(|offset| ctrl.checked_sub(offset))
                    .ok_or_else(|| unexpected("a hash table's buckets before address 0"))?;
                let entry = self.read(address, pair_size)?;
                for &(ty, offset, size) in &parts {
                    let part = field(&entry, offset, size)?;
                    children.push(Child::element(ty, part.to_vec()));
                }
            }
            chunk_start += chunk;
        }
        if found < wanted {
            return Err(unexpected("fewer full buckets than items"));
        }
        let summary = match hint {
            Hint::Map => format!("HashMap(size={items})"),
            _ => format!("HashSet(size={items})"),
        };
        self.with_children(&summary, hint, &children)
    }

    /// The tuple member `name` (`__0`, `__1`) of `pair`: its type, offset and size.
    fn pair_member(&self, pair: TypeId, name: &str) -> Result<(TypeId, u64, u64)> {
        let (_, t) = self.info.strip_type(pair)?;
        let TypeKind::Struct(c) = &t.kind else {
            return Err(unexpected("a hash table's entry is not a tuple"));
        };
        let m = (c.members.iter())
            .find(|m| m.name.as_deref() == Some(name))
            .ok_or_else(|| unexpected(format_args!("an entry without {name}")))?;
        let ty = m.ty.ok_or_else(|| unexpected("no type"))?;
        Ok((ty, m.offset, self.size_of(ty)?))
    }

    /// `BTreeMap(size=N) = {[k] = v, ...}`.
    pub(crate) fn btree_map(&mut self, ty: TypeId, c: &Composite, bytes: &[u8]) -> Result<()> {
        let (length, children) = self.btree_entries(ty, c, bytes, true)?;
        self.with_children(&format!("BTreeMap(size={length})"), Hint::Map, &children)
    }

    /// `BTreeSet(size=N) = {k, ...}`: the keys of its `map`.
    pub(crate) fn btree_set(&mut self, ty: TypeId, bytes: &[u8]) -> Result<()> {
        let (map_ty, map) = self.member_of(ty, bytes, "map")?;
        let (_, map_type) = self.info.strip_type(map_ty)?;
        let TypeKind::Struct(c) = &map_type.kind else {
            return Err(unexpected("BTreeSet's map is not a struct"));
        };
        let (length, children) = self.btree_entries(map_ty, c, map, false)?;
        self.with_children(&format!("BTreeSet(size={length})"), Hint::Array, &children)
    }

    /// The `length` of the `BTreeMap` `ty` and its first entries, in order: keys and,
    /// `with_values`, values. rust-gdb shows the length as a gdb value, in the output format
    /// of `print/x`: `BTreeMap(size=0x1e)`.
    fn btree_entries(
        &self,
        ty: TypeId,
        c: &Composite,
        bytes: &[u8],
        with_values: bool,
    ) -> Result<(String, Vec<Child>)> {
        let (length_ty, length_bytes) = self.member_of(ty, bytes, "length")?;
        let length = self.uint(length_ty, length_bytes)?;
        let shown_length = match self.options.format.filter(|&l| l != 's') {
            Some(letter) => format_integer(length_bytes, false, letter),
            None => length.to_string(),
        };
        let mut children = Vec::new();
        if length == 0 {
            return Ok((shown_length, children));
        }
        let (root_ty, root) = self.member_of(ty, bytes, "root")?;
        let (node_ref, node_ref_offset) = self.some_payload(root_ty)?;
        let node_ref_bytes = field(root, node_ref_offset, self.size_of(node_ref)?)?;
        let (height_ty, height) = self.member_of(node_ref, node_ref_bytes, "height")?;
        let height = self.uint(height_ty, height)?;
        let (node_ty, node) = self.member_of(node_ref, node_ref_bytes, "node")?;
        let (node, leaf) = self.thin_pointer(node_ty, node)?;
        let key = template_param(c, "K")?;
        let val = template_param(c, "V")?;
        let layout = self.btree_layout(leaf, key, val)?;
        if height > MAX_BTREE_HEIGHT {
            return Err(unexpected("a B-tree taller than any"));
        }
        let per_entry = if with_values { 2 } else { 1 };
        let wanted = length.min(self.child_limit().div_ceil(per_entry) as u64);
        let mut walk = BTreeWalk {
            layout: &layout,
            with_values,
            wanted,
            found: 0,
            children: &mut children,
        };
        self.btree_node(&mut walk, node, height)?;
        if walk.found < wanted {
            return Err(unexpected(
                "fewer entries in a B-tree's nodes than its length",
            ));
        }
        Ok((shown_length, children))
    }

    /// Reads the layout of `LeafNode<K, V>` (`leaf`) and of the `InternalNode<K, V>` its
    /// `parent` points to.
    fn btree_layout(&self, leaf: TypeId, key: TypeId, val: TypeId) -> Result<BTreeLayout> {
        let leaf_size = self.size_of(leaf)?;
        let (_, leaf_type) = self.info.strip_type(leaf)?;
        let TypeKind::Struct(leaf_c) = &leaf_type.kind else {
            return Err(unexpected("LeafNode is not a struct"));
        };
        let member = |c: &Composite, name: &str| {
            (c.members.iter())
                .find(|m| m.name.as_deref() == Some(name))
                .and_then(|m| Some((m.offset, m.ty?)))
                .ok_or_else(|| unexpected(format_args!("a B-tree node without {name}")))
        };
        let len = member(leaf_c, "len")?;
        let (keys, keys_ty) = member(leaf_c, "keys")?;
        let (vals, vals_ty) = member(leaf_c, "vals")?;
        let (_, parent_ty) = member(leaf_c, "parent")?;
        let key = (key, self.size_of(key)?);
        let val = (val, self.size_of(val)?);
        let capacity = self.array_of(keys_ty, key.1)?;
        if self.array_of(vals_ty, val.1)? != capacity {
            return Err(unexpected("a B-tree node's keys and vals differ in number"));
        }
        let (internal_ptr, _) = self.some_payload(parent_ty)?;
        let edge_size = self.size_of(internal_ptr)?;
        let internal = self.pointee_of(internal_ptr)?;
        let (_, internal_type) = self.info.strip_type(internal)?;
        let TypeKind::Struct(internal_c) = &internal_type.kind else {
            return Err(unexpected("InternalNode is not a struct"));
        };
        let (edges, edges_ty) = member(internal_c, "edges")?;
        if self.array_of(edges_ty, edge_size)? != capacity + 1 || edges < leaf_size {
            return Err(unexpected("an InternalNode's edges"));
        }
        Ok(BTreeLayout {
            leaf_size,
            len,
            keys,
            vals,
            edges,
            capacity,
            key,
            val,
            edge_size,
        })
    }

    /// The number of elements of the array type `ty`, whose elements must be `element_size`
    /// bytes each (`[MaybeUninit<K>; 11]` for `K`).
    fn array_of(&self, ty: TypeId, element_size: u64) -> Result<u64> {
        let (_, t) = self.info.strip_type(ty)?;
        match &t.kind {
            TypeKind::Array { element, counts } if counts.len() == 1 => {
                if self.size_of(*element)? != element_size {
                    return Err(unexpected("a B-tree node's array of another type"));
                }
                counts[0].ok_or_else(|| unexpected("an array of unknown size"))
            }
            _ => Err(unexpected("not an array")),
        }
    }

    /// Walks the node at `node`, `height` levels above the leaves, in order: its first child,
    /// its first entry, its second child, ..., until `walk` has found what it wants.
    fn btree_node(&self, walk: &mut BTreeWalk<'_>, node: u64, height: u64) -> Result<()> {
        let layout = walk.layout;
        let bytes = self.read(node, layout.leaf_size)?;
        let len_size = self.size_of(layout.len.1)?;
        let len = unsigned(field(&bytes, layout.len.0, len_size)?) as u64;
        if len > layout.capacity {
            return Err(unexpected("a B-tree node holding more than it can"));
        }
        for i in 0..=len {
            if walk.found == walk.wanted {
                return Ok(());
            }
            if height > 0 {
                let edges = element_at(layout.edges, i, layout.edge_size)?;
                let edge_address = (node.checked_add(edges))
                    .ok_or_else(|| unexpected("a B-tree node past 64 bits"))?;
                let edge = self.read(edge_address, layout.edge_size)?;
                let child = unsigned(&edge) as u64;
                if child == 0 {
                    return Err(unexpected("a B-tree node without a child"));
                }
                self.btree_node(walk, child, height - 1)?;
                if walk.found == walk.wanted {
                    return Ok(());
                }
            }
            if i < len {
                walk.found += 1;
                let (key, key_size) = layout.key;
                let key_at = element_at(layout.keys, i, key_size)?;
                let key_bytes = field(&bytes, key_at, key_size)?;
                walk.children.push(Child::element(key, key_bytes.to_vec()));
                if walk.with_values {
                    let (val, val_size) = layout.val;
                    let val_at = element_at(layout.vals, i, val_size)?;
                    let val_bytes = field(&bytes, val_at, val_size)?;
                    walk.children.push(Child::element(val, val_bytes.to_vec()));
                }
            }
        }
        Ok(())
    }
}

/// A walk through a B-tree for its first entries.
struct BTreeWalk<'a> {
    layout: &'a BTreeLayout,
    with_values: bool,
    /// How many entries the walk wants, and has found.
    wanted: u64,
    found: u64,
    children: &'a mut Vec<Child>,
}
