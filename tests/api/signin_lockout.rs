//! An attacker cannot lock a user out of their own account: the account-wide sign-in bucket
//! counts failures only, and refuses only clients that have themselves failed for that
//! account. Ten machines with five wrong passwords each fill it; the real user, from a
//! machine that never failed, still signs in, while the attackers stay refused.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    helpers::{migrated, spawn_app},
    web::{Browser, PASSWORD},
};

const WRONG: &str = "wrong-password-00";

#[sqlx::test(migrations = false)]
async fn ten_machines_failing_for_an_account_do_not_lock_its_owner_out(pool: PgPool) {
    // Arrange: the victim's account.
    migrated(&pool).await;
    let addr = spawn_app(pool).await;
    let victim = Browser::from_ip(addr, "127.0.9.1", &[]);
    victim.sign_up("Victim", "victim@lockout.sa", "Victim Shop", "en").await;
    victim.post("/signout", &[]).await;

    // Act: ten machines, five wrong passwords each (fifty: the account bucket's size).
    let mut attackers = Vec::new();
    for i in 0..10 {
        let a = Browser::from_ip(addr, &format!("127.0.8.{}", i + 1), &[]);
        for _ in 0..5 {
            let page = a.sign_in("victim@lockout.sa", WRONG).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        attackers.push(a);
    }
    // An eleventh machine may guess once, then is refused with the others.
    let late = Browser::from_ip(addr, "127.0.8.11", &[]);
    assert_eq!(late.sign_in("victim@lockout.sa", WRONG).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(late.sign_in("victim@lockout.sa", WRONG).await.status, StatusCode::TOO_MANY_REQUESTS);

    // Assert: the real user signs in with the right password.
    let signed_in = victim.sign_in("victim@lockout.sa", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "the owner was locked out: {}", signed_in.status);

    // Assert: an attacker's machine is still refused, even with the right password.
    let again = attackers[0].sign_in("victim@lockout.sa", PASSWORD).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
}
