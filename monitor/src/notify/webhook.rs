//! Slack-compatible (or plain JSON) webhook over HTTPS with rustls.

use std::time::Duration;

use serde_json::json;

use super::{Notice, Notifier, NotifyError, SendFuture};
use crate::config::{WebhookConfig, WebhookFormat};

/// POSTs each notice to one URL.
#[derive(Debug, Clone)]
pub struct WebhookNotifier {
    client: reqwest::Client,
    url: String,
    format: WebhookFormat,
}

impl WebhookNotifier {
    /// A notifier whose every request ends within `timeout` (connect included).
    pub fn new(config: &WebhookConfig, timeout: Duration) -> Result<Self, NotifyError> {
        // reqwest is built without a bundled crypto provider so the workspace keeps one
        // (ring); install it process-wide unless someone already did.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| NotifyError::Http(e.to_string()))?;
        Ok(WebhookNotifier {
            client,
            url: config.url.clone(),
            format: config.format,
        })
    }
}

/// The request body for `notice` in `format`.
pub fn body(notice: &Notice, format: WebhookFormat) -> serde_json::Value {
    match format {
        WebhookFormat::Json => serde_json::to_value(notice).unwrap_or_default(),
        WebhookFormat::Slack => {
            let text = notice.text();
            let mut blocks = vec![json!({
                "type": "section",
                "text": { "type": "mrkdwn", "text": format!("*{text}*") }
            })];
            if let Notice::Event(e) = notice {
                let mut fields = vec![
                    json!({"type": "mrkdwn", "text": format!("*host*\n{}", e.host)}),
                    json!({"type": "mrkdwn", "text": format!("*check*\n{}", e.check)}),
                ];
                if let Some(k) = &e.key {
                    fields.push(json!({"type": "mrkdwn", "text": format!("*key*\n{k}")}));
                }
                blocks.push(json!({"type": "section", "fields": fields}));
            }
            json!({ "text": text, "blocks": blocks })
        }
    }
}

impl Notifier for WebhookNotifier {
    fn send<'a>(&'a self, notice: &'a Notice) -> SendFuture<'a> {
        Box::pin(async move {
            let resp = self
                .client
                .post(&self.url)
                .json(&body(notice, self.format))
                .send()
                .await
                .map_err(|e| NotifyError::Http(e.to_string()))?;
            let status = resp.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(NotifyError::Http(format!("{} answered {status}", self.url)))
            }
        })
    }
}
