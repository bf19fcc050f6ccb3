//! [`MediaFetcher`] on the webhook sender's client: a GET under the same SSRF rules (guarded resolver, IP
//! literals checked, no redirects, no proxy), for the audio a call-control document plays.

use async_trait::async_trait;
use irisx_core::ports::calls::MediaFetcher;
use irisx_core::webhook::WebhookUrl;

use crate::sender::HttpWebhookSender;

#[async_trait]
impl MediaFetcher for HttpWebhookSender {
    async fn get(&self, url: &WebhookUrl, limit: usize) -> Result<bytes::Bytes, String> {
        self.fetch(url, limit).await
    }
}
