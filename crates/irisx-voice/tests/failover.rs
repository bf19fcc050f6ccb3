//! Trunk selection with sipp carriers on loopback: failover on 503 and no answer, none on busy, CANCEL after the
//! ring timeout, a TCP trunk, and the tenant's concurrent-call limit.

mod common;

use std::time::Duration;

use common::{Sipp, TestEngine, answered, call_to, events_until, hang_up, trunk, until_answered_or_ended};
use irisx_core::ports::voice::{CallEvent, HangupCause, SipTransport, VoiceEngine, VoiceError};

#[tokio::test]
async fn a_trunk_answering_503_fails_over_to_the_next_trunk() {
    let engine = TestEngine::start().await;
    let first = Sipp::start("uas_503.xml", 1, &[]);
    let second = Sipp::start(
        "uas_answer.xml",
        1,
        &["-key", "codec", "8", "-key", "codec_name", "PCMA"],
    );
    let mut handle = engine
        .engine
        .originate(call_to(vec![trunk("t1", first.port), trunk("t2", second.port)]))
        .await
        .unwrap();

    let seen = until_answered_or_ended(&mut handle.events, 8).await;
    assert!(
        seen.contains(&CallEvent::FailedOver {
            trunk: "t1".into(),
            sip_code: Some(503)
        }),
        "{seen:?}"
    );
    assert_eq!(
        seen.last(),
        Some(&CallEvent::Answered {
            trunk: Some("t2".into())
        })
    );

    hang_up(&engine, handle).await;
    first.expect_success().await;
    second.expect_success().await;
}

#[tokio::test]
async fn a_busy_trunk_ends_the_call_as_busy_and_the_next_trunk_never_sees_an_invite() {
    let engine = TestEngine::start().await;
    let busy = Sipp::start("uas_486.xml", 1, &[]);
    let second = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    second.set_nonblocking(true).unwrap();
    let second_port = second.local_addr().unwrap().port();
    let mut handle = engine
        .engine
        .originate(call_to(vec![trunk("t1", busy.port), trunk("t2", second_port)]))
        .await
        .unwrap();

    let seen = events_until(&mut handle.events, 8, |e| matches!(e, CallEvent::Hangup { .. })).await;
    assert_eq!(
        seen.last(),
        Some(&CallEvent::Hangup {
            cause: HangupCause::Busy,
            sip_code: Some(486)
        })
    );
    assert!(
        !seen.iter().any(|e| matches!(e, CallEvent::FailedOver { .. })),
        "{seen:?}"
    );
    let mut buf = [0u8; 2048];
    let got = second.recv_from(&mut buf);
    assert!(
        matches!(&got, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "trunk 2 received {got:?}"
    );
    busy.expect_success().await;
}

#[tokio::test]
async fn a_trunk_that_never_answers_times_out_and_the_next_trunk_takes_the_call() {
    let engine = TestEngine::start().await;
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let second = Sipp::start(
        "uas_answer.xml",
        1,
        &["-key", "codec", "0", "-key", "codec_name", "PCMU"],
    );
    let mut request = call_to(vec![trunk("t1", silent_port), trunk("t2", second.port)]);
    request.ring_timeout = Duration::from_secs(1);
    let mut handle = engine.engine.originate(request).await.unwrap();

    let seen = until_answered_or_ended(&mut handle.events, 8).await;
    assert_eq!(
        seen,
        vec![
            CallEvent::FailedOver {
                trunk: "t1".into(),
                sip_code: None
            },
            CallEvent::Ringing,
            CallEvent::Answered {
                trunk: Some("t2".into())
            }
        ]
    );
    let mut buf = [0u8; 4096];
    let (n, _) = silent.recv_from(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"INVITE "), "trunk 1 was tried first");

    hang_up(&engine, handle).await;
    second.expect_success().await;
}

#[tokio::test]
async fn a_carrier_answering_without_ringing_first_is_reported_ringing_then_answered() {
    let engine = TestEngine::start().await;
    let carrier = Sipp::start(
        "uas_answer_at_once.xml",
        1,
        &["-key", "codec", "0", "-key", "codec_name", "PCMU"],
    );
    let mut handle = engine
        .engine
        .originate(call_to(vec![trunk("t1", carrier.port)]))
        .await
        .unwrap();

    let seen = until_answered_or_ended(&mut handle.events, 8).await;
    assert_eq!(
        seen,
        vec![
            CallEvent::Ringing,
            CallEvent::Answered {
                trunk: Some("t1".into())
            }
        ]
    );
    hang_up(&engine, handle).await;
    carrier.expect_success().await;
}

#[tokio::test]
async fn a_trunk_reached_over_tcp_answers_and_the_call_completes() {
    let engine = TestEngine::start().await;
    let carrier = Sipp::start(
        "uas_answer.xml",
        1,
        &["-t", "t1", "-key", "codec", "8", "-key", "codec_name", "PCMA"],
    );
    let mut tcp_trunk = trunk("tcp", carrier.port);
    tcp_trunk.transport = SipTransport::Tcp;
    let handle = answered(&engine, vec![tcp_trunk]).await;
    hang_up(&engine, handle).await;
    carrier.expect_success().await;
}

#[tokio::test]
async fn a_tenant_at_its_call_limit_cannot_place_another_call_until_one_ends() {
    let engine = TestEngine::start_with(|c| c.max_calls_per_tenant = 1).await;
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut first = engine
        .engine
        .originate(call_to(vec![trunk("t1", port)]))
        .await
        .expect("the first call");

    let second = engine.engine.originate(call_to(vec![trunk("t1", port)])).await;
    assert!(
        matches!(second, Err(VoiceError::CallLimit { ref tenant, limit: 1 }) if tenant == "ten_a"),
        "{second:?}"
    );

    engine.engine.hangup(&first.call).await.unwrap();
    let seen = events_until(&mut first.events, 5, |e| matches!(e, CallEvent::Hangup { .. })).await;
    assert_eq!(
        seen.last(),
        Some(&CallEvent::Hangup {
            cause: HangupCause::Canceled,
            sip_code: None
        })
    );
    engine
        .engine
        .originate(call_to(vec![trunk("t1", port)]))
        .await
        .expect("a slot is free again");
}

#[tokio::test]
async fn a_trunk_that_rings_past_the_timeout_is_cancelled() {
    let engine = TestEngine::start().await;
    let ringing = Sipp::start("uas_ring_cancel.xml", 1, &[]);
    let mut request = call_to(vec![trunk("t1", ringing.port)]);
    request.ring_timeout = Duration::from_secs(1);
    let mut handle = engine.engine.originate(request).await.unwrap();

    let seen = events_until(&mut handle.events, 5, |e| matches!(e, CallEvent::Hangup { .. })).await;
    assert_eq!(
        seen,
        vec![
            CallEvent::Ringing,
            CallEvent::Hangup {
                cause: HangupCause::NoAnswer,
                sip_code: None
            }
        ]
    );
    ringing.expect_success().await;
}

#[tokio::test]
async fn a_call_with_no_trunk_or_to_an_unregistered_agent_is_refused_before_any_invite() {
    let engine = TestEngine::start().await;
    let none = engine.engine.originate(call_to(vec![])).await;
    assert!(matches!(none, Err(VoiceError::NoRoute)), "{none:?}");
    let mut to_agent = call_to(vec![]);
    to_agent.destination = irisx_core::ports::voice::Destination::Agent { user: "bob".into() };
    let agent = engine.engine.originate(to_agent).await;
    assert!(
        matches!(agent, Err(VoiceError::NotRegistered(ref u)) if u == "bob"),
        "{agent:?}"
    );
}

#[tokio::test]
async fn a_trunk_is_offered_only_its_own_codecs_in_its_order() {
    let engine = TestEngine::start().await;
    let carrier = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut only_alaw = trunk("t1", carrier.local_addr().unwrap().port());
    only_alaw.codecs = vec!["PCMA".into()];
    let mut request = call_to(vec![only_alaw]);
    request.ring_timeout = Duration::from_secs(1);
    let mut handle = engine.engine.originate(request).await.unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), carrier.recv_from(&mut buf))
        .await
        .expect("the INVITE reaches the trunk in time")
        .unwrap();
    let invite = String::from_utf8_lossy(&buf[..n]);
    let media = invite.lines().find(|l| l.starts_with("m=audio")).expect("an SDP offer");
    assert!(
        media.ends_with("RTP/AVP 8 101"),
        "only PCMA (and telephone-event): {media}"
    );
    assert!(!invite.contains("PCMU"), "{invite}");
    let seen = events_until(&mut handle.events, 8, |e| matches!(e, CallEvent::Hangup { .. })).await;
    assert!(matches!(seen.last(), Some(CallEvent::Hangup { .. })));
}

#[tokio::test]
async fn a_trunk_that_takes_bare_digits_and_fixes_the_caller_id_gets_both_in_its_invite() {
    let engine = TestEngine::start().await;
    let carrier = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut bare = trunk("t1", carrier.local_addr().unwrap().port());
    bare.caller_id = Some("+15550001111".into());
    bare.strip_plus = true;
    let mut request = call_to(vec![bare]);
    request.to = "+15551230000".into();
    request.from = "+15559870000".into();
    request.ring_timeout = Duration::from_secs(1);
    let mut handle = engine.engine.originate(request).await.unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), carrier.recv_from(&mut buf))
        .await
        .expect("the INVITE reaches the trunk in time")
        .unwrap();
    let invite = String::from_utf8_lossy(&buf[..n]);
    let first = invite.lines().next().unwrap();
    assert!(first.starts_with("INVITE sip:15551230000@127.0.0.1:"), "{first}");
    let from = invite.lines().find(|l| l.starts_with("From:")).expect("a From header");
    assert!(
        from.contains("<sip:15550001111@"),
        "the trunk's own caller id, bare: {from}"
    );
    let seen = events_until(&mut handle.events, 8, |e| matches!(e, CallEvent::Hangup { .. })).await;
    assert!(matches!(seen.last(), Some(CallEvent::Hangup { .. })));
}
