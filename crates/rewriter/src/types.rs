//! The function types the rewriter adds to the Type section, deduplicated.

use std::collections::HashMap;
use std::rc::Rc;

use wasm_encoder::{Encode, ValType};

/// New function types, appended after the module's own.
#[derive(Debug)]
pub(crate) struct TypeRegistry {
    existing: u32,
    /// Each added type as the Type section encodes it, in index order.
    added: Vec<Rc<[u8]>>,
    /// The index of each added type, by its encoding (which it shares with
    /// `added`: a recorder's type can take hundreds of params).
    index: HashMap<Rc<[u8]>, u32>,
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
        let mut encoded = vec![0x60];
        params.encode(&mut encoded);
        results.encode(&mut encoded);
        if let Some(&i) = self.index.get(&encoded[..]) {
            return i;
        }
        let i = self.existing + self.added.len() as u32;
        let encoded: Rc<[u8]> = encoded.into();
        self.added.push(Rc::clone(&encoded));
        self.index.insert(encoded, i);
        i
    }

    /// How many types were added.
    pub fn added_count(&self) -> u32 {
        self.added.len() as u32
    }

    /// The encoded entries of the added types, without a count.
    pub fn encode_entries(&self, sink: &mut Vec<u8>) {
        for encoded in &self.added {
            sink.extend_from_slice(encoded);
        }
    }
}
