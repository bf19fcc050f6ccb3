//! The documented payloads of events: what `GET /v1/events` lists and every webhook POST carries. These
//! types exist for the OpenAPI document; the payloads themselves are built in core, and a test checks that
//! each real payload has exactly these fields.

use irisx_core::id::{EventId, MessageId, TenantId, WebhookEndpointId};
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::model::{Channel, Direction};
use utoipa::ToSchema;

/// The body of every webhook, and an item of `GET /v1/events`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookPayload {
    /// The event's id; also the `webhook-id` header, the same on every attempt.
    id: EventId,
    /// The event type, which decides the shape of `data`.
    #[schema(rename = "type")]
    event_type: EventType,
    /// The tenant.
    tenant_id: TenantId,
    /// When it happened (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    occurred_at: String,
    /// The payload of its type.
    data: EventData,
}

/// Every event type IRISX emits.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum EventType {
    /// A message was accepted. `data`: [`MessageEventData`].
    #[schema(rename = "message.queued")]
    MessageQueued,
    /// A provider accepted the message. `data`: [`MessageEventData`].
    #[schema(rename = "message.sent")]
    MessageSent,
    /// The handset received it. `data`: [`MessageEventData`].
    #[schema(rename = "message.delivered")]
    MessageDelivered,
    /// The carrier could not deliver it. `data`: [`MessageEventData`].
    #[schema(rename = "message.undelivered")]
    MessageUndelivered,
    /// It failed before reaching a carrier. `data`: [`MessageEventData`].
    #[schema(rename = "message.failed")]
    MessageFailed,
    /// A scheduled message was canceled. `data`: [`MessageEventData`].
    #[schema(rename = "message.canceled")]
    MessageCanceled,
    /// An inbound message arrived. `data`: [`MessageEventData`] with `body`.
    #[schema(rename = "message.received")]
    MessageReceived,
    /// IRISX disabled an endpoint. `data`: [`EndpointDisabledData`].
    #[schema(rename = "webhook.endpoint.disabled")]
    EndpointDisabled,
    /// A test event sent from `/v1/webhooks/{id}/test`. `data`: [`TestEventData`].
    #[schema(rename = "webhook.test")]
    WebhookTest,
}

/// The `data` of an event, by type.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum EventData {
    /// `message.*`.
    Message(MessageEventData),
    /// `webhook.endpoint.disabled`.
    EndpointDisabled(EndpointDisabledData),
    /// `webhook.test`.
    Test(TestEventData),
}

/// The `data` of `message.*` events: the message as it is after the event.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MessageEventData {
    /// The message.
    id: MessageId,
    /// `sms`, ...
    channel: Channel,
    /// `outbound` or `inbound`.
    direction: Direction,
    /// The sender.
    from: String,
    /// The recipient.
    to: String,
    /// The status after this event.
    status: DeliveryStatus,
    /// Billable segments.
    segments: u32,
    /// The provider's error code, on failures.
    error_code: Option<String>,
    /// The message's tags.
    tags: Vec<String>,
    /// The message's metadata.
    #[schema(value_type = Object)]
    metadata: serde_json::Value,
    /// `message.received` only: the text.
    body: Option<String>,
    /// `message.received` only: `optedout`, `optedin`, `help` or `none`.
    keyword: Option<String>,
}

/// The `data` of `webhook.endpoint.disabled`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EndpointDisabledData {
    /// The endpoint.
    endpoint_id: WebhookEndpointId,
    /// Its URL.
    url: String,
    /// Why: a 410 answer, or failing for too long.
    reason: String,
}

/// The `data` of `webhook.test`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TestEventData {
    /// The endpoint tested.
    endpoint_id: WebhookEndpointId,
    /// A fixed sentence.
    message: String,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use irisx_core::id::TenantId;
    use irisx_core::usecase::sms::{event_data, outbound};
    use utoipa::PartialSchema;

    use super::*;

    fn documented<T: PartialSchema>() -> BTreeSet<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["properties"].as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn the_documented_message_data_has_exactly_the_fields_of_the_real_payload() {
        let m = outbound(
            &TenantId::new(),
            "+15550001000",
            "+14155550123",
            "hi".into(),
            time::OffsetDateTime::now_utc(),
        );
        let real: BTreeSet<String> = event_data(&m).as_object().unwrap().keys().cloned().collect();
        let mut inbound_only = documented::<MessageEventData>();
        inbound_only.retain(|k| !real.contains(k));
        assert_eq!(inbound_only, BTreeSet::from(["body".to_owned(), "keyword".to_owned()]));
        assert!(real.is_subset(&documented::<MessageEventData>()));
    }

    #[test]
    fn the_envelope_documents_the_fields_every_webhook_carries() {
        let body = irisx_core::sms::model::Event::now(&TenantId::new(), "webhook.test", "ep_x", serde_json::json!({}))
            .webhook_body();
        let real: BTreeSet<String> = body.as_object().unwrap().keys().cloned().collect();
        assert_eq!(real, documented::<WebhookPayload>());
    }
}
