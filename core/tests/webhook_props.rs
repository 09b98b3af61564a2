//! Property tests of what reads Meta's webhook deliveries: the signature check and the
//! delivery parser. Arbitrary bytes never panic either; a valid delivery mutated byte by
//! byte, or with any of its values replaced by any JSON, parses into typed events or gives
//! a typed `ParseError`; a signature verifies only for its own secret and body.

use mujibak_core::domain::whatsapp::{parse_delivery, signature, signature_valid, Event};
use proptest::prelude::*;
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    ProptestConfig { cases: 64, ..ProptestConfig::default() }
}

/// A delivery as Meta sends it: one message and one status per change.
fn delivery(number: &str, wamid: &str, from: &str, text: &str) -> Value {
    json!({ "object": "whatsapp_business_account", "entry": [{ "id": "WABA", "changes": [{ "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": "966500000000", "phone_number_id": number },
        "contacts": [{ "profile": { "name": "Sara" }, "wa_id": from }],
        "messages": [{ "from": from, "id": wamid, "timestamp": "1760000000", "type": "text", "text": { "body": text } }],
        "statuses": [{ "id": "wamid.OUT", "status": "delivered", "timestamp": "1760000001", "recipient_id": from,
            "biz_opaque_callback_data": "cb" }]
    }}]}]})
}

/// Every place in [`delivery`] a mutation may hit.
const POINTERS: [&str; 14] = [
    "/object",
    "/entry",
    "/entry/0",
    "/entry/0/changes",
    "/entry/0/changes/0/field",
    "/entry/0/changes/0/value",
    "/entry/0/changes/0/value/metadata",
    "/entry/0/changes/0/value/metadata/phone_number_id",
    "/entry/0/changes/0/value/contacts",
    "/entry/0/changes/0/value/messages",
    "/entry/0/changes/0/value/messages/0",
    "/entry/0/changes/0/value/messages/0/id",
    "/entry/0/changes/0/value/messages/0/text",
    "/entry/0/changes/0/value/statuses/0",
];

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What every parsed event must have, whatever the input.
fn well_formed(events: &[Event]) {
    for event in events {
        assert!(!event.dedupe_key().is_empty());
        assert!(!event.kind().is_empty());
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic_the_parser_or_the_signature_check(
        body in prop::collection::vec(any::<u8>(), 0..2048),
        header in prop::option::of(".{0,100}"),
        secret in ".{0,40}",
    ) {
        if let Ok(events) = parse_delivery(&body) {
            well_formed(&events);
        }
        let forged = signature_valid(&secret, &body, header.as_deref());
        prop_assert!(!forged || header.as_deref() == Some(signature(&secret, &body).as_str()));
    }

    #[test]
    fn a_valid_delivery_parses_into_its_message_and_status(
        wamid in "wamid\\.[A-Za-z0-9]{1,30}", from in "[0-9]{8,15}", text in "\\PC{0,200}",
    ) {
        let body = delivery("PN-1", &wamid, &from, &text).to_string();
        let events = parse_delivery(body.as_bytes()).expect("a valid delivery parses");
        prop_assert_eq!(events.len(), 2);
        prop_assert_eq!(events[0].dedupe_key(), format!("message:{wamid}"));
        prop_assert_eq!(events[0].phone_number_id(), Some("PN-1"));
    }

    #[test]
    fn a_valid_delivery_with_any_value_replaced_parses_or_gives_a_typed_error(
        at in 0..POINTERS.len(), replacement in any_json(), text in "\\PC{0,50}",
    ) {
        let mut v = delivery("PN-1", "wamid.A", "966500000001", &text);
        if let Some(slot) = v.pointer_mut(POINTERS[at]) {
            *slot = replacement;
        }
        match parse_delivery(v.to_string().as_bytes()) {
            Ok(events) => well_formed(&events),
            Err(e) => prop_assert!(!e.0.is_empty()),
        }
    }

    #[test]
    fn a_valid_delivery_mutated_byte_by_byte_parses_or_gives_a_typed_error(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8),
    ) {
        let mut body = delivery("PN-1", "wamid.B", "966500000001", "hello").to_string().into_bytes();
        for (at, byte, how) in edits {
            let i = at.index(body.len().max(1));
            match how {
                0 if i < body.len() => body[i] = byte,
                1 => body.insert(i.min(body.len()), byte),
                _ if i < body.len() => { body.remove(i); }
                _ => {}
            }
        }
        match parse_delivery(&body) {
            Ok(events) => well_formed(&events),
            Err(e) => prop_assert!(!e.0.is_empty()),
        }
    }

    #[test]
    fn a_signature_verifies_only_for_its_own_secret_and_body(
        secret in "[ -~]{1,40}", body in prop::collection::vec(any::<u8>(), 0..512),
        flip in any::<prop::sample::Index>(), bit in 0..8u8,
    ) {
        let header = signature(&secret, &body);
        prop_assert!(signature_valid(&secret, &body, Some(&header)));
        prop_assert!(!signature_valid("", &body, Some(&signature("", &body))), "an empty secret never verifies");
        let other_secret = format!("{secret}x");
        prop_assert!(!signature_valid(&other_secret, &body, Some(&header)));
        if !body.is_empty() {
            let mut changed = body.clone();
            let i = flip.index(changed.len());
            changed[i] ^= 1 << bit;
            prop_assert!(!signature_valid(&secret, &changed, Some(&header)));
        }
        let mut wrong = header.clone().into_bytes();
        let i = 7 + flip.index(wrong.len() - 7);
        wrong[i] = if wrong[i] == b'0' { b'1' } else { b'0' };
        prop_assert!(!signature_valid(&secret, &body, Some(std::str::from_utf8(&wrong).unwrap())));
    }
}
