//! Outbound calls: media verbs on an answered call, failover, busy, and the tenant's call limit.

use std::time::Duration;

use irisx_core::ports::voice::{
    Audio, CallEvent, CallRef, Destination, Gather, HangupCause, Prompt, Record, VoiceEngine, VoiceError,
};
use irisx_freeswitch::FreeSwitchEngine;

use crate::{call_to, next, start, trunk};

#[tokio::test]
async fn an_answered_call_plays_gathers_with_barge_in_records_pauses_and_hangs_up() {
    let setup = start("outbound_media", |_| {}).await;
    let engine = &setup.engine;
    let mut call = engine
        .originate(call_to(Destination::Trunks(vec![trunk("trk_a")])))
        .await
        .unwrap();
    // CHANNEL_PROGRESS and CHANNEL_PROGRESS_MEDIA ring once.
    assert_eq!(next(&mut call.events).await, CallEvent::Ringing);
    assert_eq!(
        next(&mut call.events).await,
        CallEvent::Answered {
            trunk: Some("trk_a".into())
        }
    );

    engine.play(&call.call, Audio::Pcm(vec![1000; 4000])).await.unwrap();
    let played = setup.mock.var("F");
    assert!(
        !setup.media.path().join(format!("{played}.wav")).exists(),
        "the played file is removed"
    );
    assert_eq!(
        engine.gather(&call.call, gather_with_prompt(Some(3))).await.unwrap(),
        "12"
    );
    record_until_the_finish_key(engine, &call.call).await;

    engine.pause(&call.call, Duration::from_millis(500)).await.unwrap();
    // 7 and # came during the pause: the prompt is skipped (the mock would refuse its speak) and they count.
    assert_eq!(engine.gather(&call.call, gather_with_prompt(None)).await.unwrap(), "7");
    engine.hangup(&call.call).await.unwrap();
    let mut rest = Vec::new();
    while let Some(event) = call.events.recv().await {
        rest.push(event);
    }
    let keys = ['1', '2', '#', '#', '7', '#'].map(CallEvent::Dtmf);
    let hangup = CallEvent::Hangup {
        cause: HangupCause::Completed,
        sip_code: None,
    };
    assert_eq!(rest, [&keys[..], &[hangup]].concat());
    setup.finish().await;
}

fn gather_with_prompt(num_digits: Option<usize>) -> Gather {
    Gather {
        prompts: vec![Prompt::Say("Press one".into())],
        num_digits,
        timeout: Duration::from_secs(2),
        finish_on_key: Some('#'),
    }
}

/// Records until # and checks the WAV read back; the # is not left over for a later gather.
async fn record_until_the_finish_key(engine: &FreeSwitchEngine, call: &CallRef) {
    let record = Record {
        max_length: Duration::from_secs(10),
        finish_on_key: Some('#'),
        both_directions: false,
    };
    let recording = engine.record(call, record).await.unwrap();
    assert_eq!(recording.duration, Duration::from_millis(1500));
    assert_eq!(recording.finished_by, Some('#'));
    let wav = hound::WavReader::new(std::io::Cursor::new(recording.wav.to_vec())).unwrap();
    assert_eq!((wav.spec().sample_rate, wav.duration()), (8000, 12_000));
    // A gather without a prompt sends nothing; with no key buffered it times out empty.
    let quick = Gather {
        prompts: Vec::new(),
        num_digits: Some(1),
        timeout: Duration::from_millis(150),
        finish_on_key: None,
    };
    assert_eq!(engine.gather(call, quick).await.unwrap(), "");
}

#[tokio::test]
async fn a_503_on_the_first_trunk_fails_over_to_the_second_which_answers() {
    let setup = start("failover_503", |_| {}).await;
    let trunks = vec![trunk("trk_a"), trunk("trk_b")];
    let mut call = setup
        .engine
        .originate(call_to(Destination::Trunks(trunks)))
        .await
        .unwrap();
    let failed_over = CallEvent::FailedOver {
        trunk: "trk_a".into(),
        sip_code: Some(503),
    };
    assert_eq!(next(&mut call.events).await, failed_over);
    assert_eq!(next(&mut call.events).await, CallEvent::Ringing);
    assert_eq!(
        next(&mut call.events).await,
        CallEvent::Answered {
            trunk: Some("trk_b".into())
        }
    );
    assert_ne!(
        setup.mock.var("A1"),
        setup.mock.var("A2"),
        "each attempt has its own channel"
    );
    setup.engine.hangup(&call.call).await.unwrap();
    let hangup = CallEvent::Hangup {
        cause: HangupCause::Completed,
        sip_code: None,
    };
    assert_eq!(next(&mut call.events).await, hangup);
    setup.finish().await;
}

#[tokio::test]
async fn a_busy_callee_ends_the_call_as_busy_without_trying_the_next_trunk() {
    let setup = start("busy", |_| {}).await;
    let trunks = vec![trunk("trk_a"), trunk("trk_b")];
    let mut call = setup
        .engine
        .originate(call_to(Destination::Trunks(trunks)))
        .await
        .unwrap();
    assert_eq!(next(&mut call.events).await, CallEvent::Ringing);
    let busy = CallEvent::Hangup {
        cause: HangupCause::Busy,
        sip_code: Some(486),
    };
    assert_eq!(next(&mut call.events).await, busy);
    // The mock fails the test if a second originate arrives.
    setup.finish().await;
}

#[tokio::test]
async fn a_tenant_at_its_call_limit_is_refused_until_its_call_ends() {
    let setup = start("call_limit", |c| c.max_calls_per_tenant = 1).await;
    let engine = &setup.engine;
    let request = || call_to(Destination::Trunks(vec![trunk("trk_a")]));
    let mut first = engine.originate(request()).await.unwrap();
    assert_eq!(next(&mut first.events).await, CallEvent::Ringing);

    let refused = engine.originate(request()).await.err();
    assert!(matches!(refused, Some(VoiceError::CallLimit { ref tenant, limit: 1 }) if tenant == "ten_acme"));
    let not_yet = engine.say(&first.call, "too early").await;
    assert!(
        matches!(not_yet, Err(VoiceError::InvalidState { .. })),
        "media before the answer"
    );

    engine.hangup(&first.call).await.unwrap();
    let canceled = CallEvent::Hangup {
        cause: HangupCause::Canceled,
        sip_code: None,
    };
    assert_eq!(next(&mut first.events).await, canceled);
    let third = engine.originate(request()).await;
    assert!(third.is_ok(), "the slot was given back");
    setup.finish().await;
}
