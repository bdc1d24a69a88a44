//! The variables in scope at a code address (params, locals, lexical blocks) and where their
//! values are.

use gimli::{AttributeValue, DebuggingInformationEntry as Die, UnitOffset};

use crate::context::{DebugInfo, Reader};
use crate::error::{Error, Result, Unavailable};
use crate::eval::{ExprContext, evaluate};
use crate::frame::Scope;
use crate::place::Place;
use crate::state::FrameState;
use crate::types::TypeId;
use crate::units::UnitArc;

/// How deep lexical blocks may nest in a function (compilers nest a few levels; each level is a
/// recursive call here).
const MAX_BLOCK_DEPTH: u32 = 256;

/// Whether a variable is a parameter or a local.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VariableKind {
    /// A function parameter (`DW_TAG_formal_parameter`).
    Parameter,
    /// A local variable (`DW_TAG_variable`), possibly in a lexical block.
    Local,
}

/// A variable in scope at a code address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The name; `None` for compiler temporaries without one.
    pub name: Option<String>,
    /// Parameter or local.
    pub kind: VariableKind,
    /// The variable's type.
    pub ty: Option<TypeId>,
    /// The line it is declared on.
    pub decl_line: Option<u32>,
    /// How many lexical blocks deep it is declared (0: the function's own scope).
    pub block_depth: u32,
    pub(crate) location: VarLocation,
    pub(crate) scope: Scope,
}

/// A variable's location at the scope's address, before evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VarLocation {
    /// No location at this address: optimized out.
    None,
    /// A location expression.
    Expr(gimli::Expression<Reader>),
    /// `DW_AT_const_value`.
    Const(Place),
}

impl Variable {
    /// Whether the variable has no location at this address ("optimized out").
    pub fn is_optimized_out(&self) -> bool {
        self.location == VarLocation::None
    }

    /// The scope the variable was found in.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

impl DebugInfo {
    /// The unit of a scope, parsed (and kept) on first use.
    pub(crate) fn scope_unit(&self, scope: &Scope) -> Result<UnitArc> {
        self.units.unit(&self.dwarf, scope.unit)
    }

    /// Follows a DIE reference (`DW_AT_type`, `DW_AT_abstract_origin`, ...) from `unit`.
    pub(crate) fn resolve_ref(
        &self,
        unit: &UnitArc,
        value: AttributeValue<Reader>,
    ) -> Result<Option<(UnitArc, UnitOffset)>> {
        Ok(match value {
            AttributeValue::UnitRef(offset) => Some((unit.clone(), offset)),
            AttributeValue::DebugInfoRef(offset) => {
                Some(self.units.unit_containing(&self.dwarf, offset.0)?)
            }
            _ => None,
        })
    }

    /// An attribute of `die`, or of the DIE it is a concrete instance of
    /// (`DW_AT_abstract_origin`) or completes (`DW_AT_specification`).
    pub(crate) fn inherited_attr(
        &self,
        unit: &UnitArc,
        die: &Die<Reader>,
        at: gimli::DwAt,
    ) -> Result<Option<(UnitArc, AttributeValue<Reader>)>> {
        Ok(self
            .inherited_attr_die(unit, die, at)?
            .map(|(unit, _, v)| (unit, v)))
    }

    /// [`DebugInfo::inherited_attr`], with the offset of the DIE that has the attribute.
    pub(crate) fn inherited_attr_die(
        &self,
        unit: &UnitArc,
        die: &Die<Reader>,
        at: gimli::DwAt,
    ) -> Result<Option<(UnitArc, UnitOffset, AttributeValue<Reader>)>> {
        let mut unit = unit.clone();
        let mut die = die.clone();
        for _ in 0..8 {
            if let Some(v) = die.attr_value(at) {
                return Ok(Some((unit, die.offset(), v)));
            }
            let origin = die
                .attr_value(gimli::DW_AT_abstract_origin)
                .or_else(|| die.attr_value(gimli::DW_AT_specification));
            let Some(origin) = origin else { break };
            let Some((u, offset)) = self.resolve_ref(&unit, origin)? else {
                break;
            };
            die = u.entry(offset)?;
            unit = u;
        }
        Ok(None)
    }

    pub(crate) fn attr_str(
        &self,
        unit: &gimli::Unit<Reader>,
        v: AttributeValue<Reader>,
    ) -> Result<String> {
        use gimli::Reader as _;
        Ok(self
            .dwarf
            .attr_string(unit, v)?
            .to_string_lossy()?
            .into_owned())
    }

    /// The DIE's name, its own or its origin's.
    pub(crate) fn die_name(&self, unit: &UnitArc, die: &Die<Reader>) -> Result<Option<String>> {
        match self.inherited_attr(unit, die, gimli::DW_AT_name)? {
            Some((u, v)) => Ok(Some(self.attr_str(&u, v)?)),
            None => Ok(None),
        }
    }

    /// The type a DIE's `DW_AT_type` names (its own or its origin's).
    pub(crate) fn die_type(&self, unit: &UnitArc, die: &Die<Reader>) -> Result<Option<TypeId>> {
        let Some((u, v)) = self.inherited_attr(unit, die, gimli::DW_AT_type)? else {
            return Ok(None);
        };
        Ok(self
            .resolve_ref(&u, v)?
            .map(|(u, offset)| TypeId::new(&u, offset)))
    }

    fn contains(&self, unit: &UnitArc, die: &Die<Reader>, address: u64) -> Result<bool> {
        let mut ranges = unit.unit_ref(&self.dwarf).die_ranges(die)?;
        while let Some(range) = ranges.next()? {
            if range.begin <= address && address < range.end {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The location expression of a location attribute at `address`: an expression, or the
    /// location list entry covering the address.
    fn location_at(
        &self,
        unit: &UnitArc,
        value: AttributeValue<Reader>,
        address: u64,
    ) -> Result<Option<gimli::Expression<Reader>>> {
        if let AttributeValue::Exprloc(expr) = value {
            return Ok(Some(expr));
        }
        let Some(mut list) = unit.unit_ref(&self.dwarf).attr_locations(value)? else {
            return Ok(None);
        };
        while let Some(entry) = list.next()? {
            if entry.range.begin <= address && address < entry.range.end {
                return Ok(Some(entry.data));
            }
        }
        Ok(None)
    }

    fn variable(
        &self,
        unit: &UnitArc,
        die: &Die<Reader>,
        kind: VariableKind,
        block_depth: u32,
        scope: &Scope,
    ) -> Result<Variable> {
        let location = if let Some(v) = die.attr_value(gimli::DW_AT_location) {
            match self.location_at(unit, v, scope.address)? {
                Some(expr) => VarLocation::Expr(expr),
                None => VarLocation::None,
            }
        } else if let Some((u, v)) = self.inherited_attr(unit, die, gimli::DW_AT_const_value)? {
            VarLocation::Const(match v {
                AttributeValue::Block(bytes) => {
                    use gimli::Reader as _;
                    Place::Bytes(bytes.to_slice()?.into_owned())
                }
                AttributeValue::Sdata(v) => Place::Value(v as u64),
                v => match v.udata_value() {
                    Some(v) => Place::Value(v),
                    None => Place::Bytes(self.attr_str(&u, v)?.into_bytes()),
                },
            })
        } else {
            VarLocation::None
        };
        let decl_line = match self.inherited_attr(unit, die, gimli::DW_AT_decl_line)? {
            Some((_, v)) => v.udata_value().map(|l| l as u32),
            None => None,
        };
        Ok(Variable {
            name: self.die_name(unit, die)?,
            kind,
            ty: self.die_type(unit, die)?,
            decl_line,
            block_depth,
            location,
            scope: *scope,
        })
    }

    /// The variables in scope at a frame's address: its parameters in declaration order, then
    /// its locals, innermost lexical block first. Variables of functions inlined into this frame
    /// belong to their own (inlined) frames.
    pub fn variables(&self, scope: &Scope) -> Result<Vec<Variable>> {
        let unit = self.scope_unit(scope)?;
        let mut tree = unit.entries_tree(Some(UnitOffset(scope.die)))?;
        let root = tree.root()?;
        let tag = root.entry().tag();
        if tag != gimli::DW_TAG_subprogram && tag != gimli::DW_TAG_inlined_subroutine {
            return Err(Error::InvalidReference(format!(
                "DIE {:#x} is a {tag}, not a function",
                scope.die
            )));
        }
        let mut params = Vec::new();
        let mut blocks: Vec<Vec<Variable>> = Vec::new();
        self.walk(&unit, root, 0, scope, &mut params, &mut blocks)?;
        params.extend(blocks.into_iter().rev().flatten());
        Ok(params)
    }

    fn walk(
        &self,
        unit: &UnitArc,
        node: gimli::EntriesTreeNode<'_, '_, Reader>,
        depth: u32,
        scope: &Scope,
        params: &mut Vec<Variable>,
        blocks: &mut Vec<Vec<Variable>>,
    ) -> Result<()> {
        let mut children = node.children();
        while let Some(child) = children.next()? {
            let die = child.entry().clone();
            match die.tag() {
                gimli::DW_TAG_formal_parameter if depth == 0 => {
                    params.push(self.variable(unit, &die, VariableKind::Parameter, 0, scope)?);
                }
                gimli::DW_TAG_variable => {
                    if blocks.len() <= depth as usize {
                        blocks.resize_with(depth as usize + 1, Vec::new);
                    }
                    let var = self.variable(unit, &die, VariableKind::Local, depth, scope)?;
                    blocks[depth as usize].push(var);
                }
                gimli::DW_TAG_lexical_block if self.contains(unit, &die, scope.address)? => {
                    // Malformed DWARF may nest blocks without end: a bound, not a stack overflow.
                    if depth == MAX_BLOCK_DEPTH {
                        return Err(Error::InvalidReference(format!(
                            "lexical blocks nested more than {MAX_BLOCK_DEPTH} deep at {:#x}",
                            die.offset().0
                        )));
                    }
                    self.walk(unit, child, depth + 1, scope, params, blocks)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The frame base of a scope's function (`DW_AT_frame_base`), which `DW_OP_fbreg` adds to.
    /// In Wasm it is usually a local (`DW_OP_WASM_location 0x0 N`) or the `__stack_pointer`
    /// global (`DW_OP_WASM_location 0x3 N`).
    pub fn frame_base(&self, scope: &Scope, state: &dyn FrameState) -> Result<u64> {
        let unit = self.scope_unit(scope)?;
        let die = unit.entry(UnitOffset(scope.function))?;
        let no_base = || Error::Unavailable(Unavailable::FrameBase);
        let value = die
            .attr_value(gimli::DW_AT_frame_base)
            .ok_or_else(no_base)?;
        let expr = self
            .location_at(&unit, value, scope.address)?
            .ok_or_else(no_base)?;
        let cx = ExprContext {
            dwarf: &self.dwarf,
            unit: Some(&unit),
            encoding: unit.encoding(),
            frame_base: &|| Err(no_base()),
        };
        match evaluate(&cx, expr, state)? {
            Place::Memory(v) | Place::Value(v) => Ok(v),
            _ => Err(no_base()),
        }
    }

    /// Where `var`'s value is in `state`'s frame: evaluates its location (all forms of
    /// `DW_OP_WASM_location`, `DW_OP_fbreg` against the frame base, pieces, `DW_OP_stack_value`,
    /// location lists). [`Place::OptimizedOut`] when it has no location here.
    pub fn locate(&self, var: &Variable, state: &dyn FrameState) -> Result<Place> {
        let expr = match &var.location {
            VarLocation::None => return Ok(Place::OptimizedOut),
            VarLocation::Const(place) => return Ok(place.clone()),
            VarLocation::Expr(expr) => expr.clone(),
        };
        let unit = self.scope_unit(&var.scope)?;
        let frame_base = || self.frame_base(&var.scope, state);
        let cx = ExprContext {
            dwarf: &self.dwarf,
            unit: Some(&unit),
            encoding: unit.encoding(),
            frame_base: &frame_base,
        };
        evaluate(&cx, expr, state)
    }

    /// Reads `var`'s value: the bytes of its type's size from its [`Place`], and which of them
    /// the place describes ([`Place::read_described`]: `None` when all).
    pub fn read_variable(
        &self,
        var: &Variable,
        state: &dyn FrameState,
    ) -> Result<(Vec<u8>, Option<Vec<bool>>)> {
        let size = match var.ty {
            Some(ty) => self.type_size(ty)?.unwrap_or(0),
            None => 0,
        };
        self.locate(var, state)?.read_described(size, state)
    }
}
