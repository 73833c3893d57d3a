//! SMTP email through lettre, STARTTLS by default; plaintext only when the file says
//! `starttls: false` (local test servers).

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Notice, Notifier, NotifyError, SendFuture};
use crate::config::EmailConfig;

/// Sends each notice as one mail to every recipient.
pub struct EmailNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    timeout: Duration,
}

impl EmailNotifier {
    /// Check the addresses now (a typo fails at start-up) and prepare the transport; no
    /// connection is made until the first notice.
    pub fn new(config: &EmailConfig, timeout: Duration) -> Result<Self, NotifyError> {
        let addr = |a: &str| {
            a.parse::<Mailbox>()
                .map_err(|e| NotifyError::Smtp(format!("bad address `{a}`: {e}")))
        };
        let from = addr(&config.from)?;
        let to = config
            .to
            .iter()
            .map(|a| addr(a))
            .collect::<Result<_, _>>()?;
        let mut builder = if config.starttls {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(|e| NotifyError::Smtp(e.to_string()))?
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
        };
        builder = builder.port(config.port).timeout(Some(timeout));
        if let Some((user, password)) = &config.credentials {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(EmailNotifier {
            transport: builder.build(),
            from,
            to,
            timeout,
        })
    }
}

/// The mail for `notice`: the line as subject, the line and the JSON as body.
fn message(notice: &Notice, from: &Mailbox, to: &[Mailbox]) -> Result<Message, NotifyError> {
    let mut b = Message::builder()
        .from(from.clone())
        // The first line only: a notice may carry more (a backup's diff), which belongs in
        // the body, and a header must not hold a line break.
        .subject(format!(
            "[fanout] {}",
            notice.text().lines().next().unwrap_or_default()
        ))
        .header(ContentType::TEXT_PLAIN);
    for t in to {
        b = b.to(t.clone());
    }
    let json = serde_json::to_string_pretty(notice).unwrap_or_default();
    b.body(format!("{}\n\n{json}\n", notice.text()))
        .map_err(|e| NotifyError::Smtp(e.to_string()))
}

impl Notifier for EmailNotifier {
    fn send<'a>(&'a self, notice: &'a Notice) -> SendFuture<'a> {
        Box::pin(async move {
            let mail = message(notice, &self.from, &self.to)?;
            match tokio::time::timeout(self.timeout, self.transport.send(mail)).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(NotifyError::Smtp(e.to_string())),
                Err(_) => Err(NotifyError::Timeout(self.timeout)),
            }
        })
    }
}
