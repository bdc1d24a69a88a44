//! wasm-smith modules (every feature wasm-smith enables by default) through
//! the rewriter: it never panics, and whatever it outputs validates.

use arbitrary::Unstructured;
use proptest::prelude::*;
use wasmparser::{Validator, WasmFeatures};

fn check(
    config: wasm_smith::Config,
    options: &rewriter::Options,
    seed: &[u8],
) -> Result<(), TestCaseError> {
    let mut u = Unstructured::new(seed);
    let Ok(module) = wasm_smith::Module::new(config, &mut u) else {
        return Ok(());
    };
    let input = module.to_bytes();
    match rewriter::rewrite(&input, options) {
        Ok(out) => {
            if let Err(e) =
                Validator::new_with_features(WasmFeatures::all()).validate_all(&out.module)
            {
                let path = std::env::temp_dir().join("smith-failure.wasm");
                std::fs::write(&path, &input).ok();
                return Err(TestCaseError::fail(format!(
                    "invalid output: {e} (input saved to {})",
                    path.display()
                )));
            }
        }
        // Every refusal is a one-line message naming what is wrong.
        Err(e) => prop_assert!(!e.to_string().contains('\n')),
    }
    Ok(())
}

/// Modules with exactly one 32-bit memory and everything exported, so that
/// most get rewritten rather than refused.
fn one_memory() -> wasm_smith::Config {
    wasm_smith::Config {
        min_memories: 1,
        max_memories: 1,
        memory64_enabled: false,
        min_funcs: 2,
        export_everything: true,
        ..wasm_smith::Config::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn default_config(seed in prop::collection::vec(any::<u8>(), 64..4096)) {
        check(wasm_smith::Config::default(), &rewriter::Options::default(), &seed)?;
    }

    #[test]
    fn with_one_memory_and_exports(seed in prop::collection::vec(any::<u8>(), 64..4096)) {
        check(one_memory(), &rewriter::Options::default(), &seed)?;
    }

    #[test]
    fn unwinding_with_checks(seed in prop::collection::vec(any::<u8>(), 64..4096)) {
        let options = rewriter::Options {
            unwind: rewriter::Unwind::Checks,
            ..Default::default()
        };
        check(one_memory(), &options, &seed)?;
    }

    #[test]
    fn unwinding_with_exceptions(seed in prop::collection::vec(any::<u8>(), 64..4096)) {
        // Modules that handle exceptions themselves are refused in one line.
        let options = rewriter::Options {
            unwind: rewriter::Unwind::Exceptions,
            ..Default::default()
        };
        check(one_memory(), &options, &seed)?;
    }

    #[test]
    fn recording_every_local_or_the_params(seed in prop::collection::vec(any::<u8>(), 64..4096)) {
        for record_locals in [rewriter::RecordLocals::All, rewriter::RecordLocals::Params] {
            let options = rewriter::Options {
                record_locals,
                ..Default::default()
            };
            check(one_memory(), &options, &seed)?;
        }
    }

    #[test]
    fn with_every_opt_in_check(seed in prop::collection::vec(any::<u8>(), 64..4096)) {
        let options = rewriter::Options {
            check_memory: true,
            check_indirect_calls: true,
            max_call_depth: Some(500),
            ..Default::default()
        };
        check(one_memory(), &options, &seed)?;
    }
}
