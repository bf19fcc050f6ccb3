//! A voice node killed with SIGKILL in the middle of an answered call: while the node beats, its call stays
//! live however long it lasts; once it is gone, the node that comes back ends the call in the ledger
//! (`completed` with `voice_node_lost`, ended no later than the kill), rates it up to then and sends
//! `call.completed`, instead of leaving it in progress for ever.

mod common;

use std::time::{Duration, Instant};

use common::calls::*;
use common::sipp::Sipp;
use common::*;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn at(v: &serde_json::Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().expect("a time"), &Rfc3339).expect("RFC 3339")
}

async fn a_killed_node_call_is_ended_by_the_next(profile: Profile) {
    let beats = [
        ("IRISX_VOICE__HEARTBEAT_SECS", "1"),
        ("IRISX_VOICE__NODE_TIMEOUT_SECS", "3"),
    ];
    let (env, mut server, staff) = start_with(profile, &beats).await;
    let api = server.api();
    let token = tenant(&api, &staff, "voice-lost").await;
    let hooks = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/status"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hooks)
        .await;
    let carrier = Sipp::start("uas_answer.xml", &["-key", "codec", "0", "-key", "codec_name", "PCMU"]);
    trunk(&api, &token, "carrier", carrier.port, 6_000).await;
    let body = json!({"to": "+15551230000", "from": "+15559870000",
        "document": "<Response><Pause length=\"120\"/></Response>",
        "status_callback": format!("{}/status", hooks.uri())});
    let call = api.post("/v1/calls", Auth::Bearer(&token), body).await.expect(202);
    let id = call["id"].as_str().unwrap().to_owned();
    in_progress(&api, &token, &id).await;

    // Longer than the node timeout: a beating node keeps its call.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let live = api
        .get(&format!("/v1/calls/{id}"), Auth::Bearer(&token))
        .await
        .expect(200);
    assert_eq!(live["status"], "in-progress", "{live}");
    server.kill9().await;
    let killed_at = OffsetDateTime::now_utc();

    let started = Instant::now();
    let server = env.serve(&[]).await;
    let api = server.api();
    let ended = rated(&api, &token, &id).await;
    assert!(started.elapsed() < Duration::from_secs(20), "the call was ended late");
    assert_eq!(
        (ended["status"].as_str(), ended["error_code"].as_str()),
        (Some("completed"), Some("voice_node_lost")),
        "{ended}"
    );
    let answered = at(&ended["answered_at"]);
    let end = at(&ended["ended_at"]);
    assert!(
        end <= killed_at,
        "it ends when the node was last seen ({end}), not after the kill ({killed_at})"
    );
    // The last beat came at most a heartbeat before the kill.
    assert!(
        end - answered >= time::Duration::seconds(3),
        "it lasted as long as the node carried it: {ended}"
    );
    let duration = ended["duration_secs"].as_i64().unwrap();
    assert!((3..=8).contains(&duration), "duration {duration}: {ended}");
    assert_eq!(ended["billable_secs"], 60, "the free plan bills whole minutes");
    assert_eq!(ended["price_micros"], 7_200, "6,000 a minute plus the free plan's 20 %");
    callbacks(&hooks, &["call.answered", "call.completed"]).await;
    drop(carrier);
    env.cleanup().await;
}

#[tokio::test]
async fn a_call_left_live_by_a_killed_voice_node_is_ended_and_rated_by_the_node_that_comes_back() {
    for profile in profiles("calls recovery") {
        a_killed_node_call_is_ended_by_the_next(profile).await;
    }
}
