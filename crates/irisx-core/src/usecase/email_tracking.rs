//! What email vendors report after a send, and what it changes: delivery events (delivered, bounced,
//! dropped, deferred) move the message's status through its history, forwards only; engagement events
//! (opened, clicked, spam_report, unsubscribed) are kept apart and never touch the delivery state. Every event
//! is recorded once however often the vendor retries it. A hard bounce, a spam report or an unsubscribe
//! suppresses the recipient for the tenant, in the event's transaction. Also: stats and the suppression list.

use serde_json::json;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::Platform;
use super::accounts::email_adapter;
use super::email::{READ, SEND, status_event};
use super::principal::TenantPrincipal;
use crate::email::content::Address;
use crate::email::{BounceClass, EmailEvent, EmailEventKind, TrackingOutcome};
use crate::error::CoreError;
use crate::id::{MessageId, ProviderAccountId, StatusChangeId};
use crate::page::{Page, PageRequest};
use crate::ports::email::{KindCount, Suppression, TrackingRecord};
use crate::sms::DeliveryStatus;
use crate::sms::model::{Channel, Message, StatusChange};
use crate::sms::provider::CallbackRequest;

/// The delivery status an event moves a message to; `None` for engagement events.
pub fn delivery_status(kind: &EmailEventKind) -> Option<DeliveryStatus> {
    match kind {
        EmailEventKind::Delivered => Some(DeliveryStatus::Delivered),
        EmailEventKind::Bounced { .. } | EmailEventKind::Dropped => Some(DeliveryStatus::Undelivered),
        EmailEventKind::Deferred => Some(DeliveryStatus::Sent),
        _ => None,
    }
}

/// Why an event suppresses its recipient, if it does.
pub fn suppression_reason(kind: &EmailEventKind) -> Option<&'static str> {
    match kind {
        EmailEventKind::Bounced {
            class: BounceClass::Hard,
        } => Some("hard_bounce"),
        EmailEventKind::SpamReport => Some("spam_report"),
        EmailEventKind::Unsubscribed => Some("unsubscribed"),
        _ => None,
    }
}

/// What a verified tracking webhook did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackingSummary {
    /// Events recorded for the first time.
    pub recorded: usize,
    /// Events seen before, or for messages IRISX does not know.
    pub ignored: usize,
    /// Whether a subscription was confirmed (Amazon SNS).
    pub confirmed: bool,
}

/// Verifies and applies an email vendor's tracking webhook for one of its accounts.
#[tracing::instrument(skip_all, fields(account_id = %account))]
pub async fn webhook(
    p: &Platform,
    account: &ProviderAccountId,
    req: &CallbackRequest,
) -> Result<TrackingSummary, CoreError> {
    let account = p.messaging.get_provider_account_any(account).await?;
    if account.channel != Channel::Email {
        return Err(CoreError::NotFound {
            resource: "email provider account",
        });
    }
    let provider = email_adapter(p, &account)?;
    let mut summary = TrackingSummary::default();
    let events = match provider.verify_and_parse_events(req).await.map_err(CoreError::from)? {
        TrackingOutcome::ConfirmSubscription(c) => {
            provider
                .confirm_subscription(&c)
                .await
                .map_err(|e| CoreError::Unprocessable(format!("the subscription could not be confirmed: {e}")))?;
            summary.confirmed = true;
            return Ok(summary);
        }
        TrackingOutcome::Events(events) => events,
    };
    for e in events {
        let message = find_message(p, &account.id, &e).await?;
        let recorded = match message {
            Some(m) => record(p, &m, &e, req.received_at).await?,
            None => false,
        };
        if recorded {
            summary.recorded += 1;
        } else {
            summary.ignored += 1;
        }
    }
    Ok(summary)
}

/// The message an event is about: by IRISX's id when the vendor echoed it (and the message went out through
/// this account), else by the vendor's id.
async fn find_message(p: &Platform, account: &ProviderAccountId, e: &EmailEvent) -> Result<Option<Message>, CoreError> {
    if let Some(id) = e.message_id.as_deref().and_then(|s| s.parse::<MessageId>().ok()) {
        match p.messaging.get_message_any(&id).await {
            Ok(m) if m.account_id.as_ref() == Some(account) => return Ok(Some(m)),
            Ok(_) | Err(crate::ports::store::StoreError::NotFound(_)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    match &e.provider_message_id {
        Some(pid) => Ok(p.messaging.find_message_by_provider_id(account, pid).await?),
        None => Ok(None),
    }
}

fn dedupe_key(e: &EmailEvent) -> String {
    match &e.provider_event_id {
        Some(id) => format!("{id}:{}", e.recipient.to_lowercase()),
        None => {
            let digest =
                Sha256::digest(format!("{}|{}|{}", e.recipient.to_lowercase(), e.kind.as_str(), e.raw).as_bytes());
            hex::encode(&digest[..16])
        }
    }
}

/// Records one event (once), suppresses its recipient when it must, and moves the delivery state.
async fn record(p: &Platform, m: &Message, e: &EmailEvent, received_at: OffsetDateTime) -> Result<bool, CoreError> {
    let occurred_at = e.occurred_at.unwrap_or(received_at);
    let url = match &e.kind {
        EmailEventKind::Clicked { url } => Some(url.clone()),
        _ => None,
    };
    let recipient = e.recipient.trim().to_lowercase();
    let record = TrackingRecord {
        tenant_id: m.tenant_id.clone(),
        message_id: m.id.clone(),
        recipient: recipient.clone(),
        kind: e.kind.as_str().to_owned(),
        dedupe_key: dedupe_key(e),
        url,
        reason: e.reason.clone(),
        raw: e.raw.clone(),
        occurred_at,
    };
    let suppression = suppression_reason(&e.kind).map(|reason| Suppression {
        tenant_id: m.tenant_id.clone(),
        address: recipient,
        reason: reason.to_owned(),
        message_id: Some(m.id.clone()),
        created_at: OffsetDateTime::now_utc(),
    });
    if !p.email.record_tracking(&record, suppression.as_ref()).await? {
        return Ok(false);
    }
    if let Some(status) = delivery_status(&e.kind) {
        let current = p.messaging.get_message_any(&m.id).await?;
        let applied = current.status.may_become(status);
        let change = StatusChange {
            id: StatusChangeId::new(),
            message_id: m.id.clone(),
            tenant_id: m.tenant_id.clone(),
            status,
            provider_status: Some(e.kind.as_str().to_owned()),
            error_code: e.reason.clone().filter(|_| status == DeliveryStatus::Undelivered),
            applied,
            raw: json!({"recipient": e.recipient, "event": e.raw}),
            occurred_at,
        };
        let event = applied.then(|| status_event(&current, status));
        p.messaging.apply_status_change(&change, event.as_ref()).await?;
    }
    Ok(true)
}

/// Tracking counts for a period, or for one message.
#[derive(Debug, Clone)]
pub struct EmailStats {
    /// Emails created in the period (for one message: 1).
    pub emails: i64,
    /// Events by kind.
    pub counts: Vec<KindCount>,
}

/// The caller's email stats over a period, or for one of its messages.
pub async fn stats(
    p: &Platform,
    by: &TenantPrincipal,
    message: Option<&MessageId>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<EmailStats, CoreError> {
    by.authorize(READ)?;
    if to <= from {
        return Err(CoreError::field("to", "out_of_range", "`to` must be after `from`"));
    }
    let emails = match message {
        Some(id) => {
            let m = p.messaging.get_message(by.tenant_id(), id).await?;
            if m.channel != Channel::Email {
                return Err(CoreError::NotFound { resource: "email" });
            }
            1
        }
        None => p.email.count_emails(by.tenant_id(), from, to).await?,
    };
    let (from, to) = match message {
        Some(_) => (
            OffsetDateTime::UNIX_EPOCH,
            OffsetDateTime::now_utc() + time::Duration::days(1),
        ),
        None => (from, to),
    };
    let counts = p.email.tracking_counts(by.tenant_id(), message, from, to).await?;
    Ok(EmailStats { emails, counts })
}

/// The caller's suppressions, by address. The cursor is the hex of the last address.
pub async fn list_suppressions(
    p: &Platform,
    by: &TenantPrincipal,
    page: &PageRequest,
) -> Result<Page<Suppression>, CoreError> {
    by.authorize(READ)?;
    let cursor = match &page.cursor {
        Some(c) => Some(
            hex::decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    CoreError::field("cursor", "invalid_cursor", "the cursor is not one this API returned")
                })?,
        ),
        None => None,
    };
    let page = PageRequest {
        cursor,
        limit: page.limit,
    };
    let mut out = p.email.list_suppressions(by.tenant_id(), &page).await?;
    out.next_cursor = out.next_cursor.map(hex::encode);
    Ok(out)
}

/// Suppresses an address by hand.
pub async fn add_suppression(p: &Platform, by: &TenantPrincipal, address: &str) -> Result<Suppression, CoreError> {
    by.authorize(SEND)?;
    let address = Address::parse("address", address).map_err(|e| CoreError::Validation(vec![e]))?;
    let s = Suppression {
        tenant_id: by.tenant_id().clone(),
        address: address.email,
        reason: "manual".into(),
        message_id: None,
        created_at: OffsetDateTime::now_utc(),
    };
    p.email.add_suppression(&s).await?;
    Ok(s)
}

/// Lifts a suppression; `NotFound` when the address was not suppressed.
pub async fn remove_suppression(p: &Platform, by: &TenantPrincipal, address: &str) -> Result<(), CoreError> {
    by.authorize(SEND)?;
    let address = Address::parse("address", address).map_err(|_| CoreError::NotFound {
        resource: "suppression",
    })?;
    if p.email.remove_suppression(by.tenant_id(), &address.email).await? {
        Ok(())
    } else {
        Err(CoreError::NotFound {
            resource: "suppression",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hard_bounces_complaints_and_unsubscribes_suppress() {
        let hard = EmailEventKind::Bounced {
            class: BounceClass::Hard,
        };
        let soft = EmailEventKind::Bounced {
            class: BounceClass::Soft,
        };
        assert_eq!(suppression_reason(&hard), Some("hard_bounce"));
        assert_eq!(suppression_reason(&soft), None);
        assert_eq!(suppression_reason(&EmailEventKind::SpamReport), Some("spam_report"));
        assert_eq!(suppression_reason(&EmailEventKind::Unsubscribed), Some("unsubscribed"));
        assert_eq!(suppression_reason(&EmailEventKind::Delivered), None);
    }

    #[test]
    fn engagement_never_moves_the_delivery_state() {
        for k in [
            EmailEventKind::Opened,
            EmailEventKind::SpamReport,
            EmailEventKind::Unsubscribed,
        ] {
            assert_eq!(delivery_status(&k), None);
        }
        assert_eq!(
            delivery_status(&EmailEventKind::Clicked {
                url: "https://x.example".into()
            }),
            None
        );
        assert_eq!(
            delivery_status(&EmailEventKind::Delivered),
            Some(DeliveryStatus::Delivered)
        );
        assert_eq!(
            delivery_status(&EmailEventKind::Dropped),
            Some(DeliveryStatus::Undelivered)
        );
    }
}
