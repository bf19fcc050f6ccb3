//! G.711 µ-law (PCMU, payload type 0) and A-law (PCMA, payload type 8), computed without tables: the
//! segment search is a leading-zero count, so encoding a 160-sample frame costs a few hundred instructions.

/// A G.711 variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// µ-law, RTP payload type 0.
    Pcmu,
    /// A-law, RTP payload type 8.
    Pcma,
}

impl Law {
    /// The static RTP payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Law::Pcmu => 0,
            Law::Pcma => 8,
        }
    }

    /// The variant of a static payload type, if it is G.711.
    pub fn from_payload_type(pt: u8) -> Option<Law> {
        match pt {
            0 => Some(Law::Pcmu),
            8 => Some(Law::Pcma),
            _ => None,
        }
    }

    /// Encodes linear samples.
    pub fn encode(self, samples: &[i16]) -> Vec<u8> {
        match self {
            Law::Pcmu => samples.iter().map(|&s| ulaw_encode(s)).collect(),
            Law::Pcma => samples.iter().map(|&s| alaw_encode(s)).collect(),
        }
    }

    /// Decodes to linear samples.
    pub fn decode(self, bytes: &[u8]) -> Vec<i16> {
        match self {
            Law::Pcmu => bytes.iter().map(|&b| ulaw_decode(b)).collect(),
            Law::Pcma => bytes.iter().map(|&b| alaw_decode(b)).collect(),
        }
    }

    /// The encoded byte for silence.
    pub fn silence(self) -> u8 {
        match self {
            Law::Pcmu => 0xFF,
            Law::Pcma => 0xD5,
        }
    }
}

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

/// µ-law encoding of one sample (ITU-T G.711).
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(ULAW_CLIP) + ULAW_BIAS;
    // The segment is the position of the highest set bit above bit 7.
    let exponent = (31 - (s as u32).leading_zeros()).saturating_sub(7).min(7) as i32;
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// µ-law decoding of one byte.
pub fn ulaw_decode(byte: u8) -> i16 {
    let u = !byte;
    let sign = u & 0x80;
    let exponent = i32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if sign != 0 { -magnitude as i16 } else { magnitude as i16 }
}

/// A-law encoding of one sample (ITU-T G.711).
pub fn alaw_encode(sample: i16) -> u8 {
    let s = i32::from(sample);
    let (sign, magnitude) = if s >= 0 { (0x80, s) } else { (0x00, (-s - 1).max(0)) };
    let magnitude = magnitude.min(0x7FFF);
    let code = if magnitude < 256 {
        magnitude >> 4
    } else {
        let exponent = (31 - (magnitude as u32).leading_zeros()) as i32 - 7;
        (exponent << 4) | ((magnitude >> (exponent + 3)) & 0x0F)
    };
    ((sign | code) ^ 0x55) as u8
}

/// A-law decoding of one byte.
pub fn alaw_decode(byte: u8) -> i16 {
    let a = i32::from(byte ^ 0x55);
    let exponent = (a >> 4) & 0x07;
    let mantissa = a & 0x0F;
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    if a & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: i16, b: i16) -> bool {
        // G.711 keeps about 4 significant bits: the error grows with the magnitude.
        let tolerance = (i32::from(a).abs() / 16).max(16);
        (i32::from(a) - i32::from(b)).abs() <= tolerance
    }

    #[test]
    fn every_law_round_trips_samples_within_its_quantisation_step() {
        for law in [Law::Pcmu, Law::Pcma] {
            for s in (-32768i32..=32767).step_by(7) {
                let s = s as i16;
                let back = law.decode(&law.encode(&[s]))[0];
                assert!(close(s, back), "{law:?}: {s} came back as {back}");
            }
        }
    }

    #[test]
    fn every_encoded_byte_decodes_and_encodes_back_to_itself() {
        for b in 0..=255u8 {
            // µ-law has two zeros; negative zero (0x7F) comes back as positive zero (0xFF).
            let expected = if b == 0x7F { 0xFF } else { b };
            assert_eq!(ulaw_encode(ulaw_decode(b)), expected, "µ-law {b:#x}");
            assert_eq!(alaw_encode(alaw_decode(b)), b, "A-law {b:#x}");
        }
    }

    #[test]
    fn silence_bytes_decode_to_near_zero() {
        for law in [Law::Pcmu, Law::Pcma] {
            assert!(law.decode(&[law.silence()])[0].abs() <= 8);
        }
    }
}
