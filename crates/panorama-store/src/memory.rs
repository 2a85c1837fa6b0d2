//! This process's resident memory, as Linux reports it: the peak since the
//! start (or since the last reset), so each step of a run can say what it
//! held. Elsewhere the readings are 0 and resets do nothing.

/// Peak resident memory in MB (`VmHWM`).
pub fn peak_rss_mb() -> f64 {
    status_kb("VmHWM:").map_or(0.0, |kb| kb / 1024.0)
}

/// Resident memory now, in MB (`VmRSS`).
pub fn rss_mb() -> f64 {
    status_kb("VmRSS:").map_or(0.0, |kb| kb / 1024.0)
}

/// Resets the peak to the memory resident now (`/proc/self/clear_refs`,
/// value 5), so the next [`peak_rss_mb`] is the peak of what follows.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn status_kb(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_covers_what_was_touched_and_resets() {
        if peak_rss_mb() == 0.0 {
            return; // not Linux
        }
        reset_peak();
        let before = peak_rss_mb();
        let big = vec![1u8; 64 << 20];
        std::hint::black_box(&big);
        let during = peak_rss_mb();
        assert!(during >= before + 60.0, "{before} → {during}");
        drop(big);
        reset_peak();
        assert!(peak_rss_mb() < during, "the reset lowers the peak");
        assert!(rss_mb() > 0.0);
    }
}
