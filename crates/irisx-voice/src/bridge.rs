//! Bridging: each leg's decoded audio is re-encoded onto the other leg as it arrives (so a PCMU leg and a PCMA
//! leg can talk), until either leg ends.

use tokio::sync::broadcast::error::RecvError;

use crate::call::Call;

async fn forward(from: &Call, to: &Call) {
    let mut audio = from.rtp.subscribe_audio();
    loop {
        tokio::select! {
            frame = audio.recv() => match frame {
                Ok(frame) => {
                    if let Err(e) = to.rtp.send_frame(&frame).await {
                        tracing::debug!(error = %e, "bridged frame not sent");
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            _ = from.ended.cancelled() => return,
            _ = to.ended.cancelled() => return,
        }
    }
}

/// Forwards media both ways until either leg ends.
pub async fn run(a: &Call, b: &Call) {
    tokio::join!(forward(a, b), forward(b, a));
}
