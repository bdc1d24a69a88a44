//! Regression tests, each named after what it caught. Found by fuzzing
//! (fuzz/fuzz_targets/rewrite.rs, bits flipped in the modules of fuzz/seeds/wasm): inputs that
//! are not valid modules, taken and rewritten into output that does not validate or parse, where
//! `rewrite` promises to refuse a malformed module and never to emit an invalid one.

use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Function, FunctionSection, MemorySection, MemoryType,
    Module, RawSection, TypeSection, ValType,
};

/// A module with one memory and one exported function `() -> i32` whose body is `code` (its
/// instructions and the final `end`), then `extra` sections as they are.
fn module(code: &[u8], extra: &[RawSection<'_>]) -> Vec<u8> {
    let mut module = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    module.section(&types);
    let mut functions = FunctionSection::new();
    functions.function(0);
    module.section(&functions);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&memories);
    let mut exports = ExportSection::new();
    exports.export("run", ExportKind::Func, 0);
    module.section(&exports);
    let mut bodies = CodeSection::new();
    let mut body = Function::new([]);
    body.raw(code.iter().copied());
    bodies.function(&body);
    module.section(&bodies);
    for section in extra {
        module.section(section);
    }
    module.finish()
}

/// `i32.const 1`, `i32.const 0`, `i32.div_u`: a trap point, so the body is instrumented.
const DIVIDE: [u8; 5] = [0x41, 0x01, 0x41, 0x00, 0x6e];
const END: u8 = 0x0b;

/// Asserts `input` is not a valid module, and that the rewriter refuses it or emits a valid one.
#[track_caller]
fn assert_refused_or_valid(input: &[u8]) {
    let features = wasmparser::WasmFeatures::all();
    let validate = |module: &[u8]| {
        wasmparser::Validator::new_with_features(features)
            .validate_all(module)
            .map(|_| ())
    };
    assert!(validate(input).is_err(), "the input is invalid");
    if let Ok(out) = rewriter::rewrite(input, &rewriter::Options::default())
        && let Err(e) = validate(&out.module)
    {
        panic!("rewrite promises never to emit an invalid module: {e}");
    }
}

/// `memory.grow 105` where the module has one memory was copied as it was ("unknown memory
/// 105"); so were a type mismatch and an unknown local: the bodies are not validated.
#[test]
fn a_body_naming_a_missing_memory_is_refused_not_copied() {
    let mut code = vec![0x41, 0x01, 0x40, 105];
    code.extend(DIVIDE);
    code.extend([0x6a, END]);
    assert_refused_or_valid(&module(&code, &[]));
}

/// A body whose last `end` closes a block, not the function (found: an `if` left open), tripped
/// the debug assertion that the instrumented body was copied to its end (`instrument.rs`:
/// `copied == range.end`).
#[test]
fn a_body_that_leaves_a_block_open_is_refused_not_a_panic() {
    let mut code = vec![0x02, 0x40];
    code.extend(DIVIDE);
    code.push(END);
    assert_refused_or_valid(&module(&code, &[]));
}

/// A section of an id no Wasm version has (38) was copied into the output, which then did not
/// parse ("malformed section id: 38").
#[test]
fn an_unknown_section_id_is_refused_not_copied() {
    let mut code = DIVIDE.to_vec();
    code.push(END);
    let unknown = RawSection { id: 38, data: &[] };
    assert_refused_or_valid(&module(&code, &[unknown]));
}
