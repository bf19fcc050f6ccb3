//! Fixtures for the messaging cases: accounts, routes, numbers, messages, attempts and records (not stored).

use irisx_core::id::{AttemptId, EventId, MessageId, PhoneNumberId, ProviderAccountId, RouteId, TenantId, UsageId};
use irisx_core::ports::messaging::SentRecord;
use irisx_core::sms::model::{
    Attempt, AttemptOutcome, Channel, Direction, Event, Message, PhoneNumber, ProviderAccount, Route, SenderType,
    UsageRecord,
};
use irisx_core::sms::provider::ProviderKind;
use irisx_core::sms::{DeliveryStatus, Encoding};
use irisx_core::task::{NewTask, Task, TenantPurgeV1};
use serde_json::json;

use super::{audit, now};
use irisx_core::audit::AuditEntry;

/// An audit entry for a messaging change.
pub fn msg_audit(tenant: Option<&TenantId>) -> AuditEntry {
    audit(tenant, "messaging.changed")
}

/// An enabled sandbox account of `tenant` (the platform's with `None`).
pub fn account(tenant: Option<&TenantId>) -> ProviderAccount {
    ProviderAccount {
        id: ProviderAccountId::new(),
        tenant_id: tenant.cloned(),
        kind: ProviderKind::Sandbox,
        channel: irisx_core::sms::model::Channel::Sms,
        name: "sandbox".into(),
        sealed_credentials: "sealed:v1:abc".into(),
        base_url: None,
        enabled: true,
        created_at: now(),
    }
}

/// An enabled route of `tenant` over `account`.
pub fn route(tenant: Option<&TenantId>, account: &ProviderAccountId, prefix: &str, cost: i64, priority: i32) -> Route {
    Route {
        id: RouteId::new(),
        tenant_id: tenant.cloned(),
        prefix: prefix.into(),
        account_id: account.clone(),
        cost_micros: cost,
        currency: "USD".into(),
        priority,
        enabled: true,
        created_at: now(),
    }
}

/// A long code held by `tenant` (the pool's with `None`).
pub fn number(tenant: Option<&TenantId>, account: Option<&ProviderAccountId>, text: &str) -> PhoneNumber {
    PhoneNumber {
        pool: None,
        voice_url: None,
        id: PhoneNumberId::new(),
        tenant_id: tenant.cloned(),
        number: text.into(),
        account_id: account.cloned(),
        sender_type: SenderType::LongCode,
        capabilities: vec!["sms".into(), "mms".into()],
        help_text: None,
        created_at: now(),
        updated_at: now(),
    }
}

/// A queued outbound SMS of `tenant` to `to`, tagged `tags`.
pub fn message(tenant: &TenantId, to: &str, tags: &[&str]) -> Message {
    Message {
        id: MessageId::new(),
        tenant_id: tenant.clone(),
        channel: Channel::Sms,
        direction: Direction::Outbound,
        from: "+15550000001".into(),
        to: to.into(),
        body: "hello".into(),
        media_urls: vec![],
        segments: 1,
        encoding: Some(Encoding::Gsm7),
        status: DeliveryStatus::Queued,
        status_callback: Some("https://example.com/cb".into()),
        validity_period: Some(3600),
        send_at: None,
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        metadata: json!({"order": 7}),
        account_id: None,
        provider_message_id: None,
        error_code: None,
        error_message: None,
        price_micros: None,
        currency: None,
        created_at: now(),
        updated_at: now(),
    }
}

/// An event of `tenant`.
pub fn event(tenant: &TenantId, event_type: &str, resource: &str) -> Event {
    Event {
        id: EventId::new(),
        tenant_id: tenant.clone(),
        event_type: event_type.into(),
        resource_id: resource.into(),
        data: json!({"k": "v"}),
        occurred_at: now(),
        callback_url: None,
    }
}

/// A send task due now (its payload is a stand-in: the store never reads it).
pub fn send_task() -> NewTask {
    NewTask::now(Task::TenantPurgeV1(TenantPurgeV1 {
        tenant_id: TenantId::new(),
    }))
}

/// An attempt on `m` through `account`.
pub fn attempt(m: &Message, account: &ProviderAccountId, outcome: AttemptOutcome) -> Attempt {
    Attempt {
        id: AttemptId::new(),
        message_id: m.id.clone(),
        tenant_id: m.tenant_id.clone(),
        account_id: account.clone(),
        provider: ProviderKind::Sandbox,
        started_at: now(),
        latency_ms: 42,
        outcome,
        code: Some("202".into()),
        detail: None,
    }
}

/// A usage record of `tenant`.
pub fn usage(tenant: &TenantId, channel: Channel, quantity: i64, price: i64, currency: &str) -> UsageRecord {
    UsageRecord {
        id: UsageId::new(),
        tenant_id: tenant.clone(),
        channel,
        resource_id: "msg".into(),
        quantity,
        unit: "segment".into(),
        cost_micros: price / 2,
        price_micros: price,
        currency: currency.into(),
        created_at: now(),
    }
}

/// The accepted send of `m` through `account` under `provider_id`.
pub fn sent(m: &Message, account: &ProviderAccountId, provider_id: &str) -> SentRecord {
    SentRecord {
        attempt: attempt(m, account, AttemptOutcome::Accepted),
        provider_message_id: provider_id.into(),
        status: DeliveryStatus::Sent,
        price_micros: 7_500,
        currency: "USD".into(),
        usage: usage(&m.tenant_id, Channel::Sms, 1, 7_500, "USD"),
        event: event(&m.tenant_id, "message.sent", m.id.as_str()),
    }
}
