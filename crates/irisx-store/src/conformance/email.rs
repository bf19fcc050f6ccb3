//! Cases for the email side and the object records: an email's content beside its message row (sent and
//! received), routes by recipient domain, tracking recorded once with the suppression it causes, suppressions
//! and templates per tenant, and objects that only their tenant reads.

use irisx_core::email::content::{Address, EmailContent, StoredAttachment};
use irisx_core::email::template::{EmailTemplate, Parts};
use irisx_core::id::{MessageId, ObjectId, TemplateId};
use irisx_core::page::PageRequest;
use irisx_core::ports::email::{Suppression, TrackingRecord};
use irisx_core::ports::objects::{ObjectPurpose, StoredObject};
use irisx_core::ports::store::StoreError;
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::model::{Channel, Direction, ProviderAccount, Route};
use serde_json::json;

use super::msg_fixtures::*;
use super::*;

fn content(attachment: Option<&ObjectId>) -> EmailContent {
    let a = |email: &str| Address {
        email: email.into(),
        name: None,
    };
    EmailContent {
        from: Address {
            email: "noreply@acme.example".into(),
            name: Some("Acme".into()),
        },
        to: vec![a("ann@example.com")],
        cc: vec![a("cc@example.com")],
        bcc: vec![],
        reply_to: None,
        subject: "Hello".into(),
        html: Some("<p>Hi</p>".into()),
        text: Some("Hi".into()),
        headers: vec![],
        attachments: attachment
            .map(|id| StoredAttachment {
                filename: "a.pdf".into(),
                content_type: "application/pdf".into(),
                size: 9,
                object_id: Some(id.clone()),
                content_base64: None,
            })
            .into_iter()
            .collect(),
    }
}

fn email_message(tenant: &TenantId, direction: Direction) -> irisx_core::sms::model::Message {
    let mut m = message(tenant, "ann@example.com", &[]);
    m.channel = Channel::Email;
    m.direction = direction;
    m.from = "noreply@acme.example".into();
    m.encoding = None;
    if direction == Direction::Inbound {
        m.status = DeliveryStatus::Received;
        m.status_callback = None;
        m.provider_message_id = Some("<in-1@example.org>".into());
    }
    m
}

fn object(tenant: &TenantId) -> StoredObject {
    let id = ObjectId::new();
    StoredObject {
        key: format!("email_attachment/{tenant}/{id}"),
        id,
        tenant_id: tenant.clone(),
        purpose: ObjectPurpose::EmailAttachment,
        filename: "a.pdf".into(),
        content_type: "application/pdf".into(),
        size: 9,
        sha256: "ab".repeat(32),
        created_at: now(),
    }
}

/// A sent email's content reads back whole, and a received one is stored with its event and no task.
pub async fn an_emails_content_reads_back_and_a_received_email_has_its_event_and_no_task(s: Stores) {
    let (a, _) = seed(&s.store).await;
    let file = object(&a.id);
    s.objects.create_object(&file).await.unwrap();
    let sent = email_message(&a.id, Direction::Outbound);
    let c = content(Some(&file.id));
    s.email
        .create_email(&sent, &c, &event(&a.id, "email.queued", sent.id.as_str()), &send_task())
        .await
        .unwrap();
    assert_eq!(s.email.get_email_content(&sent.id).await.unwrap(), c);

    let got = email_message(&a.id, Direction::Inbound);
    let received = event(&a.id, "email.received", got.id.as_str());
    s.email
        .create_inbound_email(&got, &content(None), &received)
        .await
        .unwrap();
    let m = s.messaging.get_message(&a.id, &got.id).await.unwrap();
    assert_eq!((m.direction, m.status), (Direction::Inbound, DeliveryStatus::Received));
    assert_eq!(s.email.get_email_content(&got.id).await.unwrap(), content(None));
    let events = s
        .messaging
        .list_events(&a.id, Some("email.received"), None, &PageRequest::default())
        .await
        .unwrap();
    assert!(events.items.iter().any(|e| e.id == received.id));
    let claimable = s.store.claim_outbox(100, now() - Duration::hours(1)).await.unwrap();
    assert_eq!(claimable.len(), 1, "only the sent email has a task: {claimable:?}");
    assert!(matches!(
        s.email.get_email_content(&MessageId::new()).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Only the object's tenant reads it by tenant; the signed download reads it by id alone.
pub async fn an_object_is_read_by_its_tenant_only_and_by_id_for_a_signed_download(s: Stores) {
    let (a, _) = seed(&s.store).await;
    let (b, _) = seed(&s.store).await;
    let file = object(&a.id);
    s.objects.create_object(&file).await.unwrap();
    assert_eq!(s.objects.get_object(&a.id, &file.id).await.unwrap(), file);
    assert_eq!(s.objects.get_object_any(&file.id).await.unwrap(), file);
    assert!(matches!(
        s.objects.get_object(&b.id, &file.id).await,
        Err(StoreError::NotFound("object"))
    ));
    assert!(matches!(
        s.objects.get_object_any(&ObjectId::new()).await,
        Err(StoreError::NotFound("object"))
    ));
}

/// A domain route serves its domain and subdomains, `*` every domain; the tenant's own win over the platform's.
pub async fn email_routes_match_the_domain_its_subdomains_or_any_and_the_tenants_own_win(s: Stores) {
    let (a, _) = seed(&s.store).await;
    let mut platform = account(None);
    platform.channel = Channel::Email;
    s.messaging
        .create_provider_account(&platform, &msg_audit(None))
        .await
        .unwrap();
    let any = route(None, &platform.id, "*", 900, 0);
    let example = route(None, &platform.id, "example.com", 100, 0);
    for r in [&any, &example] {
        s.messaging.create_route(r, &msg_audit(None)).await.unwrap();
    }
    let ids = |v: Vec<(Route, ProviderAccount)>| v.into_iter().map(|(r, _)| r.id).collect::<Vec<_>>();
    let routes = |d: &'static str| {
        let (email, t) = (s.email.clone(), a.id.clone());
        async move { ids(email.email_routes_for(&t, d).await.unwrap()) }
    };
    assert_eq!(routes("example.com").await, vec![example.id.clone(), any.id.clone()]);
    assert_eq!(
        routes("mail.example.com").await,
        vec![example.id.clone(), any.id.clone()]
    );
    assert_eq!(
        routes("badexample.com").await,
        vec![any.id.clone()],
        "a suffix is not a subdomain"
    );
    assert_eq!(routes("other.org").await, vec![any.id.clone()]);

    let mut own = account(Some(&a.id));
    own.channel = Channel::Email;
    s.messaging
        .create_provider_account(&own, &msg_audit(Some(&a.id)))
        .await
        .unwrap();
    let mine = route(Some(&a.id), &own.id, "other.org", 500, 0);
    s.messaging.create_route(&mine, &msg_audit(Some(&a.id))).await.unwrap();
    assert_eq!(
        routes("other.org").await,
        vec![mine.id.clone()],
        "the tenant's own route wins"
    );
    assert_eq!(routes("example.com").await, vec![example.id.clone(), any.id.clone()]);
}

/// A tracking event is recorded once however often it comes; its suppression lands with it; suppressions
/// belong to one tenant.
pub async fn tracking_is_recorded_once_with_its_suppression_and_suppressions_stay_with_their_tenant(s: Stores) {
    let (a, _) = seed(&s.store).await;
    let (b, _) = seed(&s.store).await;
    let m = email_message(&a.id, Direction::Outbound);
    s.email
        .create_email(
            &m,
            &content(None),
            &event(&a.id, "email.queued", m.id.as_str()),
            &send_task(),
        )
        .await
        .unwrap();
    let bounce = TrackingRecord {
        tenant_id: a.id.clone(),
        message_id: m.id.clone(),
        recipient: "ann@example.com".into(),
        kind: "bounced".into(),
        dedupe_key: "ev-1 ann@example.com".into(),
        url: None,
        reason: Some("550 unknown user".into()),
        raw: json!({"event": "bounce"}),
        occurred_at: now(),
    };
    let suppression = Suppression {
        tenant_id: a.id.clone(),
        address: "ann@example.com".into(),
        reason: "hard_bounce".into(),
        message_id: Some(m.id.clone()),
        created_at: now(),
    };
    assert!(s.email.record_tracking(&bounce, Some(&suppression)).await.unwrap());
    assert!(
        !s.email.record_tracking(&bounce, Some(&suppression)).await.unwrap(),
        "a retry is not recorded"
    );
    let counts = s.email.tracking_counts(
        &a.id,
        Some(&m.id),
        now() - Duration::hours(1),
        now() + Duration::hours(1),
    );
    let counts = counts.await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!((counts[0].kind.as_str(), counts[0].count), ("bounced", 1));
    let both = vec!["ann@example.com".to_owned(), "bob@example.com".to_owned()];
    assert_eq!(
        s.email.suppressed_among(&a.id, &both).await.unwrap(),
        vec!["ann@example.com"]
    );
    assert!(s.email.suppressed_among(&b.id, &both).await.unwrap().is_empty());
    let listed = s.email.list_suppressions(&a.id, &PageRequest::default()).await.unwrap();
    assert_eq!(listed.items[0].reason, "hard_bounce");
    assert!(!s.email.remove_suppression(&b.id, "ann@example.com").await.unwrap());
    assert!(s.email.remove_suppression(&a.id, "ann@example.com").await.unwrap());
    assert!(s.email.suppressed_among(&a.id, &both).await.unwrap().is_empty());
}

/// Template names are unique per tenant, and another tenant's template is not found.
pub async fn template_names_are_unique_per_tenant_and_another_tenants_template_is_not_found(s: Stores) {
    let (a, _) = seed(&s.store).await;
    let (b, _) = seed(&s.store).await;
    let t = |tenant: &TenantId| EmailTemplate {
        id: TemplateId::new(),
        tenant_id: tenant.clone(),
        name: "welcome".into(),
        parts: Parts {
            subject: "Hi {{ name }}".into(),
            html: Some("<p>Hi {{ name }}</p>".into()),
            text: None,
        },
        created_at: now(),
        updated_at: now(),
    };
    let first = t(&a.id);
    s.email.create_template(&first).await.unwrap();
    assert!(matches!(
        s.email.create_template(&t(&a.id)).await,
        Err(StoreError::Conflict(_))
    ));
    s.email.create_template(&t(&b.id)).await.unwrap();
    assert_eq!(s.email.get_template(&a.id, &first.id).await.unwrap(), first);
    assert!(matches!(
        s.email.get_template(&b.id, &first.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(s.email.delete_template(&b.id, &first.id).await.is_err());
    s.email.delete_template(&a.id, &first.id).await.unwrap();
    assert!(matches!(
        s.email.get_template(&a.id, &first.id).await,
        Err(StoreError::NotFound(_))
    ));
}
