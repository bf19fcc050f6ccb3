//! Trunk rules and changes on the real binary: a trunk that presents only the tenant's own numbers refuses a
//! call from another (`caller_id_not_allowed`) and carries one from the tenant's number, written as bare digits
//! when the trunk says so (read from the INVITE at a bare UDP socket standing in for the carrier); a fixed
//! caller id set by `PATCH` replaces the call's; `PATCH` is checked like a create and reaches only the owner's
//! trunks; staff read and change platform trunks by id.

mod common;

use std::time::Duration;

use common::calls::*;
use common::*;
use serde_json::json;
use tokio::net::UdpSocket;

/// Places a call from `from` that rings for one second, and returns its id.
async fn place(api: &Api, token: &str, from: &str) -> String {
    let body = json!({"to": "+15551230000", "from": from, "document": "<Response><Hangup/></Response>",
        "timeout": 1});
    let call = api.post("/v1/calls", Auth::Bearer(token), body).await.expect(202);
    call["id"].as_str().unwrap().to_owned()
}

/// The request line and From header of the next new INVITE at the carrier's socket (an unanswered INVITE is
/// retransmitted, so those of calls in `seen` are skipped; the new one's Call-ID is added).
async fn invite(carrier: &UdpSocket, seen: &mut Vec<String>) -> (String, String) {
    let mut buf = vec![0u8; 8192];
    loop {
        let (n, _) = tokio::time::timeout(Duration::from_secs(10), carrier.recv_from(&mut buf))
            .await
            .expect("an INVITE reaches the carrier in time")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let call_id = text
            .lines()
            .find(|l| l.starts_with("Call-ID:"))
            .unwrap_or_default()
            .to_owned();
        if text.starts_with("INVITE ") && !seen.contains(&call_id) {
            seen.push(call_id);
            let from = text
                .lines()
                .find(|l| l.starts_with("From:"))
                .unwrap_or_default()
                .to_owned();
            return (text.lines().next().unwrap().to_owned(), from);
        }
    }
}

async fn trunk_rules(profile: Profile) {
    let (env, server, staff) = start(profile).await;
    let api = server.api();
    let (tenant_id, token) = api
        .tenant_with_owner(&staff, "voice-rules", "owner@voice-rules.test")
        .await;
    let carrier = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = carrier.local_addr().unwrap().port();
    let body = json!({"name": "strict", "host": "127.0.0.1", "port": port, "caller_id_mode": "owned",
        "number_format": "digits", "rates": [{"prefix": "+", "cost_micros_per_minute": 1000}]});
    let t = api.post("/v1/sip-trunks", Auth::Bearer(&token), body).await.expect(201);
    assert_eq!(
        (t["caller_id_mode"].as_str(), t["number_format"].as_str()),
        (Some("owned"), Some("digits"))
    );
    let trunk = t["id"].as_str().unwrap().to_owned();

    let refused = ended(&api, &token, &place(&api, &token, "+15559870000").await).await;
    assert_eq!(
        (refused["status"].as_str(), refused["error_code"].as_str()),
        (Some("failed"), Some("caller_id_not_allowed")),
        "{refused}"
    );

    let number = json!({"number": "+15559870000", "tenant_id": tenant_id});
    api.post("/admin/phone-numbers", Auth::Bearer(&staff), number)
        .await
        .expect(201);
    let mut seen = Vec::new();
    let id = place(&api, &token, "+15559870000").await;
    let (line, from) = invite(&carrier, &mut seen).await;
    assert!(
        line.starts_with(&format!("INVITE sip:15551230000@127.0.0.1:{port}")),
        "{line}"
    );
    assert!(from.contains("<sip:15559870000@"), "{from}");
    assert_eq!(ended(&api, &token, &id).await["status"], "no-answer");

    let patch = json!({"caller_id": "+15550001111", "number_format": "e164"});
    let t = api
        .patch(&format!("/v1/sip-trunks/{trunk}"), Auth::Bearer(&token), patch)
        .await
        .expect(200);
    assert_eq!(
        (t["caller_id"].as_str(), t["number_format"].as_str()),
        (Some("+15550001111"), Some("e164"))
    );
    assert_eq!(t["name"], "strict", "fields left out keep their values");
    let id = place(&api, &token, "+15552223333").await;
    let (line, from) = invite(&carrier, &mut seen).await;
    assert!(line.starts_with("INVITE sip:+15551230000@"), "{line}");
    assert!(
        from.contains("<sip:+15550001111@"),
        "a fixed caller id is presented whatever the call's: {from}"
    );
    ended(&api, &token, &id).await;

    patch_checks(&api, &staff, &token, &trunk).await;
    env.cleanup().await;
}

/// A bad change is a 422 naming its field and changes nothing; another tenant gets 404; staff read and
/// change platform trunks.
async fn patch_checks(api: &Api, staff: &str, token: &str, trunk: &str) {
    let at = format!("/v1/sip-trunks/{trunk}");
    for (body, field) in [
        (json!({"username": "only-user"}), "password"),
        (json!({"rates": []}), "rates"),
        (json!({"codecs": ["G729"]}), "codecs"),
        (json!({"caller_id": "12"}), "caller_id"),
        (json!({"number_format": "national"}), "number_format"),
    ] {
        let e = api.patch(&at, Auth::Bearer(token), body.clone()).await.expect(422);
        assert_eq!(e["error"]["details"][0]["field"], field, "{body}: {e}");
    }
    let unchanged = api.get(&at, Auth::Bearer(token)).await.expect(200);
    assert_eq!(unchanged["rates"].as_array().map(Vec::len), Some(1), "{unchanged}");
    let other = tenant(api, staff, "voice-rules-b").await;
    api.patch(&at, Auth::Bearer(&other), json!({"enabled": false}))
        .await
        .expect(404);

    let body = json!({"name": "platform", "host": "sip.carrier.example", "username": "u", "password": "p",
        "rates": [{"prefix": "+1", "cost_micros_per_minute": 500}]});
    let platform = api
        .post("/admin/sip-trunks", Auth::Bearer(staff), body)
        .await
        .expect(201);
    let at = format!("/admin/sip-trunks/{}", platform["id"].as_str().unwrap());
    let off = json!({"enabled": false, "username": null, "password": null});
    let changed = api.patch(&at, Auth::Bearer(staff), off).await.expect(200);
    assert_eq!(
        (changed["enabled"].as_bool(), changed["has_credentials"].as_bool()),
        (Some(false), Some(false))
    );
    let read = api.get(&at, Auth::Bearer(staff)).await.expect(200);
    assert_eq!(
        (read["name"].as_str(), read["enabled"].as_bool()),
        (Some("platform"), Some(false))
    );
    api.get(&format!("/admin/sip-trunks/{trunk}"), Auth::Bearer(staff))
        .await
        .expect(404);
}

#[tokio::test]
async fn trunk_caller_id_rules_and_number_format_reach_the_invite_and_trunks_change_through_patch() {
    for profile in profiles("trunk rules") {
        trunk_rules(profile).await;
    }
}
