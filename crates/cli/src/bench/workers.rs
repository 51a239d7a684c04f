//! Running the engines of a bench until the fake Twilio has heard what it waits for, or
//! until nothing more comes: a bench that loses messages must end, and say so.

use std::time::{Duration, Instant};

use careloop_engine::Engine;
use tokio::task::JoinSet;

use super::fake_twilio::{Counts, Tally};

/// How long the bench waits for the next message before it calls the rest lost: longer
/// than a first retry after a provider error (30 s), far shorter than a person's
/// patience.
const STALL: Duration = Duration::from_secs(60);
/// How often the counts are looked at. Only when to stop depends on it: arrival times
/// are taken by the fake itself.
const POLL: Duration = Duration::from_millis(5);

/// What a phase waits for: one of the fake's counts reaching a target.
pub struct Goal {
    /// What is awaited, for the error message: "booking confirmations".
    pub what: &'static str,
    pub count: fn(&Counts) -> u64,
    pub target: u64,
}

/// Runs every engine (as `careloop worker` does) until the goal is met, then stops them
/// and waits for the rounds under way to end.
pub async fn run_until(engines: &[Engine], tally: &Tally, goal: &Goal) -> anyhow::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut running = JoinSet::new();
    for engine in engines {
        let mut stopped = stopped.clone();
        running.spawn(engine.clone().run_until(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }));
    }
    let result = watch(tally, goal).await;
    let _ = stop.send(true);
    while running.join_next().await.is_some() {}
    result
}

async fn watch(tally: &Tally, goal: &Goal) -> anyhow::Result<()> {
    let (mut seen, mut since) = (0, Instant::now());
    loop {
        let counts = tally.counts();
        let got = (goal.count)(&counts);
        if got >= goal.target {
            return Ok(());
        }
        if got != seen {
            (seen, since) = (got, Instant::now());
        } else if since.elapsed() > STALL {
            anyhow::bail!(
                "messages were lost: the fake Twilio received {got} of {} {} and nothing more for {} s \
                 ({} requests refused, {} to unknown numbers)",
                goal.target,
                goal.what,
                STALL.as_secs(),
                counts.refused,
                counts.strangers,
            );
        }
        tokio::time::sleep(POLL).await;
    }
}
