//! Trait objects: the concrete type behind a vtable, as gdb finds it to print `*shape` of a
//! `&dyn Shape`.

use gimli::{AttributeValue, UnitOffset};

use crate::context::DebugInfo;
use crate::error::Result;
use crate::types::TypeId;

impl DebugInfo {
    /// The concrete type of a trait object whose vtable is at `address`: rustc describes each
    /// vtable as a static `<T as Trait>::{vtable}` whose type (`{vtable_type}`) names `T` with
    /// `DW_AT_containing_type`. `None` when no vtable described so is at `address`.
    pub fn vtable_type(&self, address: u64) -> Result<Option<TypeId>> {
        for global in self.global_variables()? {
            let (Some(ty), true) = (global.ty, global.address == Some(address)) else {
                continue;
            };
            if !global.name.ends_with("::{vtable}") {
                continue;
            }
            let unit = self.units.unit(&self.dwarf, ty.unit)?;
            let die = unit.entry(UnitOffset(ty.die))?;
            if let Some(AttributeValue::UnitRef(offset)) =
                die.attr_value(gimli::DW_AT_containing_type)
            {
                return Ok(Some(TypeId::new(&unit, offset)));
            }
        }
        Ok(None)
    }
}
