//! Where an outbound message is on its way to the patient, the one-way order of those
//! states, and how long to wait before trying a failed send again.

use jiff::SignedDuration;

/// The delivery state of a message. Provider callbacks only ever move it forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// In careloop's outbox, waiting for its time (or for a gate to open).
    Queued,
    /// Claimed by a sender, being handed to the provider.
    Sending,
    /// The request may or may not have reached the provider (a crash or a timeout after
    /// it left): careloop waits for the provider's callback before sending again.
    Unknown,
    /// The provider took it (Twilio's `accepted`, `queued`, `sending`).
    Accepted,
    /// The provider sent it to the carrier or mail server.
    Sent,
    Delivered,
    Read,
    /// The carrier could not deliver it.
    Undelivered,
    /// The provider refused it for good (an invalid number, an unsubscribed recipient).
    Failed,
    /// Every retry failed.
    Dead,
    /// A gate refused it for good (no consent, no contact).
    Blocked,
}

impl DeliveryStatus {
    pub const ALL: [Self; 11] = [
        Self::Queued,
        Self::Sending,
        Self::Unknown,
        Self::Accepted,
        Self::Sent,
        Self::Delivered,
        Self::Read,
        Self::Undelivered,
        Self::Failed,
        Self::Dead,
        Self::Blocked,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Unknown => "unknown",
            Self::Accepted => "accepted",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Undelivered => "undelivered",
            Self::Failed => "failed",
            Self::Dead => "dead",
            Self::Blocked => "blocked",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// How far along the way the state is; a state may only move to a higher rank.
    fn rank(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Sending | Self::Unknown => 1,
            Self::Accepted => 2,
            Self::Sent => 3,
            Self::Delivered | Self::Undelivered | Self::Failed | Self::Dead | Self::Blocked => 4,
            Self::Read => 5,
        }
    }

    /// Whether a report of `next` (from a callback, which may come late or twice) moves a
    /// message that is in this state.
    pub fn moves_to(self, next: Self) -> bool {
        next.rank() > self.rank()
    }

    /// Whether the message is out of careloop's hands: nothing more will be tried.
    pub fn is_final(self) -> bool {
        self.rank() >= 4
    }

    /// Whether it reached the provider, for the FHIR record.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Self::Undelivered | Self::Failed | Self::Dead | Self::Blocked
        )
    }
}

/// The longest `Retry-After` honoured: a provider asking for more is asked again then.
pub const MAX_RETRY_AFTER: SignedDuration = SignedDuration::from_hours(24);

/// When to try again after `attempts` failed tries: exponential from `base`, capped at
/// `cap`, with jitter (half fixed, half a random share from `random`) so that senders
/// that failed together do not retry together. A provider's `Retry-After` (up to
/// [`MAX_RETRY_AFTER`]) is a floor.
pub fn retry_delay(
    attempts: u32,
    base: SignedDuration,
    cap: SignedDuration,
    retry_after: Option<SignedDuration>,
    random: u32,
) -> SignedDuration {
    let exponent = attempts.saturating_sub(1).min(20);
    let ceiling = base
        .checked_mul(1_i32 << exponent)
        .unwrap_or(cap)
        .min(cap)
        .max(SignedDuration::from_secs(1));
    // Half fixed, half random: never a retry at once.
    let share = f64::from(random) / f64::from(u32::MAX);
    let delay = ceiling.div_f64(2.0) + ceiling.div_f64(2.0).mul_f64(share);
    match retry_after.map(|floor| floor.min(MAX_RETRY_AFTER)) {
        Some(floor) if floor > delay => floor,
        _ => delay,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn callbacks_only_move_forward() {
        use DeliveryStatus::*;
        assert!(Sending.moves_to(Accepted));
        assert!(Unknown.moves_to(Delivered));
        assert!(Accepted.moves_to(Sent));
        assert!(Sent.moves_to(Delivered));
        assert!(Delivered.moves_to(Read));
        assert!(!Delivered.moves_to(Sent));
        assert!(!Sent.moves_to(Sent));
        assert!(!Delivered.moves_to(Failed));
        assert!(Sent.moves_to(Undelivered));
    }

    #[test]
    fn names_round_trip() {
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(status.name()), Some(status));
        }
    }

    proptest! {
        #[test]
        fn retry_delays_grow_stay_capped_and_honour_retry_after(
            attempts in 1u32..40,
            random: u32,
            after in proptest::option::of(0i64..200_000),
        ) {
            let base = SignedDuration::from_secs(30);
            let cap = SignedDuration::from_secs(3600);
            let after = after.map(SignedDuration::from_secs);
            let delay = retry_delay(attempts, base, cap, after, random);
            prop_assert!(delay >= SignedDuration::from_secs(15) || after.is_some());
            prop_assert!(delay <= cap.max(after.unwrap_or(cap)));
            if let Some(after) = after {
                prop_assert!(delay >= after.min(MAX_RETRY_AFTER));
            }
            let ceiling = base.checked_mul(1 << (attempts - 1).min(20)).unwrap_or(cap).min(cap);
            prop_assert!(delay >= ceiling.div_f64(2.0));
        }
    }
}
