//! Tenant-editable email templates: a subject, an HTML part and an optional text part written in the
//! Jinja dialect of minijinja, rendered with the sender's variables.
//!
//! Sandboxed: templates reach no file or other template (no loader), every render has a fuel budget (a loop
//! that runs away stops with an error) and a recursion limit, and the output has the size limit of a part.
//! Printing a variable the sender did not give is an error (a typo never sends an empty greeting); testing one
//! with `{% if %}` is not. The HTML part is auto-escaped (`{{ name }}` with `<b>` in it prints `&lt;b&gt;`; `|safe` opts out); the
//! subject and the text part are not. When a template has no text part, one is derived from the rendered HTML.
//! An error names the part (`subject`, `html`, `text`) and the line.

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use time::OffsetDateTime;

use crate::error::FieldError;
use crate::id::{TemplateId, TenantId};

/// A tenant's stored template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailTemplate {
    /// Its id.
    pub id: TemplateId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// A name, unique per tenant.
    pub name: String,
    /// The sources of its parts.
    pub parts: Parts,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

/// Instructions one render may run (each loop step and output costs fuel).
const FUEL: u64 = 200_000;
/// The largest rendered part, in bytes.
pub const MAX_RENDERED_BYTES: usize = 512 * 1024;

/// A template's three parts, as sources or as rendered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parts {
    /// Subject.
    pub subject: String,
    /// HTML part.
    pub html: Option<String>,
    /// Text part.
    pub text: Option<String>,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name == "html" {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(64);
    env
}

fn field_error(part: &str, e: &minijinja::Error) -> FieldError {
    let line = e.line().map_or_else(String::new, |l| format!(" on line {l}"));
    let detail = e.detail().map_or_else(|| e.kind().to_string(), str::to_owned);
    FieldError::new(part, "template_error", format!("{detail}{line}"))
}

/// Checks that every part parses; a syntax error names the part and the line.
pub fn check(parts: &Parts) -> Result<(), Vec<FieldError>> {
    let env = environment();
    let errors: Vec<FieldError> = named(parts)
        .filter_map(|(name, source)| {
            env.template_from_named_str(name, source)
                .err()
                .map(|e| field_error(name, &e))
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

fn named(parts: &Parts) -> impl Iterator<Item = (&'static str, &str)> {
    [
        ("subject", Some(parts.subject.as_str())),
        ("html", parts.html.as_deref()),
        ("text", parts.text.as_deref()),
    ]
    .into_iter()
    .filter_map(|(n, s)| s.map(|s| (n, s)))
}

/// Renders the parts with `variables` (a JSON object); a text part is derived from the HTML when there is none.
pub fn render(parts: &Parts, variables: &serde_json::Value) -> Result<Parts, Vec<FieldError>> {
    let env = environment();
    let ctx = Value::from(minijinja::value::Serde(variables));
    let mut errors = Vec::new();
    let mut one = |name: &'static str, source: &str| -> Option<String> {
        match env.render_named_str(name, source, ctx.clone()) {
            Ok(out) if out.len() > MAX_RENDERED_BYTES => {
                errors.push(FieldError::new(
                    name,
                    "too_large",
                    format!("renders to more than {MAX_RENDERED_BYTES} bytes"),
                ));
                None
            }
            Ok(out) => Some(out),
            Err(e) => {
                errors.push(field_error(name, &e));
                None
            }
        }
    };
    let subject = one("subject", &parts.subject);
    let html = parts.html.as_deref().and_then(|h| one("html", h));
    let text = parts.text.as_deref().and_then(|t| one("text", t));
    if !errors.is_empty() {
        return Err(errors);
    }
    let text = text.or_else(|| html.as_deref().map(html_to_text));
    Ok(Parts {
        subject: subject
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        html,
        text,
    })
}

/// A plain-text reading of an HTML part: scripts and styles dropped, block ends as line breaks, list items as
/// `- `, links as `text (url)`, entities decoded, blank runs collapsed.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    let mut href: Option<String> = None;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let closing = tag.starts_with('/');
        match (name.as_str(), closing) {
            ("script" | "style", false) => {
                let end = format!("</{name}");
                rest = rest.to_ascii_lowercase().find(&end).map_or("", |i| &rest[i..]);
            }
            ("br", _) | ("p" | "div" | "tr" | "table" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6", true) => {
                out.push('\n')
            }
            ("li", false) => out.push_str("\n- "),
            ("a", false) => href = attribute(tag, "href"),
            ("a", true) => {
                if let Some(h) = href.take() {
                    out.push_str(&format!(" ({h})"));
                }
            }
            _ => {}
        }
    }
    out.push_str(rest);
    let decoded = decode_entities(&out);
    let mut text = String::new();
    let mut blank = 0;
    for line in decoded
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    {
        if line.is_empty() {
            blank += 1;
            if blank > 1 || text.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        text.push_str(&line);
        text.push('\n');
    }
    text.trim_end().to_owned()
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let value = &tag[at..];
    let (quote, body) = match value.chars().next()? {
        q @ ('"' | '\'') => (Some(q), &value[1..]),
        _ => (None, value),
    };
    let end = match quote {
        Some(q) => body.find(q)?,
        None => body.find(char::is_whitespace).unwrap_or(body.len()),
    };
    Some(decode_entities(&body[..end]))
}

fn decode_entities(s: &str) -> String {
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parts(subject: &str, html: Option<&str>, text: Option<&str>) -> Parts {
        Parts {
            subject: subject.into(),
            html: html.map(Into::into),
            text: text.map(Into::into),
        }
    }

    #[test]
    fn html_is_auto_escaped_and_the_subject_and_text_are_not() {
        let p = parts("Hi {{ name }}", Some("<p>Hi {{ name }}</p>"), Some("Hi {{ name }}"));
        let out = render(&p, &json!({"name": "<b>Ann & Co</b>"})).unwrap();
        assert_eq!(out.html.unwrap(), "<p>Hi &lt;b&gt;Ann &amp; Co&lt;&#x2f;b&gt;</p>");
        assert_eq!(out.subject, "Hi <b>Ann & Co</b>");
        assert_eq!(out.text.unwrap(), "Hi <b>Ann & Co</b>");
    }

    #[test]
    fn a_text_part_is_derived_from_the_html_when_none_is_given() {
        let html = "<style>p{color:red}</style><h1>Hello {{ name }}</h1><p>See <a href=\"https://x.example/o?a=1&amp;b=2\">the offer</a>.</p><ul><li>one</li><li>two</li></ul>";
        let out = render(&parts("s", Some(html), None), &json!({"name": "Ann"})).unwrap();
        assert_eq!(
            out.text.unwrap(),
            "Hello Ann\nSee the offer (https://x.example/o?a=1&b=2).\n\n- one\n- two"
        );
    }

    #[test]
    fn a_syntax_error_names_the_part_and_the_line() {
        let err = check(&parts("ok", Some("<p>\n{% if x %}\nunclosed"), None)).unwrap_err();
        assert_eq!(err[0].field, "html");
        assert_eq!(err[0].code, "template_error");
        assert!(err[0].message.contains("line"), "{}", err[0].message);
    }

    #[test]
    fn a_runaway_loop_runs_out_of_fuel_instead_of_hanging() {
        let p = parts(
            "s",
            None,
            Some("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"),
        );
        let err = render(&p, &json!({})).unwrap_err();
        assert_eq!(err[0].field, "text");
    }

    #[test]
    fn printing_a_missing_variable_is_an_error_but_testing_one_is_not() {
        let err = render(&parts("Hi {{ name }}", None, Some("x")), &json!({})).unwrap_err();
        assert_eq!(err[0].field, "subject");
        let out = render(
            &parts("Hi{% if name %} {{ name }}{% endif %}", None, Some("x")),
            &json!({}),
        )
        .unwrap();
        assert_eq!(out.subject, "Hi");
    }
}
