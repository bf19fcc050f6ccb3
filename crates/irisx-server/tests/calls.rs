//! Calls on the real binary with sipp as the carrier and as callers and agents: a call placed through the
//! API runs its documents (Say, Play, Gather posting digits to an action, Record), hangs up and is rated by its
//! CDR with a `call.completed` event; a trunk answering 503 fails over to the next, one answering 486 ends the
//! call busy without failover; tenants cannot reach each other's trunks, calls and agents; bad input is 422.

mod common;

use std::time::Duration;

use common::calls::*;
use common::sipp::Sipp;
use common::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DTMF_PCAP: &str = "/usr/share/sip-tester/dtmf_2833_1.pcap";

/// The tenant's document server: a menu (Say, Play, Gather), then Record, then Hangup; and status callbacks.
async fn documents() -> MockServer {
    let server = MockServer::start().await;
    let menu = format!(
        r#"<Response><Say>Welcome.</Say><Play>{}/tone.wav</Play><Gather numDigits="1" timeout="5" action="/digits"><Say>Press a key.</Say></Gather><Say>Nothing.</Say></Response>"#,
        server.uri()
    );
    let tone = irisx_voice::media::tone(440.0, Duration::from_millis(300), 8000);
    let wav = irisx_voice::media::samples_to_wav(&tone).unwrap().to_vec();
    Mock::given(method("POST"))
        .and(path("/voice"))
        .respond_with(xml(&menu))
        .mount(&server)
        .await;
    let record = r#"<Response><Record maxLength="1" action="/recorded"/></Response>"#;
    Mock::given(method("POST"))
        .and(path("/digits"))
        .respond_with(xml(record))
        .mount(&server)
        .await;
    let bye = "<Response><Hangup/></Response>";
    Mock::given(method("POST"))
        .and(path("/recorded"))
        .respond_with(xml(bye))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tone.wav"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(wav, "audio/wav"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/status"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

async fn an_outbound_call_runs_its_documents_and_is_rated(profile: Profile) {
    let (env, server, staff) = start(profile).await;
    let api = server.api();
    let token = tenant(&api, &staff, "voice-a").await;
    let docs = documents().await;
    let carrier = Sipp::start(
        "uas_play.xml",
        &[
            "-key",
            "codec",
            "0",
            "-key",
            "codec_name",
            "PCMU",
            "-key",
            "pcap",
            DTMF_PCAP,
        ],
    );
    let trunk_id = trunk(&api, &token, "carrier", carrier.port, 12_000).await;
    let body = json!({"to": "+15551230000", "from": "+15559870000", "url": format!("{}/voice", docs.uri()),
        "status_callback": format!("{}/status", docs.uri())});
    let call = api.post("/v1/calls", Auth::Bearer(&token), body).await.expect(202);
    assert_eq!(call["status"], "queued");
    let id = call["id"].as_str().unwrap();

    carrier.expect_success().await;
    let rated = rated(&api, &token, id).await;
    assert_eq!(rated["status"], "completed", "{rated}");
    assert_eq!(rated["trunk_id"], trunk_id.as_str());
    let duration = rated["duration_secs"].as_i64().unwrap();
    assert!((2..=15).contains(&duration), "duration {duration}");
    assert_eq!(rated["billable_secs"], 60, "the free plan bills whole minutes");
    assert_eq!(
        rated["price_micros"], 14_400,
        "12,000 a minute plus the free plan's 20 %"
    );
    let first = &posted(&docs, "/voice").await[0];
    assert_eq!(
        (first["CallSid"].as_str(), first["To"].as_str()),
        (Some(id), Some("+15551230000"))
    );
    assert_eq!(posted(&docs, "/digits").await[0]["Digits"], "1");
    let recorded = &posted(&docs, "/recorded").await[0];
    assert!(
        recorded["RecordingUrl"].as_str().unwrap().contains("/v1/objects/obj_"),
        "{recorded}"
    );
    let kinds = [
        "call.queued",
        "call.initiated",
        "call.ringing",
        "call.answered",
        "call.completed",
    ];
    callbacks(&docs, &kinds).await;
    let completed = posted(&docs, "/status")
        .await
        .into_iter()
        .find(|b| b["type"] == "call.completed")
        .unwrap();
    assert_eq!(completed["data"]["duration_secs"], duration);
    let recordings = api
        .get(&format!("/v1/calls/{id}/recordings"), Auth::Bearer(&token))
        .await
        .expect(200);
    let object = recordings["data"][0]["object_id"]
        .as_str()
        .expect("one recording")
        .to_owned();
    let wav = download(&api, &token, &object).await;
    assert_eq!(&wav[..4], b"RIFF");
    env.cleanup().await;
}

#[tokio::test]
async fn an_outbound_call_through_a_sipp_carrier_runs_say_play_gather_and_record_then_is_rated_on_hangup() {
    for profile in profiles("calls outbound") {
        an_outbound_call_runs_its_documents_and_is_rated(profile).await;
    }
}

async fn failover_and_busy(profile: Profile) {
    let (env, server, staff) = start(profile).await;
    let api = server.api();
    let token = tenant(&api, &staff, "voice-f").await;
    let docs = documents().await;
    let doc = "<Response><Pause length=\"1\"/><Hangup/></Response>";
    let place = |api: Api, token: String| async move {
        let body = json!({"to": "+15551230000", "from": "+15559870000", "document": doc});
        let call = api.post("/v1/calls", Auth::Bearer(&token), body).await.expect(202);
        call["id"].as_str().unwrap().to_owned()
    };

    let refusing = Sipp::start("uas_503.xml", &[]);
    let answering = Sipp::start("uas_answer.xml", &["-key", "codec", "0", "-key", "codec_name", "PCMU"]);
    trunk(&api, &token, "cheap", refusing.port, 1_000).await;
    let second = trunk(&api, &token, "dear", answering.port, 2_000).await;
    let id = place(api.clone(), token.clone()).await;
    refusing.expect_success().await;
    answering.expect_success().await;
    let c = rated(&api, &token, &id).await;
    assert_eq!(
        (c["status"].as_str(), c["trunk_id"].as_str()),
        (Some("completed"), Some(second.as_str())),
        "{c}"
    );

    let token = tenant(&api, &staff, "voice-b").await;
    let busy = Sipp::start("uas_486.xml", &[]);
    let never = Sipp::start("uas_answer.xml", &["-key", "codec", "0", "-key", "codec_name", "PCMU"]);
    trunk(&api, &token, "cheap", busy.port, 1_000).await;
    trunk(&api, &token, "dear", never.port, 2_000).await;
    let id = place(api.clone(), token.clone()).await;
    busy.expect_success().await;
    let c = rated(&api, &token, &id).await;
    assert_eq!(
        (c["status"].as_str(), c["sip_code"].as_u64()),
        (Some("busy"), Some(486)),
        "{c}"
    );
    assert_eq!(c["billable_secs"], 0);
    drop(never);
    drop(docs);
    env.cleanup().await;
}

#[tokio::test]
async fn a_trunk_answering_503_fails_over_to_the_next_and_486_ends_the_call_busy_without_failover() {
    for profile in profiles("calls failover") {
        failover_and_busy(profile).await;
    }
}

async fn live_calls_are_redirected_and_hung_up(profile: Profile) {
    let (env, server, staff) = start(profile).await;
    let api = server.api();
    let long = r#"<Response><Pause length="20"/><Say>Still here.</Say></Response>"#;
    let answer = ["-key", "codec", "0", "-key", "codec_name", "PCMU"];
    for (tag, change) in [
        (
            "voice-r",
            json!({"document": "<Response><Say>Goodbye.</Say><Hangup/></Response>"}),
        ),
        ("voice-h", json!({"status": "completed"})),
    ] {
        let token = tenant(&api, &staff, tag).await;
        let carrier = Sipp::start("uas_answer.xml", &answer);
        trunk(&api, &token, "carrier", carrier.port, 6_000).await;
        let body = json!({"to": "+15551230000", "from": "+15559870000", "document": long});
        let call = api.post("/v1/calls", Auth::Bearer(&token), body).await.expect(202);
        let id = call["id"].as_str().unwrap();
        in_progress(&api, &token, id).await;
        api.post(&format!("/v1/calls/{id}"), Auth::Bearer(&token), change)
            .await
            .expect(200);
        carrier.expect_success().await;
        let c = rated(&api, &token, id).await;
        assert_eq!(c["status"], "completed", "{c}");
        assert!(
            c["duration_secs"].as_i64().unwrap() < 10,
            "the change ended the 20 s pause early: {c}"
        );
        api.post(
            &format!("/v1/calls/{id}"),
            Auth::Bearer(&token),
            json!({"status": "completed"}),
        )
        .await
        .expect(409);
    }
    env.cleanup().await;
}

#[tokio::test]
async fn a_live_call_is_redirected_to_a_new_document_or_hung_up_through_the_api() {
    for profile in profiles("calls live control") {
        live_calls_are_redirected_and_hung_up(profile).await;
    }
}

async fn a_recorded_call(profile: Profile) {
    let (env, server, staff) = start(profile).await;
    let api = server.api();
    let token = tenant(&api, &staff, "voice-rec").await;
    let carrier = Sipp::start(
        "uas_play.xml",
        &[
            "-key",
            "codec",
            "8",
            "-key",
            "codec_name",
            "PCMA",
            "-key",
            "pcap",
            "/usr/share/sip-tester/g711a.pcap",
        ],
    );
    trunk(&api, &token, "carrier", carrier.port, 12_000).await;
    let doc = r#"<Response><Pause length="3"/><Hangup/></Response>"#;
    let body = json!({"to": "+15551230000", "from": "+15559870000", "document": doc, "record": true});
    let call = api.post("/v1/calls", Auth::Bearer(&token), body).await.expect(202);
    let id = call["id"].as_str().unwrap();
    carrier.expect_success().await;
    assert_eq!(rated(&api, &token, id).await["status"], "completed");
    let recordings = api
        .get(&format!("/v1/calls/{id}/recordings"), Auth::Bearer(&token))
        .await
        .expect(200);
    let list = recordings["data"].as_array().unwrap();
    assert_eq!(list.len(), 1, "one recording of the whole call: {recordings}");
    let ms = list[0]["duration_ms"].as_i64().unwrap();
    assert!((2_500..=4_500).contains(&ms), "the call lasted about 3 s: {ms} ms");
    let object = list[0]["object_id"].as_str().unwrap();
    let wav = download(&api, &token, object).await;
    assert_eq!(&wav[..4], b"RIFF");
    // 8 kHz 16-bit mono after a 44-byte header: as long as the recording says, and not silent (sipp played
    // speech into the call).
    let samples: Vec<i16> = wav[44..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert!(
        (samples.len() as i64 - ms * 8).abs() <= 800,
        "{} samples for {ms} ms",
        samples.len()
    );
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 500).count();
    assert!(
        loud > samples.len() / 20,
        "the recording is silent ({loud} loud samples)"
    );
    env.cleanup().await;
}

/// A carrier that says nothing: the whole-call recording still holds what the call said to it.
async fn a_recorded_call_keeps_what_the_far_end_heard(profile: Profile) {
    let (env, server, staff) = start(profile).await;
    let api = server.api();
    let token = tenant(&api, &staff, "voice-rec2").await;
    let carrier = Sipp::start("uas_answer.xml", &["-key", "codec", "0", "-key", "codec_name", "PCMU"]);
    trunk(&api, &token, "carrier", carrier.port, 12_000).await;
    let doc = r#"<Response><Say>This call is recorded for quality.</Say><Hangup/></Response>"#;
    let body = json!({"to": "+15551230000", "from": "+15559870000", "document": doc, "record": true});
    let call = api.post("/v1/calls", Auth::Bearer(&token), body).await.expect(202);
    let id = call["id"].as_str().unwrap();
    carrier.expect_success().await;
    assert_eq!(rated(&api, &token, id).await["status"], "completed");
    let recordings = api
        .get(&format!("/v1/calls/{id}/recordings"), Auth::Bearer(&token))
        .await
        .expect(200);
    let object = recordings["data"][0]["object_id"].as_str().expect("one recording");
    let samples = irisx_voice::media::wav_to_samples(&download(&api, &token, object).await).unwrap();
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 500).count();
    assert!(
        loud > samples.len() / 10,
        "the spoken prompt is in the recording ({loud} of {} samples loud)",
        samples.len()
    );
    env.cleanup().await;
}

#[tokio::test]
async fn a_whole_call_recording_mixes_in_what_the_call_said_to_a_silent_far_end() {
    for profile in profiles("whole-call recording, both directions") {
        a_recorded_call_keeps_what_the_far_end_heard(profile).await;
    }
}

/// `<Dial><Sip>` reaches a SIP address directly, with no trunk, and bridges it until it hangs up.
async fn a_dial_to_a_sip_address(profile: Profile) {
    let sip_port = common::sipp::free_udp_ports(1);
    let (env, server, staff) = start_with(profile, &[("IRISX_VOICE__SIP_PORT", &sip_port.to_string())]).await;
    let api = server.api();
    let token = tenant(&api, &staff, "voice-sip").await;
    let docs = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/after"))
        .respond_with(xml("<Response><Hangup/></Response>"))
        .mount(&docs)
        .await;
    let engine = format!("127.0.0.1:{sip_port}");
    let pbx = Sipp::start(
        "uas_answer_hangup.xml",
        &[
            "-key",
            "codec",
            "0",
            "-key",
            "codec_name",
            "PCMU",
            "-key",
            "engine",
            &engine,
        ],
    );
    let carrier = Sipp::start("uas_answer.xml", &["-key", "codec", "0", "-key", "codec_name", "PCMU"]);
    trunk(&api, &token, "carrier", carrier.port, 1_000).await;
    let doc = format!(
        r#"<Response><Dial action="{}/after"><Sip>sip:bob@127.0.0.1:{};transport=udp</Sip></Dial></Response>"#,
        docs.uri(),
        pbx.port
    );
    let body = json!({"to": "+15551230000", "from": "+15559870000", "document": doc});
    let call = api.post("/v1/calls", Auth::Bearer(&token), body).await.expect(202);
    let id = call["id"].as_str().unwrap();
    pbx.expect_success().await;
    carrier.expect_success().await;
    assert_eq!(rated(&api, &token, id).await["status"], "completed");
    assert_eq!(posted(&docs, "/after").await[0]["DialCallStatus"], "completed");
    env.cleanup().await;
}

#[tokio::test]
async fn a_dial_to_a_sip_uri_reaches_that_address_without_a_trunk_and_reports_its_outcome() {
    for profile in profiles("dial sip uri") {
        a_dial_to_a_sip_address(profile).await;
    }
}

#[tokio::test]
async fn a_call_placed_with_record_true_is_recorded_whole_with_the_far_ends_audio() {
    for profile in profiles("whole-call recording") {
        a_recorded_call(profile).await;
    }
}
