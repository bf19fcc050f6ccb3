//! RTP media for one call leg: a socket pair (RTP on an even port, RTCP on the next) from the configured range,
//! 20 ms G.711 frames sent paced by a tokio interval, received through a jitter buffer and decoded, RFC 4733
//! digits in both directions, and periodic RTCP sender reports.
//!
//! Received audio is published as 20 ms frames on a broadcast channel (recorders and bridges subscribe), and so
//! is sent audio while a recording of both directions listens;
//! received digits go to a type-ahead queue that Gather and Record read, and to a callback for call events.

pub mod dtmf;
pub mod jitter;
pub mod packet;
pub mod rtcp;

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::g711::Law;
use dtmf::DtmfReceiver;
use jitter::JitterBuffer;
use packet::RtpPacket;
use rtcp::RtpCounters;

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME: usize = 160;
const RTCP_INTERVAL: Duration = Duration::from_secs(5);
const RTCP_FIRST: Duration = Duration::from_secs(1);

/// What the offer/answer settled for this leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// Where the far end receives RTP.
    pub remote: SocketAddr,
    /// The codec we send.
    pub law: Law,
    /// The far end's telephone-event payload type, if it offered one.
    pub dtmf_pt: Option<u8>,
}

struct SendState {
    sequence: u16,
    timestamp: u32,
    marker: bool,
}

/// One leg's RTP session.
pub struct RtpSession {
    socket: UdpSocket,
    rtcp: UdpSocket,
    ssrc: u32,
    negotiated: Mutex<Option<Negotiated>>,
    send: tokio::sync::Mutex<SendState>,
    counters: Mutex<RtpCounters>,
    last_received: Mutex<std::time::Instant>,
    audio: broadcast::Sender<Arc<[i16]>>,
    sent: broadcast::Sender<Arc<[i16]>>,
    digits: tokio::sync::Mutex<mpsc::UnboundedReceiver<char>>,
    deliver: Box<dyn Fn(char) + Send + Sync>,
    cancel: CancellationToken,
}

/// Binds an even RTP port and the RTCP port above it, from `range`, starting at a random place in it.
async fn bind_pair(ip: IpAddr, range: &RangeInclusive<u16>) -> Result<(UdpSocket, UdpSocket), Error> {
    let (lo, hi) = ((*range.start() + 1) & !1, *range.end());
    if hi <= lo {
        return Err(Error::NoRtpPort);
    }
    let pairs = u32::from(hi - lo) / 2;
    let start = rand::random_range(0..pairs.max(1));
    for i in 0..pairs {
        let port = lo + (((start + i) % pairs) * 2) as u16;
        let Ok(rtp) = UdpSocket::bind((ip, port)).await else {
            continue;
        };
        if let Ok(rtcp) = UdpSocket::bind((ip, port + 1)).await {
            return Ok((rtp, rtcp));
        }
    }
    Err(Error::NoRtpPort)
}

impl RtpSession {
    /// Opens a session on `ip` with ports from `range`; `on_digit` is called for every digit received. The
    /// receive and RTCP loops run until `cancel` fires.
    pub async fn open(
        ip: IpAddr,
        range: &RangeInclusive<u16>,
        cancel: CancellationToken,
        on_digit: impl Fn(char) + Send + Sync + 'static,
    ) -> Result<Arc<Self>, Error> {
        let (socket, rtcp) = bind_pair(ip, range).await?;
        let (audio, _) = broadcast::channel(512);
        let (sent, _) = broadcast::channel(512);
        let (digit_tx, digit_rx) = mpsc::unbounded_channel();
        let session = Arc::new(RtpSession {
            socket,
            rtcp,
            ssrc: rand::random(),
            negotiated: Mutex::new(None),
            send: tokio::sync::Mutex::new(SendState {
                sequence: rand::random(),
                timestamp: rand::random(),
                marker: true,
            }),
            counters: Mutex::new(RtpCounters::default()),
            last_received: Mutex::new(std::time::Instant::now()),
            audio,
            sent,
            digits: tokio::sync::Mutex::new(digit_rx),
            deliver: Box::new(move |d| {
                digit_tx.send(d).ok();
                on_digit(d);
            }),
            cancel,
        });
        tokio::spawn(session.clone().receive_loop());
        tokio::spawn(session.clone().rtcp_loop());
        Ok(session)
    }

    /// The local RTP port.
    pub fn port(&self) -> u16 {
        self.socket.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Sets the far end's address and the codecs agreed.
    pub fn set_negotiated(&self, negotiated: Negotiated) {
        *self.negotiated.lock().unwrap_or_else(|e| e.into_inner()) = Some(negotiated);
    }

    /// What the offer/answer settled, once it has.
    pub fn negotiated(&self) -> Option<Negotiated> {
        *self.negotiated.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The RTP counters so far.
    pub fn counters(&self) -> RtpCounters {
        *self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Received audio, 20 ms frames of 8 kHz samples, from now on.
    pub fn subscribe_audio(&self) -> broadcast::Receiver<Arc<[i16]>> {
        self.audio.subscribe()
    }

    /// The next digit received (typed ahead or still to come); `None` when the session has stopped.
    pub async fn next_digit(&self) -> Option<char> {
        let mut digits = self.digits.lock().await;
        tokio::select! {
            d = digits.recv() => d,
            _ = self.cancel.cancelled() => None,
        }
    }

    /// Stops the session's loops.
    pub fn close(&self) {
        self.cancel.cancel();
    }

    /// Whether the session has stopped.
    pub fn is_closed(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The audio sent to the far end (prompts, a bridged leg's voice) as it goes out, frame by frame.
    pub fn subscribe_sent(&self) -> broadcast::Receiver<Arc<[i16]>> {
        self.sent.subscribe()
    }

    /// Returns once the session has stopped.
    pub async fn closed(&self) {
        self.cancel.cancelled().await;
    }

    /// Sends one frame of samples now (a bridge's pace is the other leg's arrivals).
    pub async fn send_frame(&self, samples: &[i16]) -> Result<(), Error> {
        let Some(n) = self.negotiated() else { return Ok(()) };
        let payload = n.law.encode(samples);
        let mut state = self.send.lock().await;
        self.send_packet(&mut state, n.remote, n.law.payload_type(), &payload)
            .await?;
        state.timestamp = state.timestamp.wrapping_add(samples.len() as u32);
        drop(state);
        // Copied only while something listens (a recording of both directions).
        if self.sent.receiver_count() > 0 {
            self.sent.send(Arc::from(samples)).ok();
        }
        Ok(())
    }

    async fn send_packet(&self, state: &mut SendState, to: SocketAddr, pt: u8, payload: &[u8]) -> Result<(), Error> {
        let packet = RtpPacket {
            marker: std::mem::take(&mut state.marker),
            payload_type: pt,
            sequence: state.sequence,
            timestamp: state.timestamp,
            ssrc: self.ssrc,
            payload,
        };
        state.sequence = state.sequence.wrapping_add(1);
        self.socket.send_to(&packet.write(), to).await.map_err(Error::Rtp)?;
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        c.packets_sent = c.packets_sent.wrapping_add(1);
        c.octets_sent = c.octets_sent.wrapping_add(payload.len() as u32);
        c.last_timestamp = state.timestamp;
        Ok(())
    }

    /// Plays samples in real time, one 20 ms frame per tick, until done or `stop` fires (returns `false` then).
    pub async fn play(&self, samples: &[i16], stop: &CancellationToken) -> Result<bool, Error> {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.send.lock().await.marker = true;
        for chunk in samples.chunks(FRAME) {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return Ok(false),
                _ = self.cancel.cancelled() => return Ok(false),
            }
            let mut frame = [0i16; FRAME];
            frame[..chunk.len()].copy_from_slice(chunk);
            self.send_frame(&frame).await?;
        }
        Ok(true)
    }

    /// Sends one RFC 4733 digit of `duration_ms`, paced at 20 ms.
    pub async fn send_digit(&self, digit: char, duration_ms: u16) -> Result<(), Error> {
        let Some(n) = self.negotiated() else { return Ok(()) };
        let pt = n.dtmf_pt.ok_or(Error::NoTelephoneEvent)?;
        let packets = dtmf::digit_packets(digit, duration_ms).ok_or(Error::BadDigit(digit))?;
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for (marker, payload) in packets {
            tick.tick().await;
            let mut state = self.send.lock().await;
            state.marker = marker;
            self.send_packet(&mut state, n.remote, pt, &payload).await?;
        }
        let mut state = self.send.lock().await;
        state.timestamp = state.timestamp.wrapping_add(u32::from(duration_ms) * 8);
        Ok(())
    }

    /// Delivers a digit that arrived another way (SIP INFO) as if it came in RTP.
    pub fn inject_digit(&self, digit: char) {
        (self.deliver)(digit);
    }

    async fn receive_loop(self: Arc<Self>) {
        let mut buf = vec![0u8; 2048];
        let mut jitter: JitterBuffer<(u8, Vec<u8>)> = JitterBuffer::new(4);
        let mut dtmf = DtmfReceiver::default();
        loop {
            let (len, from) = tokio::select! {
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok(r) => r,
                    Err(e) => { tracing::debug!(error = %e, "RTP receive failed"); continue; }
                },
                _ = self.cancel.cancelled() => return,
            };
            let Ok(packet) = RtpPacket::parse(&buf[..len]) else {
                continue;
            };
            let Some(n) = self.negotiated() else { continue };
            // Only the negotiated peer's media counts (its address may differ behind NAT: same IP suffices).
            if from.ip() != n.remote.ip() {
                continue;
            }
            self.note_received(&packet);
            if Some(packet.payload_type) == n.dtmf_pt {
                if let Some(d) = dtmf.push(packet.timestamp, packet.payload) {
                    (self.deliver)(d);
                }
                continue;
            }
            for (pt, payload) in jitter.push(packet.sequence, (packet.payload_type, packet.payload.to_vec())) {
                if let Some(law) = Law::from_payload_type(pt) {
                    // No subscriber is fine: nobody is recording or bridging right now.
                    self.audio.send(law.decode(&payload).into()).ok();
                }
            }
        }
    }

    /// How long since the last RTP packet from the far end (or since the session opened).
    pub fn idle_for(&self) -> Duration {
        self.last_received.lock().unwrap_or_else(|e| e.into_inner()).elapsed()
    }

    fn note_received(&self, packet: &RtpPacket<'_>) {
        *self.last_received.lock().unwrap_or_else(|e| e.into_inner()) = std::time::Instant::now();
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        c.packets_received = c.packets_received.wrapping_add(1);
        c.remote_ssrc = Some(packet.ssrc);
        c.last_payload_type = Some(packet.payload_type);
        c.highest_sequence = c.highest_sequence.max(u32::from(packet.sequence));
    }

    async fn rtcp_loop(self: Arc<Self>) {
        // The first report goes out a second in (the offer/answer is settled by then), then every interval.
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + RTCP_FIRST, RTCP_INTERVAL);
        let mut buf = vec![0u8; 1500];
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let Some(n) = self.negotiated() else { continue };
                    let to = SocketAddr::new(n.remote.ip(), n.remote.port().wrapping_add(1));
                    let report = rtcp::sender_report(self.ssrc, &self.counters(), "irisx");
                    self.rtcp.send_to(&report, to).await.ok();
                }
                r = self.rtcp.recv_from(&mut buf) => {
                    let Ok((len, from)) = r else { continue };
                    if self.negotiated().is_none_or(|n| n.remote.ip() != from.ip()) {
                        continue;
                    }
                    let reports = rtcp::parse_reports(&buf[..len]);
                    tracing::trace!(?reports, "RTCP reports");
                    let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
                    c.rtcp_reports_received = c.rtcp_reports_received.wrapping_add(reports.len() as u32);
                }
                _ = self.cancel.cancelled() => return,
            }
        }
    }
}
