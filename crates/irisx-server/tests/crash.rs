//! A worker killed with SIGKILL at the worst moments loses no task and repeats no effect.
//!
//! The crash-test failpoint stops the worker right before a task's effect, or right after the effect is
//! committed and before the queue acknowledgement; the test then kills the process with SIGKILL and starts it
//! again. Tenant purges are the tasks: each writes one `tenant.purged` audit entry in the transaction that
//! completes it, so counting those entries counts effects.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const TENANTS: usize = 4;

async fn delete_tenants(api: &Api, staff: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..TENANTS {
        let (id, _) = api
            .tenant_with_owner(staff, &format!("Doomed {i}"), &format!("owner{i}@doomed.test"))
            .await;
        api.delete(&format!("/admin/tenants/{id}"), Auth::Bearer(staff))
            .await
            .expect(202);
        ids.push(id);
    }
    ids
}

async fn purge_entries(api: &Api, staff: &str) -> Vec<Value> {
    let log = api
        .get("/admin/audit-log?action=tenant.purged&limit=200", Auth::Bearer(staff))
        .await
        .expect(200);
    log["data"].as_array().cloned().unwrap_or_default()
}

async fn wait_all_purged(api: &Api, staff: &str, ids: &[String], server: &Server) {
    let started = Instant::now();
    loop {
        let mut gone = 0;
        for id in ids {
            if api
                .get(&format!("/admin/tenants/{id}"), Auth::Bearer(staff))
                .await
                .status
                == 404
            {
                gone += 1;
            }
        }
        if gone == ids.len() {
            return;
        }
        if started.elapsed() > Duration::from_secs(30) {
            panic!(
                "only {gone} of {} tenants purged; log:\n{}",
                ids.len(),
                server.stderr.lock().unwrap()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn killed_at(profile: Profile, failpoint: &str) {
    let mut env = TestEnv::new(profile).await;
    env.set("IRISX_QUEUE_ACK_WAIT_SECS", "2");
    env.set("IRISX_FAILPOINT", failpoint);
    env.set("IRISX_LOG_LEVEL", "info,irisx_worker=debug");
    let (mut env, mut server, staff) = boot_in(env).await;
    let ids = delete_tenants(&server.api(), &staff).await;
    server.wait_log("FAILPOINT REACHED", Duration::from_secs(20)).await;
    server.kill9().await;

    env.unset("IRISX_FAILPOINT");
    let server = env.serve(&[]).await;
    let api = server.api();
    let staff = api.admin_login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    wait_all_purged(&api, &staff, &ids, &server).await;
    if profile == Profile::Services && failpoint == "worker-after-effect" {
        // NATS redelivers the message whose effect was committed; the worker must acknowledge it untouched.
        server.wait_log("task already settled", Duration::from_secs(20)).await;
    }
    let entries = purge_entries(&api, &staff).await;
    let mut targets: Vec<&str> = entries.iter().filter_map(|e| e["target_id"].as_str()).collect();
    targets.sort_unstable();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(
        targets, want,
        "every tenant purged exactly once ({profile:?}, {failpoint})"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn a_worker_killed_after_the_effect_and_before_the_ack_repeats_nothing_after_restart() {
    for p in profiles("the kill-after-effect crash test") {
        killed_at(p, "worker-after-effect").await;
    }
}

#[tokio::test]
async fn a_worker_killed_before_the_effect_loses_no_task_after_restart() {
    for p in profiles("the kill-before-effect crash test") {
        killed_at(p, "worker-before-effect").await;
    }
}
