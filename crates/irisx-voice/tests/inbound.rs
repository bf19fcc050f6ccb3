//! Incoming calls and agents: digest registration by sipp, calls routed to a registered agent and bridged,
//! 404 for an agent who is not registered, 403 and then a ban for wrong passwords.

mod common;

use std::time::Duration;

use common::{Sipp, TestEngine, events_until, until_answered_or_ended};
use irisx_core::ports::voice::{CallEvent, CallingAgent, Destination, HangupCause, Originate, Record, VoiceEngine};
use irisx_voice::media;

const PCAP: &str = "/usr/share/sip-tester/g711a.pcap";

fn engine_arg(engine: &TestEngine) -> String {
    engine.sip_addr().to_string()
}

#[tokio::test]
async fn a_call_to_a_registered_agent_reaches_it_and_audio_crosses_the_bridge_both_ways() {
    let engine = TestEngine::start().await;
    let agent = Sipp::start(
        "uas_answer.xml",
        1,
        &["-rtp_echo", "-key", "codec", "0", "-key", "codec_name", "PCMU"],
    );
    let contact_port = agent.port.to_string();
    let register = Sipp::start(
        "register.xml",
        1,
        &[
            "-s",
            "alice",
            "-au",
            "alice",
            "-ap",
            "secret",
            "-key",
            "contact_port",
            &contact_port,
            &engine_arg(&engine),
        ],
    );
    register.expect_success().await;
    let binding = engine.engine.registration("alice").expect("alice is registered");
    assert!(binding.contact.contains(&contact_port), "{binding:?}");
    assert_eq!(binding.tenant, "ten_a");

    let caller = Sipp::start(
        "caller.xml",
        1,
        &["-s", "alice", "-key", "pcap", PCAP, &engine_arg(&engine)],
    );
    let incoming = tokio::time::timeout(Duration::from_secs(5), engine.engine.next_incoming())
        .await
        .expect("an incoming call")
        .expect("the engine runs");
    assert_eq!((incoming.to.as_str(), incoming.from.as_str()), ("alice", "caller"));
    let inbound = incoming.handle;
    engine.engine.answer(&inbound.call, "ten_a").await.expect("answer");

    let request = Originate {
        tenant: "ten_a".into(),
        to: "alice".into(),
        from: "caller".into(),
        destination: Destination::Agent { user: "alice".into() },
        ring_timeout: Duration::from_secs(5),
    };
    let mut agent_leg = engine.engine.originate(request).await.expect("dial the agent");
    let seen = until_answered_or_ended(&mut agent_leg.events, 5).await;
    assert_eq!(seen.last(), Some(&CallEvent::Answered { trunk: None }), "{seen:?}");

    let bridge = engine.engine.bridge(&inbound.call, &agent_leg.call);
    let listen = async {
        // The agent echoes what the bridge sends it: what comes back from the agent is the caller's audio.
        let record = Record {
            max_length: Duration::from_millis(1500),
            finish_on_key: None,
            both_directions: false,
        };
        let recording = engine.engine.record(&agent_leg.call, record).await.expect("record");
        let to_caller = engine.engine.rtp_counters(&inbound.call).unwrap().packets_sent;
        engine.engine.hangup(&agent_leg.call).await.expect("hang up the agent");
        (recording, to_caller)
    };
    let (bridged, (recording, to_caller)) = tokio::join!(bridge, listen);
    bridged.expect("bridge");

    let samples = media::wav_to_samples(&recording.wav).unwrap();
    assert!(
        media::rms(&samples) > 300.0,
        "caller audio reached the agent and came back (rms {})",
        media::rms(&samples)
    );
    assert!(
        to_caller >= 40,
        "the agent's audio was sent on to the caller ({to_caller} packets)"
    );
    engine.engine.hangup(&inbound.call).await.expect("hang up the caller");
    caller.expect_success().await;
    agent.expect_success().await;
}

#[tokio::test]
async fn a_call_to_an_agent_who_is_not_registered_is_answered_404() {
    let engine = TestEngine::start().await;
    let caller = Sipp::start("invite_404.xml", 1, &["-s", "bob", &engine_arg(&engine)]);
    caller.expect_success().await;
}

#[tokio::test]
async fn wrong_passwords_are_refused_403_until_the_address_is_banned_and_ignored() {
    let engine = TestEngine::start().await;
    let ip = "127.0.0.1".parse().unwrap();
    // Two failures of the three that ban: each is answered 403.
    let first = Sipp::start(
        "register_wrong.xml",
        2,
        &[
            "-s",
            "alice",
            "-au",
            "alice",
            "-ap",
            "wrong",
            "-key",
            "contact_port",
            "5999",
            &engine_arg(&engine),
        ],
    );
    first.expect_success().await;
    assert!(!engine.engine.is_banned(ip));
    assert!(engine.engine.registration("alice").is_none());

    // The third failure bans the address: no answer, and nothing else from it is answered either.
    let third = Sipp::start(
        "register_wrong.xml",
        1,
        &[
            "-s",
            "alice",
            "-au",
            "alice",
            "-ap",
            "wrong",
            "-key",
            "contact_port",
            "5999",
            &engine_arg(&engine),
        ],
    );
    let (ok, report) = third.finish().await;
    assert!(!ok, "the third REGISTER must go unanswered:\n{report}");
    assert!(engine.engine.is_banned(ip));
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket
        .send_to(
            common::options_request(socket.local_addr().unwrap(), "SIPp").as_bytes(),
            engine.sip_addr(),
        )
        .await
        .unwrap();
    let mut buf = [0u8; 2048];
    let answer = tokio::time::timeout(Duration::from_millis(700), socket.recv_from(&mut buf)).await;
    assert!(answer.is_err(), "a banned address got an answer");
}

#[tokio::test]
async fn an_incoming_call_left_ringing_past_the_answer_timeout_is_refused_480() {
    let engine = TestEngine::start_with(|c| c.answer_timeout = Duration::from_secs(1)).await;
    let caller = Sipp::start("invite_480.xml", 1, &["-s", "15557770000", &engine_arg(&engine)]);
    let mut incoming = tokio::time::timeout(Duration::from_secs(5), engine.engine.next_incoming())
        .await
        .expect("an incoming call")
        .expect("the engine runs");

    let seen = events_until(&mut incoming.handle.events, 5, |e| {
        matches!(e, CallEvent::Hangup { .. })
    })
    .await;
    assert_eq!(
        seen.last(),
        Some(&CallEvent::Hangup {
            cause: HangupCause::NoAnswer,
            sip_code: Some(480)
        })
    );
    caller.expect_success().await;
}

#[tokio::test]
async fn a_caller_who_cancels_while_it_rings_ends_the_incoming_call_as_canceled() {
    let engine = TestEngine::start().await;
    let caller = Sipp::start("invite_cancel.xml", 1, &["-s", "15557770000", &engine_arg(&engine)]);
    let mut incoming = tokio::time::timeout(Duration::from_secs(5), engine.engine.next_incoming())
        .await
        .expect("an incoming call")
        .expect("the engine runs");

    let seen = events_until(&mut incoming.handle.events, 5, |e| {
        matches!(e, CallEvent::Hangup { .. })
    })
    .await;
    assert_eq!(
        seen.last(),
        Some(&CallEvent::Hangup {
            cause: HangupCause::Canceled,
            sip_code: None
        })
    );
    caller.expect_success().await;
}

#[tokio::test]
async fn a_call_placed_by_an_agent_is_challenged_and_names_the_agent() {
    let engine = TestEngine::start().await;
    let args = [
        "-s",
        "alice",
        "-au",
        "alice",
        "-ap",
        "secret",
        "-key",
        "dest",
        "15551230000",
        &engine_arg(&engine),
    ];
    let agent = Sipp::start("agent_call.xml", 1, &args);
    let incoming = tokio::time::timeout(Duration::from_secs(5), engine.engine.next_incoming())
        .await
        .expect("an incoming call")
        .expect("the engine runs");
    assert_eq!(incoming.to, "15551230000");
    assert_eq!(
        incoming.agent,
        Some(CallingAgent {
            user: "alice".into(),
            tenant: "ten_a".into()
        })
    );

    engine
        .engine
        .answer(&incoming.handle.call, "ten_a")
        .await
        .expect("answer");
    engine.engine.hangup(&incoming.handle.call).await.expect("hang up");
    agent.expect_success().await;
}

#[tokio::test]
async fn a_call_placed_by_an_agent_with_a_wrong_password_is_refused_403() {
    let engine = TestEngine::start().await;
    let args = [
        "-s",
        "alice",
        "-au",
        "alice",
        "-ap",
        "wrong",
        "-key",
        "dest",
        "15551230000",
        &engine_arg(&engine),
    ];
    Sipp::start("agent_call_wrong.xml", 1, &args).expect_success().await;
    let nothing = tokio::time::timeout(Duration::from_millis(200), engine.engine.next_incoming()).await;
    assert!(nothing.is_err(), "no incoming call reaches the orchestrator");
}
