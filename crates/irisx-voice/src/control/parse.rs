//! Parsing call-control documents. The document is untrusted: its size, its number of verbs and the length of
//! spoken text are bounded, attributes are checked, and an unknown verb or attribute value is an error naming
//! it (the call then fails clearly instead of doing something unexpected).

use std::time::Duration;

use roxmltree::{Document, Node};

use super::{DialTarget, SipUri, Verb};

const MAX_DOCUMENT: usize = 64 * 1024;
const MAX_VERBS: usize = 100;
const MAX_TEXT: usize = 4096;
const MAX_REPEAT: u32 = 10;
const MAX_SECONDS: u64 = 4 * 3600;

/// Why a document cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not well-formed XML.
    #[error("the document is not XML: {0}")]
    Xml(String),
    /// Larger than the limits allow.
    #[error("the document is too large: {0}")]
    TooLarge(&'static str),
    /// The root is not `<Response>`.
    #[error("the root element must be <Response>")]
    NoResponse,
    /// A verb we do not know (or one not allowed where it is).
    #[error("unknown or misplaced verb <{0}>")]
    UnknownVerb(String),
    /// An attribute with a value we cannot use.
    #[error("<{verb}> has an invalid {attribute}: {value:?}")]
    BadAttribute {
        /// The verb.
        verb: String,
        /// The attribute.
        attribute: &'static str,
        /// Its value.
        value: String,
    },
    /// A verb missing its text (Play's URL, Redirect's URL, Dial's number).
    #[error("<{0}> needs content")]
    Empty(String),
}

/// Parses a document into verbs.
pub fn parse(xml: &str) -> Result<Vec<Verb>, ParseError> {
    if xml.len() > MAX_DOCUMENT {
        return Err(ParseError::TooLarge("more than 64 KiB"));
    }
    let doc = Document::parse(xml).map_err(|e| ParseError::Xml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Response" {
        return Err(ParseError::NoResponse);
    }
    let verbs: Vec<Verb> = elements(root).map(|n| verb(n, true)).collect::<Result<_, _>>()?;
    if verbs.len() > MAX_VERBS {
        return Err(ParseError::TooLarge("more than 100 verbs"));
    }
    Ok(verbs)
}

fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(|n| n.is_element())
}

fn text(node: Node<'_, '_>) -> Result<String, ParseError> {
    let t: String = node
        .children()
        .filter_map(|c| c.text())
        .collect::<String>()
        .trim()
        .to_owned();
    if t.len() > MAX_TEXT {
        return Err(ParseError::TooLarge("text longer than 4096 bytes"));
    }
    Ok(t)
}

fn required_text(node: Node<'_, '_>) -> Result<String, ParseError> {
    let t = text(node)?;
    if t.is_empty() {
        return Err(ParseError::Empty(node.tag_name().name().into()));
    }
    Ok(t)
}

fn bad(node: Node<'_, '_>, attribute: &'static str, value: &str) -> ParseError {
    ParseError::BadAttribute {
        verb: node.tag_name().name().into(),
        attribute,
        value: value.into(),
    }
}

fn number<T: std::str::FromStr>(node: Node<'_, '_>, attribute: &'static str) -> Result<Option<T>, ParseError> {
    node.attribute(attribute)
        .map(|v| v.trim().parse().map_err(|_| bad(node, attribute, v)))
        .transpose()
}

fn seconds(node: Node<'_, '_>, attribute: &'static str, default: u64) -> Result<Duration, ParseError> {
    let s = number::<u64>(node, attribute)?.unwrap_or(default);
    if s > MAX_SECONDS {
        return Err(bad(node, attribute, &s.to_string()));
    }
    Ok(Duration::from_secs(s))
}

fn repeat(node: Node<'_, '_>) -> Result<u32, ParseError> {
    // TwiML's loop="0" means "forever"; IRISX bounds it.
    Ok(match number::<u32>(node, "loop")?.unwrap_or(1) {
        0 => MAX_REPEAT,
        n => n.min(MAX_REPEAT),
    })
}

fn finish_key(node: Node<'_, '_>, default: Option<char>) -> Result<Option<char>, ParseError> {
    let Some(v) = node.attribute("finishOnKey") else {
        return Ok(default);
    };
    let mut chars = v.chars();
    match (chars.next(), chars.next()) {
        (None, _) => Ok(None),
        (Some(c), None) if c.is_ascii_digit() || c == '*' || c == '#' => Ok(Some(c)),
        _ => Err(bad(node, "finishOnKey", v)),
    }
}

fn action(node: Node<'_, '_>) -> Option<String> {
    node.attribute("action")
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
}

fn verb(node: Node<'_, '_>, top_level: bool) -> Result<Verb, ParseError> {
    let name = node.tag_name().name();
    let prompt_only = !top_level && !matches!(name, "Say" | "Play" | "Pause");
    if prompt_only {
        return Err(ParseError::UnknownVerb(name.into()));
    }
    Ok(match name {
        "Say" => Verb::Say {
            text: text(node)?,
            repeat: repeat(node)?,
        },
        "Play" => Verb::Play {
            url: required_text(node)?,
            repeat: repeat(node)?,
        },
        "Pause" => Verb::Pause {
            length: seconds(node, "length", 1)?,
        },
        "Gather" => Verb::Gather {
            prompts: elements(node).map(|n| verb(n, false)).collect::<Result<_, _>>()?,
            num_digits: match number::<usize>(node, "numDigits")? {
                Some(0) => return Err(bad(node, "numDigits", "0")),
                n => n,
            },
            timeout: seconds(node, "timeout", 5)?,
            finish_on_key: finish_key(node, Some('#'))?,
            action: action(node),
        },
        "Record" => Verb::Record {
            play_beep: match node.attribute("playBeep").unwrap_or("true") {
                "true" => true,
                "false" => false,
                other => return Err(bad(node, "playBeep", other)),
            },
            max_length: seconds(node, "maxLength", 3600)?,
            finish_on_key: finish_key(node, Some('#'))?,
            action: action(node),
        },
        "Dial" => Verb::Dial {
            target: dial_target(node)?,
            timeout: seconds(node, "timeout", 30)?,
            caller_id: node.attribute("callerId").map(String::from),
            action: action(node),
            // TwiML's values; a recording always starts at the answer.
            record: match node.attribute("record").unwrap_or("do-not-record") {
                "do-not-record" | "false" => false,
                "record-from-answer"
                | "record-from-answer-dual"
                | "record-from-ringing"
                | "record-from-ringing-dual"
                | "true" => true,
                other => return Err(bad(node, "record", other)),
            },
        },
        "Redirect" => Verb::Redirect {
            url: required_text(node)?,
        },
        "Reject" => Verb::Reject {
            busy: match node.attribute("reason").unwrap_or("rejected") {
                "busy" => true,
                "rejected" => false,
                other => return Err(bad(node, "reason", other)),
            },
        },
        "Hangup" => Verb::Hangup,
        other => return Err(ParseError::UnknownVerb(other.into())),
    })
}

fn dial_target(node: Node<'_, '_>) -> Result<DialTarget, ParseError> {
    let mut nested = elements(node);
    match nested.next() {
        None => Ok(DialTarget::Number(required_text(node)?)),
        Some(n) if n.tag_name().name() == "Number" => Ok(DialTarget::Number(required_text(n)?)),
        Some(n) if n.tag_name().name() == "Client" => Ok(DialTarget::Agent(required_text(n)?)),
        Some(n) if n.tag_name().name() == "Sip" => {
            let text = required_text(n)?;
            SipUri::parse(&text)
                .map(DialTarget::Sip)
                .ok_or_else(|| bad(n, "sip", &text))
        }
        Some(n) => Err(ParseError::UnknownVerb(n.tag_name().name().into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verb_parses_with_its_attributes_and_defaults() {
        let doc = r#"<?xml version="1.0"?>
            <Response>
              <Say loop="2">Welcome to IRISX</Say>
              <Play>https://example.com/a.wav</Play>
              <Gather numDigits="4" timeout="7" finishOnKey="*" action="/menu"><Say>Enter your PIN</Say><Pause length="2"/></Gather>
              <Record maxLength="30" finishOnKey="" playBeep="false"/>
              <Dial timeout="20" callerId="+15550001111" action="/after"><Number>+15551234567</Number></Dial>
              <Dial record="record-from-answer"><Client>alice</Client></Dial>
              <Pause/>
              <Redirect>/next</Redirect>
              <Reject reason="busy"/>
              <Hangup/>
            </Response>"#;
        let verbs = parse(doc).unwrap();
        assert_eq!(
            verbs[0],
            Verb::Say {
                text: "Welcome to IRISX".into(),
                repeat: 2
            }
        );
        assert_eq!(
            verbs[1],
            Verb::Play {
                url: "https://example.com/a.wav".into(),
                repeat: 1
            }
        );
        assert_eq!(
            verbs[2],
            Verb::Gather {
                prompts: vec![
                    Verb::Say {
                        text: "Enter your PIN".into(),
                        repeat: 1
                    },
                    Verb::Pause {
                        length: Duration::from_secs(2)
                    }
                ],
                num_digits: Some(4),
                timeout: Duration::from_secs(7),
                finish_on_key: Some('*'),
                action: Some("/menu".into()),
            }
        );
        assert_eq!(
            verbs[3],
            Verb::Record {
                play_beep: false,
                max_length: Duration::from_secs(30),
                finish_on_key: None,
                action: None
            }
        );
        assert_eq!(
            verbs[4],
            Verb::Dial {
                target: DialTarget::Number("+15551234567".into()),
                timeout: Duration::from_secs(20),
                caller_id: Some("+15550001111".into()),
                action: Some("/after".into()),
                record: false,
            }
        );
        assert!(
            matches!(&verbs[5], Verb::Dial { target: DialTarget::Agent(a), timeout, record: true, .. } if a == "alice" && timeout.as_secs() == 30)
        );
        assert_eq!(
            verbs[6],
            Verb::Pause {
                length: Duration::from_secs(1)
            }
        );
        assert_eq!(verbs[7], Verb::Redirect { url: "/next".into() });
        assert_eq!(verbs[8], Verb::Reject { busy: true });
        assert_eq!(verbs[9], Verb::Hangup);
    }

    #[rstest::rstest]
    #[case::not_xml("<Response><Say>", "not XML")]
    #[case::wrong_root("<Document/>", "<Response>")]
    #[case::unknown_verb("<Response><Conference>x</Conference></Response>", "<Conference>")]
    #[case::nested_gather("<Response><Gather><Gather/></Gather></Response>", "<Gather>")]
    #[case::bad_digits("<Response><Gather numDigits=\"many\"/></Response>", "numDigits")]
    #[case::zero_digits("<Response><Gather numDigits=\"0\"/></Response>", "numDigits")]
    #[case::bad_key("<Response><Record finishOnKey=\"x\"/></Response>", "finishOnKey")]
    #[case::endless_pause("<Response><Pause length=\"999999\"/></Response>", "length")]
    #[case::bad_record("<Response><Dial record=\"always\">+15551234567</Dial></Response>", "record")]
    #[case::bad_sip("<Response><Dial><Sip>http://example.com</Sip></Dial></Response>", "sip")]
    #[case::empty_play("<Response><Play> </Play></Response>", "<Play> needs content")]
    #[case::bad_reason("<Response><Reject reason=\"maybe\"/></Response>", "reason")]
    #[case::external_entity(
        "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Response><Say>&x;</Say></Response>",
        "not XML"
    )]
    fn a_document_that_cannot_be_run_is_refused_with_a_reason(#[case] doc: &str, #[case] reason: &str) {
        let err = parse(doc).unwrap_err().to_string();
        assert!(err.contains(reason), "{err}");
    }

    #[test]
    fn loops_are_bounded_and_sizes_limited() {
        assert_eq!(
            parse("<Response><Say loop=\"0\">x</Say></Response>").unwrap()[0],
            Verb::Say {
                text: "x".into(),
                repeat: 10
            }
        );
        let many = format!("<Response>{}</Response>", "<Hangup/>".repeat(101));
        assert_eq!(parse(&many), Err(ParseError::TooLarge("more than 100 verbs")));
        let huge = format!("<Response><Say>{}</Say></Response>", "a".repeat(70 * 1024));
        assert!(matches!(parse(&huge), Err(ParseError::TooLarge(_))));
    }
}
