//! Media verbs as FreeSWITCH applications run through `sendmsg` (`call-command: execute`), each awaited until
//! its `CHANNEL_EXECUTE_COMPLETE` (matched by the `Event-UUID` the driver sent, which FreeSWITCH returns as
//! `Application-UUID`) or the call's end. Audio travels as WAV files in the media directory both sides share:
//! Play writes one and runs `playback`, Record runs `record` (the far end only) and reads the file back; a
//! recording of both directions is a media bug instead (`record_both`). Digits come from `DTMF`
//! events and are buffered per call, so Gather works as the native engine's does (type-ahead, barge-in, finish
//! key, timeout between keys).

use std::io::Cursor;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use irisx_core::ports::voice::{Audio, Gather, Prompt, Record, Recording, VoiceError};

use crate::call::{Call, Completion};
use crate::engine::{Inner, new_uuid};
use crate::error::Error;

/// The rate of PCM given to Play and of recordings.
pub(crate) const RATE: u32 = 8000;

/// A file in the media directory, removed when dropped (also when a barge-in drops the playback).
pub(crate) struct MediaFile {
    pub local: PathBuf,
    pub remote: PathBuf,
}

impl Drop for MediaFile {
    fn drop(&mut self) {
        std::fs::remove_file(&self.local).ok();
    }
}

impl Inner {
    pub(crate) fn media_file(&self) -> MediaFile {
        let name = format!("{}.wav", new_uuid());
        MediaFile {
            local: self.config.media_dir.join(&name),
            remote: self.config.remote_media_dir().join(&name),
        }
    }

    /// Runs `app arg` on the call's channel and waits for it to complete; `None` when the call ended first.
    async fn execute(&self, call: &Call, app: &str, arg: &str) -> Result<Option<Completion>, VoiceError> {
        let channel = call.require_answered()?;
        let event_uuid = new_uuid();
        let done = call.expect_execute(&event_uuid);
        // Line breaks would end the message early; an argument is one line.
        let arg = arg.replace(['\r', '\n'], " ");
        let message = format!(
            "sendmsg {channel}\ncall-command: execute\nexecute-app-name: {app}\nexecute-app-arg: {arg}\nEvent-UUID: {event_uuid}"
        );
        if let Err(e) = self.conn().map_err(VoiceError::from)?.ok(&message).await {
            call.forget_execute(&event_uuid);
            return Err(e.into());
        }
        tokio::select! {
            completion = done => {
                let completion = completion.ok();
                if let Some(c) = &completion {
                    tracing::debug!(app, response = %c.response, "application completed");
                }
                Ok(completion)
            }
            _ = call.ended.cancelled() => Ok(None),
        }
    }

    /// Writes the audio to the media directory and plays it.
    pub(crate) async fn play_audio(&self, call: &Call, audio: &Audio) -> Result<(), VoiceError> {
        call.require_answered()?;
        let file = self.media_file();
        let bytes = match audio {
            Audio::Pcm(samples) => pcm_to_wav(samples)?,
            Audio::Wav(bytes) => checked_wav(bytes)?,
        };
        tokio::fs::write(&file.local, &bytes)
            .await
            .map_err(|source| Error::MediaFile {
                path: file.local.clone(),
                source,
            })?;
        self.execute(call, "playback", &file.remote.to_string_lossy()).await?;
        Ok(())
    }

    /// Speaks text with the configured `speak` engine and voice.
    pub(crate) async fn speak(&self, call: &Call, text: &str) -> Result<(), VoiceError> {
        self.execute(call, "speak", &format!("{}|{text}", self.config.tts))
            .await?;
        Ok(())
    }

    /// Keeps the line silent (`sleep`).
    pub(crate) async fn silence(&self, call: &Call, length: Duration) -> Result<(), VoiceError> {
        self.execute(call, "sleep", &length.as_millis().to_string()).await?;
        Ok(())
    }

    async fn prompt(&self, call: &Call, prompts: &[Prompt]) -> Result<(), VoiceError> {
        for prompt in prompts {
            match prompt {
                Prompt::Audio(audio) => self.play_audio(call, audio).await?,
                Prompt::Say(text) => self.speak(call, text).await?,
                Prompt::Pause(length) => self.silence(call, *length).await?,
            }
        }
        Ok(())
    }

    /// Plays the prompt until a key is pressed (then stops it with `uuid_break`), then collects digits. A key
    /// pressed before the gather began skips the prompt and counts (type-ahead).
    pub(crate) async fn gather_digits(&self, call: &Call, gather: &Gather) -> Result<String, VoiceError> {
        let channel = call.require_answered()?;
        if !gather.prompts.is_empty() && !call.has_digit() {
            tokio::select! {
                biased;
                _ = call.next_digit_arrives() => {
                    if let Err(e) = self.api(&format!("uuid_break {channel} all")).await {
                        tracing::debug!(error = %e, "uuid_break failed");
                    }
                }
                played = self.prompt(call, &gather.prompts) => played?,
            }
        }
        let mut digits = String::new();
        while gather.num_digits.is_none_or(|n| digits.chars().count() < n) {
            let key = tokio::select! {
                key = call.next_digit() => key,
                _ = tokio::time::sleep(gather.timeout) => None,
            };
            match key {
                Some(key) if Some(key) == gather.finish_on_key => break,
                Some(key) => digits.push(key),
                None => break,
            }
        }
        Ok(digits)
    }

    /// Records with `record <path> <max seconds>`, the finish key as `playback_terminators`, then reads the WAV
    /// FreeSWITCH wrote. A recording of both directions goes to `record_both`.
    pub(crate) async fn record_audio(&self, call: &Call, record: &Record) -> Result<Recording, VoiceError> {
        if record.both_directions {
            return self.record_both(call, record).await;
        }
        let channel = call.require_answered()?;
        let file = self.media_file();
        let terminators = record.finish_on_key.map_or("none".to_owned(), String::from);
        self.api(&format!(
            "uuid_setvar_multi {channel} playback_terminators={terminators};record_sample_rate={RATE}"
        ))
        .await?;
        let before = call.digit_count();
        let arg = format!("{} {}", file.remote.to_string_lossy(), whole_seconds(record.max_length));
        let completion = self.execute(call, "record", &arg).await?;
        // The keys pressed while recording (the finish key above all) belong to the recording, not to a
        // later gather.
        call.truncate_digits(before);
        let finished_by = completion
            .and_then(|c| c.terminator)
            .filter(|k| Some(*k) == record.finish_on_key);
        let wav = tokio::fs::read(&file.local).await.map_err(|source| Error::MediaFile {
            path: file.local.clone(),
            source,
        })?;
        let duration = recording_length(&wav)?;
        Ok(Recording {
            wav: Bytes::from(wav),
            duration,
            finished_by,
        })
    }
}

/// 8 kHz mono samples as a WAV file.
fn pcm_to_wav(samples: &[i16]) -> Result<Bytes, Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    {
        let mut writer = hound::WavWriter::new(&mut out, spec)?;
        for &s in samples {
            writer.write_sample(s)?;
        }
        writer.finalize()?;
    }
    Ok(Bytes::from(out.into_inner()))
}

/// A WAV file FreeSWITCH can play as it is: 16-bit PCM, mono or stereo, any rate (it resamples).
fn checked_wav(bytes: &Bytes) -> Result<Bytes, Error> {
    let spec = hound::WavReader::new(Cursor::new(&bytes[..]))
        .map_err(|e| Error::Audio(format!("not a WAV file: {e}")))?
        .spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(Error::Audio(format!(
            "WAV must be 16-bit PCM, this one is {}-bit {:?}",
            spec.bits_per_sample, spec.sample_format
        )));
    }
    if spec.channels == 0 || spec.channels > 2 {
        return Err(Error::Audio(format!(
            "WAV must be mono or stereo, not {} channels",
            spec.channels
        )));
    }
    Ok(bytes.clone())
}

/// A recording's limit as FreeSWITCH takes it: whole seconds, rounded up, at least one.
pub(crate) fn whole_seconds(length: Duration) -> u64 {
    (length.as_secs() + u64::from(length.subsec_nanos() > 0)).max(1)
}

/// The length of a recording, which must be 8 kHz mono 16-bit (the port's promise).
pub(crate) fn recording_length(wav: &[u8]) -> Result<Duration, Error> {
    let reader = hound::WavReader::new(Cursor::new(wav))?;
    let spec = reader.spec();
    if spec.sample_rate != RATE || spec.channels != 1 || spec.bits_per_sample != 16 {
        return Err(Error::Audio(format!(
            "FreeSWITCH recorded {} Hz, {} channels, {}-bit; expected 8000 Hz mono 16-bit",
            spec.sample_rate, spec.channels, spec.bits_per_sample
        )));
    }
    Ok(Duration::from_secs_f64(f64::from(reader.duration()) / f64::from(RATE)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm_becomes_a_wav_whose_length_reads_back() {
        let wav = pcm_to_wav(&vec![0i16; 12_000]).unwrap();
        assert_eq!(recording_length(&wav).unwrap(), Duration::from_millis(1500));
        assert!(checked_wav(&wav).is_ok());
    }

    #[test]
    fn audio_freeswitch_cannot_play_is_refused_with_a_reason() {
        let not_wav = checked_wav(&Bytes::from_static(b"ID3 an mp3")).unwrap_err();
        assert!(not_wav.to_string().contains("not a WAV"));
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut out = Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
        writer.write_sample(0.5f32).unwrap();
        writer.finalize().unwrap();
        let float = checked_wav(&Bytes::from(out.into_inner())).unwrap_err();
        assert!(float.to_string().contains("16-bit PCM"));
    }
}
