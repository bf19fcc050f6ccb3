//! Recordings of both directions. FreeSWITCH's `record` application hears only what the far end sends, so a
//! recording of both directions puts a media bug on the channel instead (`uuid_record`): it mixes what the
//! channel receives with what it sends (prompts, a bridged party's voice) into one mono track. The bug runs
//! beside whatever the channel does, so the verb itself only waits, for the call's end, `max_length` or the
//! finish key, and then stops the bug if the call is still up.
//!
//! Why the file is read only after `RECORD_STOP`: FreeSWITCH writes the WAV header when it opens the file and
//! buffers the audio, so until it closes the file (at the stop, or while it tears the channel down, which may be
//! a moment after the hangup event) what is on disk can be a well-formed WAV with less audio or none. It fires
//! `RECORD_STOP` once the file is closed. The file is then read until its RIFF header covers the whole file,
//! since a shared volume may show the last writes late. Both waits together are bounded by [`CLOSE_WAIT`].

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use irisx_core::ports::voice::{Record, Recording, VoiceError};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::call::{Call, Phase};
use crate::engine::Inner;
use crate::error::Error;
use crate::media::{RATE, recording_length, whole_seconds};

/// How long FreeSWITCH has to close a recording once it was stopped or the call ended.
const CLOSE_WAIT: Duration = Duration::from_secs(3);
/// How often an incomplete file is read again.
const REREAD: Duration = Duration::from_millis(50);

/// The bug's settings besides the rate: one track with both directions mixed, whatever the dialplan set
/// (`RECORD_STEREO`, `RECORD_READ_ONLY`, `RECORD_WRITE_ONLY`), and no minimum length (FreeSWITCH deletes a
/// recording shorter than `RECORD_MIN_SEC`, 3 s by default).
const MIXED: &str = "RECORD_STEREO=false;RECORD_READ_ONLY=false;RECORD_WRITE_ONLY=false;RECORD_MIN_SEC=0";

impl Inner {
    /// Records both directions with a media bug until the call ends, `max_length` passes or the finish key is
    /// pressed, then reads back the file FreeSWITCH closed (and removes it).
    pub(crate) async fn record_both(&self, call: &Call, record: &Record) -> Result<Recording, VoiceError> {
        let channel = call.require_answered()?;
        let file = self.media_file();
        let remote = file.remote.to_string_lossy().into_owned();
        self.api(&format!(
            "uuid_setvar_multi {channel} record_sample_rate={RATE};{MIXED}"
        ))
        .await?;
        let keys = call.watch_digits();
        let before = call.digit_count();
        let closed = self.expect_record_stop(&remote);
        if let Err(e) = self.start_bug(&channel, &remote, record.max_length).await {
            self.forget_record_stop(&remote);
            return Err(e.into());
        }
        let finished_by = until_done(call, record, keys).await;
        if record.finish_on_key.is_some() {
            // The keys pressed while recording (the finish key above all) belong to the recording, not to a
            // later gather. Without a finish key the recording takes no keys, so a gather beside it gets them.
            call.truncate_digits(before);
        }
        if call.phase() != Phase::Ended {
            self.stop_bug(&channel, &remote).await;
        }
        let wav = closed_wav(closed, &file.local).await;
        self.forget_record_stop(&remote);
        let wav = wav?;
        let duration = recording_length(&wav)?;
        Ok(Recording {
            wav: Bytes::from(wav),
            duration,
            finished_by,
        })
    }

    /// `uuid_record … start`, which must answer `+OK`.
    async fn start_bug(&self, channel: &str, remote: &str, max_length: Duration) -> Result<(), Error> {
        let limit = whole_seconds(max_length);
        let reply = self
            .api(&format!("uuid_record {channel} start {remote} {limit}"))
            .await?;
        if !reply.starts_with("+OK") {
            return Err(Error::Refused {
                command: "uuid_record start".into(),
                reply,
            });
        }
        Ok(())
    }

    /// `uuid_record … stop`. A refusal is no error: the bug may have stopped itself at its limit or the channel
    /// may have hung up meanwhile, and FreeSWITCH closes the file either way.
    async fn stop_bug(&self, channel: &str, remote: &str) {
        if let Err(e) = self.api(&format!("uuid_record {channel} stop {remote}")).await {
            tracing::debug!(error = %e, "the recording was not stopped; it had ended");
        }
    }
}

/// Waits for the call's end, `max_length` or the finish key; the finish key when it was pressed.
async fn until_done(call: &Call, record: &Record, mut keys: broadcast::Receiver<char>) -> Option<char> {
    let finish_key = async {
        let Some(finish) = record.finish_on_key else {
            return std::future::pending().await;
        };
        loop {
            match keys.recv().await {
                Ok(key) if key == finish => return Some(key),
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return std::future::pending().await,
            }
        }
    };
    tokio::select! {
        key = finish_key => key,
        _ = tokio::time::sleep(record.max_length) => None,
        _ = call.ended.cancelled() => None,
    }
}

/// The recording once FreeSWITCH has closed it: after its `RECORD_STOP`, read until the WAV is complete, all
/// within [`CLOSE_WAIT`]. Without a `RECORD_STOP` in time, a complete WAV on disk is taken as it is.
async fn closed_wav(closed: oneshot::Receiver<()>, path: &Path) -> Result<Vec<u8>, Error> {
    let deadline = Instant::now() + CLOSE_WAIT;
    if !matches!(tokio::time::timeout_at(deadline, closed).await, Ok(Ok(()))) {
        tracing::warn!(path = %path.display(), "no RECORD_STOP for the recording; reading the file as it is");
    }
    loop {
        let read = tokio::fs::read(path).await;
        let late = Instant::now() >= deadline;
        match read {
            Ok(wav) if is_complete(&wav) => return Ok(wav),
            Ok(_) if late => return Err(Error::RecordingUnfinished(path.to_owned())),
            Err(source) if late => {
                return Err(Error::MediaFile {
                    path: path.to_owned(),
                    source,
                });
            }
            _ => tokio::time::sleep(REREAD).await,
        }
    }
}

/// Whether a WAV's RIFF header covers the whole file, as it does once the writer has closed it (until then it
/// holds the sizes from when the file was opened).
fn is_complete(wav: &[u8]) -> bool {
    let riff_size = wav
        .get(4..8)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
        .and_then(|n| usize::try_from(n).ok());
    wav.starts_with(b"RIFF") && wav.get(8..12) == Some(b"WAVE") && riff_size.is_some_and(|n| n + 8 == wav.len())
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn wav(samples: usize) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut out = Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
        for _ in 0..samples {
            writer.write_sample(0i16).unwrap();
        }
        writer.finalize().unwrap();
        out.into_inner()
    }

    #[test]
    fn only_a_wav_whose_header_covers_the_file_is_complete() {
        let closed = wav(800);
        assert!(is_complete(&closed));
        assert!(is_complete(&wav(0)), "an empty recording, once closed, is complete");
        let mut still_written = closed.clone();
        still_written.extend_from_slice(&[0; 320]);
        assert!(!is_complete(&still_written), "audio past the header's size");
        assert!(!is_complete(&closed[..30]), "a header cut short");
        assert!(!is_complete(b""));
        assert!(!is_complete(b"RIFX\x04\x00\x00\x00WAVE"));
    }
}
