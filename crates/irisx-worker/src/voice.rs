//! What a voice node adds to the worker: the engine, the fetchers of documents and audio, and the loops that
//! place queued calls (`call.create`) and take incoming ones.

use std::sync::Arc;

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
            live: TaskTracker::new(),
        }
    }

    /// Takes incoming calls until `cancel`, then waits for the live calls to end.
    pub async fn run(self: Arc<Self>, platform: Arc<Platform>, cancel: CancellationToken) {
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
    }
}
