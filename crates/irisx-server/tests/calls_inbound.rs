//! Incoming calls and the calls API's edges on the real binary: sipp calls a tenant's number, the number's
//! voice URL is fetched and its `Dial` rings an agent registered through `/v1/agents`; tenant B gets 404 on
//! tenant A's trunks, calls and agents; a broken document, or one dialling another tenant's agent, fails the call with a reason; bad input is 422
//! naming the field.

mod common;

use std::time::{Duration, Instant};

use common::sipp::{Sipp, free_udp_ports};
use common::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server whose documents may come from loopback, its engine on a known SIP port.
async fn start(profile: Profile, sip_port: u16) -> (TestEnv, Server, String) {
    let mut env = TestEnv::new(profile).await;
    env.set("IRISX_WEBHOOKS__ALLOWLIST", "127.0.0.0/8");
    env.set("IRISX_PUBLIC_RATE_PER_MINUTE", "100000");
    env.set("IRISX_VOICE__SIP_PORT", &sip_port.to_string());
    env.set("IRISX_VOICE__BLOCKED_PREFIXES", "+882,+883");
    env.set("IRISX_VOICE__INBOUND_RATE_MICROS_PER_MINUTE", "5000");
    boot_in(env).await
}

/// The tenant's calls once one of them is rated, within 20 s.
async fn rated_calls(api: &Api, token: &str) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let b = api.get("/v1/calls", Auth::Bearer(token)).await.expect(200);
        let calls = b["data"].as_array().unwrap().clone();
        if calls.iter().any(|c| !c["price_micros"].is_null()) {
            return calls;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no call was rated: {b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn an_incoming_call_rings_an_agent(profile: Profile) {
    let sip_port = free_udp_ports(1);
    let (env, server, staff) = start(profile, sip_port).await;
    let api = server.api();
    let (tenant_id, token) = api.tenant_with_owner(&staff, "voice-in", "owner@voice-in.test").await;
    let user = format!("agent{}", rand::random_range(100_000..999_999u32));
    let agent = json!({"username": user, "name": "Alice", "password": "agent-passw0rd-1"});
    let a = api
        .post("/v1/agents", Auth::Bearer(&token), agent.clone())
        .await
        .expect(201);
    assert!(a.get("password").is_none(), "{a}");
    api.post("/v1/agents", Auth::Bearer(&token), agent).await.expect(409);
    let number = json!({"number": "+15557770000", "tenant_id": tenant_id});
    let n = api
        .post("/admin/phone-numbers", Auth::Bearer(&staff), number)
        .await
        .expect(201);
    let docs = MockServer::start().await;
    let dial = format!(
        r#"<Response><Dial timeout="5" record="record-from-answer" action="/after"><Client>{user}</Client></Dial></Response>"#
    );
    Mock::given(method("POST"))
        .and(path("/inbound"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(dial.into_bytes(), "application/xml"))
        .mount(&docs)
        .await;
    Mock::given(method("POST"))
        .and(path("/after"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(&b"<Response><Hangup/></Response>"[..], "application/xml"),
        )
        .mount(&docs)
        .await;
    let patch = json!({"voice_url": format!("{}/inbound", docs.uri())});
    let p = api
        .patch(
            &format!("/v1/phone-numbers/{}", n["id"].as_str().unwrap()),
            Auth::Bearer(&token),
            patch,
        )
        .await
        .expect(200);
    assert_eq!(p["voice_url"], format!("{}/inbound", docs.uri()));
    let listed = api.get("/v1/phone-numbers", Auth::Bearer(&token)).await.expect(200);
    assert_eq!(
        listed["data"][0]["voice_url"], p["voice_url"],
        "lists show the voice URL too: {listed}"
    );

    let engine = format!("127.0.0.1:{sip_port}");
    let agent_args = [
        "-rtp_echo",
        "-key",
        "codec",
        "0",
        "-key",
        "codec_name",
        "PCMU",
        "-key",
        "engine",
        &engine,
    ];
    let agent = Sipp::start("uas_answer_hangup.xml", &agent_args);
    let contact = agent.port.to_string();
    let register = [
        "-s",
        &user,
        "-au",
        &user,
        "-ap",
        "agent-passw0rd-1",
        "-key",
        "contact_port",
        &contact,
        &engine,
    ];
    Sipp::start("register.xml", &register).expect_success().await;
    let pcap = "/usr/share/sip-tester/g711a.pcap";
    let caller = Sipp::start("caller.xml", &["-s", "15557770000", "-key", "pcap", pcap, &engine]);
    agent.expect_success().await;
    caller.expect_success().await;

    let calls = rated_calls(&api, &token).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let c = &calls[0];
    assert_eq!(
        (c["direction"].as_str(), c["status"].as_str()),
        (Some("inbound"), Some("completed")),
        "{c}"
    );
    assert_eq!(c["to"], "+15557770000");
    assert_eq!(
        (
            c["billable_secs"].as_i64(),
            c["price_micros"].as_i64(),
            c["currency"].as_str()
        ),
        (Some(60), Some(6_000), Some("USD")),
        "a minute at the inbound rate of 5,000 plus the free plan's 20 %: {c}"
    );
    let asked = docs.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&asked[0].body).unwrap();
    assert_eq!(
        (body["Direction"].as_str(), body["To"].as_str()),
        (Some("inbound"), Some("+15557770000"))
    );
    assert!(
        asked[0].headers.contains_key("webhook-signature"),
        "the document request is signed"
    );
    conversation_recorded(&api, &token, c["id"].as_str().unwrap(), &asked).await;
    env.cleanup().await;
}

/// The Dial's action heard the outcome with the recording of the bridged conversation: the caller's audio and
/// the agent's echo of it, as long as the agent stayed (it hangs up 1.5 s after answering).
async fn conversation_recorded(api: &Api, token: &str, call: &str, asked: &[wiremock::Request]) {
    let after = asked
        .iter()
        .find(|r| r.url.path() == "/after")
        .expect("the Dial action was fetched");
    let after: Value = serde_json::from_slice(&after.body).unwrap();
    assert_eq!(after["DialCallStatus"], "completed", "{after}");
    assert!(
        after["RecordingUrl"].as_str().unwrap().contains("/v1/objects/obj_"),
        "{after}"
    );
    let listed = api
        .get(&format!("/v1/calls/{call}/recordings"), Auth::Bearer(token))
        .await
        .expect(200);
    let recording = &listed["data"][0];
    let ms = recording["duration_ms"].as_i64().unwrap();
    assert!(
        (1200..=3000).contains(&ms),
        "the conversation lasted about 1.5 s, not {ms} ms"
    );
    let wav = common::calls::download(api, token, recording["object_id"].as_str().unwrap()).await;
    let samples = irisx_voice::media::wav_to_samples(&wav).unwrap();
    let rms = irisx_voice::media::rms(&samples);
    assert!(rms > 300.0, "the conversation is not silent (rms {rms})");
}

#[tokio::test]
async fn an_incoming_call_to_a_tenant_number_fetches_its_voice_url_and_dial_rings_a_registered_agent() {
    for profile in profiles("calls inbound") {
        an_incoming_call_rings_an_agent(profile).await;
    }
}

#[tokio::test]
async fn tenant_b_gets_404_on_tenant_a_trunks_calls_and_agents() {
    let (env, server, staff) = start(Profile::Embedded, free_udp_ports(1)).await;
    let api = server.api();
    let a = api.tenant_with_owner(&staff, "iso-a", "owner@iso-a.test").await.1;
    let b = api.tenant_with_owner(&staff, "iso-b", "owner@iso-b.test").await.1;
    let trunk = json!({"name": "t", "host": "127.0.0.1", "rates": [{"prefix": "+1", "cost_micros_per_minute": 1}]});
    let t = api.post("/v1/sip-trunks", Auth::Bearer(&a), trunk).await.expect(201);
    let agent =
        json!({"username": format!("iso{}", rand::random::<u32>()), "name": "A", "password": "agent-passw0rd-1"});
    let g = api.post("/v1/agents", Auth::Bearer(&a), agent).await.expect(201);
    let call = json!({"to": "+15551230000", "from": "+15559870000", "document": "<Response><Hangup/></Response>"});
    let c = api.post("/v1/calls", Auth::Bearer(&a), call).await.expect(202);
    let (t, g, c) = (
        t["id"].as_str().unwrap(),
        g["id"].as_str().unwrap(),
        c["id"].as_str().unwrap(),
    );
    for path in [
        format!("/v1/sip-trunks/{t}"),
        format!("/v1/agents/{g}"),
        format!("/v1/calls/{c}"),
        format!("/v1/calls/{c}/recordings"),
    ] {
        api.get(&path, Auth::Bearer(&b)).await.expect(404);
        api.get(&path, Auth::Bearer(&a)).await.expect(200);
    }
    api.delete(&format!("/v1/sip-trunks/{t}"), Auth::Bearer(&b))
        .await
        .expect(404);
    api.delete(&format!("/v1/agents/{g}"), Auth::Bearer(&b))
        .await
        .expect(404);
    api.post(
        &format!("/v1/calls/{c}"),
        Auth::Bearer(&b),
        json!({"status": "canceled"}),
    )
    .await
    .expect(404);
    for list in ["/v1/sip-trunks", "/v1/agents", "/v1/calls"] {
        let l = api.get(list, Auth::Bearer(&b)).await.expect(200);
        assert_eq!(l["data"], json!([]), "{list}");
    }
    env.cleanup().await;
}

#[tokio::test]
async fn bad_calls_trunks_and_agents_are_refused_with_422_naming_the_field() {
    let (env, server, staff) = start(Profile::Embedded, free_udp_ports(1)).await;
    let api = server.api();
    let a = api.tenant_with_owner(&staff, "bad-a", "owner@bad-a.test").await.1;
    let doc = "<Response><Hangup/></Response>";
    let cases = [
        (
            "/v1/calls",
            json!({"to": "nope", "from": "+15559870000", "document": doc}),
            "to",
        ),
        (
            "/v1/calls",
            json!({"to": "+88212345678", "from": "+15559870000", "document": doc}),
            "to",
        ),
        (
            "/v1/calls",
            json!({"to": "+15551230000", "from": "+15559870000"}),
            "url",
        ),
        (
            "/v1/calls",
            json!({"to": "+15551230000", "from": "+15559870000", "url": "ftp://x"}),
            "url",
        ),
        (
            "/v1/calls",
            json!({"to": "+15551230000", "from": "+15559870000", "document": doc, "record": "yes"}),
            "record",
        ),
        (
            "/v1/calls",
            json!({"to": "+15551230000", "from": "+15559870000", "document": doc, "timeout": 0}),
            "timeout",
        ),
        (
            "/v1/sip-trunks",
            json!({"name": "t", "host": "127.0.0.1", "rates": [{"prefix": "1", "cost_micros_per_minute": 1}]}),
            "rates",
        ),
        (
            "/v1/sip-trunks",
            json!({"name": "t", "host": "bad host", "rates": [{"prefix": "+", "cost_micros_per_minute": 1}]}),
            "host",
        ),
        (
            "/v1/sip-trunks",
            json!({"name": "t", "host": "h", "username": "u", "rates": [{"prefix": "+", "cost_micros_per_minute": 1}]}),
            "password",
        ),
        (
            "/v1/agents",
            json!({"username": "Bad User", "name": "A", "password": "agent-passw0rd-1"}),
            "username",
        ),
        (
            "/v1/agents",
            json!({"username": "short-pw", "name": "A", "password": "short"}),
            "password",
        ),
    ];
    for (path, body, field) in cases {
        let r = api.post(path, Auth::Bearer(&a), body.clone()).await.expect(422);
        let fields: Vec<&str> = r["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["field"].as_str())
            .collect();
        assert!(fields.contains(&field), "{path} {body}: expected `{field}` in {r}");
    }
    env.cleanup().await;
}

#[tokio::test]
async fn a_broken_document_or_a_dial_to_another_tenants_agent_ends_the_call_failed_with_a_reason() {
    let (env, server, staff) = start(Profile::Embedded, free_udp_ports(1)).await;
    let api = server.api();
    let other = api.tenant_with_owner(&staff, "other", "owner@other.test").await.1;
    let theirs = format!("theirs{}", rand::random_range(100_000..999_999u32));
    let agent = json!({"username": theirs, "name": "B", "password": "agent-passw0rd-1"});
    api.post("/v1/agents", Auth::Bearer(&other), agent).await.expect(201);
    let dial = format!("<Response><Dial><Client>{theirs}</Client></Dial></Response>");
    for (tag, doc, reason) in [
        ("broken", "<Response><Dance/></Response>".to_owned(), "Dance"),
        ("poacher", dial, "not one of your agents"),
    ] {
        let token = api.tenant_with_owner(&staff, tag, &format!("owner@{tag}.test")).await.1;
        let carrier = Sipp::start("uas_answer.xml", &["-key", "codec", "0", "-key", "codec_name", "PCMU"]);
        let trunk = json!({"name": "t", "host": "127.0.0.1", "port": carrier.port,
            "rates": [{"prefix": "+", "cost_micros_per_minute": 1000}]});
        api.post("/v1/sip-trunks", Auth::Bearer(&token), trunk)
            .await
            .expect(201);
        let body = json!({"to": "+15551230000", "from": "+15559870000", "document": doc});
        api.post("/v1/calls", Auth::Bearer(&token), body).await.expect(202);
        carrier.expect_success().await;
        let calls = rated_calls(&api, &token).await;
        let c = &calls[0];
        assert_eq!(
            (c["status"].as_str(), c["error_code"].as_str()),
            (Some("failed"), Some("document_error")),
            "{c}"
        );
        assert!(c["error_message"].as_str().unwrap().contains(reason), "{c}");
        let events = api
            .get("/v1/events?type=call.failed", Auth::Bearer(&token))
            .await
            .expect(200);
        assert_eq!(events["data"].as_array().map(Vec::len), Some(1), "{events}");
        assert_eq!(events["data"][0]["data"]["error_code"], "document_error");
    }
    env.cleanup().await;
}
