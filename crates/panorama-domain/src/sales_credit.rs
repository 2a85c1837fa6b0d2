//! Sales credit (业绩分成): who a sale is credited to, and how much. A sale
//! is made in a channel; the people in it play parts — the seller who
//! closed it, the customer's RM when it was sold, the RM who referred the
//! customer — and the head office's rules give each part of a channel a
//! share in basis points. A part nobody played passes its share to the
//! others in proportion; a sale with no known seller is closed by the
//! customer's RM. Shares and amounts are apportioned so they add up
//! exactly (10,000 basis points, the sale's amount to the fen).

use crate::period::apportion;

/// A part a person plays in a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// Closed the sale (the RM, teller or call-centre agent who sold it).
    Seller,
    /// The customer's RM when it was sold.
    Rm,
    /// Referred the customer (a cross-line referral).
    Referrer,
}

impl Part {
    /// Every part, in the order credits are listed.
    pub const ALL: [Part; 3] = [Part::Seller, Part::Rm, Part::Referrer];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Seller => "seller",
            Part::Rm => "rm",
            Part::Referrer => "referrer",
        }
    }

    /// The part of a stored name.
    pub fn parse(s: &str) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// The channels a sale is made in, by who closed it: an RM (`rm`), a
/// teller at the counter (`counter`), a call-centre agent (`call_centre`),
/// or nobody recorded (`self_service`: mobile, online, a machine).
pub const CHANNELS: [&str; 4] = ["rm", "counter", "call_centre", "self_service"];

/// One channel's rule: each part's share in basis points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The channel, or `*` for every channel without a rule of its own.
    pub channel: String,
    /// `(part, share_bp)` for each part.
    pub shares: Vec<(Part, i64)>,
}

/// Why a rule cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The channel is not one of [`CHANNELS`] or `*`.
    #[error("unknown channel {0:?}; one of *, {list}", list = CHANNELS.join(", "))]
    Channel(String),
    /// A share below 0 or above 100 %.
    #[error("a share is between 0 and 10,000 basis points, not {0}")]
    Share(i64),
    /// The shares do not add up to 100 %.
    #[error("the shares add up to {0} basis points, not 10,000")]
    Sum(i64),
    /// A part given twice.
    #[error("the {0} part is given twice")]
    Twice(&'static str),
}

impl Rule {
    /// A rule for `channel` giving `shares`, checked: a known channel, each
    /// share within 0–100 %, each part once, adding up to 100 %.
    pub fn new(channel: &str, shares: &[(Part, i64)]) -> Result<Rule, RuleError> {
        if channel != "*" && !CHANNELS.contains(&channel) {
            return Err(RuleError::Channel(channel.to_owned()));
        }
        let mut seen = Vec::new();
        for &(p, s) in shares {
            if !(0..=10_000).contains(&s) {
                return Err(RuleError::Share(s));
            }
            if seen.contains(&p) {
                return Err(RuleError::Twice(p.as_str()));
            }
            seen.push(p);
        }
        let sum: i64 = shares.iter().map(|s| s.1).sum();
        if sum != 10_000 {
            return Err(RuleError::Sum(sum));
        }
        Ok(Rule {
            channel: channel.to_owned(),
            shares: shares.to_vec(),
        })
    }

    fn share(&self, part: Part) -> i64 {
        self.shares.iter().find(|s| s.0 == part).map_or(0, |s| s.1)
    }
}

/// The rule of `channel` among `rules`: its own, else the `*` rule.
pub fn rule_for<'a>(rules: &'a [Rule], channel: &str) -> Option<&'a Rule> {
    rules
        .iter()
        .find(|r| r.channel == channel)
        .or_else(|| rules.iter().find(|r| r.channel == "*"))
}

/// The people of a sale, by user id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct People {
    /// Who closed it, if a source or the entry says.
    pub seller: Option<i64>,
    /// The customer's RM when it was sold.
    pub rm: Option<i64>,
    /// Who referred the customer.
    pub referrer: Option<i64>,
}

/// One line of a sale's credit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    /// The person credited.
    pub user_id: i64,
    /// The part they played.
    pub part: Part,
    /// Their share of the sale, in basis points.
    pub share_bp: i64,
    /// Their share of the sale's amount, in fen.
    pub amount_minor: i64,
}

/// Splits a sale of `amount_minor` among `people` by `rule`. Without a
/// seller the RM closes it; a part nobody played passes its share to the
/// others in proportion (all to the seller if every played part's share is
/// 0). Shares add up to 10,000 and amounts to `amount_minor`; nobody played
/// a part (no seller and no RM) gives no credit.
pub fn split(rule: &Rule, people: People, amount_minor: i64) -> Vec<Credit> {
    let seller = people.seller.or(people.rm);
    let played: Vec<(Part, i64)> = [
        (Part::Seller, seller),
        (Part::Rm, people.rm),
        (Part::Referrer, people.referrer),
    ]
    .into_iter()
    .filter_map(|(p, u)| u.map(|u| (p, u)))
    .collect();
    if played.is_empty() {
        return Vec::new();
    }
    let mut weights: Vec<i64> = played.iter().map(|(p, _)| rule.share(*p)).collect();
    if weights.iter().all(|w| *w == 0) {
        weights = played
            .iter()
            .map(|(p, _)| i64::from(*p == Part::Seller))
            .collect();
    }
    let bp = apportion(10_000, &weights);
    let amounts = apportion(amount_minor, &bp);
    played
        .iter()
        .zip(bp.iter().zip(amounts))
        .filter(|(_, (b, _))| **b > 0)
        .map(|(&(part, user_id), (&share_bp, amount_minor))| Credit {
            user_id,
            part,
            share_bp,
            amount_minor,
        })
        .collect()
}

/// A branch manager's split of a sale: `(user, share_bp)` lines adding up
/// to 10,000, each user once; the amounts apportioned to the fen.
pub fn adjusted(
    lines: &[(i64, i64)],
    amount_minor: i64,
) -> Result<Vec<(i64, i64, i64)>, RuleError> {
    let mut seen = Vec::new();
    for &(u, s) in lines {
        if !(1..=10_000).contains(&s) {
            return Err(RuleError::Share(s));
        }
        if seen.contains(&u) {
            return Err(RuleError::Twice("same person's"));
        }
        seen.push(u);
    }
    let sum: i64 = lines.iter().map(|l| l.1).sum();
    if sum != 10_000 {
        return Err(RuleError::Sum(sum));
    }
    let bp: Vec<i64> = lines.iter().map(|l| l.1).collect();
    let amounts = apportion(amount_minor, &bp);
    Ok(lines
        .iter()
        .zip(amounts)
        .map(|(&(u, s), a)| (u, s, a))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_rules() -> Vec<Rule> {
        vec![
            Rule::new(
                "*",
                &[(Part::Seller, 7000), (Part::Rm, 0), (Part::Referrer, 3000)],
            )
            .unwrap(),
            Rule::new(
                "counter",
                &[
                    (Part::Seller, 5000),
                    (Part::Rm, 3000),
                    (Part::Referrer, 2000),
                ],
            )
            .unwrap(),
        ]
    }

    #[test]
    fn a_teller_sale_to_a_referred_customer_is_split_three_ways() {
        let rules = default_rules();
        let rule = rule_for(&rules, "counter").unwrap();
        let people = People {
            seller: Some(10),
            rm: Some(20),
            referrer: Some(30),
        };
        let c = split(rule, people, 100_001);
        let got: Vec<(i64, Part, i64, i64)> = c
            .iter()
            .map(|c| (c.user_id, c.part, c.share_bp, c.amount_minor))
            .collect();
        assert_eq!(
            got,
            vec![
                (10, Part::Seller, 5000, 50_001),
                (20, Part::Rm, 3000, 30_000),
                (30, Part::Referrer, 2000, 20_000),
            ]
        );
    }

    #[test]
    fn a_part_nobody_played_passes_its_share_on() {
        let rules = default_rules();
        // No referrer at the counter: 5000 : 3000 becomes 6250 : 3750.
        let c = split(
            rule_for(&rules, "counter").unwrap(),
            People {
                seller: Some(10),
                rm: Some(20),
                referrer: None,
            },
            1_000,
        );
        assert_eq!(
            c.iter()
                .map(|c| (c.share_bp, c.amount_minor))
                .collect::<Vec<_>>(),
            vec![(6250, 625), (3750, 375)]
        );
        // Any other channel: referrer 30 %, closer 70 %; the RM's 0 share
        // gives no line.
        let c = split(
            rule_for(&rules, "rm").unwrap(),
            People {
                seller: Some(10),
                rm: Some(20),
                referrer: Some(30),
            },
            999,
        );
        assert_eq!(
            c.iter()
                .map(|c| (c.user_id, c.share_bp, c.amount_minor))
                .collect::<Vec<_>>(),
            vec![(10, 7000, 699), (30, 3000, 300)]
        );
    }

    #[test]
    fn without_a_seller_the_rm_closes_and_without_anyone_nobody_is_credited() {
        let rules = default_rules();
        let rule = rule_for(&rules, "self_service").unwrap();
        let c = split(
            rule,
            People {
                seller: None,
                rm: Some(20),
                referrer: None,
            },
            500,
        );
        assert_eq!(
            c,
            vec![Credit {
                user_id: 20,
                part: Part::Seller,
                share_bp: 10_000,
                amount_minor: 500
            }]
        );
        assert!(split(rule, People::default(), 500).is_empty());
        // Every share of the parts played is 0: the seller takes it all.
        let zero = Rule::new("rm", &[(Part::Referrer, 10_000)]).unwrap();
        let c = split(
            &zero,
            People {
                seller: Some(1),
                rm: Some(2),
                referrer: None,
            },
            7,
        );
        assert_eq!((c.len(), c[0].user_id, c[0].share_bp), (1, 1, 10_000));
    }

    #[test]
    fn rules_and_adjustments_add_up_to_the_whole() {
        assert_eq!(
            Rule::new("counter", &[(Part::Seller, 6000)]),
            Err(RuleError::Sum(6000))
        );
        assert!(Rule::new("branch", &[(Part::Seller, 10_000)]).is_err());
        assert!(Rule::new("*", &[(Part::Seller, 12_000), (Part::Rm, -2000)]).is_err());
        assert!(Rule::new("*", &[(Part::Seller, 5000), (Part::Seller, 5000)]).is_err());
        assert_eq!(
            adjusted(&[(1, 3333), (2, 6667)], 100).unwrap(),
            vec![(1, 3333, 33), (2, 6667, 67)]
        );
        assert_eq!(adjusted(&[(1, 5000)], 100), Err(RuleError::Sum(5000)));
        assert!(adjusted(&[(1, 5000), (1, 5000)], 100).is_err());
        assert!(adjusted(&[(1, 0), (2, 10_000)], 100).is_err());
    }
}
