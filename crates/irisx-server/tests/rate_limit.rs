//! Rate limits: per API key by plan, answered with 429, `Retry-After` and `RateLimit-*` headers, and shared by
//! every API process on one Redis.

mod common;

use common::*;

const LIMIT: usize = 10;

fn limited_env(env: &mut TestEnv) {
    env.set("IRISX_PLAN_KEY_LIMITS__FREE", &LIMIT.to_string());
}

#[tokio::test]
async fn a_key_over_its_plan_limit_gets_429_with_retry_after_and_ratelimit_headers() {
    let mut env = TestEnv::new(Profile::Embedded).await;
    limited_env(&mut env);
    let (env, server, staff) = boot_in(env).await;
    let api = server.api();
    let (_, owner) = api.tenant_with_owner(&staff, "Limited", "owner@limited.test").await;
    let (_, key) = api.api_key(&owner, &["sms:send"]).await;
    for i in 0..LIMIT {
        let r = api.get("/v1/auth/me", Auth::Key(&key)).await;
        let remaining: usize = r.headers["ratelimit-remaining"].to_str().unwrap().parse().unwrap();
        assert_eq!(remaining, LIMIT - 1 - i);
        r.expect(200);
    }
    let r = api.get("/v1/auth/me", Auth::Key(&key)).await;
    assert_eq!(r.headers["ratelimit-limit"], LIMIT.to_string().as_str());
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(r.expect(429)["error"]["code"], "rate_limited");
    env.cleanup().await;
}

#[tokio::test]
async fn two_api_processes_sharing_redis_enforce_one_rate_limit_together() {
    if !profiles("the shared rate limit test").contains(&Profile::Services) {
        return;
    }
    let mut env = TestEnv::new(Profile::Services).await;
    limited_env(&mut env);
    let (env, first, staff) = boot_in(env).await;
    let second = env.serve(&["--role", "api"]).await;
    let (a, b) = (first.api(), second.api());
    let (_, owner) = a.tenant_with_owner(&staff, "Shared", "owner@shared.test").await;
    let (_, key) = a.api_key(&owner, &["sms:send"]).await;
    for i in 0..LIMIT {
        let api = if i % 2 == 0 { &a } else { &b };
        api.get("/v1/auth/me", Auth::Key(&key)).await.expect(200);
    }
    for api in [&a, &b] {
        let r = api.get("/v1/auth/me", Auth::Key(&key)).await;
        assert_eq!(
            r.expect(429)["error"]["code"],
            "rate_limited",
            "both processes refuse once the shared limit is spent"
        );
    }
    env.cleanup().await;
}
