//! What happened to an appointment, read from two of its versions. These are the domain
//! events journeys react to: a booking is confirmed and reminded, a reschedule moves the
//! reminders, a cancellation ends them.

use std::fmt;

use crate::appointment::{Appointment, AppointmentStatus, ParticipationStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppointmentEvent {
    Booked,
    Rescheduled,
    Cancelled,
    Noshow,
    Fulfilled,
    /// A patient taking part accepted (replied "C", or the EHR says so).
    Confirmed,
}

impl AppointmentEvent {
    pub const ALL: [Self; 6] = [
        Self::Booked,
        Self::Rescheduled,
        Self::Cancelled,
        Self::Noshow,
        Self::Fulfilled,
        Self::Confirmed,
    ];

    /// The event's name, as journeys' triggers and the API spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Booked => "appointment.booked",
            Self::Rescheduled => "appointment.rescheduled",
            Self::Cancelled => "appointment.cancelled",
            Self::Noshow => "appointment.noshow",
            Self::Fulfilled => "appointment.fulfilled",
            Self::Confirmed => "appointment.confirmed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }
}

impl fmt::Display for AppointmentEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The events that turn `previous` (none for a new appointment) into `next`, in the order
/// they should be acted on.
pub fn changes(previous: Option<&Appointment>, next: &Appointment) -> Vec<AppointmentEvent> {
    let was = previous.map(|p| p.status);
    let mut events = Vec::new();
    let entered = |status: AppointmentStatus| next.status == status && was != Some(status);
    if entered(AppointmentStatus::Booked) {
        events.push(AppointmentEvent::Booked);
    } else if let Some(previous) = previous
        && next.status == AppointmentStatus::Booked
        && (previous.start != next.start || previous.end != next.end)
    {
        events.push(AppointmentEvent::Rescheduled);
    }
    for (status, event) in [
        (AppointmentStatus::Cancelled, AppointmentEvent::Cancelled),
        (AppointmentStatus::Noshow, AppointmentEvent::Noshow),
        (AppointmentStatus::Fulfilled, AppointmentEvent::Fulfilled),
    ] {
        if entered(status) {
            events.push(event);
        }
    }
    // A (re)booking counts every acceptance it arrives with; otherwise only new ones.
    let accepted_before = match events.first() {
        Some(AppointmentEvent::Booked) => 0,
        _ => previous.map_or(0, accepted_patients),
    };
    if next.status == AppointmentStatus::Booked && accepted_patients(next) > accepted_before {
        events.push(AppointmentEvent::Confirmed);
    }
    events
}

/// The events of removing an appointment (a FHIR delete): one that was going to happen
/// is, for the patient, cancelled.
pub fn removal(previous: &Appointment) -> Vec<AppointmentEvent> {
    match previous.status {
        AppointmentStatus::Booked | AppointmentStatus::Arrived | AppointmentStatus::CheckedIn => {
            vec![AppointmentEvent::Cancelled]
        }
        _ => Vec::new(),
    }
}

fn accepted_patients(appointment: &Appointment) -> usize {
    appointment
        .participants
        .iter()
        .filter(|p| p.actor.as_ref().is_some_and(|a| a.is_patient()))
        .filter(|p| p.status == ParticipationStatus::Accepted)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appointment::{ActorRef, Participant};
    use crate::ids::ResourceId;
    use AppointmentEvent::*;

    fn appointment(
        status: AppointmentStatus,
        start: &str,
        patient: ParticipationStatus,
    ) -> Appointment {
        let start: jiff::Timestamp = start.parse().unwrap();
        let end = start
            .checked_add(jiff::SignedDuration::from_mins(30))
            .unwrap();
        Appointment::new(
            ResourceId::parse("a1").unwrap(),
            status,
            Some(start),
            Some(end),
            vec![Participant {
                actor: Some(ActorRef {
                    resource_type: "Patient".into(),
                    id: ResourceId::parse("p1").unwrap(),
                }),
                status: patient,
            }],
        )
        .unwrap()
    }

    const NINE: &str = "2026-03-10T09:00:00Z";
    const TEN: &str = "2026-03-10T10:00:00Z";

    #[test]
    fn a_new_booking_is_booked() {
        let booked = appointment(
            AppointmentStatus::Booked,
            NINE,
            ParticipationStatus::NeedsAction,
        );
        assert_eq!(changes(None, &booked), [Booked]);
        let proposed = appointment(
            AppointmentStatus::Proposed,
            NINE,
            ParticipationStatus::NeedsAction,
        );
        assert_eq!(changes(None, &proposed), []);
        assert_eq!(changes(Some(&proposed), &booked), [Booked]);
    }

    #[test]
    fn a_booking_already_accepted_is_booked_and_confirmed() {
        let booked = appointment(
            AppointmentStatus::Booked,
            NINE,
            ParticipationStatus::Accepted,
        );
        assert_eq!(changes(None, &booked), [Booked, Confirmed]);
    }

    #[test]
    fn moving_the_time_reschedules() {
        let before = appointment(
            AppointmentStatus::Booked,
            NINE,
            ParticipationStatus::NeedsAction,
        );
        let after = appointment(
            AppointmentStatus::Booked,
            TEN,
            ParticipationStatus::NeedsAction,
        );
        assert_eq!(changes(Some(&before), &after), [Rescheduled]);
        assert_eq!(changes(Some(&before), &before), []);
    }

    #[test]
    fn status_changes() {
        let booked = appointment(
            AppointmentStatus::Booked,
            NINE,
            ParticipationStatus::NeedsAction,
        );
        for (status, event) in [
            (AppointmentStatus::Cancelled, Cancelled),
            (AppointmentStatus::Noshow, Noshow),
            (AppointmentStatus::Fulfilled, Fulfilled),
        ] {
            let next = appointment(status, NINE, ParticipationStatus::NeedsAction);
            assert_eq!(changes(Some(&booked), &next), [event]);
            assert_eq!(changes(Some(&next), &next), [], "no event twice");
        }
    }

    #[test]
    fn rebooking_an_accepted_appointment_confirms_it_again() {
        let cancelled = appointment(
            AppointmentStatus::Cancelled,
            NINE,
            ParticipationStatus::Accepted,
        );
        let booked = appointment(
            AppointmentStatus::Booked,
            NINE,
            ParticipationStatus::Accepted,
        );
        assert_eq!(changes(Some(&cancelled), &booked), [Booked, Confirmed]);
    }

    #[test]
    fn the_patient_accepting_confirms() {
        let booked = appointment(
            AppointmentStatus::Booked,
            NINE,
            ParticipationStatus::NeedsAction,
        );
        let accepted = appointment(
            AppointmentStatus::Booked,
            NINE,
            ParticipationStatus::Accepted,
        );
        assert_eq!(changes(Some(&booked), &accepted), [Confirmed]);
        assert_eq!(changes(Some(&accepted), &accepted), []);
        let moved = appointment(
            AppointmentStatus::Booked,
            TEN,
            ParticipationStatus::Accepted,
        );
        assert_eq!(changes(Some(&accepted), &moved), [Rescheduled]);
    }

    #[test]
    fn removing_a_booked_appointment_cancels_it() {
        let booked = appointment(
            AppointmentStatus::Booked,
            NINE,
            ParticipationStatus::NeedsAction,
        );
        assert_eq!(removal(&booked), [Cancelled]);
        let done = appointment(
            AppointmentStatus::Fulfilled,
            NINE,
            ParticipationStatus::NeedsAction,
        );
        assert_eq!(removal(&done), []);
    }

    #[test]
    fn names_round_trip() {
        for event in AppointmentEvent::ALL {
            assert_eq!(AppointmentEvent::parse(event.name()), Some(event));
        }
        assert_eq!(AppointmentEvent::parse("appointment.moved"), None);
    }
}
