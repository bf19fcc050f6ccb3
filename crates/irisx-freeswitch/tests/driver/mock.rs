//! A mock FreeSWITCH event socket that replays one recorded exchange (`tests/exchanges/*.esl`) and fails the
//! test when the driver sends anything other than the recorded bytes.
//!
//! The exchange format, one line each:
//! - `C: text` — a line the client must send; consecutive `C:` lines are one command (`C:` alone is its closing
//!   blank line). The command must match byte for byte, except `${NAME}`, which captures the UUID-like token
//!   there the first time and must repeat it afterwards (names bound by the test are substituted as they are).
//! - `S: text` — a line the server sends; consecutive `S:` lines are one frame. `Content-Length: *` is replaced
//!   by the length of what follows the frame's blank line (also inside an event, for a job's result), since the
//!   UUIDs substituted change lengths.
//! - `! drop` closes the connection and takes the next one; `! write-wav PATH MS` writes a recording as
//!   FreeSWITCH's `record` would; `! expect-wav PATH SAMPLES` checks a file the driver wrote for `playback`;
//!   `! sleep MS` waits (FreeSWITCH taking its time, say to close a file).
//! - Blank lines and `#` comments separate frames.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long the mock waits for each command the exchange expects.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
enum Step {
    Client(String),
    Server(String),
    Drop,
    WriteWav(String, u64),
    ExpectWav(String, u32),
    Sleep(u64),
}

type Vars = Arc<Mutex<HashMap<String, String>>>;

/// A running mock server.
pub struct MockEsl {
    addr: SocketAddr,
    vars: Vars,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), String>>,
}

impl MockEsl {
    /// Serves `tests/exchanges/<name>.esl` with the names in `bound` already set.
    pub async fn start(name: &str, bound: &[(&str, &str)]) -> MockEsl {
        let path = format!("{}/tests/exchanges/{name}.esl", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let steps = parse(&text);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let vars: Vars = Arc::new(Mutex::new(
            bound.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        ));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(listener, steps, vars.clone(), stopped));
        MockEsl {
            addr,
            vars,
            stop: Some(stop),
            task,
        }
    }

    /// The address to give the driver.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// A value captured from the driver's commands.
    pub fn var(&self, name: &str) -> String {
        self.vars.lock().unwrap().get(name).cloned().unwrap_or_default()
    }

    /// Checks the whole exchange was played and nothing unexpected arrived afterwards.
    pub async fn finish(mut self) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.stop.take().map(|s| s.send(()));
        let result = tokio::time::timeout(STEP_TIMEOUT * 2, &mut self.task)
            .await
            .expect("the mock server did not finish")
            .expect("the mock server panicked");
        if let Err(e) = result {
            panic!("the exchange was not followed: {e}");
        }
    }
}

fn parse(text: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut block: Option<(char, String)> = None;
    let flush = |block: &mut Option<(char, String)>, steps: &mut Vec<Step>| match block.take() {
        Some(('C', text)) => steps.push(Step::Client(text)),
        Some((_, text)) => steps.push(Step::Server(text)),
        None => {}
    };
    for line in text.lines() {
        let (kind, rest) = match line.split_at_checked(2) {
            Some(("C:", rest)) => ('C', rest),
            Some(("S:", rest)) => ('S', rest),
            _ => {
                flush(&mut block, &mut steps);
                if let Some(directive) = line.strip_prefix("! ") {
                    steps.push(directive_step(directive));
                }
                continue;
            }
        };
        if block.as_ref().is_some_and(|(k, _)| *k != kind) {
            flush(&mut block, &mut steps);
        }
        let text = &mut block.get_or_insert((kind, String::new())).1;
        text.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        text.push('\n');
    }
    flush(&mut block, &mut steps);
    steps
}

fn directive_step(directive: &str) -> Step {
    let words: Vec<&str> = directive.split_whitespace().collect();
    match words[..] {
        ["drop"] => Step::Drop,
        ["write-wav", path, ms] => Step::WriteWav(path.into(), ms.parse().unwrap()),
        ["expect-wav", path, samples] => Step::ExpectWav(path.into(), samples.parse().unwrap()),
        ["sleep", ms] => Step::Sleep(ms.parse().unwrap()),
        _ => panic!("unknown directive {directive:?}"),
    }
}

async fn run(
    listener: TcpListener,
    steps: Vec<Step>,
    vars: Vars,
    stopped: oneshot::Receiver<()>,
) -> Result<(), String> {
    let result = play(&listener, &steps, &vars, stopped).await;
    if let Err(e) = &result {
        eprintln!("mock ESL server: {e}");
    }
    result
}

async fn play(
    listener: &TcpListener,
    steps: &[Step],
    vars: &Vars,
    stopped: oneshot::Receiver<()>,
) -> Result<(), String> {
    let mut socket = accept(listener).await?;
    let mut buf = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Client(expected) => {
                let got = read_command(&mut socket, &mut buf)
                    .await
                    .map_err(|e| format!("step {i}: {e}"))?;
                matches(expected, &got, vars).map_err(|e| format!("step {i}: {e}"))?;
            }
            Step::Server(text) => {
                let frame = render(&substitute(text, vars)?);
                socket.write_all(frame.as_bytes()).await.map_err(|e| e.to_string())?;
            }
            Step::Drop => {
                socket.shutdown().await.ok();
                drop(socket);
                buf.clear();
                socket = accept(listener).await?;
            }
            Step::WriteWav(path, ms) => write_wav(&substitute(path, vars)?, *ms),
            Step::ExpectWav(path, samples) => expect_wav(&substitute(path, vars)?, *samples)?,
            Step::Sleep(ms) => tokio::time::sleep(Duration::from_millis(*ms)).await,
        }
    }
    // Anything the driver sends from here on was not recorded.
    tokio::select! {
        got = read_command(&mut socket, &mut buf) => match got {
            Ok(command) => Err(format!("unexpected command after the exchange: {command:?}")),
            Err(_) => Ok(()),
        },
        _ = stopped => Ok(()),
    }
}

async fn accept(listener: &TcpListener) -> Result<TcpStream, String> {
    let accepted = tokio::time::timeout(STEP_TIMEOUT, listener.accept()).await;
    let (socket, _) = accepted
        .map_err(|_| "the driver did not connect".to_owned())?
        .map_err(|e| e.to_string())?;
    Ok(socket)
}

/// One command: everything up to and including its blank line.
async fn read_command(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Result<String, String> {
    loop {
        if let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let command: Vec<u8> = buf.drain(..end + 2).collect();
            return Ok(String::from_utf8_lossy(&command).into_owned());
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(STEP_TIMEOUT, socket.read(&mut chunk))
            .await
            .map_err(|_| format!("no command came; waiting with {:?}", String::from_utf8_lossy(buf)))?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err(format!(
                "the driver closed the socket; unread: {:?}",
                String::from_utf8_lossy(buf)
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Matches a command against the recording, capturing `${NAME}`s seen for the first time.
fn matches(expected: &str, got: &str, vars: &Vars) -> Result<(), String> {
    let mismatch = || format!("expected\n{expected}\ngot\n{got}");
    let mut vars = vars.lock().unwrap();
    let mut rest = got;
    let mut pattern = expected;
    while let Some(start) = pattern.find("${") {
        let (literal, after) = pattern.split_at(start);
        rest = rest.strip_prefix(literal).ok_or_else(mismatch)?;
        let end = after.find('}').ok_or_else(mismatch)?;
        let name = &after[2..end];
        pattern = &after[end + 1..];
        if let Some(value) = vars.get(name) {
            rest = rest.strip_prefix(value.as_str()).ok_or_else(mismatch)?;
        } else {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(rest.len());
            if len == 0 {
                return Err(mismatch());
            }
            vars.insert(name.to_owned(), rest[..len].to_owned());
            rest = &rest[len..];
        }
    }
    (rest == pattern).then_some(()).ok_or_else(mismatch)
}

fn substitute(text: &str, vars: &Vars) -> Result<String, String> {
    let vars = vars.lock().unwrap();
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or("unclosed ${")? + start;
        let name = &rest[start + 2..end];
        out.push_str(
            vars.get(name)
                .ok_or_else(|| format!("${{{name}}} is used before the driver sent it"))?,
        );
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Fills in `Content-Length: *` with the length of what follows the block's blank line (recursively).
fn render(text: &str) -> String {
    let Some(end) = text.find("\n\n") else {
        return text.to_owned();
    };
    let (head, body) = (&text[..end + 2], &text[end + 2..]);
    if !head.contains("Content-Length: *") {
        return text.to_owned();
    }
    let body = render(body);
    head.replace("Content-Length: *", &format!("Content-Length: {}", body.len())) + &body
}

fn write_wav(path: &str, ms: u64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..ms * 8 {
        let t = i as f64 / 8000.0;
        writer
            .write_sample((f64::sin(t * 440.0 * std::f64::consts::TAU) * 8000.0) as i16)
            .unwrap();
    }
    writer.finalize().unwrap();
}

fn expect_wav(path: &str, samples: u32) -> Result<(), String> {
    let reader = hound::WavReader::open(path).map_err(|e| format!("{path} is not the WAV to play: {e}"))?;
    let spec = reader.spec();
    if spec.sample_rate != 8000 || spec.channels != 1 || reader.duration() != samples {
        return Err(format!(
            "{path}: {spec:?} with {} samples, expected {samples}",
            reader.duration()
        ));
    }
    Ok(())
}
