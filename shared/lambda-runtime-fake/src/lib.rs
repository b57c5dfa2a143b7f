//! A minimal Lambda Runtime API on 127.0.0.1, standing in for Lambda when a
//! function's real binary is started: the webhook's binary tests, the
//! first-poll check of every packaged function and the cold-start bench
//! share it, so each measures the same thing ([`process`] reads what a
//! started binary cost in CPU time).
//!
//! Each poll for an event (`GET …/invocation/next`) gets the next queued
//! event; a poll with nothing queued waits, as Lambda's does, until an event
//! is queued or the process ends. Every request is reported, with the time
//! it arrived. [`FakeRuntimeApi::reset`] starts a new generation: polls of
//! processes started before it never take an event queued after it.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub mod measure;
pub mod process;

/// The path a runtime polls for its next event.
pub const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";

/// Numbers the events handed out, across connections and processes.
static EVENTS_SERVED: AtomicU64 = AtomicU64::new(0);

/// What the fake Runtime API saw.
#[derive(Debug)]
pub enum Seen {
    /// A poll for an event: the runtime is ready (end of the init phase).
    Next(Instant),
    /// The function's answer to the event with this request id.
    Answer {
        /// When it arrived.
        at: Instant,
        /// The event's request id.
        request_id: String,
        /// The answer (for an HTTP function: API Gateway's response shape).
        body: String,
    },
    /// Anything else, e.g. `/runtime/init/error` or an invocation error.
    Other {
        /// The request path.
        path: String,
        /// Its body.
        body: String,
    },
}

/// The fake API: its address, what it saw, the events it will hand out.
pub struct FakeRuntimeApi {
    /// `127.0.0.1:<port>`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    seen: Receiver<Seen>,
    queue: Arc<Mutex<Queue>>,
}

/// Events to hand out, for the processes of one generation.
#[derive(Default)]
struct Queue {
    generation: u64,
    events: VecDeque<String>,
}

impl Queue {
    /// The next event, for a connection of `generation` only.
    fn take(queue: &Mutex<Queue>, generation: u64) -> Option<String> {
        let mut queue = queue.lock().ok()?;
        if queue.generation == generation {
            queue.events.pop_front()
        } else {
            None
        }
    }
}

impl FakeRuntimeApi {
    /// Listen on a free loopback port.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let address = listener.local_addr().expect("its address").to_string();
        let (sender, seen) = mpsc::channel();
        let queue: Arc<Mutex<Queue>> = Arc::default();
        let shared = Arc::clone(&queue);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sender = sender.clone();
                let queue = Arc::clone(&shared);
                let generation = queue.lock().map_or(u64::MAX, |q| q.generation);
                thread::spawn(move || serve(stream, &sender, &queue, generation));
            }
        });
        Self {
            address,
            seen,
            queue,
        }
    }

    /// Hand `event` (JSON) to the next poll.
    pub fn queue(&self, event: String) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.events.push_back(event);
        }
    }

    /// Forget queued events and unread reports, and start a new generation.
    /// Call it after the previous process ended, before starting the next.
    pub fn reset(&self) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.events.clear();
            queue.generation += 1;
        }
        while self.seen.try_recv().is_ok() {}
    }

    /// The next report, if one arrives within `timeout`.
    pub fn next_seen(&self, timeout: Duration) -> Option<Seen> {
        self.seen.recv_timeout(timeout).ok()
    }

    /// The environment Lambda gives a function named `name` on this API.
    pub fn lambda_environment(&self, name: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API", self.address.clone()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/03/10/[$LATEST]0123456789abcdef".into(),
            ),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
            ("AWS_LAMBDA_LOG_LEVEL", "INFO".into()),
            ("_HANDLER", "bootstrap".into()),
        ]
    }
}

/// An API Gateway HTTP API (payload 2.0) event: a POST of `body` to `path`.
pub fn http_post_event(path: &str, headers: &[(&str, &str)], body: &str) -> String {
    http_event("POST", path, headers, body)
}

/// An API Gateway HTTP API (payload 2.0) event: `method` on `path` with `body`.
pub fn http_event(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).into()))
        .collect();
    serde_json::json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "fake-runtime-api"
            },
            "requestId": "local-request",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "10/Mar/2026:09:00:00 +0000",
            "timeEpoch": 1_773_133_200_000_i64
        },
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}

fn serve(stream: TcpStream, seen: &Sender<Seen>, queue: &Mutex<Queue>, generation: u64) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let arrived = Instant::now();
        let mut content_length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut body = vec![0; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        if path == NEXT_PATH {
            let _ = seen.send(Seen::Next(arrived));
            let Some(event) = wait_for_event(reader.get_ref(), queue, generation) else {
                return;
            };
            let served = EVENTS_SERVED.fetch_add(1, Ordering::Relaxed) + 1;
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
                + 30_000;
            let _ = write!(
                writer,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                 lambda-runtime-aws-request-id: event-{served}\r\n\
                 lambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:eu-central-1:123456789012:function:local\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\
                 content-length: {}\r\n\r\n{event}",
                event.len()
            );
            continue;
        }
        let answer = path
            .strip_prefix("/2018-06-01/runtime/invocation/")
            .and_then(|rest| rest.strip_suffix("/response"));
        let report = match answer {
            Some(request_id) => Seen::Answer {
                at: arrived,
                request_id: request_id.to_owned(),
                body,
            },
            None => Seen::Other { path, body },
        };
        let _ = seen.send(report);
        let accepted = r#"{"status":"OK"}"#;
        let _ = write!(
            writer,
            "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{accepted}",
            accepted.len()
        );
    }
}

/// The next event for this connection's generation, or `None` once the
/// process on the other end has closed it.
fn wait_for_event(stream: &TcpStream, queue: &Mutex<Queue>, generation: u64) -> Option<String> {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(5)));
    let event = loop {
        if let Some(event) = Queue::take(queue, generation) {
            break Some(event);
        }
        match stream.peek(&mut [0_u8; 1]) {
            // Closed: the process ended.
            Ok(0) => break None,
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            // A runtime sends nothing while it waits; whatever this is, wait on.
            Ok(_) => thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    let _ = stream.set_read_timeout(None);
    event
}
