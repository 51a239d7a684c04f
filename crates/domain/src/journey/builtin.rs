//! The journeys every clinic starts with. They are ordinary definitions, shipped in the
//! binary; a clinic's own file with the same name replaces one.

/// `(file name, text)` of each built-in journey.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "appointment-reminders.toml",
        include_str!("../../journeys/appointment-reminders.toml"),
    ),
    (
        "appointment-cancelled.toml",
        include_str!("../../journeys/appointment-cancelled.toml"),
    ),
    (
        "appointment-rescheduled.toml",
        include_str!("../../journeys/appointment-rescheduled.toml"),
    ),
];

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;
    use crate::appointment_events::AppointmentEvent;
    use crate::journey::{Action, Channel, ChannelChoice, Wait, parse};

    #[test]
    fn every_builtin_journey_parses() {
        for (file, text) in BUILTIN {
            parse(file, text).unwrap();
        }
    }

    #[test]
    fn the_reminder_journey_is_the_documented_one() {
        let journey = parse(BUILTIN[0].0, BUILTIN[0].1).unwrap();
        assert_eq!(journey.trigger, AppointmentEvent::Booked);
        assert!(journey.ends_on.contains(&AppointmentEvent::Cancelled));
        let waits: Vec<SignedDuration> = journey
            .steps
            .iter()
            .filter_map(|s| match s.action {
                Action::Wait(Wait::FromStart(offset)) => Some(offset),
                _ => None,
            })
            .collect();
        assert_eq!(
            waits,
            [
                -SignedDuration::from_hours(72),
                -SignedDuration::from_hours(24),
                -SignedDuration::from_hours(2)
            ]
        );
        let channels: Vec<ChannelChoice> = journey
            .steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::Send { channel, .. } => Some(channel.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            channels,
            [
                ChannelChoice::Preferred,
                ChannelChoice::InOrder(vec![Channel::Email]),
                ChannelChoice::Preferred,
                ChannelChoice::InOrder(vec![Channel::Sms]),
            ]
        );
    }
}
