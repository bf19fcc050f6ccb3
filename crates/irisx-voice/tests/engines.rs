//! Two IRISX engines calling each other: our own SDP offer and answer, and RFC 4733 digits we send, received by
//! the other side's Gather.

mod common;

use std::time::Duration;

use common::{TestEngine, events_until};
use irisx_core::ports::voice::{
    Audio, CallEvent, CallHandle, Destination, Gather, HangupCause, Originate, Prompt, SipTransport, TrunkTarget,
    VoiceEngine,
};

/// A call from `caller` to `callee` over `transport`, answered: (caller's leg, callee's incoming call).
async fn connect(
    caller: &TestEngine,
    callee: &TestEngine,
    transport: SipTransport,
) -> (CallHandle, irisx_core::ports::voice::IncomingCall) {
    let trunk = TrunkTarget {
        name: "peer".into(),
        host: "127.0.0.1".into(),
        port: callee.sip_addr().port(),
        transport,
        username: None,
        password: None,
        codecs: Vec::new(),
        caller_id: None,
        strip_plus: false,
    };
    let request = Originate {
        tenant: "ten_a".into(),
        to: "15551230000".into(),
        from: "15559870000".into(),
        destination: Destination::Trunks(vec![trunk]),
        ring_timeout: Duration::from_secs(5),
    };
    let mut outbound = caller.engine.originate(request).await.unwrap();
    let incoming = tokio::time::timeout(Duration::from_secs(5), callee.engine.next_incoming())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (incoming.to.as_str(), incoming.from.as_str()),
        ("15551230000", "15559870000")
    );
    callee.engine.answer(&incoming.handle.call, "ten_b").await.unwrap();
    let seen = events_until(&mut outbound.events, 5, |e| matches!(e, CallEvent::Answered { .. })).await;
    assert_eq!(
        seen.last(),
        Some(&CallEvent::Answered {
            trunk: Some("peer".into())
        })
    );
    (outbound, incoming)
}

#[rstest::rstest]
#[case::over_udp(SipTransport::Udp)]
#[case::over_tcp(SipTransport::Tcp)]
#[tokio::test]
async fn digits_sent_by_one_engine_are_gathered_by_the_other(#[case] transport: SipTransport) {
    let caller = TestEngine::start().await;
    let callee = TestEngine::start().await;
    let (outbound, incoming) = connect(&caller, &callee, transport).await;

    let gather = Gather {
        prompts: vec![],
        num_digits: None,
        timeout: Duration::from_secs(3),
        finish_on_key: Some('#'),
    };
    let send = async {
        for key in ['4', '2', '#'] {
            caller.engine.send_digit(&outbound.call, key).await.unwrap();
        }
    };
    let (digits, ()) = tokio::join!(callee.engine.gather(&incoming.handle.call, gather), send);
    assert_eq!(digits.unwrap(), "42");

    caller.engine.hangup(&outbound.call).await.unwrap();
    let mut inbound_events = incoming.handle.events;
    let seen = events_until(&mut inbound_events, 5, |e| matches!(e, CallEvent::Hangup { .. })).await;
    assert_eq!(
        seen.last(),
        Some(&CallEvent::Hangup {
            cause: HangupCause::Completed,
            sip_code: None
        })
    );
}

#[tokio::test]
async fn rtcp_sender_reports_flow_both_ways_between_two_engines() {
    let caller = TestEngine::start().await;
    let callee = TestEngine::start().await;
    let (outbound, incoming) = connect(&caller, &callee, SipTransport::Udp).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    let reports = |engine: &TestEngine, call| engine.engine.rtp_counters(call).unwrap().rtcp_reports_received;
    while reports(&caller, &outbound.call) == 0 || reports(&callee, &incoming.handle.call) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no RTCP report within 4 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    caller.engine.hangup(&outbound.call).await.unwrap();
}

#[tokio::test]
async fn a_key_pressed_during_a_gathers_prompt_stops_the_prompt_and_counts() {
    let caller = TestEngine::start().await;
    let callee = TestEngine::start().await;
    let (outbound, incoming) = connect(&caller, &callee, SipTransport::Udp).await;
    let prompt = Prompt::Audio(Audio::Pcm(irisx_voice::media::tone(
        440.0,
        Duration::from_secs(5),
        8000,
    )));
    let gather = Gather {
        prompts: vec![prompt, Prompt::Say("This prompt is never heard.".into())],
        num_digits: Some(1),
        timeout: Duration::from_secs(3),
        finish_on_key: None,
    };

    let started = std::time::Instant::now();
    let press = async {
        // Half a second into the five-second prompt.
        tokio::time::sleep(Duration::from_millis(500)).await;
        caller.engine.send_digit(&outbound.call, '9').await.unwrap();
    };
    let (digits, ()) = tokio::join!(callee.engine.gather(&incoming.handle.call, gather), press);
    assert_eq!(digits.unwrap(), "9");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the prompt ran on for {:?}",
        started.elapsed()
    );
    let sent = callee.engine.rtp_counters(&incoming.handle.call).unwrap().packets_sent;
    assert!(sent < 100, "{sent} prompt packets sent: the prompt did not stop");
    caller.engine.hangup(&outbound.call).await.unwrap();
}
