//! Call-control documents run on real calls with sipp at the far end.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use common::{Sipp, TestEngine, events_until, until_answered_or_ended};
use irisx_core::ports::voice::{
    CallEvent, CallRef, Destination, HangupCause, Originate, Recording, SipTransport, TrunkTarget, VoiceEngine,
    VoiceError,
};
use irisx_voice::control::{CallContext, ControlEnv, Next, parse, run};
use irisx_voice::media;

/// The orchestrator's side in tests: a tone for every Play URL, recordings kept in memory, one trunk.
#[derive(Default)]
struct Env {
    recordings: Mutex<Vec<Recording>>,
    trunk_port: u16,
}

#[async_trait]
impl ControlEnv for Env {
    async fn fetch_audio(&self, _url: &str) -> Result<Bytes, VoiceError> {
        Ok(media::samples_to_wav(&media::tone(660.0, Duration::from_millis(300), 8000)).unwrap())
    }
    async fn save_recording(&self, _call: &CallRef, recording: &Recording) -> Result<String, VoiceError> {
        let mut recordings = self.recordings.lock().unwrap();
        recordings.push(recording.clone());
        Ok(format!("mem://recordings/{}", recordings.len()))
    }
    async fn route(&self, _number: &str, _from: &str) -> Result<Vec<TrunkTarget>, VoiceError> {
        Ok(vec![TrunkTarget {
            name: "t1".into(),
            host: "127.0.0.1".into(),
            port: self.trunk_port,
            transport: SipTransport::Udp,
            username: None,
            password: None,
            codecs: Vec::new(),
            caller_id: None,
            strip_plus: false,
        }])
    }
}

/// An outbound call answered by a sipp carrier that plays `pcap` (PCMU with events on 101, or PCMA).
async fn call_carrier(engine: &TestEngine, pcap: &str, codec: &str) -> (Sipp, CallRef) {
    let name = if codec == "8" { "PCMA" } else { "PCMU" };
    let carrier = Sipp::start(
        "uas_play.xml",
        1,
        &["-key", "codec", codec, "-key", "codec_name", name, "-key", "pcap", pcap],
    );
    let request = Originate {
        tenant: "ten_a".into(),
        to: "15551230000".into(),
        from: "15559870000".into(),
        destination: Destination::Trunks(vec![TrunkTarget {
            name: "t1".into(),
            host: "127.0.0.1".into(),
            port: carrier.port,
            transport: SipTransport::Udp,
            username: None,
            password: None,
            codecs: Vec::new(),
            caller_id: None,
            strip_plus: false,
        }]),
        ring_timeout: Duration::from_secs(5),
    };
    let mut handle = engine.engine.originate(request).await.unwrap();
    let seen = until_answered_or_ended(&mut handle.events, 8).await;
    assert!(matches!(seen.last(), Some(CallEvent::Answered { .. })), "{seen:?}");
    (carrier, handle.call)
}

fn context<'a>(engine: &'a TestEngine, env: &'a Env, call: &'a CallRef, answered: bool) -> CallContext<'a> {
    CallContext {
        engine: engine.engine.as_ref(),
        env,
        call,
        tenant: "ten_a",
        caller_id: "15559870000",
        answered,
    }
}

#[tokio::test]
async fn a_gather_after_a_prompt_sends_the_pressed_digit_to_its_action() {
    let engine = TestEngine::start().await;
    let env = Env::default();
    let (carrier, call) = call_carrier(&engine, "/usr/share/sip-tester/dtmf_2833_1.pcap", "0").await;
    let verbs = parse(r#"<Response><Gather numDigits="1" timeout="5" action="/menu"><Say>Press one.</Say><Play>https://example.com/beep.wav</Play></Gather><Say>Nothing pressed.</Say></Response>"#).unwrap();

    let next = run(&mut context(&engine, &env, &call, true), &verbs).await.unwrap();
    assert_eq!(
        next,
        Next::Fetch {
            url: Some("/menu".into()),
            params: vec![("Digits".into(), "1".into())]
        }
    );

    engine.engine.hangup(&call).await.unwrap();
    carrier.expect_success().await;
}

#[tokio::test]
async fn a_record_verb_stores_the_wav_and_hands_its_url_and_length_to_the_action() {
    let engine = TestEngine::start().await;
    let env = Env::default();
    let (carrier, call) = call_carrier(&engine, "/usr/share/sip-tester/g711a.pcap", "8").await;
    let verbs = parse(r#"<Response><Record maxLength="2" action="/recorded"/></Response>"#).unwrap();

    let next = run(&mut context(&engine, &env, &call, true), &verbs).await.unwrap();
    let expected = vec![
        ("RecordingUrl".to_string(), "mem://recordings/1".to_string()),
        ("RecordingDuration".to_string(), "2".to_string()),
        ("Digits".to_string(), String::new()),
    ];
    assert_eq!(
        next,
        Next::Fetch {
            url: Some("/recorded".into()),
            params: expected
        }
    );
    let recordings = env.recordings.lock().unwrap().clone();
    let samples = media::wav_to_samples(&recordings[0].wav).unwrap();
    assert!((samples.len() as i64 - 16000).abs() <= 160, "{} samples", samples.len());
    assert!(media::rms(&samples) > 300.0);

    engine.engine.hangup(&call).await.unwrap();
    carrier.expect_success().await;
}

#[tokio::test]
async fn the_end_of_a_document_hangs_up() {
    let engine = TestEngine::start().await;
    let env = Env::default();
    let carrier = Sipp::start(
        "uas_answer.xml",
        1,
        &["-key", "codec", "0", "-key", "codec_name", "PCMU"],
    );
    let env = Env {
        trunk_port: carrier.port,
        ..env
    };
    let request = Originate {
        tenant: "ten_a".into(),
        to: "15551230000".into(),
        from: "15559870000".into(),
        destination: Destination::Trunks(env.route("15551230000", "15559870000").await.unwrap()),
        ring_timeout: Duration::from_secs(5),
    };
    let mut handle = engine.engine.originate(request).await.unwrap();
    events_until(&mut handle.events, 8, |e| matches!(e, CallEvent::Answered { .. })).await;
    let verbs = parse("<Response><Say>Goodbye.</Say></Response>").unwrap();

    assert_eq!(
        run(&mut context(&engine, &env, &handle.call, true), &verbs)
            .await
            .unwrap(),
        Next::Ended
    );
    let seen = events_until(&mut handle.events, 5, |e| matches!(e, CallEvent::Hangup { .. })).await;
    assert_eq!(
        seen.last(),
        Some(&CallEvent::Hangup {
            cause: HangupCause::Completed,
            sip_code: None
        })
    );
    carrier.expect_success().await;
}

#[tokio::test]
async fn a_reject_verb_refuses_an_incoming_call_as_busy_without_answering() {
    let engine = TestEngine::start().await;
    let env = Env::default();
    let caller = Sipp::start(
        "invite_486.xml",
        1,
        &["-s", "15557770000", &engine.sip_addr().to_string()],
    );
    let incoming = tokio::time::timeout(Duration::from_secs(5), engine.engine.next_incoming())
        .await
        .unwrap()
        .unwrap();
    let verbs = parse(r#"<Response><Reject reason="busy"/></Response>"#).unwrap();

    let next = run(&mut context(&engine, &env, &incoming.handle.call, false), &verbs)
        .await
        .unwrap();
    assert_eq!(next, Next::Ended);
    caller.expect_success().await;
}

#[tokio::test]
async fn a_dial_to_a_busy_number_reports_busy_to_its_action() {
    let engine = TestEngine::start().await;
    let busy = Sipp::start("uas_486.xml", 1, &[]);
    let env = Env {
        trunk_port: busy.port,
        ..Env::default()
    };
    let (carrier, call) = call_carrier(&engine, "/usr/share/sip-tester/g711a.pcap", "8").await;
    let verbs = parse(r#"<Response><Dial timeout="5" action="/dialled">+15551112222</Dial></Response>"#).unwrap();

    let next = run(&mut context(&engine, &env, &call, true), &verbs).await.unwrap();
    assert_eq!(
        next,
        Next::Fetch {
            url: Some("/dialled".into()),
            params: vec![("DialCallStatus".into(), "busy".into())]
        }
    );

    engine.engine.hangup(&call).await.unwrap();
    busy.expect_success().await;
    carrier.expect_success().await;
}

#[tokio::test]
async fn an_incoming_call_dialling_a_registered_agent_is_bridged_until_the_agent_hangs_up() {
    let engine = TestEngine::start().await;
    let env = Env::default();
    let engine_addr = engine.sip_addr().to_string();
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
        &engine_addr,
    ];
    let agent = Sipp::start("uas_answer_hangup.xml", 1, &agent_args);
    let contact_port = agent.port.to_string();
    let register = [
        "-s",
        "alice",
        "-au",
        "alice",
        "-ap",
        "secret",
        "-key",
        "contact_port",
        &contact_port,
        &engine_addr,
    ];
    Sipp::start("register.xml", 1, &register).expect_success().await;
    let pcap = "/usr/share/sip-tester/g711a.pcap";
    let caller = Sipp::start(
        "caller.xml",
        1,
        &["-s", "15557770000", "-key", "pcap", pcap, &engine_addr],
    );
    let incoming = tokio::time::timeout(Duration::from_secs(5), engine.engine.next_incoming())
        .await
        .unwrap()
        .unwrap();
    let verbs =
        parse(r#"<Response><Dial timeout="5" action="/after"><Client>alice</Client></Dial></Response>"#).unwrap();

    let mut ctx = context(&engine, &env, &incoming.handle.call, false);
    let next = run(&mut ctx, &verbs).await.unwrap();
    assert!(ctx.answered);
    assert_eq!(
        next,
        Next::Fetch {
            url: Some("/after".into()),
            params: vec![("DialCallStatus".into(), "completed".into())]
        }
    );
    let to_caller = engine.engine.rtp_counters(&incoming.handle.call).unwrap().packets_sent;
    assert!(
        to_caller >= 30,
        "the agent's audio reached the caller's leg ({to_caller} packets)"
    );

    engine.engine.hangup(&incoming.handle.call).await.unwrap();
    agent.expect_success().await;
    caller.expect_success().await;
}
