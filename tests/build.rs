//! Builds the crash fixtures (`tests/fixtures`, a cargo workspace of its own) to Wasm, in the `dev`
//! and the `release` profile, with a nested `cargo build`.
//!
//! The nested build uses one fixed target directory, `<target dir>/fixtures`, so `cargo test`,
//! `cargo clippy`, `cargo build --release`, ... all share it and only the first of them compiles
//! anything. The directory is handed to the library as `WASM_COREDUMP_FIXTURES_DIR`.

use std::env;
use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The fixtures' targets, each with the packages built for it.
const BUILDS: &[(&str, &[&str])] = &[
    (
        "wasm32-wasip1",
        &[
            "--workspace",
            "--exclude",
            "cdylib-panic",
            "--exclude",
            "kernels",
        ],
    ),
    (
        "wasm32-unknown-unknown",
        &["--package", "cdylib-panic", "--package", "kernels"],
    ),
];

fn main() {
    // First, so that cargo shows that one line and no `--- stdout` of this script.
    check_targets_installed();
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace_root = manifest_dir
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf();
    let fixtures = manifest_dir.join("fixtures");
    let target_dir = fixtures_target_dir(&workspace_root);

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    // The fixtures' manifests, lock file and sources; never the target directory, which the
    // nested build writes after this script started (cargo would then rerun it every time).
    println!(
        "cargo:rerun-if-changed={}",
        fixtures.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        fixtures.join("Cargo.lock").display()
    );
    let mut crates: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", fixtures.display()))
        .map(|entry| entry.expect("fixtures directory entry").path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .collect();
    crates.sort();
    for krate in &crates {
        println!(
            "cargo:rerun-if-changed={}",
            krate.join("Cargo.toml").display()
        );
        println!("cargo:rerun-if-changed={}", krate.join("src").display());
        // A fixture's own build script (e.g. link arguments); only when there is one, since
        // cargo reruns this script every time for a path that does not exist.
        let build_script = krate.join("build.rs");
        if build_script.is_file() {
            println!("cargo:rerun-if-changed={}", build_script.display());
        }
    }

    for release in [false, true] {
        for (target, packages) in BUILDS {
            let mut cmd = nested_cargo();
            cmd.current_dir(&fixtures)
                .arg("build")
                .arg("--locked")
                .arg("--manifest-path")
                .arg(fixtures.join("Cargo.toml"))
                .arg("--target-dir")
                .arg(&target_dir)
                .arg("--target")
                .arg(target)
                .args(*packages);
            if release {
                cmd.arg("--release");
            }
            c_compiler(&mut cmd);
            let shown = shell_words(&cmd);
            let started = Instant::now();
            let output = cmd
                .output()
                .unwrap_or_else(|e| panic!("cannot run the nested fixture build `{shown}`: {e}"));
            // Shown with `cargo build -vv`, and on failure.
            eprintln!("`{shown}` took {:.1?}", started.elapsed());
            if !output.status.success() {
                eprintln!("{}", String::from_utf8_lossy(&output.stdout));
                eprintln!("{}", String::from_utf8_lossy(&output.stderr));
                panic!(
                    "the nested fixture build failed ({}): `{shown}` (in {}); its output is above",
                    output.status,
                    fixtures.display()
                );
            }
        }
    }

    println!(
        "cargo:rustc-env=WASM_COREDUMP_FIXTURES_DIR={}",
        target_dir.display()
    );
}

/// Stops the build with one line when the Wasm targets the fixtures need are not installed, rather
/// than a panic around a page of nested cargo output.
fn check_targets_installed() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return; // the nested build reports what is wrong
    };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let missing: Vec<&str> = BUILDS
        .iter()
        .map(|(target, _)| *target)
        .filter(|target| {
            !sysroot
                .join("lib/rustlib")
                .join(target)
                .join("lib")
                .is_dir()
        })
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "error: the test fixtures are built for Wasm, and the Rust target{} {} {} not \
             installed: run `rustup target add wasm32-wasip1 wasm32-unknown-unknown`",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(" and "),
            if missing.len() > 1 { "are" } else { "is" },
        );
        std::process::exit(1);
    }
}

/// The program and arguments of `cmd`, for messages (its environment changes are left out).
fn shell_words(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|word| word.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `<workspace root>/target/fixtures`, or `$CARGO_TARGET_DIR/fixtures` when that is set.
fn fixtures_target_dir(workspace_root: &Path) -> PathBuf {
    let target = match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        // A relative CARGO_TARGET_DIR is relative to where cargo was started, which a build
        // script does not know; OUT_DIR lies inside the target directory, so find it there.
        Some(dir) => {
            let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
            // `../t` ends in `t`: compare the normal components only.
            let tail: PathBuf = Path::new(&dir)
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .collect();
            out_dir
                .ancestors()
                .find(|a| !tail.as_os_str().is_empty() && a.ends_with(&tail))
                .map(Path::to_path_buf)
                .unwrap_or_else(|| workspace_root.join(dir))
        }
        None => workspace_root.join("target"),
    };
    target.join("fixtures")
}

/// The cargo running this build, with the environment that describes *this* build (its flags,
/// wrappers, target, profile, package, build-script variables) removed, so the nested build is the
/// same whichever cargo command triggered it and its fingerprints stay valid between them.
/// The C compiler of the `realworld` fixture's C libraries (SQLite, zstd), unless the user chose
/// one: Debian's clang, which knows the target as `wasm32-wasi`, and wasi-libc's headers under
/// `/usr` (`.ci/run` installs both).
fn c_compiler(cmd: &mut Command) {
    let defaults = [
        ("CC_wasm32_wasip1", "clang"),
        ("AR_wasm32_wasip1", "llvm-ar"),
        (
            "CFLAGS_wasm32_wasip1",
            "--target=wasm32-wasi --sysroot=/usr",
        ),
    ];
    for (name, value) in defaults {
        println!("cargo:rerun-if-env-changed={name}");
        if env::var_os(name).is_none() {
            cmd.env(name, value);
        }
    }
}

fn nested_cargo() -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    let under_miri = env::var_os("CARGO_CFG_MIRI").is_some();
    for (name, _) in env::vars_os() {
        if strip_from_nested(&name, under_miri) {
            cmd.env_remove(&name);
        }
    }
    cmd
}

fn strip_from_nested(name: &OsStr, under_miri: bool) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    // Cargo settings of the user's that are not about what gets built.
    const KEEP_CARGO: &[&str] = &[
        "CARGO",
        "CARGO_HOME",
        "CARGO_MAKEFLAGS", // the jobserver: the nested build shares the outer build's job slots
        "CARGO_LOG",
        "CARGO_BUILD_JOBS",
    ];
    const KEEP_CARGO_PREFIXES: &[&str] = &[
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRY_",
        "CARGO_REGISTRIES_",
        "CARGO_TERM_",
    ];
    const STRIP: &[&str] = &[
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WRAPPER",
        // `cargo clippy` runs clippy-driver on workspace members through this.
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_LINKER",
        "RUSTDOC",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
        // Build-script variables of this build; the nested cargo sets its own for its scripts,
        // but only those that apply, and a stale one would leak into them.
        "TARGET",
        "HOST",
        "OUT_DIR",
        "NUM_JOBS",
        "OPT_LEVEL",
        "DEBUG",
        "PROFILE",
    ];
    if name == "RUSTC" {
        // Miri points RUSTC at its own driver; otherwise keep the compiler of the outer build.
        return under_miri;
    }
    if name.starts_with("__CARGO") {
        return true;
    }
    if name.starts_with("CARGO") {
        // CARGO_TARGET_DIR, CARGO_ENCODED_RUSTFLAGS, CARGO_BUILD_TARGET, CARGO_BUILD_RUSTFLAGS,
        // CARGO_PRIMARY_PACKAGE, CARGO_PKG_*, CARGO_CFG_*, CARGO_FEATURE_*, CARGO_MANIFEST_*,
        // CARGO_PROFILE_*, CARGO_TARGET_<triple>_*, CARGO_INCREMENTAL, ...
        return !(KEEP_CARGO.contains(&name)
            || KEEP_CARGO_PREFIXES.iter().any(|p| name.starts_with(p)));
    }
    STRIP.contains(&name)
}
