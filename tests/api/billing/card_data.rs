//! "We never see or store your card details": the card is typed on Moyasar's hosted page,
//! and what Mujibak keeps of a payment is Moyasar's ids, the amount and the state. After
//! a real payment through the Moyasar fake (its webhook carrying the masked card as
//! Moyasar sends it), a `pg_dump` holds the payment's id and none of the card's details,
//! and no column of the schema is made for card data.

use sqlx::PgPool;

use super::payments::World;
use crate::purge::dump;

#[sqlx::test(migrations = false)]
async fn a_paid_invoice_leaves_moyasar_ids_and_no_card_detail_anywhere_in_the_database(pool: PgPool) {
    // Arrange: an invoice with its payment link.
    let mut w = World::start(pool).await;
    let (tenant, invoice) = w.invoiced("Card Shop").await;
    let mid = w.open(tenant, invoice).await;
    w.start_worker();

    // Act: the owner pays on Moyasar's page; its webhook arrives.
    let payment = w.moyasar.pay(&mid).expect("the fake takes the payment");
    w.until_status(invoice, "paid").await;
    w.until_idle().await;

    // Assert: the ids are kept, the card is not.
    let card = payment["source"]["number"].as_str().unwrap().to_owned();
    assert!(card.contains("XXXX"), "the fake sends a masked card number: {card}");
    let dump = dump(&w.pool);
    assert!(dump.contains(payment["id"].as_str().unwrap()), "the payment's id is kept");
    assert!(dump.contains(&mid), "the Moyasar invoice's id is kept");
    let last4 = &card[card.len() - 9..];
    for needle in [card.as_str(), &card[..7], last4] {
        assert!(!dump.contains(needle), "the dump holds card data {needle:?}");
    }
    let columns: Vec<(String, String)> = sqlx::query_as(
        "select table_schema || '.' || table_name, column_name from information_schema.columns
          where table_schema not in ('pg_catalog', 'information_schema')
            and column_name ~* '(card|^pan$|_pan$|^pan_|cvv|cvc|exp_month|exp_year|holder|last4|last_four)'",
    )
    .fetch_all(&w.pool)
    .await
    .unwrap();
    assert!(columns.is_empty(), "columns made for card data: {columns:?}");
}
