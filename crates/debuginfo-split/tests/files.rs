//! The files `debuginfo-split` reads and writes: a regular file only as its input, outputs
//! written through symlinks, never over a device, a socket or a directory, and both written or
//! neither.

mod common;

use std::fs;
use std::process::Command;
use std::time::Duration;

use common::*;
use wasm_coredump_tests::{memory_limited, output_within};

/// How long a run may take before it is taken to be blocked.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A FIFO with no writer as the module blocked for ever, and `/dev/zero` was read without end:
/// what is not a regular file is refused in one line. (Run with 1 GiB of address space, so
/// that a regression fails rather than takes the machine's memory.)
#[cfg(target_os = "linux")]
#[test]
fn special_files_as_input_are_refused_not_read_for_ever() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(dir.path().join("fifo"))
            .status()
            .unwrap()
            .success()
    );
    for special in ["fifo", "/dev/zero"] {
        let mut command = memory_limited(BIN, 1 << 30);
        let out = output_within(command.arg(special).current_dir(dir.path()), TIMEOUT);
        let err = assert_error(&out, special);
        assert_eq!(
            err,
            format!("error: cannot read {special}: not a regular file\n")
        );
    }
    assert_eq!(listing(dir.path()), ["fifo"]);
}

/// `-o` naming a character device replaced the device node with a regular file (exit 0), and a
/// socket or a directory fared no better: each is refused in one line, before any file, the
/// debug file included, is written. (`/dev/full` is reached through a symlink, so that the
/// test cannot replace it if that comes back.) `/dev/null` takes the module.
#[cfg(unix)]
#[test]
fn a_device_socket_or_directory_output_is_refused_and_left_alone() {
    let dir = dir_with(&module_with_dwarf());
    std::os::unix::fs::symlink("/dev/full", dir.path().join("full")).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("socket")).unwrap();
    fs::create_dir(dir.path().join("directory")).unwrap();
    let before = listing(dir.path());
    for special in ["full", "socket", "directory"] {
        for flag in ["-o", "-d"] {
            let out = run(dir.path(), &["m.wasm", flag, special]);
            let err = assert_error(&out, special);
            assert_eq!(
                err,
                format!("error: cannot write {special}: not a regular file\n")
            );
            assert_eq!(listing(dir.path()), before, "{flag} {special}");
        }
    }
    assert!(
        fs::symlink_metadata(dir.path().join("full"))
            .unwrap()
            .is_symlink()
    );
    assert_eq!(
        fs::read(dir.path().join("m.wasm")).unwrap(),
        module_with_dwarf()
    );

    let out = run(
        dir.path(),
        &["m.wasm", "-o", "/dev/null", "-d", "debug.wasm"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::read(dir.path().join("debug.wasm")).unwrap()[..module_with_dwarf().len()],
        module_with_dwarf()
    );
}

/// `-o` (or `-d`) naming a symlink replaced the link with a file: the file it points at is
/// written, and the link stays. In place, a module that is a symlink is split where it points.
#[cfg(unix)]
#[test]
fn a_symlink_output_is_written_through() {
    let input = module_with_dwarf();
    let dir = dir_with(&input);
    fs::create_dir(dir.path().join("dist")).unwrap();
    let symlink = |target: &str, link: &str| {
        std::os::unix::fs::symlink(target, dir.path().join(link)).unwrap();
    };
    symlink("dist/app.wasm", "app.wasm");
    symlink("dist/debug.wasm", "debug.wasm");
    let out = run(
        dir.path(),
        &["m.wasm", "-o", "app.wasm", "-d", "debug.wasm"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for link in ["app.wasm", "debug.wasm"] {
        assert!(
            fs::symlink_metadata(dir.path().join(link))
                .unwrap()
                .is_symlink(),
            "{link}"
        );
    }
    let stripped = fs::read(dir.path().join("dist/app.wasm")).unwrap();
    let debug = fs::read(dir.path().join("dist/debug.wasm")).unwrap();
    validate(&stripped);
    assert!(!has_dwarf(&stripped));
    assert_eq!(debug[..input.len()], input[..]);

    fs::write(dir.path().join("dist/in.wasm"), &input).unwrap();
    symlink("dist/in.wasm", "in.wasm");
    let out = run(dir.path(), &["in.wasm", "-d", "in-debug.wasm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        fs::symlink_metadata(dir.path().join("in.wasm"))
            .unwrap()
            .is_symlink()
    );
    let stripped = fs::read(dir.path().join("dist/in.wasm")).unwrap();
    assert!(!has_dwarf(&stripped));
    let debug = fs::read(dir.path().join("in-debug.wasm")).unwrap();
    assert_eq!(debug[..input.len()], input[..]);
    assert_eq!(
        listing(dir.path()),
        [
            "app.wasm",
            "debug.wasm",
            "dist",
            "in-debug.wasm",
            "in.wasm",
            "m.wasm"
        ]
    );
}

/// When the stripped module could not be written, the debug file was left behind: a failed
/// run leaves no new file at all.
#[test]
fn a_failed_module_write_leaves_no_debug_file() {
    let input = module_with_dwarf();
    let dir = dir_with(&input);
    let out = run(dir.path(), &["m.wasm", "-o", "missing/app.wasm"]);
    let err = assert_error(&out, "missing/app.wasm");
    assert_eq!(
        err,
        "error: cannot write missing/app.wasm: No such file or directory (os error 2)\n"
    );
    assert_eq!(listing(dir.path()), ["m.wasm"]);
    assert_eq!(fs::read(dir.path().join("m.wasm")).unwrap(), input);
}

/// A write that fails midway (the file size limit, as a full disk would) leaves no partial file,
/// no temporary file and no debug file, and the module as it was, in place too (where the
/// module's own file becomes the debug file).
#[cfg(target_os = "linux")]
#[test]
fn a_write_that_fails_midway_leaves_no_file() {
    let input = module_with_dwarf();
    let dir = dir_with(&input);
    for args in [&["m.wasm", "-o", "app.wasm"][..], &["m.wasm"]] {
        // SIGXFSZ as the shell leaves it (kill): the tool must not die of it.
        let limit = format!("--fsize={}", input.len() / 2);
        let out = output_within(
            Command::new("prlimit")
                .args([&limit, BIN])
                .args(args)
                .current_dir(dir.path()),
            TIMEOUT,
        );
        let err = assert_error(&out, "File too large");
        assert!(err.starts_with("error: cannot write "), "{args:?}: {err}");
        assert_eq!(listing(dir.path()), ["m.wasm"], "{args:?}");
        assert_eq!(
            fs::read(dir.path().join("m.wasm")).unwrap(),
            input,
            "{args:?}"
        );
    }
}
