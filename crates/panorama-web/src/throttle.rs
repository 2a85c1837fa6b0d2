//! Login throttling. An attempt is counted *before* its password is
//! checked — a reservation per account and client address, and per client
//! address over all accounts — so parallel wrong passwords cannot slip
//! past the limit between the check and the record; password checks
//! (argon2, deliberately slow) run a few at a time. Failures themselves are
//! the audit trail's (durable across restarts); this holds only the
//! attempts in flight.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::{Semaphore, SemaphorePermit};

/// Attempts in flight, by (account, address) and by address.
#[derive(Debug)]
pub struct Throttle {
    in_flight: Mutex<InFlight>,
    checks: Semaphore,
}

#[derive(Debug, Default)]
struct InFlight {
    pair: HashMap<(String, String), u32>,
    address: HashMap<String, u32>,
}

/// Password checks run at once, at most (each takes tens of milliseconds
/// of a core: more in parallel only queues behind the CPU).
pub const CONCURRENT_CHECKS: usize = 4;

/// An admitted attempt: its reservation is released when it is dropped,
/// after its outcome has been recorded.
#[derive(Debug)]
pub struct Ticket<'a> {
    throttle: &'a Throttle,
    account: String,
    address: String,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut g = self
            .throttle
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let key = (self.account.clone(), self.address.clone());
        if let Some(n) = g.pair.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                g.pair.remove(&key);
            }
        }
        if let Some(n) = g.address.get_mut(&self.address) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                g.address.remove(&self.address);
            }
        }
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            in_flight: Mutex::default(),
            checks: Semaphore::new(CONCURRENT_CHECKS),
        }
    }
}

/// Recent failures of an account from an address, and of the address.
#[derive(Debug, Clone, Copy)]
pub struct Failures {
    /// Of this account from this address.
    pub pair: i64,
    /// From this address, any account.
    pub address: i64,
}

/// Limits on failures within the window.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Per account and address.
    pub pair: i64,
    /// Per address.
    pub address: i64,
}

/// A reserved attempt, before the recorded failures are read: the attempts
/// of the same pair and address that were in flight when it reserved.
#[derive(Debug)]
pub struct Reservation<'a> {
    ticket: Ticket<'a>,
    pair_before: i64,
    address_before: i64,
}

impl<'a> Reservation<'a> {
    /// Admits the attempt if the failures recorded *since it reserved its
    /// place* plus the attempts in flight then stay under the limits;
    /// otherwise releases the place. Reading the failures after reserving
    /// makes every two attempts see each other: one finishing before the
    /// other reads is in the record, one finishing after was in flight.
    pub fn admitted(self, failures: Failures, limits: Limits) -> Option<Ticket<'a>> {
        (failures.pair + self.pair_before < limits.pair
            && failures.address + self.address_before < limits.address)
            .then_some(self.ticket)
    }
}

impl Throttle {
    /// Reserves a place for an attempt (released when the reservation or
    /// its ticket is dropped); read the recorded failures *after* this.
    pub fn reserve(&self, account: &str, address: &str) -> Reservation<'_> {
        let mut g = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let key = (account.to_owned(), address.to_owned());
        let pair = g.pair.entry(key).or_default();
        let pair_before = i64::from(*pair);
        *pair += 1;
        let by_address = g.address.entry(address.to_owned()).or_default();
        let address_before = i64::from(*by_address);
        *by_address += 1;
        Reservation {
            ticket: Ticket {
                throttle: self,
                account: account.to_owned(),
                address: address.to_owned(),
            },
            pair_before,
            address_before,
        }
    }

    /// Reserves and admits at once, for failures already known.
    pub fn admit(
        &self,
        account: &str,
        address: &str,
        failures: Failures,
        limits: Limits,
    ) -> Option<Ticket<'_>> {
        self.reserve(account, address).admitted(failures, limits)
    }

    /// Waits for a turn to check a password.
    pub async fn check_turn(&self) -> Option<SemaphorePermit<'_>> {
        self.checks.acquire().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        pair: 5,
        address: 20,
    };

    #[test]
    fn attempts_in_flight_count_against_the_limit() {
        let t = Throttle::default();
        let none = Failures {
            pair: 0,
            address: 0,
        };
        let held: Vec<_> = (0..5)
            .map(|_| t.admit("rm1", "10.0.0.9", none, LIMITS))
            .collect();
        assert!(held.iter().all(Option::is_some));
        assert!(t.admit("rm1", "10.0.0.9", none, LIMITS).is_none());
        // Another address is another count: the account is not locked for it.
        assert!(t.admit("rm1", "10.0.0.7", none, LIMITS).is_some());
        drop(held);
        assert!(t.admit("rm1", "10.0.0.9", none, LIMITS).is_some());
    }

    #[test]
    fn recorded_failures_and_the_address_limit_apply() {
        let t = Throttle::default();
        let four = Failures {
            pair: 4,
            address: 4,
        };
        let last = t.admit("rm1", "a", four, LIMITS);
        assert!(last.is_some());
        assert!(t.admit("rm1", "a", four, LIMITS).is_none());
        let spraying = Failures {
            pair: 0,
            address: 20,
        };
        assert!(t.admit("bm1", "a", spraying, LIMITS).is_none());
    }

    #[test]
    fn an_attempt_sees_one_that_finished_while_it_read_the_record() {
        // Four failures recorded. The fifth attempt is admitted; a sixth
        // reserves while it is in flight, and reads the record only after
        // the fifth failed and let go: it sees that failure in the record.
        let t = Throttle::default();
        let recorded = |n| Failures {
            pair: n,
            address: n,
        };
        let fifth = t.reserve("rm1", "a").admitted(recorded(4), LIMITS);
        assert!(fifth.is_some());
        let sixth = t.reserve("rm1", "a");
        drop(fifth);
        assert!(sixth.admitted(recorded(5), LIMITS).is_none());
        // Had it read before the fifth's failure was written, the fifth
        // was still in flight when it reserved.
        let fifth = t.reserve("rm1", "a").admitted(recorded(4), LIMITS);
        let sixth = t.reserve("rm1", "a");
        assert!(sixth.admitted(recorded(4), LIMITS).is_none());
        drop(fifth);
        // Refused reservations let go of their place.
        assert!(t.admit("rm1", "a", recorded(4), LIMITS).is_some());
    }
}
