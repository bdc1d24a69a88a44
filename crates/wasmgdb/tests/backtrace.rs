//! `bt` and `frame` lines: the level column as gdb prints it past frame 99, and the function
//! names of a module that ships without a `name` section or DWARF.

mod common;

use wasm_coredump_tests::{Fixture, NamelessCrash, Profile};
use wasmgdb::{LoadOptions, Outcome, Session};

/// gdb pads the level to two columns and always follows it with a space: `#0  0x...`,
/// `#10 0x...`, `#100 0x...`. Regression: levels from 100 on were glued to the address
/// (`#1000x00a57694 in func[329] ()`).
#[test]
fn levels_from_100_on_keep_their_space() {
    // deep-recursion: 150 frames of `descend` under the panic.
    let d = common::rewritten_dump(Fixture::DeepRecursion, Profile::Debug, &[]);
    let t = common::transcript(&d.original, &d.dump, &["bt", "frame 100", "frame 123"]);
    let lines: Vec<&str> = t.lines().filter(|l| l.starts_with('#')).collect();
    assert!(lines.len() > 150, "{t}");
    for line in &lines {
        let digits = line[1..].bytes().take_while(u8::is_ascii_digit).count();
        let level: usize = line[1..1 + digits].parse().unwrap();
        let rest = &line[1 + digits..];
        let gap = if level < 10 { "  " } else { " " };
        assert!(
            rest.starts_with(gap) && !rest[gap.len()..].starts_with(' '),
            "{line:?}"
        );
    }
    for level in [100, 123] {
        let selected = format!("(wasmgdb) frame {level}\n#{level} 0x");
        assert!(t.contains(&selected), "{t}");
    }
}

/// A release module without a `name` section or DWARF (and no debug file beside it): the
/// exported function's frame shows its export name, every other frame `func[N]`. The names and
/// indices come from the original module's Export section; the module that ran, rewritten,
/// exports the rewriter's entry wrappers instead, which name what they wrap.
#[test]
fn a_module_without_names_shows_export_names() {
    let dir = tempfile::tempdir().unwrap();
    let crash = NamelessCrash::run(dir.path());
    let mut session = Session::load(&crash.app, &crash.core, &LoadOptions::default()).unwrap();
    let Outcome::Reply(bt) = session.run_line("bt").unwrap() else {
        panic!("bt quits")
    };
    let frames = bt.json["frames"].as_array().unwrap();
    let mut exported = 0;
    for (frame, line) in frames.iter().zip(bt.text.lines()) {
        let expected = crash.expected_name(frame["func"].as_u64().unwrap() as u32);
        exported += usize::from(!expected.starts_with("func["));
        assert_eq!(frame["function"], expected.as_str(), "{}", bt.text);
        assert!(line.contains(&format!(" {expected} (")), "{line}");
    }
    assert_eq!(exported, 1, "the entry point `process`: {}", bt.text);
    let outermost = bt.text.lines().last().unwrap();
    assert!(outermost.contains(" process ("), "{}", bt.text);
}
