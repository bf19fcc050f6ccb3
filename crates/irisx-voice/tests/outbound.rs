//! Outbound calls through sipp carriers on loopback: media both ways, digits, recording, trunk failover.

mod common;

use std::time::Duration;

use common::{Sipp, TestEngine, events_until, next_event};
use irisx_core::ports::voice::{
    Audio, CallEvent, CallHandle, Destination, Gather, HangupCause, Originate, Record, SipTransport, TrunkTarget,
    VoiceEngine, VoiceError,
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

/// What the engine sends in the echo test.
enum Source {
    /// A 440 Hz tone as WAV bytes.
    Wav,
    /// Text spoken by espeak-ng.
    Speech,
}

#[rstest::rstest]
#[case::a_wav_file(Source::Wav, 2000.0)]
#[case::spoken_text(Source::Speech, 300.0)]
#[tokio::test]
async fn an_answered_call_sends_audio_that_the_carrier_echoes_back_as_pcmu(
    #[case] source: Source,
    #[case] min_rms: f64,
) {
    let engine = TestEngine::start().await;
    let carrier = Sipp::start(
        "uas_answer.xml",
        1,
        &["-rtp_echo", "-key", "codec", "0", "-key", "codec_name", "PCMU"],
    );
    let handle = answered(&engine, vec![trunk("t1", carrier.port)]).await;

    let record = Record {
        max_length: Duration::from_millis(1500),
        finish_on_key: None,
    };
    let send = async {
        match source {
            Source::Wav => {
                let wav = media::samples_to_wav(&media::tone(440.0, Duration::from_millis(1500), 12000)).unwrap();
                engine.engine.play(&handle.call, Audio::Wav(wav)).await
            }
            Source::Speech => {
                engine
                    .engine
                    .say(&handle.call, "Hello from IRISX, one two three.")
                    .await
            }
        }
    };
    let (sent, recorded) = tokio::join!(send, engine.engine.record(&handle.call, record));
    sent.expect("play or say");
    let recording = recorded.expect("record");
    let counters = engine.engine.rtp_counters(&handle.call).unwrap();

    assert!(counters.packets_sent >= 50, "sent {} packets", counters.packets_sent);
    assert!(
        counters.packets_received >= 40,
        "received {} packets back",
        counters.packets_received
    );
    assert_eq!(counters.last_payload_type, Some(0), "the echo carries PCMU");
    let samples = media::wav_to_samples(&recording.wav).unwrap();
    let rms = media::rms(&samples);
    assert!(rms > min_rms, "the echoed audio is not silent (rms {rms})");

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

    let seen = events_until(&mut handle.events, 8, |e| {
        matches!(e, CallEvent::Answered { .. } | CallEvent::Hangup { .. })
    })
    .await;
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
async fn a_recording_ends_early_when_the_finish_key_is_pressed() {
    let engine = TestEngine::start().await;
    let pcap = "/usr/share/sip-tester/dtmf_2833_1.pcap";
    let carrier = Sipp::start(
        "uas_play.xml",
        1,
        &["-key", "codec", "0", "-key", "codec_name", "PCMU", "-key", "pcap", pcap],
    );
    let handle = answered(&engine, vec![trunk("t1", carrier.port)]).await;

    let record = Record {
        max_length: Duration::from_secs(8),
        finish_on_key: Some('1'),
    };
    let recording = engine.engine.record(&handle.call, record).await.expect("record");
    assert_eq!(recording.finished_by, Some('1'));
    assert!(
        recording.duration < Duration::from_secs(4),
        "ended by the key after {:?}",
        recording.duration
    );

    hang_up(&engine, handle).await;
    carrier.expect_success().await;
}

#[tokio::test]
async fn an_answered_call_without_media_is_hung_up_after_the_media_timeout() {
    let engine = TestEngine::start_with(|c| c.media_timeout = Duration::from_secs(1)).await;
    let carrier = Sipp::start(
        "uas_answer.xml",
        1,
        &["-key", "codec", "0", "-key", "codec_name", "PCMU"],
    );
    let mut handle = answered(&engine, vec![trunk("t1", carrier.port)]).await;

    let started = std::time::Instant::now();
    let seen = events_until(&mut handle.events, 5, |e| matches!(e, CallEvent::Hangup { .. })).await;
    assert_eq!(
        seen.last(),
        Some(&CallEvent::Hangup {
            cause: HangupCause::Completed,
            sip_code: None
        })
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "hung up after {:?}",
        started.elapsed()
    );
    carrier.expect_success().await;
}
