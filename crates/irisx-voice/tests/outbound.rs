//! Outbound calls answered by sipp carriers on loopback: media both ways, digits, recording, media timeout.

mod common;

use std::time::Duration;

use common::{Sipp, TestEngine, answered, events_until, hang_up, next_event, trunk};
use irisx_core::ports::voice::{Audio, CallEvent, Gather, HangupCause, Record, VoiceEngine};
use irisx_voice::media;

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
        both_directions: false,
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

/// The carrier sends no audio back: a recording of the far end alone is silent, one of both directions holds
/// the prompt the engine played, as long as the recording ran.
#[rstest::rstest]
#[case::far_end_only(false)]
#[case::both_directions(true)]
#[tokio::test]
async fn a_recording_of_both_directions_holds_what_the_engine_played(#[case] both_directions: bool) {
    let engine = TestEngine::start().await;
    let carrier = Sipp::start(
        "uas_answer.xml",
        1,
        &["-key", "codec", "0", "-key", "codec_name", "PCMU"],
    );
    let handle = answered(&engine, vec![trunk("t1", carrier.port)]).await;
    let record = Record {
        max_length: Duration::from_millis(1500),
        finish_on_key: None,
        both_directions,
    };
    let tone = media::tone(440.0, Duration::from_millis(1000), 12000);
    let (played, recorded) = tokio::join!(
        engine.engine.play(&handle.call, Audio::Pcm(tone)),
        engine.engine.record(&handle.call, record)
    );
    played.expect("play");
    let samples = media::wav_to_samples(&recorded.expect("record").wav).unwrap();
    assert_eq!(samples.len(), 12_000, "1.5 s at 8 kHz");
    let rms = media::rms(&samples);
    if both_directions {
        assert!(rms > 4000.0, "the played tone is in the recording (rms {rms})");
        let tail = media::rms(&samples[9_600..]);
        assert!(tail < 100.0, "after the 1 s tone the line is silent (rms {tail})");
    } else {
        assert!(rms < 100.0, "the carrier said nothing (rms {rms})");
    }
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
        prompts: vec![],
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
        both_directions: false,
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
        both_directions: false,
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

#[tokio::test]
async fn a_reinvite_is_answered_with_sdp_and_a_digit_sent_by_info_is_gathered() {
    let engine = TestEngine::start().await;
    let engine_addr = engine.sip_addr().to_string();
    let args = [
        "-key",
        "codec",
        "0",
        "-key",
        "codec_name",
        "PCMU",
        "-key",
        "engine",
        &engine_addr,
    ];
    let carrier = Sipp::start("uas_reinvite_info.xml", 1, &args);
    let handle = answered(&engine, vec![trunk("t1", carrier.port)]).await;

    let gather = Gather {
        prompts: vec![],
        num_digits: Some(1),
        timeout: Duration::from_secs(5),
        finish_on_key: None,
    };
    assert_eq!(engine.engine.gather(&handle.call, gather).await.unwrap(), "7");

    hang_up(&engine, handle).await;
    carrier.expect_success().await;
}
