//! Writing an output file, the one way every tool does: whole or not at all, through a symlink
//! to the file it names, and never over what is not a regular file.
//!
//! `File::create` on what a user names can leave half a module behind when a write fails, and
//! renaming a new file over the path replaces a symlink or a device node (`/dev/full`, as root)
//! with a regular file.

use std::fs::{self, File, Permissions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::input::not_regular;

/// An output that could not be written: the path as it was given, and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct WriteError {
    /// The output's path, as it was given.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: io::Error,
}

impl WriteError {
    /// The errors of writing `path`, for `map_err`.
    fn at(path: &Path) -> impl Fn(io::Error) -> WriteError + Copy + '_ {
        |source| WriteError {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// An output file being written: [`OutputFile::commit`] puts it in place, dropping it without
/// committing leaves everything as it was.
///
/// What a path may name:
/// - a regular file, or nothing yet: written to a temporary file beside it, renamed over it on
///   commit, so that a failure leaves the old file (or none) and never a part of the new one. An
///   existing file's permissions are kept; a new one gets 0666 less the umask.
/// - a symlink: followed, to the regular file it points at (or where it points, if that does not
///   exist yet), which is replaced as above; the link stays.
/// - `/dev/null` or a pipe (`/dev/stdout` on a pipe, `>(...)`, a FIFO): written directly, as
///   stdout is ([`OutputFile::is_direct`]); the reader sees what is written as it is written.
///
/// Anything else, a directory, another device (`/dev/full`, a terminal) or a socket, is refused
/// with a [`WriteError`] that says `not a regular file`.
#[derive(Debug)]
pub struct OutputFile {
    path: PathBuf,
    file: File,
    replace: Option<Replace>,
}

/// A regular file's replacement: the temporary file the output's file is, and what it replaces.
#[derive(Debug)]
struct Replace {
    temp: TempPath,
    /// The file the output's path names, symlinks followed.
    target: PathBuf,
    /// Whether `target` existed when the output was created.
    existed: bool,
}

/// Where an output's path leads, symlinks followed.
enum Destination {
    /// A regular file, `Some` with its permissions if it exists.
    Regular(PathBuf, Option<Permissions>),
    /// `/dev/null` or a pipe.
    Direct,
}

impl OutputFile {
    /// Prepares to write the file at `path`: see [`OutputFile`] for what it may name. A regular
    /// file is not touched until [`OutputFile::commit`].
    pub fn create(path: &Path) -> Result<OutputFile, WriteError> {
        let error = WriteError::at(path);
        let (target, permissions) = match destination(path).map_err(error)? {
            Destination::Direct => {
                let file = File::options().write(true).open(path).map_err(error)?;
                return Ok(OutputFile {
                    path: path.to_path_buf(),
                    file,
                    replace: None,
                });
            }
            Destination::Regular(target, permissions) => (target, permissions),
        };
        // As `File::create` makes it: 0666 less the umask.
        let (file, temp) = TempPath::create(&target, |temp| {
            File::options().write(true).create_new(true).open(temp)
        })
        .map_err(error)?;
        let existed = permissions.is_some();
        if let Some(permissions) = permissions {
            file.set_permissions(permissions).map_err(error)?;
        }
        Ok(OutputFile {
            path: path.to_path_buf(),
            file,
            replace: Some(Replace {
                temp,
                target,
                existed,
            }),
        })
    }

    /// Prepares to write the file at `path` (a regular file, or nothing yet, symlinks followed)
    /// as the regular file `source` plus what is appended to it: the temporary file is a new
    /// hard link to `source`, opened for appending. `source` itself changes as it is written:
    /// undoing that on failure is the caller's.
    ///
    /// Fails where that cannot be done: `path` is not a regular file's, `source` is not a
    /// regular file, or they are on different filesystems.
    pub fn link(path: &Path, source: &Path) -> Result<OutputFile, WriteError> {
        let error = WriteError::at(path);
        let Destination::Regular(target, permissions) = destination(path).map_err(error)? else {
            return Err(error(not_regular()));
        };
        // `link` does not follow a symlink: link what it points at.
        let source = fs::canonicalize(source).map_err(error)?;
        if !fs::metadata(&source).map_err(error)?.is_file() {
            return Err(error(not_regular()));
        }
        let ((), temp) =
            TempPath::create(&target, |temp| fs::hard_link(&source, temp)).map_err(error)?;
        let file = File::options()
            .append(true)
            .open(temp.path())
            .map_err(error)?;
        Ok(OutputFile {
            path: path.to_path_buf(),
            file,
            replace: Some(Replace {
                temp,
                target,
                existed: permissions.is_some(),
            }),
        })
    }

    /// The output's path, as it was given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether writes go straight to the destination (`/dev/null`, a pipe) instead of a
    /// temporary file: what is written is then seen at once, so a tool that may still fail
    /// holds its output until it is complete, as for stdout.
    pub fn is_direct(&self) -> bool {
        self.replace.is_none()
    }

    /// The file to write: the temporary file, or the destination itself when
    /// [`OutputFile::is_direct`].
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Gives the file `permissions` instead of the existing file's (or the default); nothing
    /// when [`OutputFile::is_direct`].
    pub fn set_permissions(&self, permissions: Permissions) -> Result<(), WriteError> {
        if self.replace.is_none() {
            return Ok(());
        }
        self.file
            .set_permissions(permissions)
            .map_err(WriteError::at(&self.path))
    }

    /// Puts the file in place: renames the temporary file over the file the path names.
    pub fn commit(self) -> Result<(), WriteError> {
        self.commit_undoable(false).map(drop)
    }

    /// Commits `outputs` in order, all or none: if one fails, those committed before it are
    /// undone (a new file removed, a replaced one put back) and its error returned. Putting a
    /// replaced file back takes a hard link to it, made just before it is replaced; where none
    /// can be made (a filesystem without hard links), the new file stays.
    pub fn commit_all(outputs: Vec<OutputFile>) -> Result<(), WriteError> {
        let last = outputs.len().saturating_sub(1);
        let mut committed = Vec::new();
        for (i, output) in outputs.into_iter().enumerate() {
            // The last one needs no undo: nothing after it can fail.
            match output.commit_undoable(i < last) {
                Ok(undo) => committed.push(undo),
                Err(err) => {
                    for undo in committed.into_iter().rev() {
                        undo.run();
                    }
                    return Err(err);
                }
            }
        }
        Ok(())
    }

    /// [`OutputFile::commit`], returning how to undo it (with a backup of a replaced file
    /// when `undoable`).
    fn commit_undoable(self, undoable: bool) -> Result<Undo, WriteError> {
        let OutputFile {
            path,
            file,
            replace,
        } = self;
        let error = WriteError::at(&path);
        let Some(Replace {
            temp,
            target,
            existed,
        }) = replace
        else {
            return Ok(Undo::Nothing);
        };
        drop(file);
        let undo = match (undoable, existed) {
            (false, _) => Undo::Nothing,
            (true, false) => Undo::Remove(target.clone()),
            (true, true) => {
                match TempPath::create(&target, |backup| fs::hard_link(&target, backup)) {
                    Ok(((), backup)) => Undo::Restore(backup, target.clone()),
                    Err(_) => Undo::Nothing,
                }
            }
        };
        temp.persist(&target).map_err(error)?;
        Ok(undo)
    }
}

/// How to undo a commit.
enum Undo {
    /// Nothing to undo, or nothing that can be.
    Nothing,
    /// Remove the new file.
    Remove(PathBuf),
    /// Put the backup (a hard link to the replaced file) back.
    Restore(TempPath, PathBuf),
}

impl Undo {
    /// Undoes the commit, as far as it can: it runs on a failure already being reported.
    fn run(self) {
        match self {
            Undo::Nothing => {}
            Undo::Remove(target) => {
                let _ = fs::remove_file(target);
            }
            Undo::Restore(backup, target) => {
                let _ = backup.persist(&target);
            }
        }
    }
}

/// Where `path` leads: see [`OutputFile`].
fn destination(path: &Path) -> io::Result<Destination> {
    match fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => Ok(Destination::Regular(
            fs::canonicalize(path)?,
            Some(metadata.permissions()),
        )),
        Ok(metadata) if is_null_or_pipe(&metadata) => Ok(Destination::Direct),
        Ok(_) => Err(not_regular()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            Ok(Destination::Regular(link_target(path)?, None))
        }
        Err(err) => Err(err),
    }
}

/// Where the symlinks at `path` lead, `path` itself if it is none: the file to create for a
/// path that names nothing yet.
fn link_target(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    // As many as Linux follows.
    for _ in 0..40 {
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.is_symlink() => {
                path = parent_dir(&path).join(fs::read_link(&path)?);
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

#[cfg(unix)]
fn is_null_or_pipe(metadata: &fs::Metadata) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let file_type = metadata.file_type();
    file_type.is_fifo()
        || (file_type.is_char_device()
            && fs::metadata("/dev/null").is_ok_and(|null| null.rdev() == metadata.rdev()))
}

#[cfg(not(unix))]
fn is_null_or_pipe(_: &fs::Metadata) -> bool {
    false
}

/// A temporary file beside the file it is to replace, removed when dropped unless it was
/// renamed into place.
#[derive(Debug)]
struct TempPath(Option<PathBuf>);

impl TempPath {
    /// Makes a temporary file for `target` with `make`, which must fail with
    /// [`io::ErrorKind::AlreadyExists`] where a file is: `.NAME.PID-N.tmp` in `target`'s
    /// directory, hidden, named after what it is for, and unique to this process.
    fn create<T>(
        target: &Path,
        make: impl Fn(&Path) -> io::Result<T>,
    ) -> io::Result<(T, TempPath)> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = parent_dir(target).join(format!(".{name}.{}-{n}.tmp", std::process::id()));
            match make(&path) {
                // Left by an earlier process that had this id.
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                made => {
                    let made = made?;
                    pending().push(path.clone());
                    return Ok((made, TempPath(Some(path))));
                }
            }
        }
    }

    fn path(&self) -> &Path {
        self.0.as_deref().expect("only taken when renamed")
    }

    /// Renames the file to `target`: it is no longer temporary (and is removed if that fails).
    fn persist(mut self, target: &Path) -> io::Result<()> {
        fs::rename(self.path(), target)?;
        if let Some(path) = self.0.take() {
            pending().retain(|p| *p != path);
        }
        Ok(())
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(&path);
            pending().retain(|p| *p != path);
        }
    }
}

/// The temporary files of this process's outputs, not yet renamed or removed.
fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// For a command-line tool, called first thing in `main`: no signal leaves an output's temporary
/// file behind. A file-size limit (`ulimit -f`, SIGXFSZ) fails the write with EFBIG, whose error
/// removes it as any failed write does, instead of killing the process; SIGINT, SIGTERM and SIGHUP
/// remove the temporary files, then end the process as they would have. (SIGKILL cannot be caught.)
/// Where the handlers cannot be installed, and off Unix, signals do as they did.
pub fn clean_up_outputs_on_signals() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGXFSZ};
        // A handler that only sets a flag nobody reads: the write fails instead.
        let ignored = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let _ = signal_hook::flag::register(SIGXFSZ, ignored);
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                for path in pending().drain(..) {
                    let _ = fs::remove_file(path);
                }
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        });
    }
}

/// The directory a file path is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A new empty directory for this test alone.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("wasm-layout-output-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The directory's file names, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    fn write(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
        let mut out = OutputFile::create(path)?;
        out.file().write_all(bytes).unwrap();
        out.commit()
    }

    #[test]
    fn a_file_appears_only_when_committed() {
        let dir = scratch("commit");
        let path = dir.join("out.wasm");
        let mut out = OutputFile::create(&path).unwrap();
        out.file().write_all(b"new").unwrap();
        assert!(!path.exists());
        drop(out);
        assert!(listing(&dir).is_empty(), "the temporary file is removed");
        write(&path, b"old").unwrap();
        let mut out = OutputFile::create(&path).unwrap();
        out.file().write_all(b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"old");
        out.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(listing(&dir), ["out.wasm"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("permissions");
        let path = dir.join("out.wasm");
        write(&path, b"old").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    /// Renaming over a symlink replaced the link with a file.
    #[cfg(unix)]
    #[test]
    fn a_symlink_is_written_through() {
        let dir = scratch("symlink");
        fs::create_dir(dir.join("real")).unwrap();
        let (file, link) = (dir.join("real/app.wasm"), dir.join("link.wasm"));
        std::os::unix::fs::symlink("real/app.wasm", &link).unwrap();
        // Dangling: the file it names is created.
        write(&link, b"first").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"first");
        write(&link, b"second").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"second");
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(listing(&dir), ["link.wasm", "real"]);
        assert_eq!(listing(&dir.join("real")), ["app.wasm"]);
    }

    /// `/dev/full` was replaced by a regular file (as root).
    #[test]
    fn what_is_not_a_regular_file_is_refused() {
        let dir = scratch("special");
        let mut paths = vec![dir.clone()];
        if cfg!(unix) {
            paths.extend([PathBuf::from("/dev/full"), PathBuf::from("/dev/zero")]);
        }
        for path in paths {
            let err = OutputFile::create(&path).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("cannot write {}: not a regular file", path.display())
            );
        }
        assert!(listing(&dir).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn dev_null_is_written_directly() {
        let mut out = OutputFile::create(Path::new("/dev/null")).unwrap();
        assert!(out.is_direct());
        out.file().write_all(b"gone").unwrap();
        out.commit().unwrap();
        use std::os::unix::fs::FileTypeExt;
        assert!(
            fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }

    /// A failed run of a tool that writes two files left the first.
    #[test]
    fn commit_all_undoes_the_first_when_the_second_fails() {
        let dir = scratch("commit-all");
        let (new, replaced, failing) = (dir.join("new"), dir.join("replaced"), dir.join("failing"));
        write(&replaced, b"old").unwrap();
        let mut outputs = Vec::new();
        for path in [&new, &replaced, &failing] {
            let mut out = OutputFile::create(path).unwrap();
            out.file().write_all(b"new").unwrap();
            outputs.push(out);
        }
        // What the last one replaces turns into a directory it cannot be renamed over.
        fs::create_dir(&failing).unwrap();
        fs::write(failing.join("inside"), b"").unwrap();
        let err = OutputFile::commit_all(outputs).unwrap_err();
        assert_eq!(err.path, failing);
        assert_eq!(listing(&dir), ["failing", "replaced"]);
        assert_eq!(fs::read(&replaced).unwrap(), b"old");

        fs::remove_dir_all(&failing).unwrap();
        let outputs = [&new, &replaced]
            .map(|path| {
                let mut out = OutputFile::create(path).unwrap();
                out.file().write_all(b"new").unwrap();
                out
            })
            .into();
        OutputFile::commit_all(outputs).unwrap();
        assert_eq!(listing(&dir), ["new", "replaced"]);
        assert_eq!(fs::read(&replaced).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn link_starts_as_the_source() {
        let dir = scratch("link");
        let (source, path) = (dir.join("m.wasm"), dir.join("debug.wasm"));
        fs::write(&source, b"module").unwrap();
        let mut out = OutputFile::link(&path, &source).unwrap();
        out.file().write_all(b"+id").unwrap();
        assert!(!path.exists());
        out.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"module+id");
        assert_eq!(listing(&dir), ["debug.wasm", "m.wasm"]);
    }
}
