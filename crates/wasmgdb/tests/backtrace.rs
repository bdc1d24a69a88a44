//! `bt` and `frame` lines: the level column as gdb prints it past frame 99.

mod common;

use wasm_coredump_tests::{Fixture, Profile};

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
