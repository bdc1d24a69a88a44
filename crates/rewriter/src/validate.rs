//! Validation of the input. The rewriter copies most of a module as it is, so the output is valid
//! only if the input is: a body naming a missing memory, or a section of no known id, is refused
//! here rather than copied.

use wasmparser::{
    BinaryReaderError, FuncToValidate, FunctionBody, Parser, ValidPayload, Validator,
    ValidatorResources, WasmFeatures,
};

/// Function bodies worth a thread of their own: smaller modules are validated on the caller's.
const BYTES_PER_THREAD: u64 = 1 << 20;

/// Validates `input` as wasmparser does with every feature it knows (the rewriter refuses what it
/// does not handle itself, by name), the function bodies spread over the machine's cores. Of
/// several invalid bodies, the first in the module is the error.
pub(crate) fn validate(input: &[u8]) -> Result<(), BinaryReaderError> {
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(input) {
        if let ValidPayload::Func(func, body) = validator.payload(&payload?)? {
            bodies.push((func, body));
        }
    }
    let size: u64 = bodies
        .iter()
        .map(|(_, body)| body.range().end - body.range().start)
        .sum();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = cores.min(usize::try_from(size / BYTES_PER_THREAD + 1).unwrap_or(cores));
    if threads == 1 {
        return bodies.into_iter().try_for_each(validate_body);
    }
    let per_thread = bodies.len().div_ceil(threads);
    let mut chunks = Vec::new();
    while !bodies.is_empty() {
        let rest = bodies.split_off(per_thread.min(bodies.len()));
        chunks.push(std::mem::replace(&mut bodies, rest));
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(|| chunk.into_iter().try_for_each(validate_body)))
            .collect();
        // In module order, so that the first invalid body is the one reported.
        handles
            .into_iter()
            .try_for_each(|handle| match handle.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            })
    })
}

/// Validates one function body.
fn validate_body(
    (func, body): (FuncToValidate<ValidatorResources>, FunctionBody<'_>),
) -> Result<(), BinaryReaderError> {
    func.into_validator(Default::default()).validate(&body)
}
