//! `application/x-www-form-urlencoded` callback bodies: the pairs in order, and as a JSON object for the
//! status history (a repeated key becomes an array).

use irisx_core::sms::provider::CallbackError;
use serde_json::{Map, Value};

/// The pairs of a form body, in order.
pub fn pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of `key`.
pub fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The first value of `key`, or a malformed-callback error naming it.
pub fn require<'a>(pairs: &'a [(String, String)], key: &str) -> Result<&'a str, CallbackError> {
    get(pairs, key).ok_or_else(|| CallbackError::Malformed(format!("the form has no `{key}`")))
}

/// The pairs as a JSON object.
pub fn to_json(pairs: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (k, v) in pairs {
        match map.get_mut(k) {
            Some(Value::Array(a)) => a.push(Value::String(v.clone())),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(v.clone())]);
            }
            None => {
                map.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    Value::Object(map)
}

/// Encodes pairs as a form body.
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}
