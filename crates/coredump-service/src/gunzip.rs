//! Stored dumps are gzip; readers get them as they were received.

use async_compression::tokio::bufread::GzipDecoder;
use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use tokio_util::io::{ReaderStream, StreamReader};

/// Decompresses a stream of gzip pieces (several gzip members in a row included).
pub fn gunzip_stream<S>(stream: S) -> impl Stream<Item = std::io::Result<Bytes>> + Send + use<S>
where
    S: Stream<Item = object_store::Result<Bytes>> + Send + Unpin,
{
    let reader = StreamReader::new(stream.map_err(std::io::Error::other));
    let mut decoder = GzipDecoder::new(reader);
    decoder.multiple_members(true);
    ReaderStream::with_capacity(decoder, 64 << 10)
}
