//! Property tests: custom sections of every kind placed anywhere around Code, any options; the
//! split keeps Code in place, both outputs validate, and nothing but the removed sections and
//! the added ones differs from the input.

mod common;

use common::*;
use debuginfo_split::{Error, NewBuildId, PADDING_SECTION, SplitOptions, split};
use proptest::prelude::*;

const NAMES: &[&str] = &[
    ".debug_info",
    ".debug_line",
    ".debug_abbrev",
    "name",
    "producers",
    "external_debug_info",
    "target_features",
    "",
];

#[derive(Debug, Clone)]
struct Extra {
    name: &'static str,
    len: usize,
    before_code: bool,
}

fn extra() -> impl Strategy<Value = Extra> {
    (0..NAMES.len(), 0..200usize, any::<bool>()).prop_map(|(i, len, before_code)| Extra {
        name: NAMES[i],
        len,
        before_code,
    })
}

fn build(extras: &[Extra], build_id: &Option<(usize, bool)>) -> Vec<u8> {
    let mut before = Vec::new();
    let mut after = Vec::new();
    for (i, e) in extras.iter().enumerate() {
        let section = custom(e.name, &fake_dwarf(i as u8, e.len));
        if e.before_code {
            &mut before
        } else {
            &mut after
        }
        .extend(section);
    }
    if let Some((len, before_code)) = build_id {
        let section = custom("build_id", &fake_dwarf(99, *len));
        if *before_code {
            &mut before
        } else {
            &mut after
        }
        .extend(section);
    }
    let mut module = insert_before_code(&base_module(), &before);
    module.extend(after);
    module
}

proptest! {
    #[test]
    fn any_layout_splits_cleanly(
        extras in prop::collection::vec(extra(), 0..8),
        build_id in prop::option::of((1..40usize, any::<bool>())),
        strip_names in any::<bool>(),
        url in prop::option::of("[a-z{}/:.]{0,40}"),
        deterministic in any::<bool>(),
    ) {
        let input = build(&extras, &build_id);
        let mut opts = SplitOptions::default();
        opts.strip_names = strip_names;
        opts.external_url = url.clone();
        if deterministic {
            opts.new_build_id = NewBuildId::Deterministic;
        }
        let out = match split(&input, &opts) {
            Err(Error::NoDwarf { .. }) => {
                prop_assert!(!has_dwarf(&input));
                return Ok(());
            }
            other => other.unwrap(),
        };
        let stripped = out.stripped().to_vec();
        let debug = out.debug().to_vec();
        validate(&stripped);
        validate(&debug);

        // Code in place, and every byte before it either kept or padded in place.
        let code = code_range(&input);
        prop_assert_eq!(code_range(&stripped), code.clone());
        prop_assert_eq!(code_range(&debug), code.clone());
        prop_assert_eq!(&stripped[code.clone()], &input[code.clone()]);
        for removed in out.removed() {
            prop_assert_eq!(removed.padded, removed.range.end <= code.start);
        }

        // The debug file: the input, then the build_id section unless it had one.
        prop_assert_eq!(&debug[..input.len()], &input[..]);
        prop_assert_eq!(&debug[input.len()..], out.debug_suffix());
        prop_assert_eq!(out.debug_suffix().is_empty(), build_id.is_some());
        let payloads = custom_data(&stripped, "build_id");
        prop_assert_eq!(payloads.len(), 1);
        prop_assert_eq!(build_id_bytes(payloads[0]), out.build_id().as_bytes());
        prop_assert_eq!(custom_data(&debug, "build_id"), payloads);

        // The stripped module: the input's sections minus the removed ones, in order, then the
        // added ones; padding where a removed one sat before Code.
        prop_assert!(!has_dwarf(&stripped));
        if strip_names {
            prop_assert!(custom_data(&stripped, "name").is_empty());
        }
        let mut expected: Vec<Vec<u8>> = Vec::new();
        let mut sizes = Vec::new();
        for sec in sections(&input) {
            match out.removed().iter().find(|r| r.range == sec.range) {
                Some(r) if r.padded => sizes.push(sec.range.len()),
                Some(_) => {}
                None => expected.push(input[sec.range].to_vec()),
            }
        }
        let mut actual: Vec<Vec<u8>> = Vec::new();
        let mut padding = Vec::new();
        let stripped_sections = sections(&stripped);
        let added = usize::from(build_id.is_none()) + usize::from(url.is_some());
        let (kept, tail) = stripped_sections.split_at(stripped_sections.len() - added);
        for sec in kept {
            let data = &stripped[sec.data.clone()];
            let is_padding = sec.content.end <= code.start
                && matches!(sec.name.as_deref(), Some(n) if n == PADDING_SECTION || n.is_empty())
                && data.iter().all(|&b| b == 0)
                && !expected.contains(&stripped[sec.range.clone()].to_vec());
            if is_padding {
                padding.push(sec.range.len());
            } else {
                actual.push(stripped[sec.range.clone()].to_vec());
            }
        }
        prop_assert_eq!(actual, expected);
        prop_assert_eq!(padding, sizes);
        let tail_names: Vec<_> = tail.iter().map(|s| s.name.clone().unwrap()).collect();
        let mut want = Vec::new();
        if build_id.is_none() {
            want.push("build_id".to_owned());
        }
        if let Some(url) = &url {
            want.push("external_debug_info".to_owned());
            let url = url.replace("{uuid}", &out.build_id().to_string());
            let mut payload = vec![url.len() as u8];
            payload.extend(url.as_bytes());
            prop_assert_eq!(custom_data(&stripped, "external_debug_info"), vec![&payload[..]]);
        }
        prop_assert_eq!(tail_names, want);
    }
}
