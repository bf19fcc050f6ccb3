//! Voice nodes' heartbeats and the sweep of calls whose node stopped.
//!
//! A live call is supervised by the voice node that placed or took it (its `node_id`). Each node writes a
//! heartbeat every `heartbeat`; a call whose node has not beaten for `node_timeout` (the node crashed, was
//! killed, or lost its database) is claimed by a live node and ended, so it does not stay live for ever: an
//! answered call is completed and rated up to the node's last beat, any other fails; both with the error code
//! `voice_node_lost`. A node restarted after a crash has a new id and so sweeps its former self's calls at its
//! first beat. The SIP dialogs of such calls died with their node; only the ledger is put right.

use std::sync::Arc;
use std::time::Duration;

use irisx_core::usecase::Platform;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::voice::VoiceRuntime;

/// How often a node beats by default.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// How long a node may be silent by default before its calls are ended.
pub const NODE_TIMEOUT: Duration = Duration::from_secs(60);

/// The most calls one sweep claims; a larger backlog is taken over the following beats.
const SWEEP_BATCH: i64 = 200;

/// Beats and sweeps until `cancel`.
pub(crate) async fn run(platform: Arc<Platform>, rt: Arc<VoiceRuntime>, cancel: CancellationToken) {
    loop {
        beat_and_sweep(&platform, &rt).await;
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(rt.heartbeat) => {}
        }
    }
}

/// One beat, then one sweep.
async fn beat_and_sweep(p: &Platform, rt: &VoiceRuntime) {
    let now = OffsetDateTime::now_utc();
    if let Err(e) = p.calls.heartbeat_voice_node(&rt.node, now).await {
        // Without a beat, sweeping could end calls this node still carries once its own beat is stale.
        tracing::warn!(node = %rt.node, error = %e, "cannot record the voice node's heartbeat");
        return;
    }
    let stale_before = now - rt.node_timeout;
    let orphans = match p.calls.claim_orphaned_calls(&rt.node, stale_before, SWEEP_BATCH).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look for calls of stopped voice nodes");
            return;
        }
    };
    for orphan in orphans {
        tracing::warn!(call_id = %orphan.call.id, "ending a call whose voice node stopped");
        crate::calls::end_orphan(p, orphan.call, orphan.last_seen).await;
    }
}
