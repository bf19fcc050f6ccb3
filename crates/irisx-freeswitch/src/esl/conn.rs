//! One inbound-mode Event Socket connection: connect, answer `auth/request` with the password, subscribe to the
//! events the driver needs (plain format), then one reader task turns frames into command replies and events.
//!
//! What must stay true: FreeSWITCH answers commands in the order it received them and says nothing else to
//! identify a reply, so a reply is matched to the oldest command waiting. A command that times out therefore
//! closes the connection (a late reply would be taken for the next command's).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::FreeSwitchConfig;
use crate::error::Error;
use crate::esl::frame::{self, Event, Frame};

/// The events the driver subscribes to.
pub const EVENTS: &str = "CHANNEL_CREATE CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_ANSWER \
CHANNEL_HANGUP_COMPLETE CHANNEL_EXECUTE_COMPLETE DTMF CHANNEL_PARK RECORD_STOP BACKGROUND_JOB";

/// A command's text (with its closing blank line) and where its reply goes.
type Queued = (String, oneshot::Sender<Frame>);

/// An authenticated, subscribed connection.
pub struct Conn {
    commands: mpsc::UnboundedSender<Queued>,
    pending: Mutex<VecDeque<oneshot::Sender<Frame>>>,
    closed: CancellationToken,
    command_timeout: Duration,
}

impl Conn {
    /// Connects, authenticates and subscribes within the connect timeout; returns the connection and its events
    /// (the receiver ends when the connection does).
    #[tracing::instrument(skip_all, fields(addr = %config.esl_addr))]
    pub async fn open(config: &FreeSwitchConfig) -> Result<(Arc<Conn>, mpsc::UnboundedReceiver<Event>), Error> {
        let (read, write, buf) = tokio::time::timeout(config.connect_timeout, handshake(config))
            .await
            .map_err(|_| Error::ConnectTimeout(config.esl_addr.clone()))??;
        let (commands, queued) = mpsc::unbounded_channel();
        let conn = Arc::new(Conn {
            commands,
            pending: Mutex::default(),
            closed: CancellationToken::new(),
            command_timeout: config.command_timeout,
        });
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        tokio::spawn(conn.clone().read_loop(read, buf, events_tx));
        tokio::spawn(conn.clone().write_loop(write, queued));
        tracing::info!("connected to the FreeSWITCH event socket");
        Ok((conn, events_rx))
    }

    /// Closes the connection (the reader stops, waiting commands fail).
    pub fn close(&self) {
        self.closed.cancel();
    }

    /// Sends one command (its lines, without the closing blank line) and waits for its reply. Dropping the
    /// future does not cut a command in half: the writer task sends whole commands only.
    pub async fn command(&self, text: &str) -> Result<Frame, Error> {
        if self.closed.is_cancelled() {
            return Err(Error::Disconnected);
        }
        let (tx, rx) = oneshot::channel();
        self.commands
            .send((format!("{text}\n\n"), tx))
            .map_err(|_| Error::Disconnected)?;
        match tokio::time::timeout(self.command_timeout, rx).await {
            Ok(Ok(frame)) => Ok(frame),
            Ok(Err(_)) => Err(Error::Disconnected),
            Err(_) => Err(self.timed_out(text.split_whitespace().next().unwrap_or("").to_owned())),
        }
    }

    /// Runs `api <command>` and returns its result text; `-ERR …` is an error.
    pub async fn api(&self, command: &str) -> Result<String, Error> {
        let reply = self.command(&format!("api {command}")).await?.reply();
        refused_or(command, reply)
    }

    /// Sends a command answered by `command/reply` and checks it said `+OK`.
    pub async fn ok(&self, text: &str) -> Result<String, Error> {
        let reply = self.command(text).await?.reply();
        refused_or(text, reply)
    }

    async fn write_loop(self: Arc<Self>, mut write: OwnedWriteHalf, mut queued: mpsc::UnboundedReceiver<Queued>) {
        loop {
            let (text, reply) = tokio::select! {
                next = queued.recv() => match next { Some(next) => next, None => break },
                _ = self.closed.cancelled() => break,
            };
            // The reply slot is queued before the bytes leave, so the reader always finds it.
            self.pending.lock().unwrap_or_else(|e| e.into_inner()).push_back(reply);
            if let Err(e) = write.write_all(text.as_bytes()).await {
                tracing::warn!(error = %e, "writing to the FreeSWITCH event socket failed");
                break;
            }
        }
        self.closed.cancel();
        write.shutdown().await.ok();
    }

    fn timed_out(&self, name: String) -> Error {
        tracing::warn!(command = %name, "no reply in time; closing the event socket");
        self.closed.cancel();
        Error::CommandTimeout(name)
    }

    async fn read_loop(
        self: Arc<Self>,
        mut read: OwnedReadHalf,
        mut buf: BytesMut,
        events: mpsc::UnboundedSender<Event>,
    ) {
        let why = loop {
            match frame::decode(&mut buf) {
                Ok(Some(frame)) => match self.dispatch(frame, &events) {
                    Ok(()) => continue,
                    Err(e) => break e,
                },
                Ok(None) => {}
                Err(e) => break Error::Frame(e),
            }
            tokio::select! {
                n = read.read_buf(&mut buf) => match n {
                    Ok(0) => break Error::Io(std::io::ErrorKind::UnexpectedEof.into()),
                    Ok(_) => {}
                    Err(e) => break Error::Io(e),
                },
                _ = self.closed.cancelled() => break Error::Disconnected,
            }
        };
        tracing::warn!(error = %why, "the FreeSWITCH event socket closed");
        self.closed.cancel();
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn dispatch(&self, frame: Frame, events: &mpsc::UnboundedSender<Event>) -> Result<(), Error> {
        match frame.content_type() {
            "command/reply" | "api/response" => {
                let waiting = self.pending.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                match waiting {
                    Some(tx) => drop(tx.send(frame)),
                    None => return Err(Error::Protocol(format!("a reply nobody asked for: {}", frame.reply()))),
                }
            }
            "text/event-plain" => {
                events.send(frame::parse_event(&frame.body)?).ok();
            }
            "text/disconnect-notice" | "text/rude-rejection" => {
                return Err(Error::Protocol(format!("FreeSWITCH disconnected: {}", frame.reply())));
            }
            other => tracing::debug!(content_type = other, "ignored an event socket frame"),
        }
        Ok(())
    }
}

/// `-ERR …` as an error naming the command's first word; anything else as the text.
fn refused_or(command: &str, reply: String) -> Result<String, Error> {
    if reply.starts_with("-ERR") {
        let command = command.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        return Err(Error::Refused { command, reply });
    }
    Ok(reply)
}

async fn handshake(config: &FreeSwitchConfig) -> Result<(OwnedReadHalf, OwnedWriteHalf, BytesMut), Error> {
    let stream = TcpStream::connect(&config.esl_addr)
        .await
        .map_err(|source| Error::Connect {
            addr: config.esl_addr.clone(),
            source,
        })?;
    stream.set_nodelay(true).ok();
    let (mut read, mut write) = stream.into_split();
    let mut buf = BytesMut::with_capacity(8192);
    let greeting = read_frame(&mut read, &mut buf).await?;
    if greeting.content_type() != "auth/request" {
        return Err(Error::Protocol(format!(
            "expected auth/request, got {:?}",
            greeting.content_type()
        )));
    }
    write
        .write_all(format!("auth {}\n\n", config.esl_password).as_bytes())
        .await?;
    let reply = read_frame(&mut read, &mut buf).await?.reply();
    if !reply.starts_with("+OK") {
        return Err(Error::AuthRejected(reply));
    }
    write.write_all(format!("event plain {EVENTS}\n\n").as_bytes()).await?;
    let reply = read_frame(&mut read, &mut buf).await?.reply();
    if !reply.starts_with("+OK") {
        return Err(Error::Protocol(format!("event subscription refused: {reply}")));
    }
    Ok((read, write, buf))
}

async fn read_frame(read: &mut OwnedReadHalf, buf: &mut BytesMut) -> Result<Frame, Error> {
    loop {
        if let Some(frame) = frame::decode(buf)? {
            return Ok(frame);
        }
        if read.read_buf(buf).await? == 0 {
            return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
    }
}
