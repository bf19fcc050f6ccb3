//! Outbound calls through sipp carriers on loopback: media both ways, digits, recording, trunk failover.

mod common;

use std::time::Duration;

use common::{Sipp, TestEngine, events_until, next_event};
use irisx_core::ports::voice::{
    Audio, CallEvent, CallHandle, Destination, Gather, HangupCause, Originate, Record, SipTransport, TrunkTarget,
    VoiceEngine,
};
use irisx_voice::media;

fn trunk(name: &str, port: u16) -> TrunkTarget {
    TrunkTarget {
        name: name.into(),
        host: "127.0.0.1".into(),
        port,
        transport: SipTransport::Udp,
        username: Some("carrier-user".into()),
        password: Some("carrier-pass".into()),
    }
}

fn call_to(trunks: Vec<TrunkTarget>) -> Originate {
    Originate {
        tenant: "ten_a".into(),
        to: "15551230000".into(),
        from: "15559870000".into(),
        destination: Destination::Trunks(trunks),
        ring_timeout: Duration::from_secs(5),
    }
}

async fn answered(engine: &TestEngine, trunks: Vec<TrunkTarget>) -> CallHandle {
    let mut handle = engine.engine.originate(call_to(trunks)).await.expect("originate");
    let seen = events_until(&mut handle.events, 8, |e| {
        matches!(e, CallEvent::Answered { .. } | CallEvent::Hangup { .. })
    })
    .await;
    assert!(
        matches!(seen.last(), Some(CallEvent::Answered { .. })),
        "the call was not answered: {seen:?}"
    );
    handle
}

async fn hang_up(engine: &TestEngine, mut handle: CallHandle) {
    engine.engine.hangup(&handle.call).await.expect("hangup");
    let seen = events_until(&mut handle.events, 5, |e| matches!(e, CallEvent::Hangup { .. })).await;
    assert_eq!(
        seen.last(),
        Some(&CallEvent::Hangup {
            cause: HangupCause::Completed,
            sip_code: None
        })
    );
}

#[tokio::test]
async fn an_answered_call_sends_audio_that_the_carrier_echoes_back_as_pcmu() {
    let engine = TestEngine::start().await;
    let carrier = Sipp::start(
        "uas_answer.xml",
        1,
        &["-rtp_echo", "-key", "codec", "0", "-key", "codec_name", "PCMU"],
    );
    let handle = answered(&engine, vec![trunk("t1", carrier.port)]).await;

    let tone = media::tone(440.0, Duration::from_millis(1500), 12000);
    let record = Record {
        max_length: Duration::from_millis(1500),
        finish_on_key: None,
    };
    let (played, recorded) = tokio::join!(
        engine.engine.play(&handle.call, Audio::Pcm(tone)),
        engine.engine.record(&handle.call, record)
    );
    played.expect("play");
    let recording = recorded.expect("record");
    let counters = engine.engine.rtp_counters(&handle.call).unwrap();

    assert!(counters.packets_sent >= 70, "sent {} packets", counters.packets_sent);
    assert!(
        counters.packets_received >= 50,
        "received {} packets back",
        counters.packets_received
    );
    assert_eq!(counters.last_payload_type, Some(0), "the echo carries PCMU");
    let samples = media::wav_to_samples(&recording.wav).unwrap();
    assert!(
        media::rms(&samples) > 2000.0,
        "the echoed audio is not silent (rms {})",
        media::rms(&samples)
    );

    hang_up(&engine, handle).await;
    carrier.expect_success().await;
}

#[tokio::test]
async fn a_digit_the_carrier_plays_is_gathered() {
    let engine = TestEngine::start().await;
    let pcap = "/usr/share/sip-tester/dtmf_2833_1.pcap";
    let carrier = Sipp::start(
        "uas_play.xml",
        1,
        &["-key", "codec", "0", "-key", "codec_name", "PCMU", "-key", "pcap", pcap],
    );
    let mut handle = answered(&engine, vec![trunk("t1", carrier.port)]).await;

    let gather = Gather {
        num_digits: Some(1),
        timeout: Duration::from_secs(5),
        finish_on_key: Some('#'),
    };
    let digits = engine.engine.gather(&handle.call, gather).await.expect("gather");
    assert_eq!(digits, "1");
    assert_eq!(
        next_event(&mut handle.events, 1).await,
        CallEvent::Dtmf('1'),
        "the digit is also a call event"
    );
    assert_eq!(
        engine.engine.rtp_counters(&handle.call).unwrap().last_payload_type,
        Some(101)
    );

    hang_up(&engine, handle).await;
    carrier.expect_success().await;
}

#[tokio::test]
async fn a_recording_of_the_carriers_pcma_audio_has_the_length_asked_for_and_is_not_silent() {
    let engine = TestEngine::start().await;
    let pcap = "/usr/share/sip-tester/g711a.pcap";
    let carrier = Sipp::start(
        "uas_play.xml",
        1,
        &["-key", "codec", "8", "-key", "codec_name", "PCMA", "-key", "pcap", pcap],
    );
    let handle = answered(&engine, vec![trunk("t1", carrier.port)]).await;

    let record = Record {
        max_length: Duration::from_secs(2),
        finish_on_key: Some('#'),
    };
    let recording = engine.engine.record(&handle.call, record).await.expect("record");

    let reader = hound::WavReader::new(std::io::Cursor::new(recording.wav.to_vec())).unwrap();
    let spec = reader.spec();
    assert_eq!((spec.sample_rate, spec.channels, spec.bits_per_sample), (8000, 1, 16));
    let frames = reader.len() as i64;
    assert!((frames - 16000).abs() <= 160, "{frames} samples for 2 s");
    assert_eq!(recording.finished_by, None);
    let samples = media::wav_to_samples(&recording.wav).unwrap();
    assert!(
        media::rms(&samples) > 300.0,
        "the recording is not silent (rms {})",
        media::rms(&samples)
    );
    assert_eq!(
        engine.engine.rtp_counters(&handle.call).unwrap().last_payload_type,
        Some(8)
    );

    hang_up(&engine, handle).await;
    carrier.expect_success().await;
}

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

    let seen = events_until(&mut handle.events, 8, |e| {
        matches!(e, CallEvent::Answered { .. } | CallEvent::Hangup { .. })
    })
    .await;
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
