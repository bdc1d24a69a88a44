//! Types and values of real fixtures, printed as gdb prints them. The values are the fixtures'
//! own (from their sources), written into a synthetic frame at the places the DWARF gives.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use debuginfo::{
    DebugInfo, Error, FormatOptions, FrameState, Module, Scope, TypeKind, Variable, WasmValue,
};
use wasm_coredump_tests::{Fixture, Profile, fixture, function_names};

/// A frame whose every local holds `FRAME` and whose memory is writable from `FRAME` on.
const FRAME: u64 = 0x1_0000;

struct Synthetic {
    memory: RefCell<Vec<u8>>,
}

impl Synthetic {
    fn new() -> Self {
        Synthetic {
            memory: RefCell::new(vec![0; 0x1000]),
        }
    }
    fn write(&self, address: u64, bytes: &[u8]) {
        let at = (address - FRAME) as usize;
        self.memory.borrow_mut()[at..at + bytes.len()].copy_from_slice(bytes);
    }
}

impl FrameState for Synthetic {
    fn local(&self, _: u32) -> Option<WasmValue> {
        Some(WasmValue::I32(FRAME as i32))
    }
    fn global(&self, _: u32) -> Option<WasmValue> {
        Some(WasmValue::I32(FRAME as i32))
    }
    fn stack(&self, _: u32) -> Option<WasmValue> {
        None
    }
    fn read_memory(&self, address: u64, len: u64) -> debuginfo::Result<Cow<'_, [u8]>> {
        let memory = self.memory.borrow();
        address
            .checked_sub(FRAME)
            .and_then(|s| memory.get(s as usize..(s + len) as usize))
            .map(|b| Cow::Owned(b.to_vec()))
            .ok_or(Error::Memory {
                address,
                len,
                message: "outside".into(),
            })
    }
}

fn load(kind: Fixture) -> DebugInfo {
    DebugInfo::new(Module::read(fixture(kind, Profile::Debug)).unwrap()).unwrap()
}

/// The scope of function `name` at its first instruction with a line in the fixture's source
/// at or after `line`, and its variables there.
fn scope_of(info: &DebugInfo, kind: Fixture, name: &str, line: u32) -> (Scope, Vec<Variable>) {
    let bytes = std::fs::read(fixture(kind, Profile::Debug)).unwrap();
    let func = *function_names(&bytes)
        .iter()
        .find(|(_, n)| *n == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .0;
    let body = info.code_layout().unwrap().body_range(func).unwrap();
    for off in 0..(body.end - body.start) as u32 {
        let frames = info.frames(func, off).unwrap();
        let f = frames.last().unwrap();
        if f.location
            .as_ref()
            .and_then(|l| l.line)
            .is_some_and(|l| l >= line)
        {
            let scope = f.scope.unwrap();
            return (scope, info.variables(&scope).unwrap());
        }
    }
    panic!("{name} has no line {line}")
}

fn var<'v>(vars: &'v [Variable], name: &str) -> &'v Variable {
    vars.iter()
        .find(|v| v.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no variable {name}"))
}

fn line_of(kind: Fixture, snippet: &str) -> u32 {
    let loc = kind.source_location(snippet, snippet);
    loc.split(':').nth(1).unwrap().parse().unwrap()
}

#[test]
fn base_types_print_like_gdb() {
    // descend(150): small = 450, big = 150_000_001_050, half = 75, quarter = 37.5,
    // negative = -50, even = true.
    let kind = Fixture::DeepRecursion;
    let info = load(kind);
    let (_, vars) = scope_of(
        &info,
        kind,
        "deep_recursion::descend",
        line_of(kind, "if depth <= 1"),
    );
    let state = Synthetic::new();
    let depth = 150u32;
    let values: HashMap<&str, Vec<u8>> = HashMap::from([
        ("depth", depth.to_le_bytes().to_vec()),
        ("small", (depth * 3).to_le_bytes().to_vec()),
        (
            "big",
            (u64::from(depth) * 1_000_000_007).to_le_bytes().to_vec(),
        ),
        ("half", (depth as f32 / 2.0).to_le_bytes().to_vec()),
        ("quarter", (f64::from(depth) / 4.0).to_le_bytes().to_vec()),
        ("negative", (-((depth % 100) as i8)).to_le_bytes().to_vec()),
        ("even", vec![1]),
    ]);
    for (name, bytes) in &values {
        let v = var(&vars, name);
        let place = info.locate(v, &state).unwrap();
        state.write(
            place.address().expect("debug builds keep locals in memory"),
            bytes,
        );
    }
    let shown: HashMap<String, (String, String)> = vars
        .iter()
        .filter(|v| values.contains_key(v.name.as_deref().unwrap_or("")))
        .map(|v| {
            (
                v.name.clone().unwrap(),
                (
                    info.type_name(v.ty).unwrap(),
                    info.format_variable(v, &state, FormatOptions::default()),
                ),
            )
        })
        .collect();
    let expect = |n: &str, t: &str, v: &str| {
        assert_eq!(shown[n], (t.to_string(), v.to_string()), "{n}");
    };
    expect("depth", "u32", "150");
    expect("small", "u32", "450");
    expect("big", "u64", "150000001050");
    expect("half", "f32", "75");
    expect("quarter", "f64", "37.5");
    expect("negative", "i8", "-50");
    expect("even", "bool", "true");
}

#[test]
fn a_struct_behind_a_reference_prints_the_rust_way() {
    // process_thing(thing: &MyThing) with MyThing { value: 3 }.
    let kind = Fixture::MyThing;
    let info = load(kind);
    let (_, vars) = scope_of(
        &info,
        kind,
        "mything::process_thing",
        line_of(kind, "calculate(thing.value)"),
    );
    let thing = var(&vars, "thing");
    // As gdb names it (`whatis thing`): it ignores the names of Rust pointer types.
    assert_eq!(info.type_name(thing.ty).unwrap(), "*mut mything::MyThing");
    let state = Synthetic::new();
    let place = info.locate(thing, &state).unwrap();
    let target = FRAME + 0x800;
    state.write(place.address().unwrap(), &(target as u32).to_le_bytes());
    state.write(target, &3u32.to_le_bytes());
    assert_eq!(
        info.format_variable(thing, &state, FormatOptions::default()),
        format!("{target:#x}")
    );
    // `print *thing`
    // rustc describes `&T` as a pointer type named `&T`.
    assert!(matches!(
        info.type_of(thing.ty.unwrap()).unwrap().kind,
        TypeKind::Pointer(_) | TypeKind::Reference(_)
    ));
    let pointee = info.pointee(thing.ty.unwrap()).unwrap().unwrap();
    assert_eq!(info.type_name(Some(pointee)).unwrap(), "mything::MyThing");
    let bytes = state.read_memory(target, 4).unwrap().into_owned();
    assert_eq!(
        info.format_value(pointee, &bytes, &state, FormatOptions::default())
            .unwrap(),
        "mything::MyThing {value: 3}"
    );
}

#[test]
fn option_of_str_prints_its_variant_and_the_string() {
    // lookup_user: `let user = find_user(id);` is None for 42, Some("alice") for 1.
    let kind = Fixture::UnwrapNone;
    let info = load(kind);
    let (_, vars) = scope_of(
        &info,
        kind,
        "unwrap_none::lookup_user",
        line_of(kind, "user.unwrap()"),
    );
    let user = var(&vars, "user");
    assert_eq!(
        info.type_name(user.ty).unwrap(),
        "core::option::Option<&str>"
    );
    let state = Synthetic::new();
    let at = info.locate(user, &state).unwrap().address().unwrap();
    // None: the null data pointer is the niche.
    assert_eq!(
        info.format_variable(user, &state, FormatOptions::default()),
        "core::option::Option<&str>::None"
    );
    let text = FRAME + 0x900;
    state.write(text, b"alice");
    state.write(at, &(text as u32).to_le_bytes());
    state.write(at + 4, &5u32.to_le_bytes());
    assert_eq!(
        info.format_variable(user, &state, FormatOptions::default()),
        "core::option::Option<&str>::Some(\"alice\")"
    );
}

/// The offset of the first pointer inside a value of type `ty` (depth first), and of the
/// member called `len` at its top level.
fn pointer_and_len(info: &DebugInfo, ty: debuginfo::TypeId) -> (u64, Option<u64>) {
    fn first_pointer(info: &DebugInfo, ty: debuginfo::TypeId) -> Option<u64> {
        let (_, t) = info.strip_type(ty).unwrap();
        match &t.kind {
            TypeKind::Pointer(_) => Some(0),
            TypeKind::Struct(c) => c
                .members
                .iter()
                .find_map(|m| Some(m.offset + first_pointer(info, m.ty?)?)),
            _ => None,
        }
    }
    let TypeKind::Struct(c) = &info.type_of(ty).unwrap().kind else {
        panic!("a struct")
    };
    let len = c
        .members
        .iter()
        .find(|m| m.name.as_deref() == Some("len"))
        .map(|m| m.offset);
    (first_pointer(info, ty).unwrap(), len)
}

#[test]
fn string_and_vec_print_like_rust_gdb() {
    let info = load(Fixture::SerdeRegex);
    let state = Synthetic::new();
    let text = FRAME + 0x100;
    state.write(text, b"frontend");

    let string = info.find_type("alloc::string::String").unwrap().unwrap();
    let size = info.type_size(string).unwrap().unwrap() as usize;
    let TypeKind::Struct(c) = &info.type_of(string).unwrap().kind else {
        panic!()
    };
    let vec = c.members[0].ty.unwrap();
    let (ptr, len) = pointer_and_len(&info, vec);
    let mut bytes = vec![0u8; size];
    bytes[ptr as usize..][..4].copy_from_slice(&(text as u32).to_le_bytes());
    bytes[len.unwrap() as usize..][..4].copy_from_slice(&8u32.to_le_bytes());
    let options = FormatOptions::default();
    assert_eq!(
        info.format_value(string, &bytes, &state, options).unwrap(),
        "\"frontend\""
    );
    // The same bytes as a Vec<u8>.
    assert_eq!(
        info.format_value(vec, &bytes, &state, options).unwrap(),
        "Vec(size=8) = {102, 114, 111, 110, 116, 101, 110, 100}"
    );
    // gdb's `print elements` limit; `...` follows the last element shown, without a comma.
    let short = FormatOptions {
        max_elements: 3,
        ..options
    };
    assert_eq!(
        info.format_value(string, &bytes, &state, short).unwrap(),
        "\"fro\"..."
    );
    assert_eq!(
        info.format_value(vec, &bytes, &state, short).unwrap(),
        "Vec(size=8) = {102, 114, 111...}"
    );
}

/// The variables of the typezoo fixture's `containers`, whose types are std collections and
/// smart pointers (wasm32: `usize` and pointers are 4 bytes).
fn containers(info: &DebugInfo) -> Vec<Variable> {
    let kind = Fixture::TypeZoo;
    let line = line_of(kind, "panic!(\"typezoo done\")");
    scope_of(info, kind, "typezoo::containers", line).1
}

/// The offset of the member at `path` inside `ty`: struct members, and a Rust enum's variants,
/// by name (`["root", "Some", "__0", "node"]`).
fn offset_of(info: &DebugInfo, ty: debuginfo::TypeId, path: &[&str]) -> u64 {
    let (mut ty, mut offset) = (ty, 0);
    for name in path {
        let (_, t) = info.strip_type(ty).unwrap();
        let (TypeKind::Struct(c) | TypeKind::Union(c)) = &t.kind else {
            panic!("{name}: not in a struct")
        };
        let member = (c.members.iter())
            .chain(
                c.variant_part
                    .iter()
                    .flat_map(|p| p.variants.iter().map(|v| &v.member)),
            )
            .find(|m| m.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no member {name}"));
        (ty, offset) = (member.ty.unwrap(), offset + member.offset);
    }
    offset
}

/// A value of `ty`, zero but for the `u32`s `parts` at their paths.
fn value_of(info: &DebugInfo, ty: debuginfo::TypeId, parts: &[(&[&str], u32)]) -> Vec<u8> {
    let mut bytes = vec![0; info.type_size(ty).unwrap().unwrap() as usize];
    for (path, value) in parts {
        let at = offset_of(info, ty, path) as usize;
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }
    bytes
}

/// Writes a B-tree leaf of `LeafNode<u32, u32>` at `address`, holding `entries`.
fn write_leaf(info: &DebugInfo, state: &Synthetic, address: u64, entries: &[(u32, u32)]) {
    let leaf = (info.find_type("alloc::collections::btree::node::LeafNode<u32, u32>"))
        .unwrap()
        .unwrap();
    state.write(
        address + offset_of(info, leaf, &["len"]),
        &(entries.len() as u16).to_le_bytes(),
    );
    for (i, (key, value)) in entries.iter().enumerate() {
        let i = i as u64 * 4;
        state.write(
            address + offset_of(info, leaf, &["keys"]) + i,
            &key.to_le_bytes(),
        );
        state.write(
            address + offset_of(info, leaf, &["vals"]) + i,
            &value.to_le_bytes(),
        );
    }
}

/// The `BTreeMap` of `height` whose root node is at `node`, holding `length` entries.
fn btree(info: &DebugInfo, ty: debuginfo::TypeId, node: u64, height: u32, length: u32) -> Vec<u8> {
    let root: &[&str] = &["root", "Some", "__0"];
    let node_path = [root, &["node"]].concat();
    let height_path = [root, &["height"]].concat();
    value_of(
        info,
        ty,
        &[
            (&node_path, node as u32),
            (&height_path, height),
            (&["length"], length),
        ],
    )
}

#[test]
fn std_collections_print_like_rust_gdb_within_print_elements() {
    let info = load(Fixture::TypeZoo);
    let vars = containers(&info);
    let ty = |name: &str| var(&vars, name).ty.unwrap();
    let state = Synthetic::new();
    let options = FormatOptions::default();
    let three = FormatOptions {
        max_elements: 3,
        ..options
    };
    let show = |ty, bytes: &[u8], options| info.format_value(ty, bytes, &state, options).unwrap();

    let node = FRAME + 0x100;
    write_leaf(&info, &state, node, &[(1, 10), (2, 20), (3, 30)]);
    let tree = btree(&info, ty("tree"), node, 0, 3);
    assert_eq!(
        show(ty("tree"), &tree, options),
        "BTreeMap(size=3) = {[1] = 10, [2] = 20, [3] = 30}"
    );
    // gdb's limit counts keys and values, and ends with `...` once it is reached.
    assert_eq!(
        show(ty("tree"), &tree, three),
        "BTreeMap(size=3) = {[1] = 10, [2] = ...}"
    );
    assert_eq!(
        info.format_summary(ty("tree"), &tree, &state, options)
            .unwrap(),
        "BTreeMap(size=3) = {...}"
    );
    let empty = btree(&info, ty("tree"), 0, 0, 0);
    assert_eq!(show(ty("tree"), &empty, options), "BTreeMap(size=0)");

    // A ring buffer of 4 whose head is its last slot: 40, then 10 and 20 from the front.
    let data = FRAME + 0x200;
    for (i, v) in [10u32, 20, 30, 40].iter().enumerate() {
        state.write(data + i as u64 * 4, &v.to_le_bytes());
    }
    let deque = value_of(
        &info,
        ty("wrapped"),
        &[
            (&["head"], 3),
            (&["len"], 3),
            (&["buf", "inner", "cap"], 4),
            (&["buf", "inner", "ptr"], data as u32),
        ],
    );
    assert_eq!(
        show(ty("wrapped"), &deque, options),
        "VecDeque(size=3) = {40, 10, 20}"
    );
    assert_eq!(
        show(ty("wrapped"), &deque, three),
        "VecDeque(size=3) = {40, 10, 20...}"
    );
}

#[test]
fn std_values_of_another_layout_print_as_their_structs() {
    // Each a regression guard: a printer that trusted these fields would print a wrong value,
    // read memory without end or loop.
    let info = load(Fixture::TypeZoo);
    let vars = containers(&info);
    let ty = |name: &str| var(&vars, name).ty.unwrap();
    let state = Synthetic::new();
    let raw = |name: &str, bytes: &[u8]| {
        let shown = (info.format_value(ty(name), bytes, &state, FormatOptions::default())).unwrap();
        let type_name = info.type_name(Some(ty(name))).unwrap();
        assert!(
            shown.starts_with(&format!("{type_name} {{")),
            "{name}: {shown}"
        );
        shown
    };

    // A head past the capacity.
    let deque = value_of(
        &info,
        ty("wrapped"),
        &[(&["head"], 7), (&["len"], 2), (&["buf", "inner", "cap"], 4)],
    );
    assert!(raw("wrapped", &deque).contains("head: 7"));

    // A hash table of 6 buckets (not a power of two), and one whose control bytes are all
    // empty although it counts 3 items.
    let ctrl = FRAME + 0x800;
    state.write(ctrl, &[0xff; 8]);
    let table = ["base", "map", "table", "table"];
    let with = |mask: u32| {
        let (m, i, c) = (
            [&table[..], &["bucket_mask"]].concat(),
            [&table[..], &["items"]].concat(),
            [&table[..], &["ctrl"]].concat(),
        );
        value_of(
            &info,
            ty("names"),
            &[(&m, mask), (&i, 3), (&c, ctrl as u32)],
        )
    };
    raw("names", &with(5));
    raw("names", &with(3));

    // A B-tree node holding more than a node can, one taller than any, and one whose node is
    // its own child.
    let node = FRAME + 0x100;
    write_leaf(&info, &state, node, &[]);
    let leaf = (info.find_type("alloc::collections::btree::node::LeafNode<u32, u32>"))
        .unwrap()
        .unwrap();
    state.write(
        node + offset_of(&info, leaf, &["len"]),
        &200u16.to_le_bytes(),
    );
    raw("tree", &btree(&info, ty("tree"), node, 0, 30));
    state.write(node + offset_of(&info, leaf, &["len"]), &0u16.to_le_bytes());
    raw("tree", &btree(&info, ty("tree"), node, 1000, 30));
    let leaf_size = info.type_size(leaf).unwrap().unwrap();
    state.write(node + leaf_size, &(node as u32).to_le_bytes());
    raw("tree", &btree(&info, ty("tree"), node, 20, 30));

    // An `Arc` pointing outside memory.
    let arc = value_of(&info, ty("counted"), &[(&["ptr"], 0xdead_0000)]);
    raw("counted", &arc);
}
