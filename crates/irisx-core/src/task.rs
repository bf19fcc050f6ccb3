//! Versioned tasks carried from the outbox to the workers.
//!
//! A task's shape never changes once released: a new shape is a new variant (`...V2`) and the worker keeps
//! handling the old one until no outbox row of it remains. The serialized form is tagged by `type`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id::{TaskId, TenantId};

/// A queue subject: one work stream per kind of task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Subject {
    /// Outbound SMS.
    #[serde(rename = "sms.send")]
    SmsSend,
    /// Outbound email.
    #[serde(rename = "email.send")]
    EmailSend,
    /// Outbound WhatsApp.
    #[serde(rename = "whatsapp.send")]
    WhatsappSend,
    /// Outbound chat (Discord, Slack, Teams, Telegram).
    #[serde(rename = "social.send")]
    SocialSend,
    /// Webhook deliveries.
    #[serde(rename = "webhook.trigger")]
    WebhookTrigger,
    /// Call origination.
    #[serde(rename = "call.create")]
    CallCreate,
    /// Call detail records.
    #[serde(rename = "cdr.create")]
    CdrCreate,
    /// Platform maintenance: tenant purges and the like.
    #[serde(rename = "platform.maintenance")]
    PlatformMaintenance,
}

impl Subject {
    /// Every subject.
    pub const ALL: &'static [Subject] = &[
        Subject::SmsSend,
        Subject::EmailSend,
        Subject::WhatsappSend,
        Subject::SocialSend,
        Subject::WebhookTrigger,
        Subject::CallCreate,
        Subject::CdrCreate,
        Subject::PlatformMaintenance,
    ];

    /// The subject's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::SmsSend => "sms.send",
            Subject::EmailSend => "email.send",
            Subject::WhatsappSend => "whatsapp.send",
            Subject::SocialSend => "social.send",
            Subject::WebhookTrigger => "webhook.trigger",
            Subject::CallCreate => "call.create",
            Subject::CdrCreate => "cdr.create",
            Subject::PlatformMaintenance => "platform.maintenance",
        }
    }

    /// Parses a subject name.
    pub fn parse(name: &str) -> Option<Subject> {
        Subject::ALL.iter().copied().find(|s| s.as_str() == name)
    }
}

/// Every task, tagged and versioned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Task {
    /// Delete every row a deleted tenant owns.
    #[serde(rename = "tenant.purge.v1")]
    TenantPurgeV1(TenantPurgeV1),
    /// Hand one outbound SMS to a provider.
    #[serde(rename = "sms.send.v1")]
    SendSmsV1(SendSmsV1),
    /// Make the next attempt of one webhook delivery.
    #[serde(rename = "webhook.deliver.v1")]
    DeliverWebhookV1(DeliverWebhookV1),
    /// Hand one outbound email to a provider.
    #[serde(rename = "email.send.v1")]
    SendEmailV1(SendEmailV1),
    /// Place one queued outbound call through the voice engine.
    #[serde(rename = "call.create.v1")]
    CreateCallV1(CreateCallV1),
    /// Rate one ended call: duration, billable seconds, cost and price, usage, `call.completed`.
    #[serde(rename = "cdr.create.v1")]
    CreateCdrV1(CreateCdrV1),
}

impl Task {
    /// The subject the task travels on.
    pub fn subject(&self) -> Subject {
        match self {
            Task::TenantPurgeV1(_) => Subject::PlatformMaintenance,
            Task::SendSmsV1(_) => Subject::SmsSend,
            Task::DeliverWebhookV1(_) => Subject::WebhookTrigger,
            Task::SendEmailV1(_) => Subject::EmailSend,
            Task::CreateCallV1(_) => Subject::CallCreate,
            Task::CreateCdrV1(_) => Subject::CdrCreate,
        }
    }

    /// The tenant the task concerns, if any (for logs and fairness).
    pub fn tenant_id(&self) -> Option<&TenantId> {
        match self {
            Task::TenantPurgeV1(t) => Some(&t.tenant_id),
            Task::SendSmsV1(t) => Some(&t.tenant_id),
            Task::DeliverWebhookV1(t) => Some(&t.tenant_id),
            Task::SendEmailV1(t) => Some(&t.tenant_id),
            Task::CreateCallV1(t) => Some(&t.tenant_id),
            Task::CreateCdrV1(t) => Some(&t.tenant_id),
        }
    }
}

/// Delete every row of a tenant that was marked `deleting`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantPurgeV1 {
    /// The tenant to purge.
    pub tenant_id: TenantId,
}

/// Make the next attempt of one webhook delivery (one event to one endpoint or status callback URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverWebhookV1 {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The delivery.
    pub delivery_id: crate::id::WebhookDeliveryId,
}

/// Hand one outbound SMS to a provider: route, send, retry, fail over, reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendSmsV1 {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The message.
    pub message_id: crate::id::MessageId,
}

/// Hand one outbound email to a provider: route by recipient domain, send, retry, fail over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEmailV1 {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The message.
    pub message_id: crate::id::MessageId,
}

/// Place one queued outbound call: route it over the trunks, originate, and run its document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCallV1 {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The call.
    pub call_id: crate::id::CallId,
}

/// Rate one ended call and record its usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCdrV1 {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The call.
    pub call_id: crate::id::CallId,
}

/// A task on its way into the outbox, written in the same transaction as the change that causes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// Its stable id: the queue's de-duplication id and the worker's idempotency key.
    pub id: TaskId,
    /// The task.
    pub task: Task,
    /// Not before this time (scheduled sends).
    pub available_at: OffsetDateTime,
}

impl NewTask {
    /// A task to run now.
    pub fn now(task: Task) -> Self {
        Self::at(task, OffsetDateTime::now_utc())
    }

    /// A task to run at a given time.
    pub fn at(task: Task, available_at: OffsetDateTime) -> Self {
        Self {
            id: TaskId::new(),
            task,
            available_at,
        }
    }

    /// The relay's fairness lane: `<subject> <tenant id>`, or `<subject> ` for a platform task.
    pub fn lane(&self) -> String {
        let tenant = self.task.tenant_id().map_or("", |t| t.as_str());
        format!("{} {tenant}", self.task.subject().as_str())
    }
}

/// Where a task stands in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskState {
    /// Waiting to be published, or published and not yet done.
    Pending,
    /// Done: its effect is recorded; a redelivery must do nothing.
    Completed,
    /// Given up: its failure is recorded; a redelivery must do nothing.
    Failed,
}

/// An outbox row claimed by the relay for publishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The task id.
    pub id: TaskId,
    /// The subject.
    pub subject: Subject,
    /// The serialized [`Task`].
    pub payload: String,
    /// How many times it has been published.
    pub attempts: u32,
    /// How many times it was rescheduled; part of its de-duplication id, so a rescheduled run is not dropped
    /// as a repeat of the previous one.
    pub generation: u32,
}

impl OutboxEntry {
    /// The queue's de-duplication id: the task id, then `:<generation>` once it has been rescheduled.
    pub fn delivery_id(&self) -> String {
        delivery_id(&self.id, self.generation)
    }
}

/// The queue message id of a task's generation: the task id, then `:<generation>` once it has been rescheduled.
pub fn delivery_id(task: &TaskId, generation: u32) -> String {
    if generation == 0 {
        task.to_string()
    } else {
        format!("{task}:{generation}")
    }
}

/// The task id inside a queue message id (see [`delivery_id`]).
pub fn task_of_delivery(id: &str) -> Result<TaskId, crate::id::IdParseError> {
    id.split_once(':').map_or(id, |(task, _)| task).parse()
}

/// Outbox figures for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OutboxStats {
    /// Rows due and not yet published.
    pub unpublished: u64,
    /// Rows published and not yet done.
    pub in_flight: u64,
    /// Age in seconds of the oldest due, unpublished row.
    pub oldest_unpublished_secs: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_serialize_with_a_versioned_type_tag_and_round_trip() {
        let t = Task::TenantPurgeV1(TenantPurgeV1 {
            tenant_id: TenantId::new(),
        });
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["type"], "tenant.purge.v1");
        assert_eq!(serde_json::from_value::<Task>(json).unwrap(), t);
        assert_eq!(t.subject().as_str(), "platform.maintenance");
    }

    #[test]
    fn a_rescheduled_generation_has_its_own_delivery_id_that_leads_back_to_the_task() {
        let id = TaskId::new();
        assert_eq!(delivery_id(&id, 0), id.to_string());
        let second = delivery_id(&id, 2);
        assert_eq!(second, format!("{id}:2"));
        assert_eq!(task_of_delivery(&second).unwrap(), id);
        assert_eq!(task_of_delivery(id.as_str()).unwrap(), id);
        assert!(task_of_delivery("nonsense:1").is_err());
    }

    #[test]
    fn every_subject_parses_back_from_its_name() {
        for s in Subject::ALL {
            assert_eq!(Subject::parse(s.as_str()), Some(*s));
        }
    }
}
