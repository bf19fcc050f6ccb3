//! Media verbs on one leg's RTP session: play WAV or samples, say text through espeak-ng, record the far end
//! to WAV, gather digits. Audio inside the engine is always 8 kHz mono 16-bit; WAV input at another rate is
//! resampled, anything but 16-bit PCM is refused with a clear reason.

use std::io::Cursor;
use std::time::Duration;

use bytes::Bytes;
use tokio::process::Command;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::rtp::RtpSession;

/// The engine's sample rate.
pub const RATE: u32 = 8000;

/// Decodes a WAV file to 8 kHz mono samples (16-bit PCM at any rate; stereo is mixed down).
pub fn wav_to_samples(bytes: &[u8]) -> Result<Vec<i16>, Error> {
    let mut reader = hound::WavReader::new(Cursor::new(bytes))?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(Error::Audio(format!(
            "WAV must be 16-bit PCM, this one is {}-bit {:?}",
            spec.bits_per_sample, spec.sample_format
        )));
    }
    if spec.channels == 0 || spec.channels > 2 {
        return Err(Error::Audio(format!(
            "WAV must be mono or stereo, this one has {} channels",
            spec.channels
        )));
    }
    let raw: Vec<i16> = reader.samples::<i16>().collect::<Result<_, _>>()?;
    let mono: Vec<i16> = if spec.channels == 2 {
        raw.chunks(2)
            .map(|c| ((i32::from(c[0]) + i32::from(*c.get(1).unwrap_or(&0))) / 2) as i16)
            .collect()
    } else {
        raw
    };
    Ok(resample(&mono, spec.sample_rate, RATE))
}

/// Encodes 8 kHz mono samples as a WAV file.
pub fn samples_to_wav(samples: &[i16]) -> Result<Bytes, Error> {
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

/// Linear-interpolation resampling (good enough for speech into an 8 kHz telephone channel).
pub fn resample(samples: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || samples.is_empty() || from == 0 {
        return samples.to_vec();
    }
    let out_len = (samples.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * f64::from(from) / f64::from(to);
            let idx = pos as usize;
            let frac = pos - idx as f64;
            let a = f64::from(samples[idx.min(samples.len() - 1)]);
            let b = f64::from(samples[(idx + 1).min(samples.len() - 1)]);
            (a + (b - a) * frac) as i16
        })
        .collect()
}

/// A sine tone at 8 kHz.
pub fn tone(freq_hz: f64, duration: Duration, amplitude: i16) -> Vec<i16> {
    let n = (duration.as_secs_f64() * f64::from(RATE)) as usize;
    (0..n)
        .map(|i| {
            (f64::from(amplitude) * (2.0 * std::f64::consts::PI * freq_hz * i as f64 / f64::from(RATE)).sin()) as i16
        })
        .collect()
}

/// Root mean square of samples: 0 for silence, about 0.7 × amplitude for a sine.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

/// Speaks text with espeak-ng and returns 8 kHz samples.
pub async fn speak(program: &str, text: &str) -> Result<Vec<i16>, Error> {
    let output = Command::new(program)
        .arg("--stdout")
        .arg("--")
        .arg(text)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| Error::Speech(format!("cannot run {program}: {e}")))?;
    if !output.status.success() {
        return Err(Error::Speech(format!("{program} exited with {}", output.status)));
    }
    // espeak-ng streams: its header's lengths are placeholders, so read the format and take the rest as data.
    let wav = &output.stdout;
    let data = find_chunk(wav, b"data").ok_or_else(|| Error::Speech("no WAV data from espeak-ng".into()))?;
    let fmt = find_chunk(wav, b"fmt ")
        .filter(|f| f.len() >= 16)
        .ok_or_else(|| Error::Speech("no WAV format".into()))?;
    let rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
    let samples: Vec<i16> = data.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    Ok(resample(&samples, rate, RATE))
}

/// The body of a RIFF chunk; a `data` chunk whose length overruns the file runs to its end.
fn find_chunk<'a>(wav: &'a [u8], id: &[u8; 4]) -> Option<&'a [u8]> {
    let mut pos = 12;
    while pos + 8 <= wav.len() {
        let len = u32::from_le_bytes([wav[pos + 4], wav[pos + 5], wav[pos + 6], wav[pos + 7]]) as usize;
        let start = pos + 8;
        if &wav[pos..pos + 4] == id {
            return Some(&wav[start..start.saturating_add(len).min(wav.len())]);
        }
        pos = start.checked_add(len + (len & 1))?;
    }
    None
}

/// What a gather or record ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The samples, exactly as long as the recording lasted (gaps filled with silence).
    pub samples: Vec<i16>,
    /// The finish key pressed, if any.
    pub finished_by: Option<char>,
}

/// Recorded audio on a timeline: each frame goes where the time it passed falls, so a lost or late frame
/// leaves silence in its place and both directions of a call line up; a burst (frames held back by the
/// network, then delivered together) follows on from the frame before it. Overlapping audio is mixed.
#[derive(Default)]
struct Timeline {
    samples: Vec<i16>,
    /// Where each direction's next frame may start, so a direction's own frames never overlap.
    ends: [usize; 2],
}

impl Timeline {
    fn place(&mut self, direction: usize, frame: &[i16], elapsed: Duration) {
        let arrived = (elapsed.as_secs_f64() * f64::from(RATE)) as usize;
        let start = arrived.saturating_sub(frame.len()).max(self.ends[direction]);
        let end = start + frame.len();
        if self.samples.len() < end {
            self.samples.resize(end, 0);
        }
        for (out, s) in self.samples[start..end].iter_mut().zip(frame) {
            *out = out.saturating_add(*s);
        }
        self.ends[direction] = end;
    }
}

/// Records the far end (and, with `both_directions`, what is sent to it, mixed in) until `max` has passed,
/// `finish_on_key` is pressed, or the call ends.
pub async fn record(
    session: &RtpSession,
    max: Duration,
    finish_on_key: Option<char>,
    both_directions: bool,
) -> Recorded {
    let mut heard = session.subscribe_audio();
    let mut said = both_directions.then(|| session.subscribe_sent());
    let started = tokio::time::Instant::now();
    let deadline = started + max;
    let mut timeline = Timeline::default();
    // A whole call may be recorded with an hours-long limit: reserve a minute, grow as the audio comes.
    timeline
        .samples
        .reserve((max.min(Duration::from_secs(60)).as_secs_f64() * f64::from(RATE)) as usize);
    let mut finished_by = None;
    loop {
        tokio::select! {
            frame = heard.recv() => match frame {
                Ok(frame) => timeline.place(0, &frame, started.elapsed()),
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
            frame = async { said.as_mut()?.recv().await.ok() }, if said.is_some() => {
                if let Some(frame) = frame {
                    timeline.place(1, &frame, started.elapsed());
                }
            }
            d = session.next_digit(), if finish_on_key.is_some() => match d {
                Some(d) if Some(d) == finish_on_key => { finished_by = Some(d); break; }
                Some(_) => {}
                None => break,
            },
            _ = tokio::time::sleep_until(deadline) => break,
            _ = session.closed() => break,
        }
        if session.is_closed() {
            break;
        }
    }
    // The recording is as long as the time it ran: missing audio is silence, audio past the end is cut.
    let elapsed = started.elapsed().min(max);
    let mut samples = timeline.samples;
    samples.resize((elapsed.as_secs_f64() * f64::from(RATE)).round() as usize, 0);
    Recorded { samples, finished_by }
}

/// Gathers digits, starting with `first` (a key that interrupted the prompt), until `num_digits` are in,
/// `finish_on_key` is pressed, `timeout` passes without a digit, or `stop` fires. The finish key is not part of
/// the result.
pub async fn gather(
    session: &RtpSession,
    first: Option<char>,
    num_digits: Option<usize>,
    timeout: Duration,
    finish_on_key: Option<char>,
    stop: &CancellationToken,
) -> String {
    let mut digits = String::new();
    let mut pending = first;
    loop {
        if num_digits.is_some_and(|n| digits.chars().count() >= n) {
            break;
        }
        let digit = match pending.take() {
            Some(d) => Some(d),
            None => tokio::select! {
                d = session.next_digit() => d,
                _ = tokio::time::sleep(timeout) => None,
                _ = stop.cancelled() => None,
            },
        };
        match digit {
            Some(d) if Some(d) == finish_on_key => break,
            Some(d) => digits.push(d),
            None => break,
        }
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_leaves_silence_for_a_late_frame_follows_on_after_a_burst_and_mixes_directions() {
        let ms = Duration::from_millis;
        let mut t = Timeline::default();
        t.place(0, &[100; 160], ms(20));
        // The next frame arrives 40 ms late: 40 ms of silence before it.
        t.place(0, &[100; 160], ms(80));
        assert_eq!(t.samples.len(), 640);
        assert!(t.samples[160..480].iter().all(|s| *s == 0));
        // A burst: two frames at once follow on from the last one instead of overlapping it.
        t.place(0, &[100; 160], ms(81));
        t.place(0, &[100; 160], ms(81));
        assert_eq!(t.samples.len(), 960);
        // The other direction is mixed in where it passed, saturating rather than wrapping.
        t.place(1, &[i16::MAX; 160], ms(20));
        assert_eq!((t.samples[0], t.samples[159], t.samples[160]), (i16::MAX, i16::MAX, 0));
    }

    #[test]
    fn a_wav_written_reads_back_to_the_same_samples() {
        let samples = tone(440.0, Duration::from_millis(100), 8000);
        assert_eq!(wav_to_samples(&samples_to_wav(&samples).unwrap()).unwrap(), samples);
    }

    #[test]
    fn a_16_khz_wav_is_resampled_to_half_as_many_samples() {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut buf = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut buf, spec).unwrap();
        (0..1600).for_each(|i| w.write_sample(i as i16).unwrap());
        w.finalize().unwrap();
        assert_eq!(wav_to_samples(buf.get_ref()).unwrap().len(), 800);
    }

    #[test]
    fn an_8_bit_wav_is_refused_with_its_format_named() {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 8,
            sample_format: hound::SampleFormat::Int,
        };
        let mut buf = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut buf, spec).unwrap();
        w.write_sample(1i8).unwrap();
        w.finalize().unwrap();
        let err = wav_to_samples(buf.get_ref()).unwrap_err();
        assert!(err.to_string().contains("8-bit"), "{err}");
    }

    #[test]
    fn a_tone_has_energy_and_silence_has_none() {
        assert!(rms(&tone(1000.0, Duration::from_millis(20), 10000)) > 5000.0);
        assert_eq!(rms(&[0; 160]), 0.0);
    }
}
