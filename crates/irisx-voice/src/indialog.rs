//! Requests inside an established call: a re-INVITE or UPDATE with a new offer moves the media to the far end's
//! new address and codec (answered with our SDP), OPTIONS is answered, INFO carrying a DTMF digit
//! (`application/dtmf-relay` `Signal=5`, or `application/dtmf`) counts as a received digit, and what the engine
//! does not do (REFER transfers, MESSAGE, NOTIFY) is refused.

use std::sync::Arc;

use rsipstack::dialog::DialogId;
use rsipstack::dialog::dialog::{DialogState, TransactionHandle};
use rsipstack::sip::{Header, Method, Request, StatusCode};

use crate::call::Phase;
use crate::engine::Inner;
use crate::sdp;

/// The DTMF key an INFO body carries.
pub fn info_digit(body: &str) -> Option<char> {
    let value = body
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Signal=")
                .or_else(|| l.trim().strip_prefix("Signal ="))
        })
        .unwrap_or(body)
        .trim();
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D') => Some(c),
        _ => None,
    }
}

impl Inner {
    /// Answers one in-dialog request the dialog layer handed over.
    pub async fn in_dialog(self: Arc<Self>, state: DialogState) {
        let (id, request, handle) = match state {
            DialogState::Updated(id, r, h) | DialogState::Options(id, r, h) | DialogState::Info(id, r, h) => (id, r, h),
            DialogState::Refer(_, _, h) | DialogState::Message(_, _, h) | DialogState::Notify(_, _, h) => {
                h.reply(StatusCode::NotImplemented).await.ok();
                return;
            }
            _ => return,
        };
        let reply = match request.method {
            Method::Options => handle.reply(StatusCode::OK).await.is_ok(),
            Method::Info => self.info(&id, &request, &handle).await,
            _ => self.reoffer(&id, &request, &handle).await,
        };
        if !reply {
            tracing::debug!(method = %request.method, "the in-dialog request ended before our answer");
        }
    }

    async fn info(&self, id: &DialogId, request: &Request, handle: &TransactionHandle) -> bool {
        let digit = info_digit(&String::from_utf8_lossy(&request.body));
        match (self.call_of_dialog(id), digit) {
            (Some(call), Some(d)) => {
                call.rtp.inject_digit(d);
                handle.reply(StatusCode::OK).await.is_ok()
            }
            (Some(_), None) => handle.reply(StatusCode::OK).await.is_ok(),
            (None, _) => handle.reply(StatusCode::CallTransactionDoesNotExist).await.is_ok(),
        }
    }

    async fn reoffer(&self, id: &DialogId, request: &Request, handle: &TransactionHandle) -> bool {
        let Some(call) = self.call_of_dialog(id).filter(|c| c.phase() == Phase::Answered) else {
            return handle.reply(StatusCode::CallTransactionDoesNotExist).await.is_ok();
        };
        let mut negotiated = call.rtp.negotiated();
        if !request.body.is_empty() {
            match sdp::parse(&String::from_utf8_lossy(&request.body)).and_then(|r| r.negotiate()) {
                Ok(n) => {
                    call.rtp.set_negotiated(n);
                    negotiated = Some(n);
                }
                Err(e) => {
                    tracing::info!(error = %e, "refused a new offer");
                    return handle.reply(StatusCode::NotAcceptableHere).await.is_ok();
                }
            }
        }
        let Some(n) = negotiated else {
            return handle.reply(StatusCode::NotAcceptableHere).await.is_ok();
        };
        let body = sdp::answer(
            self.stack.advertised,
            call.rtp.port(),
            u64::from(rand::random::<u32>()),
            &n,
        );
        let headers = vec![Header::ContentType("application/sdp".into())];
        handle
            .respond(StatusCode::OK, Some(headers), Some(body.into_bytes()))
            .await
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_info_body_yields_its_key() {
        assert_eq!(info_digit("Signal=5\r\nDuration=160\r\n"), Some('5'));
        assert_eq!(info_digit("Signal= #\r\n"), Some('#'));
        assert_eq!(info_digit("7"), Some('7'));
        assert_eq!(info_digit("Signal=55"), None);
        assert_eq!(info_digit(""), None);
    }
}
