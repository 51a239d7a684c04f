//! The bench's patients and appointments: one patient with a mobile number per
//! appointment, booked through the FHIR service in transaction bundles, as an EHR would,
//! so that the bookings start the built-in journeys exactly as in production.

use anyhow::Context as _;
use careloop_domain::OrgId;
use careloop_fhir::FhirService;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::task::JoinSet;

/// Patients (and appointments) per transaction bundle: large enough that a commit's
/// fixed cost is spread thin, small enough that a bundle stays a few hundred kilobytes.
const BUNDLE: u64 = 100;
/// Every bench number is in one area code (Boston's), with the exchange and line
/// derived from the patient's number in the bench, so the fake reads the patient back
/// from `To` without a table.
const AREA: u64 = 617;
/// Lines in one exchange.
const LINES: u64 = 10_000;
/// Appointments last half an hour; only their start matters to the reminders.
const VISIT: SignedDuration = SignedDuration::from_mins(30);

/// Exchanges that make a number careloop can text: not N11 (service codes such as 411
/// and 911) and not 555 or the other ranges the numbering plan keeps out of service.
const fn usable_exchange(exchange: u64) -> bool {
    exchange >= 200 && exchange % 100 != 11 && !matches!(exchange, 555 | 950 | 958 | 959 | 976)
}

const fn count_exchanges() -> usize {
    let (mut exchange, mut count) = (200, 0);
    while exchange <= 999 {
        if usable_exchange(exchange) {
            count += 1;
        }
        exchange += 1;
    }
    count
}

const EXCHANGE_COUNT: usize = count_exchanges();

/// The usable exchanges in order.
const EXCHANGES: [u16; EXCHANGE_COUNT] = {
    let mut table = [0u16; EXCHANGE_COUNT];
    let (mut exchange, mut i) = (200, 0);
    while exchange <= 999 {
        if usable_exchange(exchange) {
            table[i] = exchange as u16;
            i += 1;
        }
        exchange += 1;
    }
    table
};

/// How many distinct bench numbers there are.
pub const MAX_PATIENTS: u64 = EXCHANGE_COUNT as u64 * LINES;

/// The mobile number of patient `index` (from 0), in E.164.
pub fn phone(index: u64) -> String {
    let exchange = EXCHANGES
        .get(usize::try_from(index / LINES).unwrap_or(usize::MAX))
        .copied()
        .unwrap_or(0);
    format!("+1{AREA}{exchange:03}{:04}", index % LINES)
}

/// The patient whose number is `phone`, if it is a bench number.
pub fn index_of_phone(phone: &str) -> Option<usize> {
    let digits = phone.strip_prefix("+1")?;
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u64 = digits.parse().ok()?;
    if number / 10_000_000 != AREA {
        return None;
    }
    let exchange = u16::try_from(number / LINES % 1000).ok()?;
    let position = EXCHANGES.binary_search(&exchange).ok()?;
    usize::try_from(position as u64 * LINES + number % LINES).ok()
}

/// When each appointment starts, and so when its reminder falls due.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// The start of appointment 0.
    pub first_start: Timestamp,
    /// Reminders falling due per second; `None`: all at once.
    pub rate: Option<u32>,
}

impl Schedule {
    /// How long after appointment 0's reminder that of appointment `index` falls due:
    /// `index / rate` seconds, to the millisecond (what a FHIR instant carries here).
    pub fn offset(&self, index: u64) -> SignedDuration {
        match self.rate {
            None => SignedDuration::ZERO,
            Some(rate) => {
                let millis = index.saturating_mul(1000) / u64::from(rate.max(1));
                SignedDuration::from_millis(i64::try_from(millis).unwrap_or(i64::MAX))
            }
        }
    }

    fn start(&self, index: u64) -> anyhow::Result<Timestamp> {
        self.first_start
            .checked_add(self.offset(index))
            .context("an appointment's start is out of range")
    }
}

/// Books `patients` patients, each with one appointment, sharing the bundles among the
/// services (one per database connection pool, so several write at once where the
/// database allows it).
pub async fn book(
    services: &[FhirService],
    patients: u64,
    schedule: Schedule,
) -> anyhow::Result<()> {
    let bundles = patients.div_ceil(BUNDLE);
    let stride = u64::try_from(services.len().max(1)).unwrap_or(1);
    let mut writers = JoinSet::new();
    for (lane, fhir) in (0u64..).zip(services.iter().cloned()) {
        writers.spawn(async move {
            let mut bundle = lane;
            while bundle < bundles {
                let first = bundle * BUNDLE;
                let count = BUNDLE.min(patients - first);
                let body = transaction(first, count, schedule)?;
                fhir.transaction(&OrgId::default_org(), body)
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("a bench booking was refused: {}", e.diagnostics)
                    })?;
                bundle += stride;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = writers.join_next().await {
        done.context("a booking task failed")??;
    }
    Ok(())
}

/// A transaction bundle creating patients `first..first + count` and an appointment
/// for each.
fn transaction(first: u64, count: u64, schedule: Schedule) -> anyhow::Result<Value> {
    let mut entries = Vec::new();
    for index in first..first + count {
        let patient_url = format!("urn:uuid:00000000-0000-4000-8000-{index:012x}");
        let start = schedule.start(index)?;
        let end = start
            .checked_add(VISIT)
            .context("an appointment's end is out of range")?;
        entries.push(json!({
            "fullUrl": patient_url,
            "resource": {
                "resourceType": "Patient",
                "name": [{"given": ["Bench"], "family": format!("Patient {index}")}],
                "telecom": [{"system": "sms", "value": phone(index), "use": "mobile", "rank": 1}]
            },
            "request": {"method": "POST", "url": "Patient"}
        }));
        entries.push(json!({
            "resource": {
                "resourceType": "Appointment",
                "status": "booked",
                "start": start.to_string(),
                "end": end.to_string(),
                "participant": [{"actor": {"reference": patient_url}, "status": "needs-action"}]
            },
            "request": {"method": "POST", "url": "Appointment"}
        }));
    }
    Ok(json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}))
}

#[cfg(test)]
mod tests {
    use careloop_domain::{PhoneNumber, Region};

    use super::*;

    #[test]
    fn every_exchange_gives_numbers_careloop_can_text_and_read_back() {
        for position in 0..EXCHANGE_COUNT as u64 {
            for line in [0, 1234, LINES - 1] {
                let index = position * LINES + line;
                let number = phone(index);
                let parsed = PhoneNumber::parse(&number, Region::default()).unwrap();
                assert_eq!(
                    parsed.e164().map(|e| e.as_str()),
                    Some(number.as_str()),
                    "{number} is not a textable number"
                );
                assert_eq!(index_of_phone(&number), Some(index as usize));
            }
        }
        const { assert!(MAX_PATIENTS >= 1_000_000) };
    }

    #[test]
    fn numbers_that_are_no_bench_patients_read_back_as_none() {
        for other in [
            "+16175550100",
            "+14155550123",
            "+1617200000",
            "+4420794600000",
            "x",
        ] {
            assert_eq!(index_of_phone(other), None, "{other}");
        }
    }

    #[test]
    fn reminders_fall_due_at_the_rate_to_the_millisecond() {
        let first_start: Timestamp = "2026-03-10T09:00:00Z".parse().unwrap();
        let all = Schedule {
            first_start,
            rate: None,
        };
        assert_eq!(all.offset(9_999), SignedDuration::ZERO);
        let spread = Schedule {
            first_start,
            rate: Some(300),
        };
        assert_eq!(spread.offset(3), SignedDuration::from_millis(10));
        assert_eq!(
            spread.start(600).unwrap().to_string(),
            "2026-03-10T09:00:02Z"
        );
    }

    #[test]
    fn a_bundle_books_one_patient_and_one_appointment_each() {
        let schedule = Schedule {
            first_start: "2026-03-10T09:00:00Z".parse().unwrap(),
            rate: Some(1000),
        };
        let bundle = transaction(10, 2, schedule).unwrap();
        let entries = bundle["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0]["resource"]["telecom"][0]["value"], phone(10));
        assert_eq!(
            entries[3]["resource"]["participant"][0]["actor"]["reference"],
            entries[2]["fullUrl"]
        );
        assert_eq!(entries[3]["resource"]["start"], "2026-03-10T09:00:00.011Z");
    }
}
