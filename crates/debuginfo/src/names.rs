//! The `name` section's function names, decoded on first use.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::ops::Range;

use wasmparser::{BinaryReader, Name, NameSectionReader};

use crate::module::Module;

/// Function names from a module's `name` section, decoded the first time one is asked for.
#[derive(Debug)]
pub(crate) struct FunctionNames {
    module: Option<Module>,
    range: Option<Range<usize>>,
    names: OnceCell<HashMap<u32, String>>,
}

impl FunctionNames {
    /// The names of `module`'s `name` section (none if it has none).
    pub(crate) fn new(module: Option<&Module>) -> Self {
        let range = module.and_then(|m| m.custom_section_range("name"));
        FunctionNames {
            module: module.cloned(),
            range,
            names: OnceCell::new(),
        }
    }

    /// The raw (possibly mangled) name of function `func`.
    pub(crate) fn get(&self, func: u32) -> Option<&str> {
        self.names
            .get_or_init(|| self.decode())
            .get(&func)
            .map(String::as_str)
    }

    fn decode(&self) -> HashMap<u32, String> {
        let mut names = HashMap::new();
        let (Some(module), Some(range)) = (&self.module, &self.range) else {
            return names;
        };
        let reader = NameSectionReader::new(BinaryReader::new(
            &module.bytes()[range.clone()],
            range.start as u64,
        ));
        // A malformed name section only loses names.
        for subsection in reader {
            let Ok(Name::Function(map)) = subsection else {
                continue;
            };
            for naming in map.into_iter().map_while(Result::ok) {
                names.insert(naming.index, naming.name.to_string());
            }
        }
        names
    }
}
