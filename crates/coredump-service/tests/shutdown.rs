//! SIGTERM, as an orchestrator stops an instance: the service stops accepting, finishes the
//! upload it is in the middle of (stored, answered 200), and exits 0.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use common::{FormPart, files_under, multipart_body, mything_dump};

#[test]
fn sigterm_finishes_the_upload_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (_, dump) = mything_dump(&dir.path().join("build"));
    let mut service = Command::new(env!("CARGO_BIN_EXE_coredump-service"))
        .args(["--listen", "127.0.0.1:0", "--store"])
        .arg(&store)
        .env("RUST_LOG", "off")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(service.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let address = line.trim().rsplit("http://").next().unwrap().to_string();

    let (content_type, body) = multipart_body(&[FormPart {
        name: "coredump",
        file_name: Some("coredump"),
        bytes: &dump,
    }]);
    let mut client = TcpStream::connect(&address).unwrap();
    write!(
        client,
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let half = body.len() / 2;
    client.write_all(&body[..half]).unwrap();
    client.flush().unwrap();
    // The service has the request (its first half went through) when the signal comes.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let kill = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    // No new connections once it is stopping.
    assert!(TcpStream::connect(&address).is_err(), "still accepting");
    client.write_all(&body[half..]).unwrap();
    let mut answer = String::new();
    client.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let key = answer
        .split("\"key\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    assert_eq!(service.wait().unwrap().code(), Some(0));
    let stored = files_under(&store.join("coredumps"));
    assert_eq!(
        stored,
        [store.join("coredumps").join(format!("{key}.wasm.gz"))],
        "the dump is stored"
    );
}
