//! Reading an input file whole, the one way every tool does: a regular file only, and no more
//! than the size it has when it is opened.
//!
//! `std::fs::read` on what a user names can hang or never end: opening a FIFO with no writer
//! blocks, `/dev/zero` has no end, and a file that grows while it is read is read on.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// An input file opened to be read whole: a regular file, with the size it had when it was
/// opened, which is all that is read of it.
#[derive(Debug)]
pub struct InputFile {
    file: File,
    size: u64,
}

impl InputFile {
    /// Opens the regular file at `path`. Anything else (a FIFO, a device, a directory) is
    /// refused without being opened, with an [`io::ErrorKind::InvalidInput`] error that says
    /// `not a regular file`.
    pub fn open(path: &Path) -> io::Result<InputFile> {
        // Checked before opening: opening a FIFO for reading blocks until it has a writer.
        if !std::fs::metadata(path)?.is_file() {
            return Err(not_regular());
        }
        let file = File::open(path)?;
        // And what was opened, in case the path changed in between.
        let metadata = file.metadata()?;
        if !metadata.is_file() {
            return Err(not_regular());
        }
        Ok(InputFile {
            file,
            size: metadata.len(),
        })
    }

    /// The file's size when it was opened, in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads the file's first `buf.len()` bytes into `buf` (give it [`InputFile::size`] bytes).
    /// Fails if the file ends first: it shrank since it was opened.
    pub fn read_into(mut self, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact(buf).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file is shorter than its size: it shrank while it was read",
            ),
            _ => e,
        })
    }

    /// Reads the file: [`InputFile::size`] bytes, whatever was written to it since.
    pub fn read(self) -> io::Result<Vec<u8>> {
        let size = usize::try_from(self.size).map_err(io::Error::other)?;
        let mut bytes = vec![0; size];
        self.read_into(&mut bytes)?;
        Ok(bytes)
    }
}

/// Reads the regular file at `path` whole: [`InputFile::open`], then [`InputFile::read`].
pub fn read_input_file(path: &Path) -> io::Result<Vec<u8>> {
    InputFile::open(path)?.read()
}

/// Reads stdin whole, as a tool reads its input when given no path or `-`: a pipe or a socket
/// to its end, a regular file (`< app.wasm`) up to its size. Anything else (`< /dev/zero`,
/// which never ends, a terminal) is refused with an [`io::ErrorKind::InvalidInput`] error that
/// says `not a regular file or a pipe`.
pub fn read_stdin() -> io::Result<Vec<u8>> {
    let mut stdin = io::stdin().lock();
    let mut bytes = Vec::new();
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::FileTypeExt;
        let metadata = File::from(stdin.as_fd().try_clone_to_owned()?).metadata()?;
        let file_type = metadata.file_type();
        if file_type.is_file() {
            stdin.take(metadata.len()).read_to_end(&mut bytes)?;
            return Ok(bytes);
        }
        if !(file_type.is_fifo() || file_type.is_socket()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file or a pipe",
            ));
        }
    }
    stdin.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The error of a path that names what is not a regular file.
pub(crate) fn not_regular() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "not a regular file")
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::PathBuf;

    use super::*;

    /// A path for this test alone in the temporary directory.
    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("wasm-layout-{}-{name}", std::process::id()))
    }

    #[test]
    fn reads_a_regular_file_up_to_its_size_when_opened() {
        let path = scratch("regular");
        let mut file = File::create(&path).unwrap();
        file.write_all(b"wasm").unwrap();
        assert_eq!(read_input_file(&path).unwrap(), b"wasm");
        let input = InputFile::open(&path).unwrap();
        // Written after the open: not read.
        file.write_all(b" and more").unwrap();
        assert_eq!(input.size(), 4);
        assert_eq!(input.read().unwrap(), b"wasm");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let dir = std::env::temp_dir();
        let mut paths = vec![dir.as_path()];
        if cfg!(unix) {
            paths.push(Path::new("/dev/zero"));
        }
        for path in paths {
            let err = read_input_file(path).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{path:?}");
            assert_eq!(err.to_string(), "not a regular file");
        }
        let err = read_input_file(&scratch("missing")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
