//! Cases for provider accounts, routes and phone numbers: ownership, deletion rules, routing, the pool.

use irisx_core::page::PageRequest;
use irisx_core::ports::store::StoreError;
use irisx_core::sms::model::{ProviderAccount, Route};

use super::msg_fixtures::*;
use super::*;

fn help(text: &str) -> irisx_core::ports::messaging::NumberPatch {
    irisx_core::ports::messaging::NumberPatch {
        help_text: Some(Some(text.into())),
        pool: None,
    }
}

fn all() -> PageRequest {
    PageRequest::default()
}

/// Tenant B gets NotFound or nothing for tenant A's accounts, routes and numbers; a tenant never reads the
/// platform's accounts or routes through the owner-scoped methods.
pub async fn tenant_b_cannot_read_list_or_delete_tenant_a_accounts_routes_or_numbers_nor_the_platforms(
    (store, msg): Both,
) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let acc = account(Some(&a.id));
    msg.create_provider_account(&acc, &msg_audit(Some(&a.id)))
        .await
        .unwrap();
    let platform = account(None);
    msg.create_provider_account(&platform, &msg_audit(None)).await.unwrap();
    let r = route(Some(&a.id), &acc.id, "+1", 10, 0);
    msg.create_route(&r, &msg_audit(Some(&a.id))).await.unwrap();
    let pr = route(None, &platform.id, "+", 10, 0);
    msg.create_route(&pr, &msg_audit(None)).await.unwrap();
    let n = number(Some(&a.id), Some(&acc.id), "+15550001111");
    msg.create_phone_number(&n, &msg_audit(Some(&a.id))).await.unwrap();

    assert_eq!(msg.get_provider_account(Some(&a.id), &acc.id).await.unwrap(), acc);
    assert!(matches!(
        msg.get_provider_account(Some(&b.id), &acc.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        msg.get_provider_account(Some(&a.id), &platform.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        msg.get_provider_account(None, &acc.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(msg.get_provider_account(None, &platform.id).await.unwrap(), platform);
    assert_eq!(msg.get_provider_account_any(&acc.id).await.unwrap(), acc);
    assert!(
        msg.list_provider_accounts(Some(&b.id), &all())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        msg.list_provider_accounts(Some(&a.id), &all()).await.unwrap().items,
        vec![acc.clone()]
    );
    assert_eq!(
        msg.list_provider_accounts(None, &all()).await.unwrap().items,
        vec![platform.clone()]
    );
    assert_eq!(
        msg.list_routes(Some(&a.id), &all()).await.unwrap().items,
        vec![r.clone()]
    );
    assert!(msg.list_routes(Some(&b.id), &all()).await.unwrap().items.is_empty());
    assert_eq!(msg.list_routes(None, &all()).await.unwrap().items, vec![pr.clone()]);
    assert!(matches!(
        msg.get_phone_number(&b.id, &n.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        msg.update_phone_number(&b.id, &n.id, &help("x")).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        msg.list_phone_numbers(Some(&b.id), &all())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(msg.list_phone_numbers(None, &all()).await.unwrap().items.is_empty());

    let audit_b = msg_audit(Some(&b.id));
    assert!(matches!(
        msg.delete_route(Some(&b.id), &r.id, &audit_b).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        msg.delete_route(Some(&a.id), &pr.id, &audit_b).await,
        Err(StoreError::NotFound(_))
    ));
    let gone = msg.delete_provider_account(Some(&b.id), &acc.id, &audit_b).await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))));
    let gone = msg.delete_provider_account(Some(&a.id), &platform.id, &audit_b).await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))));
    assert_eq!(msg.get_phone_number(&a.id, &n.id).await.unwrap(), n);
    msg.delete_route(Some(&a.id), &r.id, &msg_audit(Some(&a.id)))
        .await
        .unwrap();
    assert!(msg.list_routes(Some(&a.id), &all()).await.unwrap().items.is_empty());
}

/// An account with numbers on it cannot be deleted; once they are gone, deleting it removes its routes too.
pub async fn deleting_a_provider_account_is_refused_while_numbers_reference_it_and_removes_its_routes(
    (store, msg): Both,
) {
    let (a, _) = seed(&store).await;
    let acc = account(Some(&a.id));
    let au = || msg_audit(Some(&a.id));
    msg.create_provider_account(&acc, &au()).await.unwrap();
    msg.create_route(&route(Some(&a.id), &acc.id, "+44", 5, 0), &au())
        .await
        .unwrap();
    let n = number(Some(&a.id), Some(&acc.id), "+447700900123");
    msg.create_phone_number(&n, &au()).await.unwrap();
    let refused = msg.delete_provider_account(Some(&a.id), &acc.id, &au()).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert_eq!(msg.list_routes(Some(&a.id), &all()).await.unwrap().items.len(), 1);

    let other = account(Some(&a.id));
    msg.create_provider_account(&other, &au()).await.unwrap();
    msg.delete_provider_account(Some(&a.id), &other.id, &au())
        .await
        .unwrap();
    assert!(matches!(
        msg.get_provider_account_any(&other.id).await,
        Err(StoreError::NotFound(_))
    ));
    // The platform's accounts follow the same rule, and their routes go with them.
    let pool_acc = account(None);
    msg.create_provider_account(&pool_acc, &au()).await.unwrap();
    msg.create_route(&route(None, &pool_acc.id, "+", 5, 0), &au())
        .await
        .unwrap();
    msg.delete_provider_account(None, &pool_acc.id, &au()).await.unwrap();
    assert!(msg.list_routes(None, &all()).await.unwrap().items.is_empty());
    assert!(matches!(
        msg.get_provider_account_any(&pool_acc.id).await,
        Err(StoreError::NotFound(_))
    ));
}

/// A route names an account of its own owner; another owner's account is NotFound.
pub async fn a_route_on_an_account_of_another_owner_is_not_found((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let acc_a = account(Some(&a.id));
    msg.create_provider_account(&acc_a, &msg_audit(Some(&a.id)))
        .await
        .unwrap();
    let platform = account(None);
    msg.create_provider_account(&platform, &msg_audit(None)).await.unwrap();
    for r in [
        route(Some(&b.id), &acc_a.id, "+1", 1, 0),
        route(None, &acc_a.id, "+1", 1, 0),
        route(Some(&a.id), &platform.id, "+1", 1, 0),
    ] {
        let refused = msg.create_route(&r, &msg_audit(None)).await;
        assert!(matches!(refused, Err(StoreError::NotFound(_))), "{refused:?}");
    }
    assert!(msg.list_routes(Some(&b.id), &all()).await.unwrap().items.is_empty());
}

/// `routes_for` gives the tenant's enabled matching routes on enabled accounts, cheapest, then by priority,
/// then by id; a tenant with none gets the platform's; `+` matches every number.
pub async fn routes_for_prefers_the_tenants_usable_matching_routes_else_the_platforms_cheapest_first(
    (store, msg): Both,
) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let au = || msg_audit(None);
    let (acc, off) = (
        account(Some(&a.id)),
        ProviderAccount {
            enabled: false,
            ..account(Some(&a.id))
        },
    );
    let plat = account(None);
    for x in [&acc, &off, &plat] {
        msg.create_provider_account(x, &au()).await.unwrap();
    }
    let r1 = route(Some(&a.id), &acc.id, "+1", 20, 5);
    let r2 = route(Some(&a.id), &acc.id, "+1555", 10, 9);
    let r3 = route(Some(&a.id), &acc.id, "+", 20, 1);
    let r4 = route(Some(&a.id), &acc.id, "+1", 20, 5);
    let disabled = Route {
        enabled: false,
        ..route(Some(&a.id), &acc.id, "+1", 1, 0)
    };
    let on_off = route(Some(&a.id), &off.id, "+1", 1, 0);
    let elsewhere = route(Some(&a.id), &acc.id, "+44", 1, 0);
    let p1 = route(None, &plat.id, "+", 30, 0);
    let p2 = route(None, &plat.id, "+1", 25, 0);
    for r in [&r1, &r2, &r3, &r4, &disabled, &on_off, &elsewhere, &p1, &p2] {
        msg.create_route(r, &au()).await.unwrap();
    }
    let ids = |v: Vec<(Route, ProviderAccount)>| v.into_iter().map(|(r, _)| r.id).collect::<Vec<_>>();
    let got = msg.routes_for(&a.id, "+15551234567").await.unwrap();
    assert!(got.iter().all(|(r, acct)| acct.id == r.account_id && acct.enabled));
    assert_eq!(
        ids(got),
        vec![r2.id.clone(), r3.id.clone(), r1.id.clone(), r4.id.clone()]
    );
    assert_eq!(
        ids(msg.routes_for(&a.id, "+33612345678").await.unwrap()),
        vec![r3.id.clone()]
    );
    assert_eq!(
        ids(msg.routes_for(&b.id, "+15551234567").await.unwrap()),
        vec![p2.id.clone(), p1.id.clone()]
    );
    assert_eq!(
        ids(msg.routes_for(&b.id, "+33612345678").await.unwrap()),
        vec![p1.id.clone()]
    );
    let (only_44, _) = seed(&store).await;
    let acc44 = account(Some(&only_44.id));
    msg.create_provider_account(&acc44, &au()).await.unwrap();
    let r44 = route(Some(&only_44.id), &acc44.id, "+44", 1, 0);
    msg.create_route(&r44, &au()).await.unwrap();
    assert_eq!(
        ids(msg.routes_for(&only_44.id, "+447700900123").await.unwrap()),
        vec![r44.id]
    );
    assert_eq!(
        ids(msg.routes_for(&only_44.id, "+15551234567").await.unwrap()),
        vec![p2.id, p1.id]
    );
}

/// A number is added to the pool, assigned to a tenant, moved to another and returned; it is unique and found
/// by its text whoever holds it; its help text changes.
pub async fn a_phone_number_moves_between_the_pool_and_tenants_and_is_found_by_its_text((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let plat = account(None);
    msg.create_provider_account(&plat, &msg_audit(None)).await.unwrap();
    let n = number(None, Some(&plat.id), "+15550002222");
    msg.create_phone_number(&n, &msg_audit(None)).await.unwrap();
    let dup = msg
        .create_phone_number(&number(Some(&a.id), None, "+15550002222"), &msg_audit(None))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    assert_eq!(
        msg.list_phone_numbers(None, &all()).await.unwrap().items,
        vec![n.clone()]
    );
    assert_eq!(msg.find_phone_number("+15550002222").await.unwrap(), Some(n.clone()));
    assert_eq!(msg.find_phone_number("+15550009999").await.unwrap(), None);
    msg.add_opt_out(&irisx_core::sms::model::OptOut {
        tenant_id: a.id.clone(),
        number: "+15551230000".into(),
        source: "api".into(),
        created_at: now(),
    })
    .await
    .unwrap();
    assert_eq!(
        msg.find_sender(&a.id, "+15550002222", "+15551230000").await.unwrap(),
        Some((n.clone(), true)),
        "the opt-out is the tenant's own"
    );
    assert_eq!(
        msg.find_sender(&b.id, "+15550002222", "+15551230000").await.unwrap(),
        Some((n.clone(), false))
    );
    assert_eq!(
        msg.find_sender(&a.id, "+15550009999", "+15551230000").await.unwrap(),
        None
    );

    let held = msg
        .assign_phone_number(&n.id, Some(&a.id), &msg_audit(Some(&a.id)))
        .await
        .unwrap();
    assert_eq!(held.tenant_id.as_ref(), Some(&a.id));
    assert!(msg.list_phone_numbers(None, &all()).await.unwrap().items.is_empty());
    assert_eq!(msg.get_phone_number(&a.id, &n.id).await.unwrap(), held);
    let helped = msg
        .update_phone_number(&a.id, &n.id, &help("Reply STOP"))
        .await
        .unwrap();
    assert_eq!(helped.help_text.as_deref(), Some("Reply STOP"));
    assert_eq!(msg.find_phone_number("+15550002222").await.unwrap(), Some(helped));

    msg.assign_phone_number(&n.id, Some(&b.id), &msg_audit(Some(&b.id)))
        .await
        .unwrap();
    assert!(matches!(
        msg.get_phone_number(&a.id, &n.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        msg.list_phone_numbers(Some(&b.id), &all()).await.unwrap().items.len(),
        1
    );
    let back = msg.assign_phone_number(&n.id, None, &msg_audit(None)).await.unwrap();
    assert_eq!(back.tenant_id, None);
    assert_eq!(msg.list_phone_numbers(None, &all()).await.unwrap().items.len(), 1);
    let missing = msg
        .assign_phone_number(&irisx_core::id::PhoneNumberId::new(), None, &msg_audit(None))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
}
