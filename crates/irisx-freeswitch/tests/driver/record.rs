//! Recordings of both directions on a media bug (`uuid_record`): to the call's end, to the limit, to the finish
//! key; each read back only once FreeSWITCH has closed the file.

use std::time::Duration;

use irisx_core::ports::voice::{
    CallEvent, CallHandle, Destination, Gather, HangupCause, Record, Recording, VoiceEngine,
};

use crate::{Setup, call_to, next, start, trunk};

/// Originates a call through trk_a and waits until it is answered.
async fn answered_call(setup: &Setup) -> CallHandle {
    let mut call = setup
        .engine
        .originate(call_to(Destination::Trunks(vec![trunk("trk_a")])))
        .await
        .unwrap();
    assert_eq!(next(&mut call.events).await, CallEvent::Ringing);
    let answered = CallEvent::Answered {
        trunk: Some("trk_a".into()),
    };
    assert_eq!(next(&mut call.events).await, answered);
    call
}

fn both_directions(max_length: Duration, finish_on_key: Option<char>) -> Record {
    Record {
        max_length,
        finish_on_key,
        both_directions: true,
    }
}

/// Checks the recording is the 8 kHz WAV FreeSWITCH wrote, `ms` long, and that its file is gone.
fn assert_recorded(setup: &Setup, file: &str, recording: &Recording, ms: u32) {
    assert_eq!(recording.duration, Duration::from_millis(u64::from(ms)));
    let wav = hound::WavReader::new(std::io::Cursor::new(recording.wav.to_vec())).unwrap();
    assert_eq!(
        (wav.spec().sample_rate, wav.spec().channels, wav.duration()),
        (8000, 1, ms * 8)
    );
    let name = format!("{}.wav", setup.mock.var(file));
    assert!(
        !setup.media.path().join(name).exists(),
        "the recording's file is removed"
    );
}

/// A gather without a prompt: it sends nothing and takes only keys already buffered.
fn buffered_keys() -> Gather {
    Gather {
        prompts: Vec::new(),
        num_digits: None,
        timeout: Duration::from_millis(150),
        finish_on_key: None,
    }
}

#[tokio::test]
async fn a_whole_call_recording_ends_with_the_call_and_waits_for_freeswitch_to_close_the_file() {
    let setup = start("record_both_hangup", |_| {}).await;
    let mut call = answered_call(&setup).await;
    let whole_call = both_directions(Duration::from_secs(4 * 3600), None);
    // The far end hangs up mid-recording; the file appears 300 ms after the hangup event.
    let recording = setup.engine.record(&call.call, whole_call).await.unwrap();
    assert_recorded(&setup, "R", &recording, 2500);
    assert_eq!(recording.finished_by, None);
    let hangup = CallEvent::Hangup {
        cause: HangupCause::Completed,
        sip_code: None,
    };
    assert_eq!(next(&mut call.events).await, hangup);
    assert!(call.events.recv().await.is_none(), "the hangup is the last event");
    setup.finish().await;
}

#[tokio::test]
async fn a_recording_of_a_call_still_up_is_stopped_at_its_limit_or_finish_key() {
    let setup = start("record_both_stop", |_| {}).await;
    let call = answered_call(&setup).await;
    let engine = &setup.engine;

    // No finish key: the limit stops the bug, and the 4 pressed meanwhile is left for a gather.
    let limited = both_directions(Duration::from_millis(300), None);
    let recording = engine.record(&call.call, limited).await.unwrap();
    assert_recorded(&setup, "R1", &recording, 300);
    assert_eq!(recording.finished_by, None);
    assert_eq!(engine.gather(&call.call, buffered_keys()).await.unwrap(), "4");

    // The finish key stops it, and the keys pressed while recording belong to it.
    let until_hash = both_directions(Duration::from_secs(10), Some('#'));
    let recording = engine.record(&call.call, until_hash).await.unwrap();
    assert_recorded(&setup, "R2", &recording, 1200);
    assert_eq!(recording.finished_by, Some('#'));
    assert_eq!(engine.gather(&call.call, buffered_keys()).await.unwrap(), "");

    engine.hangup(&call.call).await.unwrap();
    setup.finish().await;
}
