//! The FreeSWITCH driver against recorded Event Socket exchanges (`tests/exchanges/`), replayed by a mock
//! server that fails the test when the driver sends anything else. No FreeSWITCH runs here.

mod calls;
mod connection;
mod inbound;
mod mock;
mod record;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use irisx_core::ports::voice::{CallEvent, Destination, Originate, SipTransport, TrunkTarget};
use irisx_freeswitch::{FreeSwitchConfig, FreeSwitchEngine, TrunkDialing};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::mock::MockEsl;

/// The driver's settings for a mock at `addr`: trunks trk_a and trk_b are gateways carrier_a and carrier_b.
pub fn config(addr: &str, media: &Path) -> FreeSwitchConfig {
    FreeSwitchConfig {
        esl_addr: addr.to_owned(),
        trunks: TrunkDialing::Gateways(HashMap::from([
            ("trk_a".to_owned(), "carrier_a".to_owned()),
            ("trk_b".to_owned(), "carrier_b".to_owned()),
        ])),
        media_dir: media.to_owned(),
        reconnect_initial: Duration::from_millis(50),
        reconnect_max: Duration::from_millis(200),
        ..FreeSwitchConfig::default()
    }
}

/// A mock playing `exchange` (with `${MEDIA}` bound to a fresh directory) and a driver connected to it.
pub async fn start(exchange: &str, change: impl FnOnce(&mut FreeSwitchConfig)) -> Setup {
    let media = tempfile::tempdir().unwrap();
    let media_path = media.path().to_str().unwrap().to_owned();
    let mock = MockEsl::start(exchange, &[("MEDIA", &media_path)]).await;
    let mut config = config(&mock.addr(), media.path());
    change(&mut config);
    let cancel = CancellationToken::new();
    let engine = FreeSwitchEngine::connect(config, cancel.clone()).await.unwrap();
    Setup {
        mock,
        engine,
        media,
        cancel,
    }
}

/// A mock, the driver and the media directory they share.
pub struct Setup {
    pub mock: MockEsl,
    pub engine: FreeSwitchEngine,
    pub media: tempfile::TempDir,
    pub cancel: CancellationToken,
}

impl Setup {
    /// Checks the exchange was followed to its end, then stops the driver.
    pub async fn finish(self) {
        self.mock.finish().await;
        self.cancel.cancel();
    }
}

/// A trunk by name (the host is FreeSWITCH's gateway business).
pub fn trunk(name: &str) -> TrunkTarget {
    TrunkTarget {
        name: name.into(),
        host: "sip.carrier.example".into(),
        port: 5060,
        transport: SipTransport::Udp,
        username: None,
        password: None,
        codecs: Vec::new(),
        caller_id: None,
        strip_plus: false,
    }
}

/// A call from 15550001111 to 15551234567 for tenant ten_acme.
pub fn call_to(destination: Destination) -> Originate {
    Originate {
        tenant: "ten_acme".into(),
        to: "15551234567".into(),
        from: "15550001111".into(),
        destination,
        ring_timeout: Duration::from_secs(30),
    }
}

/// The next event, within a few seconds.
pub async fn next(events: &mut mpsc::UnboundedReceiver<CallEvent>) -> CallEvent {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("no call event came")
        .expect("the event stream ended")
}

/// Waits until `check` holds (polling), or fails after a few seconds.
pub async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..250 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what} did not happen");
}
