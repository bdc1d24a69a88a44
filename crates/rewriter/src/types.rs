//! The function types the rewriter adds to the Type section, deduplicated.

use std::collections::HashMap;

use wasm_encoder::{Encode, ValType};

/// New function types, appended after the module's own.
#[derive(Debug)]
pub(crate) struct TypeRegistry {
    existing: u32,
    added: Vec<(Vec<ValType>, Vec<ValType>)>,
    index: HashMap<(Vec<ValType>, Vec<ValType>), u32>,
}

impl TypeRegistry {
    /// A registry whose first new type gets index `existing`.
    pub fn new(existing: u32) -> Self {
        TypeRegistry {
            existing,
            added: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The index of the type `params -> results`, added if new.
    pub fn func(&mut self, params: &[ValType], results: &[ValType]) -> u32 {
        let key = (params.to_vec(), results.to_vec());
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.existing + self.added.len() as u32;
        self.added.push(key.clone());
        self.index.insert(key, i);
        i
    }

    /// How many types were added.
    pub fn added_count(&self) -> u32 {
        self.added.len() as u32
    }

    /// The encoded entries of the added types, without a count.
    pub fn encode_entries(&self, sink: &mut Vec<u8>) {
        for (params, results) in &self.added {
            sink.push(0x60);
            params.encode(sink);
            results.encode(sink);
        }
    }
}
