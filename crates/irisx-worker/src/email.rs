//! The email send task on the shared send loop ([`crate::dispatch`]): routes by the first recipient's domain,
//! the account's email adapter, billing per recipient (unit `email`), events `email.*`.
//!
//! Email vendors have no API to ask whether they took a message, so an unknown outcome (a timeout after the
//! request left) is reconciled as sent, never resent elsewhere: the vendor's tracking events, which carry
//! IRISX's message id, then confirm or refute it. Email is not paced; vendors queue and throttle themselves.

use std::time::Duration;

use async_trait::async_trait;
use irisx_core::CoreError;
use irisx_core::email::Attachment;
use irisx_core::email::content::EmailContent;
use irisx_core::id::TaskId;
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::model::{Event, Message, ProviderAccount, Route};
use irisx_core::sms::provider::{Accepted, ProviderError};
use irisx_core::task::SendEmailV1;
use irisx_core::usecase::Platform;
use irisx_core::usecase::accounts::email_adapter;
use irisx_core::usecase::email::{attachment_bytes, status_event};
use serde_json::json;

use crate::Outcome;
use crate::dispatch::{Channel, deliver, queued_message};

/// One email on the send loop.
struct Email {
    message: Message,
    content: EmailContent,
    /// The attachments' bytes, read once for every route tried.
    attachments: Vec<Attachment>,
}

#[async_trait]
impl Channel for Email {
    fn message(&self) -> &Message {
        &self.message
    }

    async fn routes(&self, p: &Platform) -> Result<Vec<(Route, ProviderAccount)>, CoreError> {
        let domain = self.content.to.first().map_or("", |a| a.domain());
        Ok(p.email.email_routes_for(&self.message.tenant_id, domain).await?)
    }

    async fn paced(&self, _: &Platform, _: &ProviderAccount) -> Result<Option<Duration>, CoreError> {
        Ok(None)
    }

    async fn send(
        &self,
        p: &Platform,
        account: &ProviderAccount,
    ) -> Result<Result<Accepted, ProviderError>, CoreError> {
        let provider = email_adapter(p, account)?;
        let email = self
            .content
            .outbound(self.message.id.as_str(), &self.message.tags, self.attachments.clone())
            .map_err(|e| CoreError::internal(format!("stored email content is invalid: {}", e.message)))?;
        Ok(provider.send(&email).await.map(|ok| Accepted {
            provider_message_id: ok.provider_message_id,
            status: DeliveryStatus::Sent,
            segments: None,
            raw: ok.raw,
        }))
    }

    async fn reconcile(
        &self,
        _: &Platform,
        _: &ProviderAccount,
    ) -> Result<Result<Option<Accepted>, ProviderError>, CoreError> {
        Ok(Ok(Some(Accepted {
            provider_message_id: format!("unconfirmed-{}", self.message.id),
            status: DeliveryStatus::Sent,
            segments: None,
            raw: json!({"reconciled": "the vendor has no status API; its events confirm or refute the send"}),
        })))
    }

    fn usage(&self, _: &Accepted) -> (i64, &'static str) {
        (self.content.recipients().count().max(1) as i64, "email")
    }

    fn event(&self, m: &Message, status: DeliveryStatus) -> Event {
        status_event(m, status)
    }

    async fn after_sent(&self, _: &Platform, _: &ProviderAccount, _: &str) {}
}

/// Runs one email send task.
#[tracing::instrument(skip_all, fields(message_id = %t.message_id, tenant_id = %t.tenant_id))]
pub async fn send(p: &Platform, task: &TaskId, t: &SendEmailV1) -> Result<Outcome, CoreError> {
    let message = match queued_message(p, task, &t.message_id).await? {
        Ok(m) => m,
        Err(done) => return Ok(done),
    };
    let content = p.email.get_email_content(&message.id).await?;
    let attachments = attachment_bytes(p, &message.tenant_id, &content).await?;
    let email = Email {
        message,
        content,
        attachments,
    };
    deliver(p, task, &email).await
}
