//! `panorama survey send`: survey invitations to the SMS gateway.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use panorama_store::Store;

/// `panorama survey …`.
#[derive(Debug, Subcommand)]
pub enum SurveyAction {
    /// Give each queued invitation a one-time link and write the SMS
    /// gateway's file (`mobile,message,invite_id`); only a hash of each link's
    /// token stays in the store. Customers without a mobile are marked so.
    Send {
        /// The gateway's file to write.
        #[arg(long)]
        out: PathBuf,
        /// The public address customers open (the link is BASE/survey/TOKEN).
        #[arg(long)]
        base_url: String,
        /// Invitations at most.
        #[arg(long, default_value_t = 10_000)]
        limit: i64,
        /// Days a link stays valid.
        #[arg(long, default_value_t = 14)]
        valid_days: i64,
        /// Who runs it (audited).
        #[arg(long, default_value = "ops")]
        by: String,
    },
}

pub(crate) async fn survey(action: SurveyAction, store: &Store) -> Result<()> {
    match action {
        SurveyAction::Send {
            out,
            base_url,
            limit,
            valid_days,
            by,
        } => {
            if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
                anyhow::bail!("--base-url: an http(s):// address, not {base_url}");
            }
            if !(1..=90).contains(&valid_days) {
                anyhow::bail!("--valid-days: 1 to 90, not {valid_days}");
            }
            let now = chrono::Utc::now();
            let batch = format!("survey-{}", now.format("%Y%m%dT%H%M%S%.6f"));
            let expires = (now + chrono::Duration::days(valid_days))
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            let sent = panorama_store::surveys::send_invites(
                store,
                limit.max(1),
                &batch,
                &expires,
                panorama_web::surveys::mint,
                &by,
            )
            .await?;
            let base = base_url.trim_end_matches('/');
            let mut w = csv::Writer::from_path(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            w.write_record(["mobile", "message", "invite_id"])?;
            for s in &sent {
                let message = format!(
                    "请您为本次服务评分 Please rate our service: {base}/survey/{}",
                    s.token
                );
                w.write_record([s.mobile.as_str(), message.as_str(), &s.id.to_string()])?;
            }
            w.flush()?;
            say!(
                "{} survey invitations handed to the gateway in {} (batch {batch}; links valid until {expires})",
                sent.len(),
                out.display()
            );
            Ok(())
        }
    }
}
