//! Global variables: the variables declared at a unit's or a namespace's scope with a static
//! address (Rust `static`s, C and C++ globals), indexed on first use.

use gimli::AttributeValue;

use crate::context::{DebugInfo, Reader};
use crate::error::Result;
use crate::frame::Scope;
use crate::types::TypeId;
use crate::units::UnitArc;

/// A variable at a unit's or a namespace's scope: a Rust `static`, a C or C++ global.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalVariable {
    /// The name qualified with its namespaces (`deep_recursion::MARKER`); in C, the name.
    pub name: String,
    /// The name as declared (`MARKER`).
    pub short_name: String,
    /// The mangled name (`DW_AT_linkage_name`), if any.
    pub linkage_name: Option<String>,
    /// The variable's type.
    pub ty: Option<TypeId>,
    /// Its address in linear memory (a `DW_OP_addr` location); `None` when it has no such
    /// location or the linker dropped it (the address is a tombstone: 0 or all ones).
    pub address: Option<u64>,
    /// The line it is declared on.
    pub decl_line: Option<u32>,
    /// `.debug_info` offset of its unit.
    pub(crate) unit: usize,
}

/// A tombstone address: what linkers write for a variable they dropped.
fn is_tombstone(address: u64) -> bool {
    address == 0 || address == u64::from(u32::MAX) || address == u64::MAX
}

/// What encloses a DIE while scanning a unit.
enum Enclosing {
    /// A namespace, with its name.
    Namespace(String),
    /// Anything else (a function, a type, a lexical block): variables inside are not global.
    Other,
}

impl DebugInfo {
    /// Every global variable of the DWARF, in `.debug_info` order. The first call scans every
    /// unit (slow on big modules); later calls return the kept index.
    pub fn global_variables(&self) -> Result<&[GlobalVariable]> {
        if let Some(globals) = self.globals.get() {
            return Ok(globals);
        }
        let mut out = Vec::new();
        let mut headers = self.dwarf.units();
        while let Some(header) = headers.next()? {
            let unit = self.units.unit(&self.dwarf, header.offset().0)?;
            self.unit_globals(&unit, &mut out)?;
        }
        Ok(self.globals.get_or_init(|| out))
    }

    /// The global variable named `name`: qualified (`deep_recursion::MARKER`) or plain
    /// (`MARKER`). Among several, one with an address wins, then one in the unit of `near` (the
    /// selected frame's scope), as gdb prefers the current file's statics.
    pub fn find_global_variable(
        &self,
        name: &str,
        near: Option<&Scope>,
    ) -> Result<Option<&GlobalVariable>> {
        let globals = self.global_variables()?;
        let rank =
            |g: &GlobalVariable| (g.address.is_none(), near.is_none_or(|s| s.unit != g.unit));
        let qualified = globals
            .iter()
            .filter(|g| g.name == name || g.linkage_name.as_deref() == Some(name))
            .min_by_key(|g| rank(g));
        if qualified.is_some() || name.contains("::") {
            return Ok(qualified);
        }
        Ok(globals
            .iter()
            .filter(|g| g.short_name == name)
            .min_by_key(|g| rank(g)))
    }

    fn unit_globals(&self, unit: &UnitArc, out: &mut Vec<GlobalVariable>) -> Result<()> {
        let rust = self.is_rust_unit(unit)?;
        let mut entries = unit.entries();
        // (depth, what) of the DIEs enclosing the current one, the unit's root left out.
        let mut stack: Vec<(isize, Enclosing)> = Vec::new();
        while let Some(die) = entries.next_dfs()? {
            let depth = die.depth();
            while stack.last().is_some_and(|(d, _)| *d >= depth) {
                stack.pop();
            }
            if depth == 0 {
                continue;
            }
            match die.tag() {
                gimli::DW_TAG_namespace => {
                    let name = match die.attr_value(gimli::DW_AT_name) {
                        Some(v) => self.attr_str(unit, v)?,
                        None => "(anonymous namespace)".into(),
                    };
                    stack.push((depth, Enclosing::Namespace(name)));
                }
                gimli::DW_TAG_variable
                    if stack
                        .iter()
                        .all(|(_, e)| matches!(e, Enclosing::Namespace(_)))
                        && die.attr_value(gimli::DW_AT_declaration).is_none() =>
                {
                    let die = die.clone();
                    let path: Vec<&str> = stack
                        .iter()
                        .filter_map(|(_, e)| match e {
                            Enclosing::Namespace(n) => Some(n.as_str()),
                            Enclosing::Other => None,
                        })
                        .collect();
                    if let Some(global) = self.global(unit, &die, &path, rust)? {
                        out.push(global);
                    }
                }
                _ if die.has_children() => stack.push((depth, Enclosing::Other)),
                _ => {}
            }
        }
        Ok(())
    }

    /// A global variable from its DIE, declared inside the namespaces `path`.
    fn global(
        &self,
        unit: &UnitArc,
        die: &gimli::DebuggingInformationEntry<Reader>,
        path: &[&str],
        rust: bool,
    ) -> Result<Option<GlobalVariable>> {
        let Some(short_name) = self.die_name(unit, die)? else {
            return Ok(None);
        };
        // A C++ static member's definition names its declaration inside the class.
        let name = match die.attr_value(gimli::DW_AT_specification) {
            Some(spec) => match self.resolve_ref(unit, spec)? {
                Some((u, offset)) => self.qualify(&u, offset, short_name.clone(), rust)?,
                None => short_name.clone(),
            },
            None if path.is_empty() => short_name.clone(),
            None => format!("{}::{short_name}", path.join("::")),
        };
        let linkage_name = match self.inherited_attr(unit, die, gimli::DW_AT_linkage_name)? {
            Some((u, v)) => Some(self.attr_str(&u, v)?),
            None => None,
        };
        let decl_line = match self.inherited_attr(unit, die, gimli::DW_AT_decl_line)? {
            Some((_, v)) => v.udata_value().map(|l| l as u32),
            None => None,
        };
        Ok(Some(GlobalVariable {
            name,
            short_name,
            linkage_name,
            ty: self.die_type(unit, die)?,
            address: self.static_address(unit, die.attr_value(gimli::DW_AT_location))?,
            decl_line,
            unit: unit.header.offset().0,
        }))
    }

    /// The address a location that is exactly `DW_OP_addr A` (or `DW_OP_addrx`) names.
    fn static_address(
        &self,
        unit: &UnitArc,
        location: Option<AttributeValue<Reader>>,
    ) -> Result<Option<u64>> {
        let Some(AttributeValue::Exprloc(expr)) = location else {
            return Ok(None);
        };
        let mut ops = expr.operations(unit.encoding());
        let address = match ops.next() {
            Ok(Some(gimli::Operation::Address { address })) => address,
            Ok(Some(gimli::Operation::AddressIndex { index })) => {
                self.dwarf.address(unit, index)?
            }
            _ => return Ok(None),
        };
        if !matches!(ops.next(), Ok(None)) || is_tombstone(address) {
            return Ok(None);
        }
        Ok(Some(address))
    }
}
