//! Incoming calls: answered and bridged to an agent, or rejected.

use std::time::Duration;

use irisx_core::ports::voice::{CallEvent, Destination, HangupCause, Originate, VoiceEngine};

use crate::{next, start};

#[tokio::test]
async fn a_parked_inbound_call_is_answered_and_bridged_to_an_agent_until_the_agent_hangs_up() {
    let setup = start("inbound_bridge", |_| {}).await;
    let engine = &setup.engine;
    let mut incoming = tokio::time::timeout(Duration::from_secs(5), engine.next_incoming())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (incoming.to.as_str(), incoming.from.as_str()),
        ("15550001111", "15557654321")
    );
    assert_eq!(incoming.peer, "198.51.100.7:5060");
    assert_eq!(incoming.agent, None);
    let caller = incoming.handle.call.clone();
    engine.answer(&caller, "ten_acme").await.unwrap();
    assert_eq!(
        next(&mut incoming.handle.events).await,
        CallEvent::Answered { trunk: None }
    );

    let to_agent = Originate {
        tenant: "ten_acme".into(),
        to: "alice".into(),
        from: "15557654321".into(),
        destination: Destination::Agent { user: "alice".into() },
        ring_timeout: Duration::from_secs(20),
    };
    let mut agent = engine.originate(to_agent).await.unwrap();
    assert_eq!(next(&mut agent.events).await, CallEvent::Ringing);
    assert_eq!(next(&mut agent.events).await, CallEvent::Answered { trunk: None });

    tokio::time::timeout(Duration::from_secs(5), engine.bridge(&caller, &agent.call))
        .await
        .expect("the bridge ends when the agent hangs up")
        .unwrap();
    let completed = CallEvent::Hangup {
        cause: HangupCause::Completed,
        sip_code: None,
    };
    assert_eq!(next(&mut agent.events).await, completed);
    engine.hangup(&caller).await.unwrap();
    assert_eq!(next(&mut incoming.handle.events).await, completed);
    setup.finish().await;
}

#[tokio::test]
async fn an_inbound_call_rejected_with_486_is_killed_with_user_busy() {
    let setup = start("inbound_reject", |_| {}).await;
    let mut incoming = tokio::time::timeout(Duration::from_secs(5), setup.engine.next_incoming())
        .await
        .unwrap()
        .unwrap();
    setup.engine.reject(&incoming.handle.call, 486).await.unwrap();
    let busy = CallEvent::Hangup {
        cause: HangupCause::Busy,
        sip_code: Some(486),
    };
    assert_eq!(next(&mut incoming.handle.events).await, busy);
    let again = setup.engine.reject(&incoming.handle.call, 486).await;
    assert!(again.is_err(), "a rejected call is gone");
    setup.finish().await;
}
