//! SMS failover end to end on the real binary, against Twilio accounts whose `base_url` points at local mock
//! servers speaking Twilio's documented contract: retries with backoff then failover to the next-cheapest
//! route, a permanent refusal that fails at once, `Retry-After`, an unknown outcome reconciled with the same
//! provider before any resend, and a worker killed with SIGKILL mid-batch.
//!
//! Every request a mock receives is logged with the moment it arrived (before any delay the mock adds), so
//! the tests assert order and timing across providers from the providers' side.
//!
//! What the crash test counts: a *duplicate* is a second `POST …/Messages.json` carrying the same body (each
//! message has a unique body, because IRISX's message id is not sent to Twilio). A duplicate can happen only
//! when the kill falls after the provider accepted a message and before the transaction recording that
//! acceptance committed: the task is still pending, so the restarted worker sends again. Reconciliation
//! cannot catch it, because it runs only after a recorded `unknown` attempt, and a crash records nothing.
//! So every duplicate must be a message whose first submission reached the mock before the kill, there can
//! be at most one per message in flight at the kill (at most the worker's batch size), and no message may
//! end in more than one final state.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use twilio_mock::{Call, Log, Script, created, error, listed, resource};

const FROM: &str = "+15550007000";
const TO: &str = "+14155550123";
/// The worker's default batch size: the most tasks in flight when the process dies.
const WORKER_BATCH: usize = 32;
const FINAL: &[&str] = &["sent", "delivered", "undelivered", "failed", "canceled"];

/// A Twilio Programmable Messaging mock: checks the path and Basic auth, logs every call, answers by script.
mod twilio_mock {
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use irisx_providers::sms::form;
    use serde_json::{Value, json};
    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    /// One request a mock received: the nth send (or list) to it, its form (or query), the sid a 201 uses.
    #[derive(Debug, Clone)]
    pub struct Call {
        pub provider: &'static str,
        pub nth: usize,
        pub list: bool,
        pub form: Vec<(String, String)>,
        pub sid: String,
        pub at: Instant,
    }

    impl Call {
        pub fn get(&self, key: &str) -> &str {
            form::get(&self.form, key).unwrap_or_default()
        }
    }

    /// Every mock's requests, in arrival order (logged on arrival, before any delay the script adds).
    #[derive(Clone, Default)]
    pub struct Log(Arc<Mutex<Vec<Call>>>);

    impl Log {
        pub fn all(&self) -> Vec<Call> {
            self.0.lock().unwrap().clone()
        }
        pub fn of(&self, provider: &str, list: bool) -> Vec<Call> {
            let all = self.all().into_iter();
            all.filter(|c| c.provider == provider && c.list == list).collect()
        }
        pub fn sends(&self, provider: &str) -> Vec<Call> {
            self.of(provider, false)
        }
    }

    pub type Script = Box<dyn Fn(&Call) -> ResponseTemplate + Send + Sync>;

    struct Twilio {
        name: &'static str,
        path: String,
        auth: String,
        log: Log,
        script: Script,
    }

    impl Respond for Twilio {
        fn respond(&self, req: &Request) -> ResponseTemplate {
            if req.url.path() != self.path {
                return error(404, 20404, "The requested resource was not found");
            }
            if req.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(self.auth.as_str()) {
                return error(401, 20003, "Authenticate");
            }
            let list = req.method.as_str() == "GET";
            let form = match list {
                true => req
                    .url
                    .query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
                false => form::pairs(&req.body),
            };
            let call = {
                let mut log = self.log.0.lock().unwrap();
                let nth = log.iter().filter(|c| c.provider == self.name && c.list == list).count();
                let (provider, sid, at) = (self.name, sid(self.name, nth), Instant::now());
                log.push(Call {
                    provider,
                    nth,
                    list,
                    form,
                    sid,
                    at,
                });
                log.last().unwrap().clone()
            };
            (self.script)(&call)
        }
    }

    /// The sid the mock named `name` gives its `nth` send: `SM` and 32 hex digits, unique per request.
    pub fn sid(name: &str, nth: usize) -> String {
        format!("SM{:02x}{nth:030x}", name.as_bytes()[0])
    }

    /// Starts a mock for one account; returns it with the credentials to register.
    pub async fn start(name: &'static str, log: Log, script: Script) -> (MockServer, Value) {
        let account_sid = format!("AC{:032x}", u128::from(name.as_bytes()[0]));
        let token = format!("token-{name}-0123456789abcdef");
        let probe = reqwest::Client::new()
            .get("http://x")
            .basic_auth(&account_sid, Some(&token));
        let auth = probe.build().unwrap().headers()["authorization"]
            .to_str()
            .unwrap()
            .to_owned();
        let path = format!("/2010-04-01/Accounts/{account_sid}/Messages.json");
        let server = MockServer::start().await;
        let twilio = Twilio {
            name,
            path,
            auth,
            log,
            script,
        };
        Mock::given(any()).respond_with(twilio).mount(&server).await;
        (server, json!({"account_sid": account_sid, "auth_token": token}))
    }

    /// A documented payload from the adapter's contract suite.
    pub fn contract(name: &str) -> Value {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../irisx-providers/tests/contracts/twilio");
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{name}")).expect("contract")).unwrap()
    }

    /// The documented message resource with these values.
    pub fn resource(sid: &str, to: &str, from: &str, body: &str, status: &str) -> Value {
        let mut r = contract("send_message_response_201.json");
        let uri = format!(
            "/2010-04-01/Accounts/{}/Messages/{sid}.json",
            r["account_sid"].as_str().unwrap()
        );
        for (k, v) in [
            ("sid", sid),
            ("to", to),
            ("from", from),
            ("body", body),
            ("status", status),
            ("uri", &uri),
        ] {
            r[k] = v.into();
        }
        r
    }

    /// 201 with the resource built from the request.
    pub fn created(c: &Call) -> ResponseTemplate {
        ResponseTemplate::new(201).set_body_json(resource(&c.sid, c.get("To"), c.get("From"), c.get("Body"), "queued"))
    }

    /// A page of the message list.
    pub fn listed(messages: Vec<Value>) -> ResponseTemplate {
        let uri = "/2010-04-01/Accounts/AC/Messages.json?PageSize=20";
        ResponseTemplate::new(200).set_body_json(json!({
            "messages": messages, "page": 0, "page_size": 20, "start": 0, "end": 0, "uri": uri,
            "first_page_uri": uri, "next_page_uri": null, "previous_page_uri": null,
        }))
    }

    /// Twilio's error body.
    pub fn error(status: u16, code: u32, message: &str) -> ResponseTemplate {
        let more_info = format!("https://www.twilio.com/docs/errors/{code}");
        let body = json!({"code": code, "message": message, "more_info": more_info, "status": status});
        ResponseTemplate::new(status).set_body_json(body)
    }
}

/// A server with a tenant, one Twilio mock per route (cheapest first) and a short-code number.
struct Rig {
    env: TestEnv,
    server: Server,
    key: String,
    accounts: Vec<String>,
    log: Log,
    _mocks: Vec<wiremock::MockServer>,
}

async fn rig(profile: Profile, vars: &[(&str, &str)], providers: Vec<(&'static str, i64, Script)>) -> Rig {
    let mut env = TestEnv::new(profile).await;
    env.set("IRISX_PLAN_KEY_LIMITS__FREE", "100000");
    env.set("IRISX_PLAN_TENANT_LIMITS__FREE", "100000");
    for (k, v) in vars {
        env.set(k, v);
    }
    let (env, server, staff) = boot_in(env).await;
    let api = server.api();
    let (tenant, owner) = api.tenant_with_owner(&staff, "Failover", "owner@failover.test").await;
    let (log, mut accounts, mut mocks) = (Log::default(), Vec::new(), Vec::new());
    for (name, cost, script) in providers {
        let (mock, credentials) = twilio_mock::start(name, log.clone(), script).await;
        let body = json!({"kind": "twilio", "name": format!("twilio {name}"), "credentials": credentials, "base_url": mock.uri()});
        let account = api.post("/admin/providers", Auth::Bearer(&staff), body).await;
        let id = text(&account.expect(201)["id"]);
        let route = json!({"prefix": "+", "account_id": id, "cost_micros": cost});
        api.post("/admin/routes", Auth::Bearer(&staff), route).await.expect(201);
        accounts.push(id);
        mocks.push(mock);
    }
    let number = json!({"number": FROM, "account_id": accounts[0], "tenant_id": tenant, "sender_type": "short_code"});
    api.post("/admin/phone-numbers", Auth::Bearer(&staff), number)
        .await
        .expect(201);
    let (_, key) = api.api_key(&owner, &["sms:send", "sms:read", "events:read"]).await;
    Rig {
        env,
        server,
        key,
        accounts,
        log,
        _mocks: mocks,
    }
}

fn text(v: &Value) -> String {
    v.as_str().expect("a string").to_owned()
}

impl Rig {
    fn api(&self) -> Api {
        self.server.api()
    }

    async fn send(&self, body: &str) -> String {
        let m = json!({"to": TO, "from": FROM, "body": body});
        let sent = self.api().post("/v1/sms/send", Auth::Key(&self.key), m).await;
        text(&sent.expect(202)["id"])
    }

    async fn get(&self, id: &str) -> Value {
        let path = format!("/v1/sms/{id}");
        self.api().get(&path, Auth::Key(&self.key)).await.expect(200)
    }

    /// Waits until the message is in a final state.
    async fn settled(&self, id: &str) -> Value {
        let started = Instant::now();
        loop {
            let m = self.get(id).await;
            if FINAL.contains(&m["status"].as_str().unwrap()) {
                return m;
            }
            let log = || self.server.stderr.lock().unwrap().clone();
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never final: {m}\n{}",
                log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// (outcome, account) of each attempt, oldest first.
    fn attempts(&self, m: &Value) -> Vec<(String, String)> {
        let a = m["attempts"].as_array().unwrap().iter();
        a.map(|a| (text(&a["outcome"]), text(&a["account_id"]))).collect()
    }

    fn on(&self, outcome: &str, account: usize) -> (String, String) {
        (outcome.to_owned(), self.accounts[account].clone())
    }
}

fn script(f: impl Fn(&Call) -> wiremock::ResponseTemplate + Send + Sync + 'static) -> Script {
    Box::new(f)
}

async fn fails_over_after_three_503s(profile: Profile) {
    let a = script(|_| error(503, 20503, "Service Unavailable"));
    let rig = rig(profile, &[], vec![("A", 1000, a), ("B", 2000, script(created))]).await;
    let m = rig.settled(&rig.send("failover after 503").await).await;
    assert_eq!(m["status"], "sent", "{m}");
    let (a_sends, b_sends) = (rig.log.sends("A"), rig.log.sends("B"));
    assert_eq!((a_sends.len(), b_sends.len()), (3, 1), "3 tries on A, then B");
    assert!(b_sends[0].at >= a_sends[2].at, "B only after A's third try");
    let mut want = vec![rig.on("retryable", 0); 3];
    want.push(rig.on("accepted", 1));
    assert_eq!(rig.attempts(&m), want, "{m}");
    assert_eq!(m["attempts"][0]["code"], "20503");
    assert_eq!(m["provider_message_id"], b_sends[0].sid.as_str());
    let gaps = [a_sends[1].at - a_sends[0].at, a_sends[2].at - a_sends[1].at];
    let ok = gaps[0] >= Duration::from_millis(750) && gaps[1] >= Duration::from_millis(1500);
    assert!(ok, "backoff 1 s then 2 s, ±25 %: {gaps:?}");
    rig.env.cleanup().await;
}

#[tokio::test]
async fn a_provider_answering_503_three_times_is_retried_with_backoff_then_the_next_route_sends_the_message() {
    for p in profiles("failover after 503") {
        fails_over_after_three_503s(p).await;
    }
}

async fn fails_at_once_on_21211(profile: Profile) {
    let refusal = twilio_mock::contract("error_400_invalid_to.json");
    let a = script(move |_| wiremock::ResponseTemplate::new(400).set_body_json(&refusal));
    let rig = rig(profile, &[], vec![("A", 1000, a), ("B", 2000, script(created))]).await;
    let m = rig.settled(&rig.send("refused with 21211").await).await;
    assert_eq!(m["status"], "failed", "{m}");
    assert_eq!(m["error_code"], "21211");
    assert_eq!(rig.attempts(&m), vec![rig.on("permanent", 0)]);
    assert_eq!(m["attempts"][0]["code"], "21211");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all = rig.log.all();
    assert!(all.len() == 1 && all[0].provider == "A", "one request, to A: {all:?}");
    rig.env.cleanup().await;
}

#[tokio::test]
async fn a_400_with_twilio_code_21211_fails_the_message_at_once_without_a_retry_or_a_request_to_the_next_route() {
    for p in profiles("permanent 21211") {
        fails_at_once_on_21211(p).await;
    }
}

const SLOW: Duration = Duration::from_secs(2);
const TIMEOUT: &[(&str, &str)] = &[("IRISX_PROVIDER_TIMEOUT_MS", "300")];

async fn reconciles_a_listed_message(profile: Profile) {
    let body = "timed out but stored";
    let stored = |c: &Call| resource(&twilio_mock::sid("A", 0), c.get("To"), c.get("From"), body, "sent");
    let a = script(move |c| match c.list {
        false => created(c).set_delay(SLOW),
        true => listed(vec![stored(c)]),
    });
    let rig = rig(profile, TIMEOUT, vec![("A", 1000, a), ("B", 2000, script(created))]).await;
    let m = rig.settled(&rig.send(body).await).await;
    assert_eq!(m["status"], "sent", "{m}");
    let want = vec![rig.on("unknown", 0), rig.on("reconciled", 0)];
    assert_eq!(rig.attempts(&m), want, "{m}");
    assert_eq!(m["provider_message_id"], twilio_mock::sid("A", 0), "the id A listed");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = rig.log.all();
    let kinds: Vec<_> = all.iter().map(|c| (c.provider, c.list)).collect();
    assert_eq!(kinds, [("A", false), ("A", true)], "a send and a list on A");
    let query = (all[1].get("To"), all[1].get("From"), all[1].get("PageSize"));
    assert_eq!(query, (TO, FROM, "20"));
    rig.env.cleanup().await;
}

#[tokio::test]
async fn a_send_that_times_out_is_reconciled_with_the_same_provider_and_not_resent_when_that_provider_lists_it() {
    for p in profiles("reconciled, listed") {
        reconciles_a_listed_message(p).await;
    }
}

async fn resends_only_after_reconciling(profile: Profile) {
    let a = script(|c| match (c.list, c.nth) {
        (true, _) => listed(Vec::new()),
        (false, 0) => error(500, 20500, "Internal Server Error").set_delay(SLOW),
        (false, _) => created(c),
    });
    let rig = rig(profile, TIMEOUT, vec![("A", 1000, a), ("B", 2000, script(created))]).await;
    let m = rig.settled(&rig.send("timed out and lost").await).await;
    assert_eq!(m["status"], "sent", "{m}");
    let attempts = rig.attempts(&m);
    assert_eq!(attempts[..2], [rig.on("unknown", 0), rig.on("reconciled", 0)], "{m}");
    assert_eq!(attempts.len(), 3, "then one send: {m}");
    assert_eq!(attempts[2].0, "accepted");
    let all = rig.log.all();
    let list_at = all.iter().position(|c| c.list).expect("a reconciliation request");
    let sends: Vec<usize> = (0..all.len()).filter(|&i| !all[i].list).collect();
    assert_eq!(sends.len(), 2, "the lost send and one resend: {all:?}");
    let ordered = sends[0] < list_at && list_at < sends[1];
    assert!(ordered, "resent only after reconciling: {all:?}");
    let b_after = all
        .iter()
        .filter(|c| c.provider == "B")
        .all(|c| c.at >= all[list_at].at);
    assert!(b_after, "nothing to B before reconciling: {all:?}");
    assert_eq!(m["provider_message_id"], all[sends[1]].sid.as_str());
    rig.env.cleanup().await;
}

#[tokio::test]
async fn a_send_that_times_out_is_sent_again_only_after_the_same_provider_reports_it_never_stored_it() {
    for p in profiles("reconciled, absent") {
        resends_only_after_reconciling(p).await;
    }
}

async fn honours_retry_after(profile: Profile) {
    let a = script(|c| match c.nth {
        0 => error(429, 20429, "Too Many Requests").insert_header("Retry-After", "2"),
        _ => created(c),
    });
    let rig = rig(profile, &[], vec![("A", 1000, a), ("B", 2000, script(created))]).await;
    let m = rig.settled(&rig.send("slow down").await).await;
    assert_eq!(m["status"], "sent", "{m}");
    let want = vec![rig.on("retryable", 0), rig.on("accepted", 0)];
    assert_eq!(rig.attempts(&m), want, "{m}");
    let (sends, b) = (rig.log.sends("A"), rig.log.sends("B"));
    assert_eq!((sends.len(), b.len()), (2, 0), "two tries on A, none on B");
    let gap = sends[1].at - sends[0].at;
    assert!(gap >= Duration::from_secs(2), "the second try came {gap:?} later");
    rig.env.cleanup().await;
}

#[tokio::test]
async fn a_429_with_retry_after_2_makes_the_next_try_wait_at_least_2_seconds() {
    for p in profiles("Retry-After") {
        honours_retry_after(p).await;
    }
}

const N: usize = 30;

/// Waits for half the messages to reach the mock, kills the server, starts it again; returns when it died.
async fn kill_mid_batch(rig: &mut Rig) -> Instant {
    let started = Instant::now();
    while rig.log.sends("A").len() < N / 2 {
        assert!(started.elapsed() < Duration::from_secs(30), "never half sent");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    rig.server.kill9().await;
    let killed_at = Instant::now();
    rig.server = rig.env.serve(&[]).await;
    killed_at
}

async fn survives_sigkill(profile: Profile) {
    let a = script(|c| created(c).set_delay(Duration::from_millis(50)));
    let mut rig = rig(profile, &[("IRISX_QUEUE_ACK_WAIT_SECS", "2")], vec![("A", 1000, a)]).await;
    let mut ids = Vec::new();
    for i in 0..N {
        let body = format!("crash test message {i:02}");
        ids.push((rig.send(&body).await, body));
    }
    let killed_at = kill_mid_batch(&mut rig).await;
    let before_kill = rig.log.all().iter().filter(|c| c.at < killed_at).count();
    let mut duplicates = 0;
    for (id, body) in &ids {
        let m = rig.settled(id).await;
        assert_eq!(m["status"], "sent", "{m}");
        assert_eq!(
            rig.attempts(&m),
            vec![rig.on("accepted", 0)],
            "a crash records none: {m}"
        );
        let mut subs = rig.log.sends("A");
        subs.retain(|c| c.get("Body") == body);
        assert!((1..=2).contains(&subs.len()), "{body}: {} submissions", subs.len());
        if subs.len() == 2 {
            duplicates += 1;
            let across = subs[0].at < killed_at && subs[1].at > killed_at;
            assert!(across, "{body}: resent only across the kill");
        }
        assert_eq!(m["provider_message_id"], subs[subs.len() - 1].sid.as_str(), "{body}");
        let path = format!("/v1/events?resource_id={id}");
        let events = rig.api().get(&path, Auth::Key(&rig.key)).await.expect(200);
        let finals = events["data"].as_array().unwrap().iter();
        let finals = finals.filter(|e| FINAL.contains(&e["type"].as_str().unwrap().trim_start_matches("message.")));
        assert_eq!(finals.count(), 1, "exactly one final event for {id}: {events}");
    }
    assert!(duplicates <= WORKER_BATCH, "{duplicates} duplicates");
    println!(
        "{profile:?}: {before_kill} of {N} submissions reached Twilio before SIGKILL; {duplicates} message(s) were \
         submitted twice (accepted by the provider, not yet recorded when the process died)"
    );
    rig.env.cleanup().await;
}

#[tokio::test]
async fn a_worker_killed_mid_batch_leaves_every_message_in_one_final_state_and_resends_only_what_it_had_not_recorded() {
    for p in profiles("SIGKILL mid-batch") {
        survives_sigkill(p).await;
    }
}
