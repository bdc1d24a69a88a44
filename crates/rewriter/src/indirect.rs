//! `--check-indirect-calls`: before each `call_indirect`, a runtime check
//! that the index is in bounds, the slot is not null, and (for tables whose
//! contents are known statically) the function has the expected signature.
//! A failed check starts unwinding; the re-raise executes the same
//! `call_indirect` with the same index, so the host sees V8's own message.

use std::collections::HashMap;

use wasm_encoder::{BlockType, Function, ValType};
use wasmparser::Operator;

use crate::error::Error;
use crate::module::ModuleInfo;
use crate::runtime::{G, Rt, Runtime};
use crate::types::TypeRegistry;

/// Trap kinds from here on are failed indirect-call checks, one per
/// (type, table) pair.
pub(crate) const KIND_BASE: i32 = 100;

/// The (type, table) pairs of checked `call_indirect`s, and what is known
/// about each table's contents.
#[derive(Debug)]
pub(crate) struct IndirectChecks {
    /// Index of the first check function.
    base: u32,
    pairs: Vec<(u32, u32)>,
    index: HashMap<(u32, u32), u32>,
    /// For each table whose slots never change at run time, the canonical
    /// type of each slot's function (`None` for a null slot).
    static_tables: HashMap<u32, Vec<Option<u32>>>,
    /// Canonical type index of each type index (equal signatures share one).
    canonical: Vec<Option<u32>>,
}

impl IndirectChecks {
    /// Check functions will be numbered from `base`.
    pub fn new(info: &ModuleInfo<'_>, base: u32) -> Result<Self, Error> {
        let canonical: Vec<Option<u32>> = info
            .types
            .iter()
            .map(|t| {
                let t = t.as_ref()?;
                info.types
                    .iter()
                    .position(|u| u.as_ref() == Some(t))
                    .map(|p| p as u32)
            })
            .collect();
        let mutated = mutated_tables(info)?;
        let mut static_tables = HashMap::new();
        for (t, table) in info.tables.iter().enumerate() {
            let t = t as u32;
            let exported = info
                .exports
                .iter()
                .any(|(_, kind, i)| *kind == wasmparser::ExternalKind::Table && *i == t);
            if table.imported
                || exported
                || !table.checkable
                || mutated.contains(&t)
                || info.tables_with_dynamic_elements.contains(&t)
                || table.initial > 1 << 20
            {
                continue;
            }
            let mut slots = vec![None; table.initial as usize];
            for (_, offset, funcs) in info.elements.iter().filter(|e| e.0 == t) {
                for (k, f) in funcs.iter().enumerate() {
                    if let Some(slot) = slots.get_mut(*offset as usize + k) {
                        *slot = f.and_then(|f| {
                            let ty = *info.func_types.get(f as usize)?;
                            canonical.get(ty as usize).copied().flatten()
                        });
                    }
                }
            }
            static_tables.insert(t, slots);
        }
        Ok(IndirectChecks {
            base,
            pairs: Vec::new(),
            index: HashMap::new(),
            static_tables,
            canonical,
        })
    }

    /// The check function for a `call_indirect` of `ty` through `table`, or
    /// `None` for tables that are not checked (64-bit or typed).
    pub fn check_function(&mut self, info: &ModuleInfo<'_>, ty: u32, table: u32) -> Option<u32> {
        if !info.tables.get(table as usize)?.checkable {
            return None;
        }
        let next = self.pairs.len() as u32;
        let p = *self.index.entry((ty, table)).or_insert(next);
        if p == next {
            self.pairs.push((ty, table));
        }
        Some(self.base + p)
    }

    /// The type of the check functions, `(slot) -> slot`.
    pub fn check_type(types: &mut TypeRegistry) -> u32 {
        types.func(&[ValType::I32], &[ValType::I32])
    }

    /// The check functions (one per pair), then one slot-type lookup per
    /// static table.
    pub fn functions(&self, rt: &Runtime, types: &mut TypeRegistry) -> Vec<(u32, Function)> {
        let mut tables: Vec<u32> = self.static_tables.keys().copied().collect();
        tables.sort_unstable();
        let lookup_base = self.base + self.pairs.len() as u32;
        let check_type = IndirectChecks::check_type(types);
        let mut out = Vec::new();
        for (p, &(ty, table)) in self.pairs.iter().enumerate() {
            let mut f = Function::new([]);
            let mut s = f.instructions();
            let fail = |s: &mut wasm_encoder::InstructionSink<'_>| {
                s.local_get(0).global_set(rt.global(G::TrapArg));
                s.i32_const(KIND_BASE + p as i32).call(rt.func(Rt::Trap));
            };
            match tables.iter().position(|&t| t == table) {
                Some(k) => {
                    let expected = self.canonical.get(ty as usize).copied().flatten();
                    s.local_get(0).call(lookup_base + k as u32);
                    s.i32_const(expected.map_or(-2, |e| e as i32)).i32_ne();
                    s.if_(BlockType::Empty);
                    fail(&mut s);
                    s.end();
                }
                None => {
                    s.local_get(0)
                        .table_size(table)
                        .i32_ge_u()
                        .if_(BlockType::Empty);
                    fail(&mut s);
                    s.local_get(0).return_();
                    s.end();
                    s.local_get(0)
                        .table_get(table)
                        .ref_is_null()
                        .if_(BlockType::Empty);
                    fail(&mut s);
                    s.end();
                }
            }
            s.local_get(0).end();
            out.push((check_type, f));
        }
        for t in tables {
            out.push((check_type, slot_types(&self.static_tables[&t])));
        }
        out
    }

    /// What the re-raise needs: for each pair, its kind, type and table.
    pub fn retraps(&self) -> Vec<(i32, u32, u32)> {
        self.pairs
            .iter()
            .enumerate()
            .map(|(p, &(ty, table))| (KIND_BASE + p as i32, ty, table))
            .collect()
    }
}

/// `SlotType(idx) -> canonical type`, -1 for a null slot or past the end.
fn slot_types(slots: &[Option<u32>]) -> Function {
    let mut f = Function::new([]);
    let mut s = f.instructions();
    s.block(BlockType::Empty);
    for _ in slots {
        s.block(BlockType::Empty);
    }
    s.local_get(0);
    s.br_table(0..slots.len() as u32, slots.len() as u32);
    for slot in slots {
        s.end();
        s.i32_const(slot.map_or(-1, |t| t as i32)).return_();
    }
    s.end();
    s.i32_const(-1).end();
    f
}

/// Tables that instructions can change at run time.
fn mutated_tables(info: &ModuleInfo<'_>) -> Result<Vec<u32>, Error> {
    let mut mutated = Vec::new();
    for i in 0..info.body_count() {
        let mut ops = info.function_body(i).get_operators_reader()?;
        while !ops.eof() {
            let table = match ops.read()? {
                Operator::TableSet { table }
                | Operator::TableFill { table }
                | Operator::TableGrow { table }
                | Operator::TableInit { table, .. } => table,
                Operator::TableCopy { dst_table, .. } => dst_table,
                _ => continue,
            };
            if !mutated.contains(&table) {
                mutated.push(table);
            }
        }
    }
    Ok(mutated)
}
