//! Qualified type names: the namespaces (and enclosing types) a DIE is declared in. DWARF
//! only links children to parents, so each unit is walked once, on first need.

use std::collections::HashMap;
use std::sync::Arc;

use gimli::UnitOffset;

use crate::context::DebugInfo;
use crate::error::Result;
use crate::units::UnitArc;

/// Per unit: the `a::b` prefix of every DIE declared inside a namespace or a type.
#[derive(Debug, Default)]
pub(crate) struct UnitNames {
    prefixes: HashMap<usize, Arc<str>>,
}

fn is_scope(tag: gimli::DwTag) -> bool {
    matches!(
        tag,
        gimli::DW_TAG_namespace
            | gimli::DW_TAG_structure_type
            | gimli::DW_TAG_class_type
            | gimli::DW_TAG_union_type
            | gimli::DW_TAG_enumeration_type
    )
}

impl DebugInfo {
    fn unit_names(&self, unit: &UnitArc) -> Result<Arc<UnitNames>> {
        let key = unit.header.offset().0;
        if let Some(names) = self.unit_names.borrow().get(&key) {
            return Ok(names.clone());
        }
        let mut names = UnitNames::default();
        let mut entries = unit.entries();
        // (depth, prefix including this scope's name)
        let mut stack: Vec<(isize, Arc<str>)> = Vec::new();
        while let Some(die) = entries.next_dfs()? {
            let depth = die.depth();
            while stack.last().is_some_and(|(d, _)| *d >= depth) {
                stack.pop();
            }
            if let Some((_, prefix)) = stack.last() {
                names.prefixes.insert(die.offset().0, prefix.clone());
            }
            if is_scope(die.tag())
                && die.has_children()
                && let Some(name) = die.attr_value(gimli::DW_AT_name)
            {
                let name = self.attr_str(unit, name)?;
                let full: Arc<str> = match stack.last() {
                    Some((_, prefix)) => format!("{prefix}::{name}").into(),
                    None => name.into(),
                };
                stack.push((depth, full));
            }
        }
        let names = Arc::new(names);
        self.unit_names.borrow_mut().insert(key, names.clone());
        Ok(names)
    }

    /// Whether the unit's language is Rust.
    pub(crate) fn is_rust_unit(&self, unit: &UnitArc) -> Result<bool> {
        let root = unit.entry(unit.header.root_offset())?;
        Ok(matches!(
            root.attr_value(gimli::DW_AT_language),
            Some(gimli::AttributeValue::Language(gimli::DW_LANG_Rust))
        ))
    }

    /// `name` qualified with the scopes the DIE at `offset` is declared in, for Rust and C++
    /// (C has no namespaces, and its nested types are not qualified).
    pub(crate) fn qualify(
        &self,
        unit: &UnitArc,
        offset: UnitOffset,
        name: String,
        rust: bool,
    ) -> Result<String> {
        // Rust names of pointers and references (`&str`, `*mut u8`) and base types are global.
        if rust
            && (name.starts_with(['&', '*', '(', '['])
                || !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric())
                    && is_primitive(&name))
        {
            return Ok(name);
        }
        self.within_scopes(unit, offset, name)
    }

    /// The name gdb gives the Rust function of a frame whose DIE (a `DW_TAG_subprogram`, or a
    /// `DW_TAG_inlined_subroutine`) is at `offset`: the `DW_AT_name` of that DIE or of the DIE
    /// it is an instance of or completes, within the namespaces that one is declared in. rustc's
    /// names carry the generic arguments and closure numbers that the mangled linkage name
    /// loses: `typezoo::generic_sum<f32, typezoo::main::{closure_env#1}>`,
    /// `typezoo::main::{closure#1}`, and `std::panicking::panic_handler` for the function whose
    /// symbol is `__rustc::rust_begin_unwind`. `None` when no DIE of the chain has a name.
    pub(crate) fn rust_function_name(
        &self,
        unit: &UnitArc,
        offset: UnitOffset,
    ) -> Result<Option<String>> {
        let die = unit.entry(offset)?;
        let Some((unit, offset, name)) = self.inherited_attr_die(unit, &die, gimli::DW_AT_name)?
        else {
            return Ok(None);
        };
        let name = self.attr_str(&unit, name)?;
        self.within_scopes(&unit, offset, name).map(Some)
    }

    /// `name` after the `a::b::` prefix of the scopes the DIE at `offset` is declared in.
    fn within_scopes(&self, unit: &UnitArc, offset: UnitOffset, name: String) -> Result<String> {
        let names = self.unit_names(unit)?;
        Ok(match names.prefixes.get(&offset.0) {
            Some(prefix) => format!("{prefix}::{name}"),
            None => name,
        })
    }
}

fn is_primitive(name: &str) -> bool {
    matches!(
        name,
        "u8" | "u16"
            | "u32"
            | "u64"
            | "u128"
            | "usize"
            | "i8"
            | "i16"
            | "i32"
            | "i64"
            | "i128"
            | "isize"
            | "f32"
            | "f64"
            | "bool"
            | "char"
            | "str"
    )
}
