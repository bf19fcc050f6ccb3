//! Cases for the outbox: claims (also concurrent), release, reset, completion, rescheduling, failure, stats, pruning.

use std::collections::HashSet;
use std::sync::Arc;

use irisx_core::id::TaskId;
use irisx_core::ports::store::{Store, StoreError};
use irisx_core::task::{NewTask, Task, TaskState, TenantPurgeV1};
use time::{Duration, OffsetDateTime};

use super::*;

/// Queues one purge task per new tenant, available at `at`; returns the task ids in creation order.
pub async fn queue(store: &Arc<dyn Store>, n: usize, at: OffsetDateTime) -> Vec<TaskId> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let (t, _) = seed(store).await;
        let mut task = NewTask::now(Task::TenantPurgeV1(TenantPurgeV1 {
            tenant_id: t.id.clone(),
        }));
        task.available_at = at;
        store
            .begin_tenant_deletion(&t.id, &task, &audit(Some(&t.id), "tenant.deleted"))
            .await
            .unwrap();
        ids.push(task.id);
    }
    ids
}

fn long_ago() -> OffsetDateTime {
    now() - Duration::hours(1)
}

/// A claimed row is marked published, counts the attempt, and is not claimed again until released.
pub async fn a_claimed_row_is_not_claimed_again_until_released(store: Arc<dyn Store>) {
    let ids = queue(&store, 1, now() - Duration::seconds(1)).await;
    let claimed = store.claim_outbox(10, long_ago()).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!((&claimed[0].id, claimed[0].attempts), (&ids[0], 1));
    let task: Task = serde_json::from_str(&claimed[0].payload).unwrap();
    assert_eq!(task.subject(), claimed[0].subject);
    assert!(store.claim_outbox(10, long_ago()).await.unwrap().is_empty());
    store.release_outbox(&ids).await.unwrap();
    let again = store.claim_outbox(10, long_ago()).await.unwrap();
    assert_eq!((&again[0].id, again[0].attempts), (&ids[0], 2));
}

/// Rows not yet available are not claimed; claims come oldest first, up to the limit.
pub async fn claims_skip_future_rows_and_come_oldest_first_up_to_the_limit(store: Arc<dyn Store>) {
    let due = queue(&store, 3, now() - Duration::seconds(1)).await;
    let later = queue(&store, 1, now() + Duration::hours(1)).await;
    let first = store.claim_outbox(2, long_ago()).await.unwrap();
    assert_eq!(first.iter().map(|e| &e.id).collect::<Vec<_>>(), vec![&due[0], &due[1]]);
    let rest = store.claim_outbox(10, long_ago()).await.unwrap();
    assert_eq!(rest.iter().map(|e| &e.id).collect::<Vec<_>>(), vec![&due[2]]);
    assert_eq!(store.task_state(&later[0]).await.unwrap(), Some(TaskState::Pending));
}

/// Claims take turns across lanes: a tenant's backlog does not hold up a task of another tenant queued after
/// it, and each lane keeps its own order.
pub async fn claims_take_turns_across_tenants_lanes(store: Arc<dyn Store>) {
    let (busy, _) = seed(&store).await;
    let mut backlog = Vec::new();
    for _ in 0..4 {
        // Each task is written through a fresh tenant's deletion, but concerns `busy`: its lane is busy's.
        let (carrier, _) = seed(&store).await;
        let task = NewTask::at(
            Task::TenantPurgeV1(TenantPurgeV1 {
                tenant_id: busy.id.clone(),
            }),
            now() - Duration::seconds(2),
        );
        store
            .begin_tenant_deletion(&carrier.id, &task, &audit(Some(&carrier.id), "tenant.deleted"))
            .await
            .unwrap();
        backlog.push(task.id);
    }
    let quiet = queue(&store, 1, now() - Duration::seconds(1)).await;
    let first = store.claim_outbox(2, long_ago()).await.unwrap();
    let mut got: Vec<_> = first.iter().map(|e| e.id.clone()).collect();
    got.sort();
    assert_eq!(got, vec![backlog[0].clone(), quiet[0].clone()]);
    let rest = store.claim_outbox(10, long_ago()).await.unwrap();
    assert_eq!(
        rest.iter().map(|e| &e.id).collect::<Vec<_>>(),
        backlog[1..].iter().collect::<Vec<_>>()
    );
}

/// The in-flight count is the rows published since a time and not finished.
pub async fn the_in_flight_count_is_the_published_unfinished_rows(store: Arc<dyn Store>) {
    let ids = queue(&store, 3, now() - Duration::seconds(1)).await;
    assert_eq!(store.outbox_in_flight(long_ago()).await.unwrap(), 0);
    store.claim_outbox(10, long_ago()).await.unwrap();
    assert_eq!(store.outbox_in_flight(long_ago()).await.unwrap(), 3);
    store.complete_task(&ids[0]).await.unwrap();
    store.fail_task(&ids[1], "no").await.unwrap();
    assert_eq!(store.outbox_in_flight(long_ago()).await.unwrap(), 1);
    assert_eq!(store.outbox_in_flight(now() + Duration::seconds(5)).await.unwrap(), 0);
}

/// A row published before `republish_before` and still pending is claimed again.
pub async fn a_row_published_before_republish_before_and_still_pending_is_claimed_again(store: Arc<dyn Store>) {
    let ids = queue(&store, 2, now() - Duration::seconds(1)).await;
    assert_eq!(store.claim_outbox(10, long_ago()).await.unwrap().len(), 2);
    store.complete_task(&ids[1]).await.unwrap();
    let again = store.claim_outbox(10, now() + Duration::seconds(1)).await.unwrap();
    assert_eq!(
        again.iter().map(|e| (&e.id, e.attempts)).collect::<Vec<_>>(),
        vec![(&ids[0], 2)]
    );
}

/// Resetting the unfinished outbox makes every pending published row claimable again.
pub async fn resetting_the_unfinished_outbox_makes_pending_published_rows_claimable(store: Arc<dyn Store>) {
    let ids = queue(&store, 3, now() - Duration::seconds(1)).await;
    store.claim_outbox(10, long_ago()).await.unwrap();
    store.fail_task(&ids[2], "gave up").await.unwrap();
    assert_eq!(
        store
            .reset_unfinished_outbox(Some(now() + Duration::seconds(60)))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .reset_unfinished_outbox(Some(now() - Duration::seconds(60)))
            .await
            .unwrap(),
        2
    );
    let again = store.claim_outbox(10, long_ago()).await.unwrap();
    assert_eq!(again.iter().map(|e| &e.id).collect::<Vec<_>>(), vec![&ids[0], &ids[1]]);
}

/// Completing, rescheduling and failing move a task; a finished task stays finished; a missing one is not found.
pub async fn complete_reschedule_and_fail_move_a_task_and_finished_tasks_stay_finished(store: Arc<dyn Store>) {
    let ids = queue(&store, 3, now() - Duration::seconds(1)).await;
    store.claim_outbox(10, long_ago()).await.unwrap();
    store.complete_task(&ids[0]).await.unwrap();
    store.complete_task(&ids[0]).await.unwrap();
    assert_eq!(store.task_state(&ids[0]).await.unwrap(), Some(TaskState::Completed));
    store
        .reschedule_task(&ids[1], now() + Duration::hours(1), "busy")
        .await
        .unwrap();
    assert!(
        store
            .claim_outbox(10, now() + Duration::seconds(1))
            .await
            .unwrap()
            .iter()
            .all(|e| e.id != ids[1])
    );
    store
        .reschedule_task(&ids[1], now() - Duration::seconds(1), "busy")
        .await
        .unwrap();
    let again = store.claim_outbox(10, long_ago()).await.unwrap();
    let rescheduled = again
        .iter()
        .find(|e| e.id == ids[1])
        .expect("a rescheduled task is claimable when due");
    assert_eq!(
        rescheduled.generation, 2,
        "each reschedule is a new generation with its own delivery id"
    );
    assert_eq!(rescheduled.delivery_id(), format!("{}:2", ids[1]));
    store.fail_task(&ids[2], "permanent").await.unwrap();
    assert_eq!(store.task_state(&ids[2]).await.unwrap(), Some(TaskState::Failed));
    store.reschedule_task(&ids[2], now(), "late").await.unwrap();
    store.complete_task(&ids[2]).await.unwrap();
    store.fail_task(&ids[0], "late").await.unwrap();
    assert_eq!(store.task_state(&ids[2]).await.unwrap(), Some(TaskState::Failed));
    assert_eq!(store.task_state(&ids[0]).await.unwrap(), Some(TaskState::Completed));
    let missing = TaskId::new();
    assert_eq!(store.task_state(&missing).await.unwrap(), None);
    assert!(matches!(
        store.complete_task(&missing).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.fail_task(&missing, "x").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.reschedule_task(&missing, now(), "x").await,
        Err(StoreError::NotFound(_))
    ));
}

/// Outbox stats count due unpublished rows, rows in flight, and the oldest due row's age; pruning deletes only
/// rows finished before the cut-off.
pub async fn outbox_stats_count_rows_and_pruning_deletes_only_rows_finished_before_the_cutoff(store: Arc<dyn Store>) {
    let empty = store.outbox_stats().await.unwrap();
    assert_eq!(
        (empty.unpublished, empty.in_flight, empty.oldest_unpublished_secs),
        (0, 0, 0.0)
    );
    let old = queue(&store, 2, now() - Duration::seconds(100)).await;
    queue(&store, 1, now() + Duration::hours(1)).await;
    store.claim_outbox(1, long_ago()).await.unwrap();
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.unpublished, stats.in_flight), (1, 1));
    assert!(stats.oldest_unpublished_secs >= 99.0, "{stats:?}");
    store.complete_task(&old[0]).await.unwrap();
    store.fail_task(&old[1], "x").await.unwrap();
    assert_eq!(store.prune_outbox(now() - Duration::minutes(1)).await.unwrap(), 0);
    assert_eq!(store.prune_outbox(now() + Duration::seconds(1)).await.unwrap(), 2);
    assert_eq!(store.task_state(&old[0]).await.unwrap(), None);
    assert_eq!(store.outbox_stats().await.unwrap().in_flight, 0);
}

/// Four concurrent claimers over 200 rows never claim the same row, and together claim every row.
pub async fn four_concurrent_claimers_over_200_rows_never_claim_the_same_row(store: Arc<dyn Store>) {
    let ids: HashSet<TaskId> = queue(&store, 200, now() - Duration::seconds(1))
        .await
        .into_iter()
        .collect();
    let claimers = (0..4).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_outbox(7, long_ago()).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|e| e.id));
            }
        })
    });
    let mut all = Vec::new();
    for c in claimers.collect::<Vec<_>>() {
        all.extend(c.await.unwrap());
    }
    let unique: HashSet<TaskId> = all.iter().cloned().collect();
    assert_eq!(all.len(), 200, "a row was claimed twice");
    assert_eq!(unique, ids);
}
