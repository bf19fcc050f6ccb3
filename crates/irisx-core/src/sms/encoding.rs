//! GSM-7 or UCS-2, and how many segments a body takes (which is what carriers bill).
//!
//! GSM 03.38: the basic set costs one septet a character, the extension table two (escape + character). A
//! single GSM-7 message carries 160 septets, each part of a concatenated one 153 (the user data header takes
//! the rest); an extension pair is never split across parts. UCS-2 counts UTF-16 code units: 70 alone, 67 a
//! part, and a surrogate pair is never split.

use serde::{Deserialize, Serialize};

/// The encoding a body needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// The GSM 03.38 default alphabet (with its extension table).
    Gsm7,
    /// UTF-16, for anything else (emoji, most non-Latin scripts).
    Ucs2,
}

/// A body's encoding and segment count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    /// The encoding.
    pub encoding: Encoding,
    /// How many parts the message is sent as.
    pub count: u32,
    /// Its length in septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: u32,
}

const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const EXTENDED: &str = "\u{000C}^{}\\[~]|€";

fn gsm_units(c: char) -> Option<u32> {
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Splits a sequence of character widths into parts of at most `per_part` units without splitting a character.
fn parts(widths: impl Iterator<Item = u32>, per_part: u32) -> u32 {
    let (mut count, mut used) = (1, 0);
    for w in widths {
        if used + w > per_part {
            count += 1;
            used = 0;
        }
        used += w;
    }
    count
}

/// The encoding and segment count of a body.
pub fn segments(body: &str) -> Segments {
    let gsm: Option<Vec<u32>> = body.chars().map(gsm_units).collect();
    let (encoding, widths, single, multi) = match gsm {
        Some(w) => (Encoding::Gsm7, w, 160, 153),
        None => (
            Encoding::Ucs2,
            body.chars().map(|c| c.len_utf16() as u32).collect(),
            70,
            67,
        ),
    };
    let units: u32 = widths.iter().sum();
    let count = if units <= single {
        1
    } else {
        parts(widths.into_iter(), multi)
    };
    Segments { encoding, count, units }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("hello", Encoding::Gsm7, 1, 5)]
    #[case(&"a".repeat(160), Encoding::Gsm7, 1, 160)]
    #[case(&"a".repeat(161), Encoding::Gsm7, 2, 161)]
    #[case(&"a".repeat(306), Encoding::Gsm7, 2, 306)]
    #[case(&"a".repeat(307), Encoding::Gsm7, 3, 307)]
    #[case("price: 5€ [ok]", Encoding::Gsm7, 1, 17)]
    #[case("héllo ü", Encoding::Gsm7, 1, 7)]
    #[case("hello 👋", Encoding::Ucs2, 1, 8)]
    #[case(&"ж".repeat(70), Encoding::Ucs2, 1, 70)]
    #[case(&"ж".repeat(71), Encoding::Ucs2, 2, 71)]
    #[case(&"ж".repeat(134), Encoding::Ucs2, 2, 134)]
    #[case(&"ж".repeat(135), Encoding::Ucs2, 3, 135)]
    fn bodies_get_the_right_encoding_and_segment_count(
        #[case] body: &str,
        #[case] enc: Encoding,
        #[case] count: u32,
        #[case] units: u32,
    ) {
        assert_eq!(
            segments(body),
            Segments {
                encoding: enc,
                count,
                units
            }
        );
    }

    #[test]
    fn an_extension_character_is_never_split_across_parts() {
        // 306 septets would fill two parts exactly, but the '€' pair cannot sit astride parts one and two.
        let body = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!((segments(&body).units, segments(&body).count), (306, 3));
    }

    #[test]
    fn a_surrogate_pair_is_never_split_across_parts() {
        // 134 code units would fill two parts exactly, but the emoji's pair cannot sit astride them.
        let body = format!("{}😀{}", "ж".repeat(66), "ж".repeat(66));
        let s = segments(&body);
        assert_eq!((s.encoding, s.units, s.count), (Encoding::Ucs2, 134, 3));
    }
}
