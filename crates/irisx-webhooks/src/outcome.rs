//! The one place an answer is classified: 2xx delivered, 410 gone, 429 and 5xx failed with the receiver's
//! `Retry-After`, anything else (3xx, other 4xx) failed on the schedule.

use std::time::{Duration, SystemTime};

use irisx_core::ports::webhooks::WebhookOutcome;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The outcome of an attempt that got an answer with this status.
pub(crate) fn classify(status: StatusCode, headers: &HeaderMap, now: SystemTime) -> WebhookOutcome {
    if status.is_success() {
        WebhookOutcome::Delivered
    } else if status == StatusCode::GONE {
        WebhookOutcome::Gone
    } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        WebhookOutcome::Failed {
            retry_after: retry_after(headers, now),
        }
    } else {
        WebhookOutcome::Failed { retry_after: None }
    }
}

/// `Retry-After` as delay seconds or an HTTP date; a date already past asks for no wait.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    httpdate::parse_http_date(value).ok()?.duration_since(now).ok()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, value.parse().unwrap());
        headers
    }

    #[rstest]
    #[case(200, WebhookOutcome::Delivered)]
    #[case(201, WebhookOutcome::Delivered)]
    #[case(204, WebhookOutcome::Delivered)]
    #[case(410, WebhookOutcome::Gone)]
    #[case(301, WebhookOutcome::Failed { retry_after: None })]
    #[case(302, WebhookOutcome::Failed { retry_after: None })]
    #[case(400, WebhookOutcome::Failed { retry_after: None })]
    #[case(404, WebhookOutcome::Failed { retry_after: None })]
    #[case(429, WebhookOutcome::Failed { retry_after: Some(Duration::from_secs(7)) })]
    #[case(500, WebhookOutcome::Failed { retry_after: Some(Duration::from_secs(7)) })]
    #[case(503, WebhookOutcome::Failed { retry_after: Some(Duration::from_secs(7)) })]
    fn each_status_has_one_outcome_and_only_429_and_5xx_keep_retry_after(
        #[case] status: u16,
        #[case] expected: WebhookOutcome,
    ) {
        let status = StatusCode::from_u16(status).unwrap();
        assert_eq!(classify(status, &with_retry_after("7"), SystemTime::now()), expected);
    }

    #[rstest]
    #[case("7", Some(7))]
    #[case(" 120 ", Some(120))]
    #[case("Sun, 06 Nov 1994 08:50:37 GMT", Some(60))]
    #[case("Sunday, 06-Nov-94 08:50:37 GMT", Some(60))]
    #[case("Sun Nov  6 08:50:37 1994", Some(60))]
    #[case("Sun, 06 Nov 1994 08:48:37 GMT", None)]
    #[case("-5", None)]
    #[case("soon", None)]
    fn retry_after_reads_seconds_and_http_dates(#[case] value: &str, #[case] seconds: Option<u64>) {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            retry_after(&with_retry_after(value), now),
            seconds.map(Duration::from_secs)
        );
    }

    #[test]
    fn a_missing_retry_after_gives_none() {
        assert_eq!(retry_after(&HeaderMap::new(), SystemTime::now()), None);
    }
}
