//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`) for header-signed requests, as Amazon SES v2 takes them:
//! canonical request → string to sign → signing key derived from the secret, date, region and service →
//! hex HMAC-SHA256 in the `Authorization` header. The tests check it against AWS's published test suite.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;
use url::Url;

use crate::signing::hmac_sha256;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// What a request is signed with.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    /// The access key id (`AKIA…`).
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a str,
    /// The session token of temporary credentials, sent and signed as `x-amz-security-token`.
    pub session_token: Option<&'a str>,
    /// The region, e.g. `us-east-1`.
    pub region: &'a str,
    /// The service, e.g. `ses`.
    pub service: &'a str,
}

/// `yyyymmddThhmmssZ`.
pub fn amz_date(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.format(format_description!("[year][month][day]T[hour][minute][second]Z"))
        .expect("a UTC time formats")
}

/// Percent-encodes everything but the unreserved characters `A-Z a-z 0-9 - _ . ~`.
pub fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonical URI: each segment of the (already encoded) path encoded again, as every service but S3 wants.
fn canonical_uri(url: &Url) -> String {
    let path = url.path();
    if path.is_empty() {
        return "/".into();
    }
    path.split('/').map(uri_encode).collect::<Vec<_>>().join("/")
}

/// The canonical query: names and values encoded, sorted by name then value.
fn canonical_query(url: &Url) -> String {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `Host` header a client sends for `url`.
pub fn host(url: &Url) -> String {
    let h = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{h}:{p}"),
        None => h.to_owned(),
    }
}

/// The canonical request and the signed header names, for `headers` (any case, any order).
pub fn canonical_request(method: &str, url: &Url, headers: &[(String, String)], payload: &[u8]) -> (String, String) {
    let mut hs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    hs.sort();
    let canonical_headers: String = hs.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed = hs.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
    let request = format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
        canonical_uri(url),
        canonical_query(url),
        hex::encode(Sha256::digest(payload))
    );
    (request, signed)
}

/// The key for one day, region and service.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// Signs a request. `headers` are the ones to sign besides `host`, `x-amz-date` and `x-amz-security-token`
/// (e.g. `content-type`). Returns the headers to add to the request, `authorization` last.
pub fn sign(
    key: &Key<'_>,
    method: &str,
    url: &Url,
    headers: &[(&str, &str)],
    payload: &[u8],
    at: OffsetDateTime,
) -> Vec<(String, String)> {
    let stamp = amz_date(at);
    let date = &stamp[..8];
    let mut added = vec![("x-amz-date".to_owned(), stamp.clone())];
    if let Some(token) = key.session_token {
        added.push(("x-amz-security-token".into(), token.to_owned()));
    }
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    signed.push(("host".into(), host(url)));
    signed.extend(added.iter().cloned());
    let (request, signed_names) = canonical_request(method, url, &signed, payload);
    let scope = format!("{date}/{}/{}/aws4_request", key.region, key.service);
    let to_sign = format!(
        "{ALGORITHM}\n{stamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(request.as_bytes()))
    );
    let k = signing_key(key.secret_access_key, date, key.region, key.service);
    let signature = hex::encode(hmac_sha256(&k, to_sign.as_bytes()));
    added.push((
        "authorization".into(),
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_names}, Signature={signature}",
            key.access_key_id
        ),
    ));
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use time::macros::datetime;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

    #[test]
    fn the_signing_key_matches_the_aws_documentation_example() {
        let k = signing_key(SECRET, "20120215", "us-east-1", "iam");
        assert_eq!(
            hex::encode(k),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    // Cases of AWS's Signature Version 4 test suite (key AKIDEXAMPLE, us-east-1, service `service`,
    // 2015-08-30T12:36:00Z).
    #[rstest]
    #[case::get_vanilla("GET", "https://example.amazonaws.com/", &[], "", None,
        "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")]
    #[case::get_vanilla_query_order_key_case("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", &[], "", None,
        "SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")]
    #[case::post_vanilla("POST", "https://example.amazonaws.com/", &[], "", None,
        "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")]
    #[case::post_x_www_form_urlencoded("POST", "https://example.amazonaws.com/",
        &[("Content-Type", "application/x-www-form-urlencoded")], "Param1=value1", None,
        "SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")]
    #[case::post_sts_header_before("POST", "https://example.amazonaws.com/", &[], "", Some(TOKEN),
        "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead")]
    fn requests_are_signed_as_the_aws_test_suite_publishes(
        #[case] method: &str,
        #[case] url: &str,
        #[case] headers: &[(&str, &str)],
        #[case] body: &str,
        #[case] session_token: Option<&str>,
        #[case] want: &str,
    ) {
        let key = Key {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: SECRET,
            session_token,
            region: "us-east-1",
            service: "service",
        };
        let url = Url::parse(url).unwrap();
        let added = sign(
            &key,
            method,
            &url,
            headers,
            body.as_bytes(),
            datetime!(2015-08-30 12:36:00 UTC),
        );
        let (name, authorization) = added.last().unwrap();
        assert_eq!(name, "authorization");
        assert_eq!(
            authorization,
            &format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, {want}")
        );
        assert_eq!(added[0], ("x-amz-date".into(), "20150830T123600Z".into()));
    }

    #[test]
    fn the_canonical_request_has_the_documented_shape() {
        let url = Url::parse("https://example.amazonaws.com/").unwrap();
        let headers = vec![
            ("Host".to_owned(), "example.amazonaws.com".to_owned()),
            ("X-Amz-Date".to_owned(), "20150830T123600Z".to_owned()),
        ];
        let (request, signed) = canonical_request("GET", &url, &headers, b"");
        assert_eq!(
            request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(signed, "host;x-amz-date");
    }
}
