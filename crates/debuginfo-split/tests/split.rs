//! Library tests: the two outputs of `split` against the input, read back with wasmparser.

mod common;

use common::*;
use debuginfo_split::{
    BuildId, BuildIdSource, DETERMINISTIC_NAMESPACE, Error, NewBuildId, PADDING_SECTION, Split,
    SplitOptions, split,
};
use uuid::Uuid;
use wasm_layout::Error as LayoutError;

fn opts(new_build_id: NewBuildId) -> SplitOptions {
    let mut opts = SplitOptions::default();
    opts.new_build_id = new_build_id;
    opts
}

/// Checks every invariant that holds for any split of `input`.
fn check_split(input: &[u8], out: &Split<'_>) -> (Vec<u8>, Vec<u8>) {
    let stripped = out.stripped().to_vec();
    let debug = out.debug().to_vec();
    assert_eq!(stripped.len(), out.stripped().len());
    assert_eq!(debug.len(), out.debug().len());
    validate(&stripped);
    validate(&debug);

    // Code: same bytes at the same offset in all three.
    let code = code_range(input);
    assert_eq!(out.code(), Some(code.clone()));
    assert_eq!(code_range(&stripped), code);
    assert_eq!(code_range(&debug), code);
    assert_eq!(stripped[code.clone()], input[code.clone()]);
    assert_eq!(debug[code.clone()], input[code.clone()]);
    // Everything up to the end of Code is identical in the input and the debug file.
    assert_eq!(debug[..code.end], input[..code.end]);

    // Both carry the one build_id.
    let id = out.build_id().as_bytes();
    let payloads = custom_data(&stripped, "build_id");
    assert_eq!(payloads.len(), 1);
    assert_eq!(build_id_bytes(payloads[0]), id);
    assert_eq!(custom_data(&debug, "build_id"), payloads);

    // The stripped module has no DWARF; the debug file has all of it, byte for byte.
    assert!(!has_dwarf(&stripped));
    for sec in sections(input) {
        if sec
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with(".debug_"))
        {
            let name = sec.name.as_deref().unwrap();
            assert_eq!(custom_data(&debug, name), [&input[sec.data.clone()]]);
        }
    }

    // Every section the stripped module keeps is byte-identical to the input's, in order.
    let removed: Vec<_> = out.removed().iter().map(|r| r.range.clone()).collect();
    let kept_input: Vec<&[u8]> = sections(input)
        .into_iter()
        .filter(|s| !removed.contains(&s.range))
        .map(|s| &input[s.range])
        .collect();
    let kept_stripped: Vec<&[u8]> = sections(&stripped)
        .into_iter()
        .filter(|s| {
            !matches!(
                s.name.as_deref(),
                Some("build_id" | "external_debug_info" | PADDING_SECTION | "")
            ) || custom_data(input, s.name.as_deref().unwrap()).contains(&&stripped[s.data.clone()])
        })
        .map(|s| &stripped[s.range])
        .collect();
    assert_eq!(kept_stripped, kept_input);
    (stripped, debug)
}

#[test]
fn splits_dwarf_out_keeping_code_offset() {
    let input = module_with_dwarf();
    let out = split(&input, &SplitOptions::default()).unwrap();
    assert_eq!(out.build_id_source(), BuildIdSource::Random);
    let uuid = out.build_id().as_uuid().expect("a 16-byte UUID");
    assert_eq!(uuid.get_version_num(), 4);
    let (stripped, debug) = check_split(&input, &out);

    // The debug file is the input plus the build_id section, appended.
    assert_eq!(debug[..input.len()], input[..]);
    let mut expected = input.clone();
    // BuildId.md: the payload is the id's length, then the id.
    expected.extend(custom("build_id", &[&[16][..], uuid.as_bytes()].concat()));
    assert_eq!(debug, expected);
    assert_eq!(out.debug_suffix(), &debug[input.len()..]);

    // `name` and `producers` stay by default.
    assert_eq!(custom_data(&stripped, "name"), custom_data(&input, "name"));
    assert_eq!(custom_data(&stripped, "producers"), [b"\x00"]);
    let names: Vec<_> = out.removed().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, [".debug_info", ".debug_line", ".debug_str"]);
    assert!(out.removed().iter().all(|r| !r.padded));
    assert!(stripped.len() < input.len());
}

#[test]
fn strip_names_removes_name_section() {
    let input = module_with_dwarf();
    assert_eq!(custom_data(&input, "name").len(), 1);
    let mut o = SplitOptions::default();
    o.strip_names = true;
    let out = split(&input, &o).unwrap();
    let (stripped, debug) = check_split(&input, &out);
    assert!(custom_data(&stripped, "name").is_empty());
    assert_eq!(custom_data(&debug, "name"), custom_data(&input, "name"));
}

#[test]
fn existing_build_id_is_kept_and_debug_file_is_the_input() {
    let id = Uuid::parse_str("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0").unwrap();
    let mut input = module_with_dwarf();
    input.extend(custom("build_id", &[&[16][..], id.as_bytes()].concat()));
    for new in [
        NewBuildId::Random,
        NewBuildId::Deterministic,
        NewBuildId::Given(Uuid::nil().into()),
    ] {
        let out = split(&input, &opts(new)).unwrap();
        assert_eq!(out.build_id_source(), BuildIdSource::Existing);
        assert_eq!(out.build_id().as_uuid(), Some(id));
        let (_, debug) = check_split(&input, &out);
        assert_eq!(debug, input);
        assert!(out.debug_suffix().is_empty());
    }
}

#[test]
fn lld_build_ids_of_other_lengths_are_kept_and_printed_as_hex() {
    for len in [8, 20] {
        let raw: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(17)).collect();
        let mut input = module_with_dwarf();
        // lld writes build_id last, after the DWARF.
        input.extend(custom("build_id", &raw));
        let out = split(&input, &SplitOptions::default()).unwrap();
        assert_eq!(out.build_id().as_bytes(), raw);
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(out.build_id().to_string(), hex);
        assert_eq!(
            out.build_id().debug_file_name(),
            format!("debug-{hex}.wasm")
        );
        check_split(&input, &out);
    }
}

#[test]
fn existing_build_id_before_code_stays_in_place() {
    let id = [9u8; 16];
    let input = insert_before_code(&module_with_dwarf(), &custom("build_id", &id));
    let out = split(&input, &SplitOptions::default()).unwrap();
    assert_eq!(out.build_id().as_bytes(), id);
    let (stripped, debug) = check_split(&input, &out);
    assert_eq!(debug, input);
    let code = code_range(&input);
    assert_eq!(stripped[..code.end], input[..code.end]);
}

#[test]
fn deterministic_ids_depend_on_content_only() {
    let input = module_with_dwarf();
    let a = split(&input, &opts(NewBuildId::Deterministic)).unwrap();
    let b = split(&input, &opts(NewBuildId::Deterministic)).unwrap();
    assert_eq!(a.build_id_source(), BuildIdSource::Deterministic);
    assert_eq!(a.build_id(), b.build_id());
    assert_eq!(a.stripped().to_vec(), b.stripped().to_vec());
    assert_eq!(a.debug().to_vec(), b.debug().to_vec());
    let uuid = a.build_id().as_uuid().unwrap();
    assert_eq!(uuid, Uuid::new_v5(&DETERMINISTIC_NAMESPACE, &input));
    assert_eq!(uuid.get_version_num(), 5);
    check_split(&input, &a);

    let mut other = input.clone();
    other.extend(custom(".debug_ranges", b"x"));
    let c = split(&other, &opts(NewBuildId::Deterministic)).unwrap();
    assert_ne!(c.build_id(), a.build_id());
}

#[test]
fn given_build_id() {
    let input = module_with_dwarf();
    let uuid = Uuid::parse_str("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee").unwrap();
    let out = split(&input, &opts(NewBuildId::Given(uuid.into()))).unwrap();
    assert_eq!(out.build_id_source(), BuildIdSource::Given);
    assert_eq!(*out.build_id(), BuildId::from(uuid));
    check_split(&input, &out);
}

#[test]
fn external_url_gets_the_id() {
    let input = module_with_dwarf();
    let uuid = Uuid::parse_str("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee").unwrap();
    let mut o = opts(NewBuildId::Given(uuid.into()));
    o.external_url = Some("https://sym.example/{uuid}/debug-{uuid}.wasm".into());
    let out = split(&input, &o).unwrap();
    let (stripped, debug) = check_split(&input, &out);
    let url = format!("https://sym.example/{uuid}/debug-{uuid}.wasm");
    let mut payload = vec![url.len() as u8];
    payload.extend(url.as_bytes());
    assert_eq!(
        custom_data(&stripped, "external_debug_info"),
        [&payload[..]]
    );
    assert!(custom_data(&debug, "external_debug_info").is_empty());
}

#[test]
fn external_url_replaces_an_existing_one() {
    let mut input = module_with_dwarf();
    input.extend(custom("external_debug_info", b"\x03old"));
    let mut o = SplitOptions::default();
    o.external_url = Some("new".into());
    let out = split(&input, &o).unwrap();
    let (stripped, _) = check_split(&input, &out);
    assert_eq!(custom_data(&stripped, "external_debug_info"), [b"\x03new"]);

    // Without --external-url an existing one is kept as is.
    let out = split(&input, &SplitOptions::default()).unwrap();
    let (stripped, _) = check_split(&input, &out);
    assert_eq!(custom_data(&stripped, "external_debug_info"), [b"\x03old"]);
}

/// Regression: a stripped section before Code would shift every code offset of the shipped
/// module; it is replaced by padding of the same size instead.
#[test]
fn dwarf_before_code_is_padded_so_code_does_not_move() {
    for size in [0, 1, 30, 200, 20_000] {
        let before = custom(".debug_abbrev", &fake_dwarf(7, size));
        let input = insert_before_code(&module_with_dwarf(), &before);
        let out = split(&input, &SplitOptions::default()).unwrap();
        let (stripped, debug) = check_split(&input, &out);
        let abbrev = &out.removed()[0];
        assert_eq!(abbrev.name, ".debug_abbrev");
        assert!(abbrev.padded);
        assert!(out.removed()[1..].iter().all(|r| !r.padded));
        // The padding occupies exactly the stripped section's bytes.
        let pad = sections(&stripped)
            .into_iter()
            .find(|s| s.range == abbrev.range)
            .expect("a section at the same place");
        let name = pad.name.as_deref().unwrap();
        assert!(name == PADDING_SECTION || name.is_empty(), "{name}");
        assert!(stripped[pad.data].iter().all(|&b| b == 0));
        assert_eq!(debug[..input.len()], input[..]);
    }
}

#[test]
fn name_before_code_with_strip_names_is_padded() {
    let mut base = wat::parse_str(WAT).unwrap();
    base.extend(custom(".debug_info", b"dwarf"));
    let input = insert_before_code(&base, &custom("name", b"\x00\x02\x01m"));
    let mut o = SplitOptions::default();
    o.strip_names = true;
    let out = split(&input, &o).unwrap();
    check_split(&input, &out);
    // Too small for the padding name: an empty name and zeros.
    let stripped = out.stripped().to_vec();
    assert_eq!(custom_data(&stripped, "").len(), 1);
}

#[test]
fn module_without_code_section() {
    let mut input = wat::parse_str("(module (memory 1))").unwrap();
    input.extend(custom(".debug_info", b"dwarf"));
    let out = split(&input, &SplitOptions::default()).unwrap();
    assert_eq!(out.code(), None);
    let stripped = out.stripped().to_vec();
    validate(&stripped);
    validate(&out.debug().to_vec());
    assert!(!has_dwarf(&stripped));
}

#[test]
fn no_dwarf_is_nothing_to_split() {
    let input = base_module();
    assert_eq!(
        split(&input, &SplitOptions::default()).unwrap_err(),
        Error::NoDwarf { build_id: None }
    );
    // An already split module: says so and names its id.
    let input = module_with_dwarf();
    let out = split(&input, &SplitOptions::default()).unwrap();
    let stripped = out.stripped().to_vec();
    assert_eq!(
        split(&stripped, &SplitOptions::default()).unwrap_err(),
        Error::NoDwarf {
            build_id: Some(out.build_id().clone())
        }
    );
}

#[test]
fn allow_no_dwarf_gives_the_module_with_its_build_id() {
    let input = base_module();
    let mut opts = SplitOptions::default();
    opts.allow_no_dwarf = true;
    opts.strip_names = true;
    opts.external_url = Some("https://symbols.example/debug-{uuid}.wasm".into());
    let out = split(&input, &opts).unwrap();
    assert!(!out.has_dwarf());
    let stripped = out.stripped().to_vec();
    validate(&stripped);
    let payload = custom_data(&stripped, "build_id");
    assert_eq!(payload.len(), 1);
    assert_eq!(build_id_bytes(payload[0]), out.build_id().as_bytes());
    // No debug file to point at: no `external_debug_info`.
    assert!(custom_data(&stripped, "external_debug_info").is_empty());
    assert!(custom_data(&stripped, "name").is_empty());
    // A module with DWARF splits as without the option.
    let with_dwarf = module_with_dwarf();
    assert!(split(&with_dwarf, &opts).unwrap().has_dwarf());
}

#[test]
fn bad_build_id_sections() {
    let mut input = module_with_dwarf();
    let first = input.len();
    input.extend(custom("build_id", &[1; 16]));
    let second = input.len();
    input.extend(custom("build_id", &[2; 16]));
    assert_eq!(
        split(&input, &SplitOptions::default()).unwrap_err(),
        Error::Layout(LayoutError::DuplicateBuildId { first, second })
    );

    let mut input = module_with_dwarf();
    input.extend(custom("build_id", &[]));
    let err = split(&input, &SplitOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::Layout(LayoutError::EmptyBuildId { .. })),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("custom section `build_id` (section ")
    );
}

#[test]
fn not_wasm_inputs() {
    for input in [
        &b""[..],
        b"\x7fELF\x02\x01\x01\0\0\0\0\0",
        b"\0asm",
        b"hello world",
    ] {
        let err = split(input, &SplitOptions::default()).unwrap_err();
        assert!(
            matches!(err, Error::Layout(LayoutError::NotWasm { .. })),
            "{err:?}"
        );
    }
    let mut v2 = module_with_dwarf();
    v2[4] = 2;
    let err = split(&v2, &SplitOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("malformed module at offset 0x4: unknown binary version"),
        "{err}"
    );
    let component = wat::parse_str("(component)").unwrap();
    assert_eq!(
        split(&component, &SplitOptions::default()).unwrap_err(),
        Error::Layout(LayoutError::Component)
    );
}

#[test]
fn truncated_inputs_name_the_section() {
    let input = module_with_dwarf();
    let secs = sections(&input);
    // Cut inside each section's content: the error names that section.
    for sec in &secs {
        let cut = &input[..sec.content.start + sec.content.len() / 2];
        if cut.len() == sec.content.start && sec.content.is_empty() {
            continue;
        }
        let err = split(cut, &SplitOptions::default()).unwrap_err();
        match &err {
            Error::Layout(LayoutError::Truncated {
                section, size, end, ..
            }) => {
                assert_eq!(section.offset, sec.range.start, "{err}");
                if sec.data.start <= cut.len() {
                    assert_eq!(section.name, sec.name, "{err}");
                }
                assert_eq!(*size as usize, sec.content.len());
                assert_eq!(*end, cut.len());
            }
            other => panic!("cut in {:?}: {other}", sec.name),
        }
    }
    let code = secs.iter().find(|s| s.id == 10).unwrap();
    let err = split(&input[..code.content.start + 3], &SplitOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("truncated: code section (section "),
        "{err}"
    );
    let debug_info = secs
        .iter()
        .find(|s| s.name.as_deref() == Some(".debug_info"))
        .unwrap();
    let err = split(
        &input[..debug_info.content.end - 1],
        &SplitOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "truncated: custom section `.debug_info` (section {} at offset {:#x}) declares {} \
             bytes of content, but the input ends {} bytes into it (at offset {:#x})",
            secs.iter().position(|s| s == debug_info).unwrap(),
            debug_info.range.start,
            debug_info.content.len(),
            debug_info.content.len() - 1,
            debug_info.content.end - 1,
        )
    );
}

#[test]
fn malformed_inputs_name_offset_and_section() {
    // Function count without code section: wasmparser's count check, at the end.
    let input = module_with_dwarf();
    let code = sections(&input).into_iter().find(|s| s.id == 10).unwrap();
    let mut no_code = input[..code.range.start].to_vec();
    no_code.extend_from_slice(&input[code.range.end..]);
    let err = split(&no_code, &SplitOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::Layout(LayoutError::Malformed { .. })),
        "{err:?}"
    );

    // A bad section id byte.
    let mut bad = base_module();
    bad.extend([0xff, 0x01, 0x00]);
    let err = split(&bad, &SplitOptions::default()).unwrap_err();
    let Error::Layout(LayoutError::Malformed {
        offset, section, ..
    }) = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*offset, base_module().len());
    assert_eq!(section.as_ref().unwrap().id, 0xff);
    assert!(err.to_string().contains("malformed section id"), "{err}");
}

/// Sections with ids this wasmparser does not know (a future proposal) are copied verbatim.
#[test]
fn unknown_sections_pass_through() {
    let mut input = base_module();
    input.extend([0x7f, 0x02, 0xaa, 0xbb]);
    input.extend(custom(".debug_info", b"dwarf"));
    let out = split(&input, &SplitOptions::default()).unwrap();
    let stripped = out.stripped().to_vec();
    let base = base_module().len();
    assert_eq!(stripped[..base + 4], input[..base + 4]);
    assert!(!has_dwarf(&stripped));
}

#[test]
fn outputs_write_as_they_collect() {
    let input = insert_before_code(&module_with_dwarf(), &custom(".debug_abbrev", &[5; 9000]));
    let out = split(&input, &SplitOptions::default()).unwrap();
    for output in [out.stripped(), out.debug()] {
        let mut written = Vec::new();
        output.write_to(&mut written).unwrap();
        assert_eq!(written, output.to_vec());
        let chunks: Vec<u8> = output.chunks().flatten().copied().collect();
        assert_eq!(chunks, written);
        assert!(!output.is_empty());
    }
    // The debug file borrows the input whole: one chunk plus the build_id section.
    assert_eq!(out.debug().chunks().count(), 2);
    assert_eq!(
        out.debug().chunks().next().unwrap().as_ptr(),
        input.as_ptr()
    );
}

#[test]
fn split_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Split<'static>>();
    assert_send_sync::<Error>();
}
