//! Function names outside DWARF ([`wasm_layout::FunctionNames`]: the `name` section, exports,
//! imports), read on first use.

use std::cell::OnceCell;

use wasm_layout::{FunctionNames, NameOrigin};

use crate::frame::{FunctionName, NameSource};
use crate::module::Module;

/// The function names of a module outside its DWARF, read the first time one is asked for.
#[derive(Debug)]
pub(crate) struct FallbackNames {
    module: Option<Module>,
    names: OnceCell<FunctionNames>,
}

impl FallbackNames {
    /// The names `module` gives its functions (none without a module).
    pub(crate) fn new(module: Option<&Module>) -> Self {
        FallbackNames {
            module: module.cloned(),
            names: OnceCell::new(),
        }
    }

    /// The name of function `func` (demangled), else `func[N]`.
    pub(crate) fn get(&self, func: u32) -> FunctionName {
        let names = self.names.get_or_init(|| {
            self.module
                .as_ref()
                .map(|m| FunctionNames::read(m.bytes(), m.layout()))
                .unwrap_or_default()
        });
        match names.get(func) {
            Some((raw, origin)) => FunctionName::new(raw, None, NameSource::from(origin)),
            None => FunctionName::index(func),
        }
    }
}

impl From<NameOrigin> for NameSource {
    fn from(origin: NameOrigin) -> Self {
        match origin {
            NameOrigin::NameSection => NameSource::NameSection,
            NameOrigin::Export => NameSource::Export,
            NameOrigin::Import => NameSource::Import,
        }
    }
}
