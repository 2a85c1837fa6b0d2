//! `panorama sms …`: the SMS channel through a gateway's HTTP API — send the
//! outbox, read receipts and replies, the outbox's state — and a local
//! gateway speaking that API.

use anyhow::{Context as _, Result};
use clap::Subcommand;
use panorama_sms::connector::{self, Gateway, SendPolicy};

use super::campaign::{SendWindow, say_held};
use super::table;

/// SMS actions.
#[derive(Debug, Subcommand)]
pub enum SmsAction {
    /// Send the queued SMS through the gateway at the account's rate: never
    /// in quiet hours, on a rest day not to customers who asked not to be
    /// disturbed, never to one who opted out since; each message's answer
    /// (the gateway's id, or why it refused) kept.
    Send {
        /// The gateway's base URL (http://host:port).
        #[arg(long, env = "PANORAMA_SMS_GATEWAY")]
        gateway: String,
        /// The account's API key.
        #[arg(long, env = "PANORAMA_SMS_KEY", hide_env_values = true)]
        key: String,
        /// The signature messages go out under (签名).
        #[arg(long, default_value = "【全景银行】")]
        sign: String,
        /// Most messages a second (the account's contracted rate).
        #[arg(long, default_value_t = 50)]
        rate: u32,
        /// Messages per request.
        #[arg(long, default_value_t = 20)]
        chunk: usize,
        /// At most this many messages.
        #[arg(long, default_value_t = 10_000)]
        limit: i64,
        /// Quiet hours and rest days.
        #[command(flatten)]
        window: SendWindow,
        /// Who runs the gateway adapter.
        #[arg(long, default_value = "sms-gateway")]
        by: String,
    },
    /// Read the gateway's delivery receipts and the handsets' replies since
    /// the last read: receipts onto their messages, 退订/T/TD replies as
    /// opt-outs of SMS at once, other replies as contacts.
    Pull {
        /// The gateway's base URL.
        #[arg(long, env = "PANORAMA_SMS_GATEWAY")]
        gateway: String,
        /// The account's API key.
        #[arg(long, env = "PANORAMA_SMS_KEY", hide_env_values = true)]
        key: String,
        /// Receipts or replies read per request.
        #[arg(long, default_value_t = 500)]
        page: i64,
    },
    /// The outbox by channel, state and delivery.
    Status,
    /// Run a local gateway speaking the same API (for trials and tests):
    /// takes messages within its rate, reports them delivered (undelivered
    /// for `--undeliverable` prefixes), and returns replies typed at it with
    /// `POST /sim/reply {"mobile": …, "content": …}`.
    Gateway {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8088")]
        listen: String,
        /// The API key it accepts.
        #[arg(long, env = "PANORAMA_SMS_KEY", hide_env_values = true)]
        key: String,
        /// Most messages a second it takes.
        #[arg(long, default_value_t = 100)]
        rate: u32,
        /// Mobile prefixes reported undelivered, comma-separated.
        #[arg(long, value_delimiter = ',')]
        undeliverable: Vec<String>,
    },
}

pub(crate) async fn sms(action: SmsAction, store: &str) -> Result<()> {
    if let SmsAction::Gateway {
        listen,
        key,
        rate,
        undeliverable,
    } = action
    {
        if rate == 0 {
            anyhow::bail!("--rate: at least 1");
        }
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("listen on {listen}"))?;
        say!("SMS gateway (local) on http://{listen}, {rate} messages a second");
        panorama_sms::gateway::serve(
            listener,
            panorama_sms::gateway::Options {
                key,
                rate,
                undeliverable,
            },
        )
        .await?;
        return Ok(());
    }
    let store = super::open_store(store).await?;
    match action {
        SmsAction::Send {
            gateway,
            key,
            sign,
            rate,
            chunk,
            limit,
            window,
            by,
        } => {
            let gw = Gateway::new(&gateway, &key, &sign)?;
            let now = chrono::Local::now();
            let (quiet, hour, rest_day) = window.judge(now)?;
            let policy = SendPolicy {
                quiet,
                hour,
                rest_day,
                limit,
                rate,
                chunk,
            };
            let s = connector::send(&store, &gw, policy, now, &by).await?;
            say!(
                "{} SMS handed to {gateway} in {:.1} s (batch {}; {} left by an earlier run): {} accepted, {} refused; slowed down {} times",
                s.handed,
                s.seconds,
                s.batch,
                s.reclaimed,
                s.accepted,
                s.refused,
                s.throttled
            );
            say_held(s.held, s.opted_out);
            Ok(())
        }
        SmsAction::Pull { gateway, key, page } => {
            let gw = Gateway::new(&gateway, &key, "")?;
            let p = connector::pull(&store, &gw, page).await?;
            say!(
                "{} delivery receipts ({} for our messages); {} replies: {} customers opted out of SMS, {} from unknown mobiles",
                p.receipts,
                p.matched,
                p.replies,
                p.opt_outs,
                p.unknown
            );
            Ok(())
        }
        SmsAction::Status => {
            let rows = panorama_store::gateway::summary(&store)
                .await?
                .into_iter()
                .map(|(channel, status, delivery, n)| {
                    vec![channel, status, delivery, n.to_string()]
                });
            table::print(
                0,
                &["channel", "status", "delivery", "messages"],
                rows.collect(),
            );
            Ok(())
        }
        SmsAction::Gateway { .. } => Ok(()),
    }
}
