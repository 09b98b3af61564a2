//! Parsing deliveries: signatures, batches, BSUID-only contacts, NUL characters, callback
//! data, echoes, recorded and unknown fields, flows, identity changes, account updates,
//! timestamp clamping, junk.

use super::*;

#[test]
fn signature_matches_the_reference_vectors_and_fails_closed() {
    let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    let good = "sha256=02fe0c96d28c59ddb7cf81eff0ca05809b360ba73b63c28210b5906a0a107d1f";
    assert!(signature_valid("app_secret_123", body, Some(good)));
    assert!(signature_valid(
        "secret",
        b"test",
        Some("sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914")
    ));
    assert!(!signature_valid("app_secret_123", b"{}", Some(good)));
    assert!(!signature_valid("app_secret_123", body, None));
    assert!(!signature_valid("", body, Some(good)));
    assert!(!signature_valid("app_secret_123", body, Some("sha1=abc")));
    assert_eq!(signature("app_secret_123", body), good);
}

#[test]
fn a_batched_delivery_yields_every_message_and_status_with_bsuid_only_contacts() {
    let body = serde_json::json!({"object":"whatsapp_business_account","entry":[{"id":"W","changes":[
        {"field":"messages","value":{"metadata":{"phone_number_id":"P"},
          "contacts":[{"profile":{"name":"Sara"},"wa_id":"9665","user_id":"SA.1"},{"profile":{"name":"Anon","username":"anon"},"user_id":"SA.2"}],
          "messages":[
            {"from":"9665","id":"wamid.A","timestamp":"1739321024","type":"text","text":{"body":"مرحبا"}},
            {"from_user_id":"SA.2","id":"wamid.B","timestamp":"1739321025","type":"reaction","reaction":{"message_id":"wamid.X","emoji":"👍"}}],
          "statuses":[{"id":"wamid.O","status":"failed","timestamp":"1","recipient_id":"9665","errors":[{"code":131047,"title":"Re-engagement message"}]}]}},
        {"field":"account_update","value":{}}]}]});
    let events = parse_delivery(body.to_string().as_bytes()).unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(events[3].kind(), "account_update", "an account update is processed, not dropped");
    assert_eq!(events[3].waba_id(), Some("W"));
    let Event::Message(a) = &events[0] else { panic!() };
    assert_eq!(
        (a.wa_id.as_deref(), a.bsuid.as_deref(), a.name.as_deref()),
        (Some("9665"), Some("SA.1"), Some("Sara"))
    );
    let Event::Message(b) = &events[1] else { panic!() };
    assert_eq!((b.wa_id.as_deref(), b.bsuid.as_deref(), b.kind.as_str()), (None, Some("SA.2"), "reaction"));
    assert_eq!(events[2].dedupe_key(), "status:wamid.O:failed");
    let Event::Status(s) = &events[2] else { panic!() };
    assert_eq!(s.errors, vec![(131047, "Re-engagement message".to_owned())]);
}

#[test]
fn nul_characters_are_stripped_and_callback_data_webhook_errors_and_echoes_are_read() {
    let body = serde_json::json!({"object":"whatsapp_business_account","entry":[{"id":"W","changes":[
        {"field":"messages","value":{"metadata":{"phone_number_id":"P\u{0}"},
          "errors":[{"code":130429,"title":"Rate limit hit"}],
          "contacts":[{"profile":{"name":"Sa\u{0}ra"},"wa_id":"9665"}],
          "messages":[{"from":"9665","id":"wamid.A","timestamp":"1","type":"text","text":{"body":"a\u{0}b"}}],
          "statuses":[{"id":"wamid.O","status":"sent","timestamp":"1","biz_opaque_callback_data":"m-1"}]}},
        {"field":"smb_message_echoes","value":{"metadata":{"phone_number_id":"P"},"message_echoes":[{"from":"B","to":"9665","id":"wamid.E","type":"text","text":{"body":"hi"}}]}},
        {"field":"brand_new_field","value":{}},
        {"field":"calls","value":{"calls":[]}}]}]});
    let raw = body.to_string();
    assert!(raw.contains("\\u0000"));
    let events = parse_delivery(raw.as_bytes()).unwrap();
    let kinds: Vec<_> = events.iter().map(Event::kind).collect();
    assert_eq!(kinds, ["webhook_error", "message", "status", "echo", "ignored", "recorded"]);
    assert_eq!(events[0].recorded().unwrap().code, Some(130429));
    let Event::Message(m) = &events[1] else { panic!() };
    assert_eq!((m.phone_number_id.as_str(), m.name.as_deref()), ("P", Some("Sara")));
    assert_eq!(content(m).0.as_deref(), Some("ab"));
    let Event::Status(s) = &events[2] else { panic!() };
    assert_eq!(s.callback.as_deref(), Some("m-1"));
    let Event::Echo(e) = &events[3] else { panic!() };
    assert_eq!(
        (e.wa_id.as_deref(), e.phone_number_id.as_str()),
        (Some("9665"), "P"),
        "an echo names its customer"
    );
    assert_eq!(events[3].dedupe_key(), "echo:wamid.E");
    assert_eq!(events[4].recorded().unwrap().field, "brand_new_field");
    assert_eq!(events[5].recorded().unwrap().field, "calls");
    assert_ne!(events[0].dedupe_key(), events[4].dedupe_key());
    assert_eq!(parse_delivery(raw.as_bytes()).unwrap(), events, "a redelivery has the same keys");
}

#[test]
fn timestamps_are_clamped_to_thirty_days_back_and_five_minutes_ahead() {
    let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
    let at = |ts: i64| event_time(ts, now);
    assert_eq!(at(1_800_000_000 - 60), now - Duration::minutes(1));
    assert_eq!(at(1_800_000_000 + 365 * 86_400), now + Duration::minutes(5));
    assert_eq!(at(1_000), now - Duration::days(30));
    assert_eq!(at(0), now);
    assert_eq!(at(i64::MAX), now, "unrepresentable means unknown");
}

#[test]
fn junk_is_an_error_not_a_panic() {
    for junk in [
        &b"nope"[..],
        b"{}",
        br#"{"object":"page","entry":[]}"#,
        br#"{"object":"whatsapp_business_account"}"#,
    ] {
        assert!(parse_delivery(junk).is_err());
    }
}

#[test]
fn flow_answers_become_fields_and_only_turns_with_something_to_answer_want_a_reply() {
    let nfm = serde_json::json!({"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent",
        "response_json":"{\"flow_token\":\"T\",\"size\":\"large\",\"count\":2}"}}});
    let (_, details, _) = content_of("interactive", &nfm);
    let fields = details.unwrap()["fields"].clone();
    assert_eq!(fields, serde_json::json!([{"name":"count","value":"2"},{"name":"size","value":"large"}]));
    assert!(wants_reply("interactive", &nfm));
    let permission = serde_json::json!({"interactive":{"type":"call_permission_reply","call_permission_reply":{"response":"accept"}}});
    assert!(!wants_reply("interactive", &permission));
    let failed = serde_json::json!({"errors":[{"code":131051}],"text":{"body":"x"}});
    assert!(!wants_reply("text", &failed));
    assert!(
        !wants_reply("reaction", &serde_json::json!({}))
            && !wants_reply("request_welcome", &serde_json::json!({}))
    );
}

#[test]
fn identity_changes_name_the_old_and_new_ids() {
    let m = |raw: serde_json::Value, from: Option<&str>| InboundMessage {
        phone_number_id: "P".into(),
        wamid: "w".into(),
        wa_id: from.map(str::to_owned),
        bsuid: None,
        name: None,
        username: None,
        timestamp: 0,
        kind: "system".into(),
        raw,
    };
    let by_id = m(
        serde_json::json!({"system":{"type":"user_changed_user_id","body":"User A changed from SA.1 to SA.2"}}),
        None,
    );
    let change = identity_change(&by_id).unwrap();
    assert_eq!((change.old_bsuid.as_deref(), change.new_bsuid.as_deref()), (Some("SA.1"), Some("SA.2")));
    let by_number = m(
        serde_json::json!({"system":{"type":"user_changed_number","wa_id":"9662","body":"x"}}),
        Some("9661"),
    );
    let change = identity_change(&by_number).unwrap();
    assert_eq!((change.old_wa_id.as_deref(), change.new_wa_id.as_deref()), (Some("9661"), Some("9662")));
    assert!(identity_change(&m(serde_json::json!({"system":{"type":"other"}}), Some("1"))).is_none());
}

#[test]
fn account_updates_stop_restore_or_inform() {
    let effect = |e: &str, v: serde_json::Value| account_effect(e, &v);
    assert!(matches!(
        effect("ACCOUNT_DELETED", serde_json::json!({})),
        AccountEffect::Stop { status: "deleted", .. }
    ));
    let ban = serde_json::json!({"ban_info":{"waba_ban_state":"DISABLE","waba_ban_date":"d"}});
    assert!(matches!(effect("DISABLED_UPDATE", ban), AccountEffect::Stop { status: "disabled", .. }));
    let back = serde_json::json!({"ban_info":{"waba_ban_state":"REINSTATE"}});
    assert_eq!(effect("DISABLED_UPDATE", back), AccountEffect::Restore { from: &["disabled"] });
    let templates_only =
        serde_json::json!({"restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING"}]});
    assert_eq!(
        effect("ACCOUNT_RESTRICTION", templates_only),
        AccountEffect::Inform,
        "replies are still allowed"
    );
    assert_eq!(effect("VERIFIED_ACCOUNT", serde_json::json!({})), AccountEffect::Inform);
}
