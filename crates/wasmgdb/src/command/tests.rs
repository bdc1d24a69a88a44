//! Parsing command lines: gdb's names, aliases, prefixes and messages.

use super::*;

#[test]
fn aliases_and_prefixes_resolve_as_in_gdb() {
    assert_eq!(
        parse("bt").unwrap(),
        Command::Backtrace {
            count: None,
            full: false
        }
    );
    assert_eq!(
        parse("back 3 full").unwrap(),
        Command::Backtrace {
            count: Some(3),
            full: true
        }
    );
    assert_eq!(
        parse("where -2").unwrap(),
        Command::Backtrace {
            count: Some(-2),
            full: false
        }
    );
    assert_eq!(
        parse("f 2").unwrap(),
        Command::Frame(Some(FrameSpec::Level(2)))
    );
    assert_eq!(
        parse("frame -1").unwrap(),
        Command::Frame(Some(FrameSpec::Level(-1)))
    );
    assert_eq!(
        parse("frame level 3").unwrap(),
        Command::Frame(Some(FrameSpec::Level(3)))
    );
    assert_eq!(
        parse("frame fun mything::calculate").unwrap(),
        Command::Frame(Some(FrameSpec::Function("mything::calculate".into())))
    );
    assert_eq!(
        parse("info frame 4").unwrap(),
        Command::Info(Info::Frame(Some(FrameSpec::Level(4))))
    );
    assert_eq!(parse("frame").unwrap(), Command::Frame(None));
    assert_eq!(parse("up").unwrap(), Command::Up(1));
    assert_eq!(parse("down 3").unwrap(), Command::Down(3));
    assert_eq!(parse("i lo").unwrap(), Command::Info(Info::Locals));
    assert_eq!(parse("info args").unwrap(), Command::Info(Info::Args));
    assert_eq!(
        parse("info functions ^mything").unwrap(),
        Command::Info(Info::Functions(Some("^mything".into())))
    );
    assert_eq!(parse("q").unwrap(), Command::Quit);
    assert_eq!(parse("").unwrap(), Command::Nothing);
}

#[test]
fn an_empty_line_repeats_as_in_gdb() {
    let repeated = |line: &str| parse(line).unwrap().repeated();
    assert_eq!(repeated("up"), Some(Command::Up(1)));
    assert_eq!(repeated("p value"), Some(parse("p value").unwrap()));
    // `list` and `x` go on where they stopped.
    assert_eq!(repeated("list 5"), Some(Command::List(None)));
    assert_eq!(repeated("list -"), Some(Command::List(Some("-".into()))));
    assert_eq!(
        repeated("x/4xw 0x100"),
        Some(Command::Examine(Examine {
            count: Some(4),
            format: Some('x'),
            size: Some('w'),
            expr: None
        }))
    );
    assert_eq!(repeated("quit"), None);
    assert_eq!(repeated("directory /src"), None);
    assert_eq!(repeated("set substitute-path /a /b"), None);
}

#[test]
fn print_takes_a_format_and_an_expression() {
    assert_eq!(
        parse("p *thing").unwrap(),
        Command::Print {
            format: None,
            expr: Some("*thing".into())
        }
    );
    assert_eq!(
        parse("print/x thing->value").unwrap(),
        Command::Print {
            format: Some('x'),
            expr: Some("thing->value".into())
        }
    );
    assert_eq!(
        parse("p").unwrap(),
        Command::Print {
            format: None,
            expr: None
        }
    );
    assert_eq!(
        parse("p/y 1").unwrap_err().0,
        "Undefined output format \"y\"."
    );
}

#[test]
fn examine_reads_count_format_and_unit() {
    assert_eq!(
        parse("x/4xw 0x100").unwrap(),
        Command::Examine(Examine {
            count: Some(4),
            format: Some('x'),
            size: Some('w'),
            expr: Some("0x100".into())
        })
    );
    assert_eq!(
        parse("x/s $1").unwrap(),
        Command::Examine(Examine {
            count: None,
            format: Some('s'),
            size: None,
            expr: Some("$1".into())
        })
    );
}

#[test]
fn unknown_commands_get_gdbs_messages() {
    assert_eq!(
        parse("foo").unwrap_err().0,
        "Undefined command: \"foo\".  Try \"help\"."
    );
    assert_eq!(
        parse("info foo").unwrap_err().0,
        "Undefined info command: \"foo\".  Try \"help info\"."
    );
    assert_eq!(parse("frame x").unwrap_err().0, "Invalid number \"x\".");
}

#[test]
fn find_and_set_parse_their_arguments() {
    assert_eq!(
        parse("find /w /2 0x100, +64, 3").unwrap(),
        Command::Find {
            size: Some('w'),
            max: Some(2),
            args: "0x100, +64, 3".into()
        }
    );
    assert_eq!(
        parse("set substitute-path /build /src").unwrap(),
        Command::SetSubstitutePath {
            from: "/build".into(),
            to: "/src".into()
        }
    );
}

#[test]
fn ptype_takes_gdbs_flags() {
    let offsets = TypeFlags {
        offsets: true,
        hex: false,
    };
    assert_eq!(
        parse("ptype/o point").unwrap(),
        Command::Ptype("point".into(), offsets)
    );
    assert_eq!(
        parse("ptype/ox point").unwrap(),
        Command::Ptype(
            "point".into(),
            TypeFlags {
                hex: true,
                ..offsets
            }
        )
    );
    // `d` undoes `x`; `r`, `m`, `M`, `t`, `T` are gdb's and change nothing here.
    assert_eq!(
        parse("ptype/xdrmMtTo point").unwrap(),
        Command::Ptype("point".into(), offsets)
    );
    assert_eq!(
        parse("ptype/ point").unwrap(),
        Command::Ptype("point".into(), TypeFlags::default())
    );
    assert_eq!(
        parse("whatis/o point").unwrap(),
        Command::Whatis("point".into())
    );
    // gdb's messages, each checked against gdb 13.
    assert_eq!(
        parse("ptype/q point").unwrap_err().0,
        "unrecognized flag 'q'"
    );
    assert_eq!(parse("ptype/").unwrap_err().0, "flag expected");
    assert_eq!(
        parse("ptype/o").unwrap_err().0,
        "expected space after format"
    );
}
