//! Just enough HTTP/1.1 for a scraper: `GET /metrics` (and `HEAD`), one request per
//! connection. A client that sends nothing, or too much, is cut off, and the number of
//! connections at once is capped: a port open to a network must not cost the recorder
//! memory or tasks without bound.

use super::Exporter;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

const MAX_CONNECTIONS: usize = 16;
const MAX_REQUEST: usize = 8 * 1024;
const READ_FOR: Duration = Duration::from_secs(5);
const WRITE_FOR: Duration = Duration::from_secs(30);
const WAIT_FOR_FRESH: Duration = Duration::from_secs(3);

/// The request line, as method and path (without a query).
fn request_line(head: &str) -> (&str, &str) {
    let line = head.lines().next().unwrap_or("");
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    (method, target.split('?').next().unwrap_or(""))
}

fn is_metrics(head: &str) -> bool {
    matches!(request_line(head), ("GET" | "HEAD", "/metrics"))
}

/// Binds `addr` (`127.0.0.1:9177`, `[::1]:9177`); the error names the address.
pub async fn bind(addr: &str) -> Result<TcpListener, String> {
    let parsed: SocketAddr = addr
        .parse()
        .map_err(|_| format!("--metrics {addr:?}: not an address and port, e.g. 127.0.0.1:9177"))?;
    TcpListener::bind(parsed)
        .await
        .map_err(|e| format!("--metrics: cannot listen on {parsed}: {e}"))
}

/// Serves until the runtime ends.
pub async fn serve(listener: TcpListener, exporter: Arc<Exporter>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((conn, _)) = listener.accept().await else {
            // Out of descriptors, say: wait rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        // Over the cap the connection is closed at once: the scraper retries at its next turn.
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let exporter = exporter.clone();
        tokio::spawn(async move {
            let _ = answer(conn, &exporter).await;
            drop(permit);
        });
    }
}

async fn answer(mut conn: TcpStream, exporter: &Exporter) -> std::io::Result<()> {
    let Ok(Ok(head)) = tokio::time::timeout(READ_FOR, read_head(&mut conn)).await else {
        return Ok(());
    };
    if head.as_deref().is_some_and(is_metrics) && !exporter.fresh() {
        // The owner of the fleet renders it within a second (the recorder's thread does
        // after each batch or its tick). One that is stuck (a hung store write) is answered
        // with the last text after a while; its poll lag says why.
        let until = tokio::time::Instant::now() + WAIT_FOR_FRESH;
        while !exporter.fresh() && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let r = respond(head.as_deref(), exporter);
    let get = head.as_deref().is_some_and(|h| !h.starts_with("HEAD "));
    let fleet = r.fleet.as_deref().map_or("", String::as_str);
    let header = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        r.status,
        r.kind,
        fleet.len() + r.text.len()
    );
    let write = async {
        conn.write_all(header.as_bytes()).await?;
        if get || head.is_none() {
            conn.write_all(fleet.as_bytes()).await?;
            conn.write_all(r.text.as_bytes()).await?;
        }
        conn.shutdown().await
    };
    let _ = tokio::time::timeout(WRITE_FOR, write).await;
    Ok(())
}

/// An answer: the fleet's shared text (for `/metrics`), then text of its own.
struct Reply {
    status: &'static str,
    kind: &'static str,
    fleet: Option<Arc<String>>,
    text: String,
}

fn plain(status: &'static str, text: &str) -> Reply {
    Reply {
        status,
        kind: TEXT,
        fleet: None,
        text: text.to_owned(),
    }
}

/// The request's head (through its blank line); `None` when it is not one we can read.
async fn read_head(conn: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Ok(String::from_utf8(buf).ok());
        }
        if buf.len() > MAX_REQUEST {
            return Ok(None);
        }
    }
}

const TEXT: &str = "text/plain; charset=utf-8";

fn respond(head: Option<&str>, exporter: &Exporter) -> Reply {
    let Some((method, path)) = head.map(request_line).filter(|(m, _)| !m.is_empty()) else {
        return plain("400 Bad Request", "bad request\n");
    };
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let (fleet, health) = exporter.body(chrono::Utc::now().timestamp_millis());
            Reply {
                status: "200 OK",
                kind: fleetwatch_core::metrics::CONTENT_TYPE,
                fleet: Some(fleet),
                text: health,
            }
        }
        ("GET" | "HEAD", "/") => plain("200 OK", "fleetwatch: the metrics are at /metrics\n"),
        ("GET" | "HEAD", _) => plain("404 Not Found", "not found: try /metrics\n"),
        _ => plain("405 Method Not Allowed", "only GET and HEAD\n"),
    }
}
