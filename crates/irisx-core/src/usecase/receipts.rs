//! What providers post back: delivery receipts and inbound messages, each verified with the account's own
//! signature scheme before anything changes. Inbound keywords opt senders out and in; the match is the
//! whole message after trimming and case folding, never a substring.

use serde_json::json;
use time::OffsetDateTime;

use super::Platform;
use super::accounts::adapter;
use super::sms::event_data;
use crate::error::CoreError;
use crate::id::{MessageId, ProviderAccountId, StatusChangeId};
use crate::sms::model::{Channel, Direction, Event, Message, OptOut, StatusChange};
use crate::sms::provider::{CallbackRequest, StatusUpdate};
use crate::sms::{DeliveryStatus, segments};

/// Words that opt the sender out of the tenant's messages.
pub const STOP_WORDS: &[&str] = &["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
/// Words that opt the sender back in.
pub const START_WORDS: &[&str] = &["START", "UNSTOP", "YES"];
/// The HELP answer of a number without its own.
pub const DEFAULT_HELP: &str = "Reply STOP to unsubscribe. Msg&data rates may apply.";
/// The word that asks for help.
pub const HELP_WORD: &str = "HELP";

/// Applies a verified delivery-receipt callback; returns how many receipts changed a message. A receipt for
/// a send not recorded yet (the provider answered faster than the send's commit) is parked, and applied by
/// whichever of this handler and the worker sees both.
pub async fn status(p: &Platform, account: &ProviderAccountId, req: &CallbackRequest) -> Result<usize, CoreError> {
    let account = p.messaging.get_provider_account_any(account).await?;
    let provider = adapter(p, &account)?;
    provider.verify(req).map_err(CoreError::from)?;
    let updates = provider.parse_status(req).map_err(CoreError::from)?;
    let mut applied = 0;
    for u in updates {
        let pid = u.provider_message_id.clone();
        match p.messaging.find_message_by_provider_id(&account.id, &pid).await? {
            Some(message) => applied += usize::from(apply_receipt(p, &message, &u, req.received_at).await?),
            None => {
                p.messaging.park_receipt(&account.id, &u, req.received_at).await?;
                // The send may have been recorded meanwhile, after the worker looked for parked receipts.
                applied += apply_parked(p, &account.id, &pid).await?;
            }
        }
    }
    Ok(applied)
}

/// Applies the receipts parked for a send once the send is recorded; returns how many changed the message.
pub async fn apply_parked(
    p: &Platform,
    account: &ProviderAccountId,
    provider_message_id: &str,
) -> Result<usize, CoreError> {
    let Some(message) = p
        .messaging
        .find_message_by_provider_id(account, provider_message_id)
        .await?
    else {
        return Ok(0);
    };
    let mut applied = 0;
    for (u, received_at) in p.messaging.take_parked_receipts(account, provider_message_id).await? {
        let current = p.messaging.get_message_any(&message.id).await?;
        applied += usize::from(apply_receipt(p, &current, &u, received_at).await?);
    }
    Ok(applied)
}

/// Records one receipt in the message's history; moves its status (with the event) only forwards.
async fn apply_receipt(
    p: &Platform,
    message: &Message,
    u: &StatusUpdate,
    received_at: OffsetDateTime,
) -> Result<bool, CoreError> {
    let may = message.status.may_become(u.status);
    let change = StatusChange {
        id: StatusChangeId::new(),
        message_id: message.id.clone(),
        tenant_id: message.tenant_id.clone(),
        status: u.status,
        provider_status: Some(u.provider_status.clone()),
        error_code: u.error_code.clone(),
        applied: may,
        raw: u.raw.clone(),
        occurred_at: u.occurred_at.unwrap_or(received_at),
    };
    let event = may.then(|| {
        let mut after = message.clone();
        after.status = u.status;
        after.error_code = u.error_code.clone().or(after.error_code);
        Event::now(
            &message.tenant_id,
            &format!("message.{}", u.status.as_str()),
            message.id.as_str(),
            event_data(&after),
        )
        .with_callback(message.status_callback.clone())
    });
    Ok(p.messaging.apply_status_change(&change, event.as_ref()).await?)
}

/// What an inbound keyword did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// The sender opted out.
    OptedOut,
    /// The sender opted back in.
    OptedIn,
    /// The sender asked for help; the answer was queued.
    Help,
    /// An ordinary message.
    None,
}

/// The keyword a whole message is, if any.
pub fn keyword(body: &str) -> Keyword {
    let word = body.trim().to_uppercase();
    if STOP_WORDS.contains(&word.as_str()) {
        Keyword::OptedOut
    } else if START_WORDS.contains(&word.as_str()) {
        Keyword::OptedIn
    } else if word == HELP_WORD {
        Keyword::Help
    } else {
        Keyword::None
    }
}

/// Stores a verified inbound message for the tenant holding its number, and acts on keywords.
pub async fn inbound(
    p: &Platform,
    account: &ProviderAccountId,
    req: &CallbackRequest,
) -> Result<(Message, Keyword), CoreError> {
    let account = p.messaging.get_provider_account_any(account).await?;
    let provider = adapter(p, &account)?;
    provider.verify(req).map_err(CoreError::from)?;
    let sms = provider.parse_inbound(req).map_err(CoreError::from)?;
    let number = p.messaging.find_phone_number(&sms.to).await?;
    let Some((number, tenant)) = number.and_then(|n| n.tenant_id.clone().map(|t| (n, t))) else {
        return Err(CoreError::NotFound {
            resource: "phone number",
        });
    };
    let now = OffsetDateTime::now_utc();
    let seg = segments(&sms.body);
    let message = Message {
        id: MessageId::new(),
        tenant_id: tenant.clone(),
        channel: Channel::Sms,
        direction: Direction::Inbound,
        from: sms.from.clone(),
        to: sms.to.clone(),
        body: sms.body.clone(),
        media_urls: sms.media.iter().map(|m| m.url.clone()).collect(),
        segments: seg.count,
        encoding: Some(seg.encoding),
        status: DeliveryStatus::Received,
        status_callback: None,
        validity_period: None,
        send_at: None,
        tags: Vec::new(),
        metadata: json!({}),
        account_id: Some(account.id.clone()),
        provider_message_id: Some(sms.provider_message_id.clone()),
        error_code: None,
        error_message: None,
        price_micros: None,
        currency: None,
        created_at: now,
        updated_at: now,
    };
    let kw = keyword(&sms.body);
    let mut data = event_data(&message);
    data["body"] = json!(message.body);
    data["keyword"] = json!(format!("{kw:?}").to_lowercase());
    let event = Event::now(&tenant, "message.received", message.id.as_str(), data);
    p.messaging.create_inbound_message(&message, &event).await?;
    match kw {
        Keyword::OptedOut => {
            let o = OptOut {
                tenant_id: tenant.clone(),
                number: sms.from.clone(),
                source: "keyword".into(),
                created_at: now,
            };
            p.messaging.add_opt_out(&o).await?;
        }
        Keyword::OptedIn => {
            p.messaging.remove_opt_out(&tenant, &sms.from).await?;
        }
        Keyword::Help => {
            let text = number.help_text.clone().unwrap_or_else(|| DEFAULT_HELP.to_owned());
            super::sms::reply(p, &tenant, &number.number, &sms.from, text).await?;
        }
        Keyword::None => {}
    }
    Ok((message, kw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_whole_message_is_a_keyword() {
        assert_eq!(keyword("STOP"), Keyword::OptedOut);
        assert_eq!(keyword("  stop \n"), Keyword::OptedOut);
        assert_eq!(keyword("Unsubscribe"), Keyword::OptedOut);
        assert_eq!(keyword("please stop"), Keyword::None);
        assert_eq!(keyword("stop it"), Keyword::None);
        assert_eq!(keyword("start"), Keyword::OptedIn);
        assert_eq!(keyword("YES"), Keyword::OptedIn);
        assert_eq!(keyword("help"), Keyword::Help);
        assert_eq!(keyword("helpful"), Keyword::None);
    }
}
