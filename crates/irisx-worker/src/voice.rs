//! What a voice node adds to the worker: the engine, the fetchers of documents and audio, and the loops that
//! place queued calls (`call.create`) and take incoming ones.

use std::sync::Arc;
use std::time::Duration;

use irisx_core::id::VoiceNodeId;
use irisx_core::ports::calls::MediaFetcher;
use irisx_core::ports::voice::VoiceEngine;
use irisx_core::ports::webhooks::WebhookSender;
use irisx_core::usecase::Platform;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The voice side of a worker.
pub struct VoiceRuntime {
    /// The SIP/RTP engine.
    pub engine: Arc<dyn VoiceEngine>,
    /// Posts the signed document requests and reads the documents (a sender whose answer limit fits a
    /// document).
    pub documents: Arc<dyn WebhookSender>,
    /// Fetches `Play` audio under the SSRF rules.
    pub media: Arc<dyn MediaFetcher>,
    /// This node's id in the calls it supervises and in its heartbeats.
    pub node: String,
    /// How often the node beats (and sweeps the calls of stopped nodes).
    pub heartbeat: Duration,
    /// How long without a beat before a node's calls are ended by another.
    pub node_timeout: Duration,
    /// The live calls' supervisors, waited for at shutdown.
    pub(crate) live: TaskTracker,
}

impl VoiceRuntime {
    /// A runtime over an engine and its fetchers.
    pub fn new(engine: Arc<dyn VoiceEngine>, documents: Arc<dyn WebhookSender>, media: Arc<dyn MediaFetcher>) -> Self {
        Self {
            engine,
            documents,
            media,
            node: VoiceNodeId::new().to_string(),
            heartbeat: crate::voice_nodes::HEARTBEAT,
            node_timeout: crate::voice_nodes::NODE_TIMEOUT,
            live: TaskTracker::new(),
        }
    }

    /// Sets how often the node beats and how long a silent node keeps its calls.
    pub fn with_heartbeat(mut self, heartbeat: Duration, node_timeout: Duration) -> Self {
        self.heartbeat = heartbeat;
        self.node_timeout = node_timeout;
        self
    }

    /// Beats, sweeps the calls of stopped nodes and takes incoming calls until `cancel`, then waits for the
    /// live calls to end.
    pub async fn run(self: Arc<Self>, platform: Arc<Platform>, cancel: CancellationToken) {
        // Beating stops only once the live calls are over, so no other node ends them meanwhile.
        let beating = CancellationToken::new();
        let beats = tokio::spawn(crate::voice_nodes::run(platform.clone(), self.clone(), beating.clone()));
        loop {
            let incoming = tokio::select! {
                () = cancel.cancelled() => break,
                next = self.engine.next_incoming() => next,
            };
            let Some(incoming) = incoming else { break };
            crate::calls::incoming(&platform, &self, incoming).await;
        }
        self.live.close();
        self.live.wait().await;
        beating.cancel();
        beats.await.ok();
    }
}
