//! Dial strings, refused values and the cause tables.

use std::collections::HashMap;

use rstest::rstest;

use super::*;

fn trunk(name: &str) -> TrunkTarget {
    TrunkTarget {
        name: name.into(),
        host: "sip.carrier.example".into(),
        port: 5080,
        transport: SipTransport::Tcp,
        username: Some("acct1".into()),
        password: Some("pa$$w0rd".into()),
        codecs: vec!["PCMU".into(), "PCMA".into()],
        caller_id: None,
        strip_plus: false,
    }
}

#[test]
fn a_mapped_trunk_dials_its_gateway_and_an_unmapped_one_its_own_name() {
    let map = TrunkDialing::Gateways(HashMap::from([("trk_1".to_owned(), "carrier_a".to_owned())]));
    let mapped = trunk_target(&map, &trunk("trk_1"), "15551234567", "15550001111").unwrap();
    assert_eq!(mapped.dial, "sofia/gateway/carrier_a/15551234567");
    assert_eq!(mapped.vars, ["absolute_codec_string=^^:PCMU:PCMA"]);
    let unmapped = trunk_target(&map, &trunk("trk_2"), "15551234567", "15550001111").unwrap();
    assert_eq!(unmapped.dial, "sofia/gateway/trk_2/15551234567");
}

#[test]
fn a_profile_dials_the_host_with_its_transport_and_credentials() {
    let target = trunk_target(
        &TrunkDialing::Profile("external".into()),
        &trunk("t"),
        "+15551234567",
        "15550001111",
    )
    .unwrap();
    assert_eq!(
        target.dial,
        "sofia/external/+15551234567@sip.carrier.example:5080;transport=tcp"
    );
    assert_eq!(
        target.vars[..2],
        ["sip_auth_username=acct1", "sip_auth_password=pa$$w0rd"]
    );
}

#[rstest]
#[case::space("1555 &hangup")]
#[case::newline("1555\n\napi shutdown")]
#[case::comma("1555,origination_uuid=x")]
#[case::brace("1555}")]
fn values_that_would_change_the_command_are_refused(#[case] to: &str) {
    let gateways = TrunkDialing::Gateways(HashMap::new());
    assert!(matches!(
        trunk_target(&gateways, &trunk("t"), to, "15550001111"),
        Err(Error::UnsafeArgument { .. })
    ));
    let mut bad_password = trunk("t");
    let secret = format!("x{to}");
    bad_password.password = Some(secret.clone());
    let shown = trunk_target(&TrunkDialing::Profile("p".into()), &bad_password, "1555", "15550001111")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(shown.contains("password") && !shown.contains(&secret), "{shown}");
}

#[test]
fn the_originate_block_rounds_the_ring_timeout_up_to_whole_seconds() {
    let vars = originate_vars("u-1", "15550001111", Duration::from_millis(20_500), "ten_1", &[]).unwrap();
    assert_eq!(
        vars,
        "{origination_uuid=u-1,origination_caller_id_number=15550001111,originate_timeout=21,irisx_tenant=ten_1}"
    );
}

#[rstest]
#[case("USER_BUSY", Some(486), false, HangupCause::Busy)]
#[case("NO_ANSWER", Some(487), true, HangupCause::NoAnswer)]
#[case("NO_USER_RESPONSE", None, true, HangupCause::NoAnswer)]
#[case("CALL_REJECTED", Some(603), false, HangupCause::Rejected)]
#[case("UNALLOCATED_NUMBER", Some(404), false, HangupCause::Rejected)]
#[case("NO_ROUTE_DESTINATION", None, false, HangupCause::Rejected)]
#[case("NORMAL_TEMPORARY_FAILURE", Some(503), true, HangupCause::Failed)]
#[case("CALL_REJECTED", Some(502), true, HangupCause::Failed)]
#[case("SOMETHING_NEW", Some(480), true, HangupCause::NoAnswer)]
#[case("SOMETHING_NEW", None, true, HangupCause::Failed)]
fn hangup_causes_decide_failover(
    #[case] cause: &str,
    #[case] sip: Option<u16>,
    #[case] failover: bool,
    #[case] meaning: HangupCause,
) {
    assert_eq!(classify(cause, sip), (failover, meaning));
}

#[test]
fn our_own_cancel_after_the_ring_timeout_is_not_reported_as_the_callees_status() {
    assert_eq!(reported_code(HangupCause::NoAnswer, Some(487)), None);
    assert_eq!(reported_code(HangupCause::NoAnswer, Some(480)), Some(480));
    assert_eq!(reported_code(HangupCause::Failed, Some(503)), Some(503));
}

#[rstest]
#[case(486, "USER_BUSY")]
#[case(404, "UNALLOCATED_NUMBER")]
#[case(603, "CALL_REJECTED")]
#[case(480, "NO_ANSWER")]
#[case(503, "NORMAL_TEMPORARY_FAILURE")]
#[case(487, "ORIGINATOR_CANCEL")]
fn a_rejection_status_becomes_the_cause_freeswitch_answers_it_with(#[case] sip: u16, #[case] cause: &str) {
    assert_eq!(reject_cause(sip), cause);
}

#[test]
fn a_trunk_taking_bare_digits_gets_them_and_its_fixed_caller_id_replaces_the_calls() {
    let mut bare = trunk("t");
    bare.strip_plus = true;
    bare.caller_id = Some("+15550001111".into());
    let map = TrunkDialing::Gateways(HashMap::new());
    let target = trunk_target(&map, &bare, "+15551234567", "+15559870000").unwrap();
    assert_eq!(target.dial, "sofia/gateway/t/15551234567");
    assert_eq!(target.caller_id.as_deref(), Some("15550001111"));
    let as_given = trunk_target(&map, &trunk("t"), "+15551234567", "+15559870000").unwrap();
    assert_eq!(
        (as_given.dial.as_str(), as_given.caller_id),
        ("sofia/gateway/t/+15551234567", None)
    );
}
