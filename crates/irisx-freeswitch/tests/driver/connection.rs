//! Authentication, unknown calls, and a dropped socket.

use irisx_core::ports::voice::{Audio, CallEvent, CallRef, Destination, HangupCause, VoiceEngine, VoiceError};
use irisx_freeswitch::{Error, FreeSwitchEngine};
use tokio_util::sync::CancellationToken;

use crate::mock::MockEsl;
use crate::{call_to, config, eventually, next, start, trunk};

#[tokio::test]
async fn the_driver_authenticates_and_subscribes_and_an_unknown_call_is_not_found_without_a_command() {
    let setup = start("auth_ok", |_| {}).await;
    assert!(setup.engine.is_connected());
    let unknown = CallRef("fs_unknown".into());
    let played = setup.engine.play(&unknown, Audio::Pcm(vec![0; 80])).await;
    assert!(matches!(played, Err(VoiceError::CallNotFound(c)) if c == unknown));
    assert!(matches!(
        setup.engine.hangup(&unknown).await,
        Err(VoiceError::CallNotFound(_))
    ));
    setup.finish().await;
}

#[tokio::test]
async fn a_refused_password_fails_the_connect_with_freeswitchs_reply() {
    let mock = MockEsl::start("auth_rejected", &[]).await;
    let media = tempfile::tempdir().unwrap();
    let mut config = config(&mock.addr(), media.path());
    config.esl_password = "not-the-password".into();
    let result = FreeSwitchEngine::connect(config, CancellationToken::new()).await;
    match result {
        Err(Error::AuthRejected(reply)) => assert_eq!(reply, "-ERR invalid"),
        Err(other) => panic!("expected AuthRejected, got {other}"),
        Ok(_) => panic!("a refused password connected"),
    }
    mock.finish().await;
}

#[tokio::test]
async fn a_dropped_socket_ends_the_call_in_flight_as_failed_and_the_driver_reconnects_and_kills_its_channel() {
    let setup = start("socket_drop", |_| {}).await;
    let mut call = setup
        .engine
        .originate(call_to(Destination::Trunks(vec![trunk("trk_a")])))
        .await
        .unwrap();
    assert_eq!(
        next(&mut call.events).await,
        CallEvent::Answered {
            trunk: Some("trk_a".into())
        }
    );
    let hangup = next(&mut call.events).await;
    assert_eq!(
        hangup,
        CallEvent::Hangup {
            cause: HangupCause::Failed,
            sip_code: None
        }
    );
    let after = tokio::time::timeout(std::time::Duration::from_secs(5), call.events.recv()).await;
    assert_eq!(
        after.expect("the event stream stays open"),
        None,
        "Hangup is the last event"
    );
    let gone = setup
        .engine
        .pause(&call.call, std::time::Duration::from_millis(10))
        .await;
    assert!(matches!(gone, Err(VoiceError::CallNotFound(_))));
    eventually("the reconnect", || setup.engine.is_connected()).await;
    setup.finish().await;
}

#[tokio::test]
#[should_panic(expected = "the exchange was not followed")]
async fn the_mock_fails_the_test_when_the_driver_sends_other_bytes_than_recorded() {
    // trk_a is mapped to another gateway than the recording's carrier_a, so the originate differs.
    let setup = start("busy", |c| {
        c.trunks = irisx_freeswitch::TrunkDialing::Gateways([("trk_a".into(), "carrier_x".into())].into());
    })
    .await;
    let call = setup
        .engine
        .originate(call_to(Destination::Trunks(vec![trunk("trk_a")])))
        .await;
    assert!(call.is_ok());
    setup.finish().await;
}
