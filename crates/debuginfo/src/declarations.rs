//! Where functions are declared, by name: the place a frame can still be given when the DWARF
//! came without the Code section that maps code offsets to lines (the sections an older host
//! sends beside a dump), as the older Wasm coredump service printed it.

use std::collections::HashMap;

use crate::context::DebugInfo;
use crate::error::Result;
use crate::frame::Location;

impl DebugInfo {
    /// Where function `func` is declared (`DW_AT_decl_file`, `DW_AT_decl_line`): the subprogram
    /// whose linkage name (or, without one, name) is the function's `name` section entry.
    /// `None` when no subprogram has that name or it records no line. The first call indexes
    /// every unit's subprograms; later ones look the index up.
    pub fn declaration(&self, func: u32) -> Result<Option<Location>> {
        let name = self.function_name(func);
        let raw = name.raw.as_deref().unwrap_or(&name.name);
        Ok(self.declarations()?.get(raw).cloned())
    }

    fn declarations(&self) -> Result<&HashMap<String, Location>> {
        if let Some(index) = self.declarations.get() {
            return Ok(index);
        }
        let mut index = HashMap::new();
        let mut headers = self.dwarf.units();
        while let Some(header) = headers.next()? {
            let unit = self.units.unit(&self.dwarf, header.offset().0)?;
            let mut entries = unit.entries();
            while let Some(die) = entries.next_dfs()? {
                if die.tag() != gimli::DW_TAG_subprogram {
                    continue;
                }
                let name = match die
                    .attr_value(gimli::DW_AT_linkage_name)
                    .or_else(|| die.attr_value(gimli::DW_AT_name))
                {
                    Some(v) => self.attr_str(&unit, v)?,
                    None => continue,
                };
                let Some(line) = die
                    .attr_value(gimli::DW_AT_decl_line)
                    .and_then(|v| v.udata_value())
                else {
                    continue;
                };
                let file = match (die.attr_value(gimli::DW_AT_decl_file), &unit.line_program) {
                    (Some(gimli::AttributeValue::FileIndex(i)), Some(program)) => {
                        self.file_names(&unit, program.header(), i)?
                    }
                    _ => None,
                };
                index.entry(name).or_insert_with(|| Location {
                    file: file.as_ref().map(|f| f.full.clone()),
                    recorded_file: file.map(|f| f.recorded),
                    line: Some(line as u32),
                    column: None,
                });
            }
        }
        Ok(self.declarations.get_or_init(|| index))
    }
}
