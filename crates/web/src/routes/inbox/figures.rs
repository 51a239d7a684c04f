//! `GET /inbox/figures`: how the clinic answers. What is open and overdue now, and the
//! first-response and resolution times of the last days, by department and priority,
//! as bar charts drawn on the server (SVG) with the same figures in a table beside each.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use careloop_domain::business_hours::Priority;
use careloop_engine::figures::{Backlog, Timing};
use jiff::SignedDuration;
use maud::{Markup, html};

use super::access::Signed;
use super::forms::unavailable;
use super::pages::{chrome, page};
use crate::state::AppState;

/// The periods one may look back over, in days.
const PERIODS: [i64; 3] = [7, 30, 90];
const CHART_WIDTH: i64 = 640;
const LABEL_WIDTH: i64 = 190;
const BAR_HEIGHT: i64 = 22;

/// A duration as a person reads it: "45 s", "12 min", "3 h 20 min", "2 d 4 h".
pub fn spoken(duration: SignedDuration) -> String {
    let seconds = duration.as_secs().max(0);
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        3600..86_400 => match (seconds % 3600) / 60 {
            0 => format!("{} h", seconds / 3600),
            minutes => format!("{} h {minutes} min", seconds / 3600),
        },
        _ => match (seconds % 86_400) / 3600 {
            0 => format!("{} d", seconds / 86_400),
            hours => format!("{} d {hours} h", seconds / 86_400),
        },
    }
}

fn queue_name(department: Option<&str>) -> &str {
    department.unwrap_or("general queue")
}

/// `GET /inbox/figures?days=30`.
pub async fn figures(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let signed = match Signed::require(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let days = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "days")
        .and_then(|(_, v)| v.parse().ok())
        .filter(|d| PERIODS.contains(d))
        .unwrap_or(30);
    let figures = match state.engine.figures(days).await {
        Ok(figures) => figures,
        Err(error) => return unavailable(&error),
    };
    let targets = &state.engine.settings().response_targets;
    let target_of = |priority: Priority| match priority {
        Priority::Urgent => format!("{} around the clock", spoken(targets.urgent)),
        Priority::High => format!("{} of open hours", spoken(targets.high)),
        Priority::Normal => format!("{} of open hours", spoken(targets.normal)),
        Priority::Low => format!("{} of open hours", spoken(targets.low)),
    };
    let body = html! {
        main #main {
            h1 { "Figures" }
            nav.periods aria-label="Period" {
                "Times of the last "
                @for (n, period) in PERIODS.iter().enumerate() {
                    @if n > 0 { " · " }
                    @if *period == days {
                        strong aria-current="page" { (period) " days" }
                    } @else {
                        a href={ "/inbox/figures?days=" (period) } { (period) " days" }
                    }
                }
            }
            section aria-labelledby="open-now" {
                h2 #open-now { "Open now" }
                (backlog_chart(&figures.backlog))
                (backlog_table(&figures.backlog))
            }
            section aria-labelledby="first-response" {
                h2 #first-response { "First response" }
                p.hint { "From a patient's message to the first answer by staff, in the last " (days) " days." }
                (timing_chart("first-response-chart", &figures.first_response))
                (timing_table(&figures.first_response, Some(&target_of)))
            }
            section aria-labelledby="resolution" {
                h2 #resolution { "Resolution" }
                p.hint { "From a conversation opening to its being resolved, in the last " (days) " days." }
                (timing_chart("resolution-chart", &figures.resolution))
                (timing_table(&figures.resolution, None))
            }
        }
    };
    page(StatusCode::OK, "Figures", chrome(&signed, "figures", body))
}

fn backlog_chart(rows: &[Backlog]) -> Markup {
    if rows.is_empty() {
        return html! { p { "Nothing is open." } };
    }
    let most = rows.iter().map(|r| r.open).max().unwrap_or(1).max(1);
    let height = BAR_HEIGHT * i64::try_from(rows.len()).unwrap_or(0) + 8;
    let scale = |n: i64| (CHART_WIDTH - LABEL_WIDTH - 60) * n / most;
    let summary: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {}: {} open, {} overdue",
                queue_name(r.department.as_deref()),
                r.priority.name(),
                r.open,
                r.overdue
            )
        })
        .collect();
    html! {
        svg.chart role="img" aria-label=(summary.join("; ")) viewBox={ "0 0 " (CHART_WIDTH) " " (height) } width="100%" {
            @for (n, row) in rows.iter().enumerate() {
                @let y = BAR_HEIGHT * i64::try_from(n).unwrap_or(0) + 4;
                text x="0" y=(y + 15) class="label" { (queue_name(row.department.as_deref())) " · " (row.priority.name()) }
                rect x=(LABEL_WIDTH) y=(y) width=(scale(row.open).max(1)) height=(BAR_HEIGHT - 6) class="bar open" {}
                @if row.overdue > 0 {
                    rect x=(LABEL_WIDTH) y=(y) width=(scale(row.overdue).max(1)) height=(BAR_HEIGHT - 6) class="bar overdue" {}
                }
                text x=(LABEL_WIDTH + scale(row.open) + 6) y=(y + 15) class="value" {
                    (row.open) @if row.overdue > 0 { " (" (row.overdue) " overdue)" }
                }
            }
        }
    }
}

fn backlog_table(rows: &[Backlog]) -> Markup {
    html! {
        @if !rows.is_empty() {
            table.figures {
                caption.visually-hidden { "Open conversations by department and priority" }
                thead { tr { th scope="col" { "Queue" } th scope="col" { "Priority" } th scope="col" { "Open" } th scope="col" { "Overdue" } } }
                tbody {
                    @for row in rows {
                        tr {
                            td { (queue_name(row.department.as_deref())) }
                            td { (row.priority.name()) }
                            td { (row.open) }
                            td.overdue[row.overdue > 0] { (row.overdue) }
                        }
                    }
                }
            }
        }
    }
}

fn timing_chart(id: &str, rows: &[Timing]) -> Markup {
    if rows.is_empty() {
        return html! { p { "No times yet in this period." } };
    }
    let most = rows
        .iter()
        .map(|r| r.p90.as_secs())
        .max()
        .unwrap_or(1)
        .max(1);
    let height = BAR_HEIGHT * i64::try_from(rows.len()).unwrap_or(0) + 8;
    let scale = |d: SignedDuration| (CHART_WIDTH - LABEL_WIDTH - 120) * d.as_secs().max(0) / most;
    let summary: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {}: median {}, 90th percentile {}",
                queue_name(r.department.as_deref()),
                r.priority.name(),
                spoken(r.median),
                spoken(r.p90)
            )
        })
        .collect();
    html! {
        svg.chart #(id) role="img" aria-label=(summary.join("; ")) viewBox={ "0 0 " (CHART_WIDTH) " " (height) } width="100%" {
            @for (n, row) in rows.iter().enumerate() {
                @let y = BAR_HEIGHT * i64::try_from(n).unwrap_or(0) + 4;
                text x="0" y=(y + 15) class="label" { (queue_name(row.department.as_deref())) " · " (row.priority.name()) }
                rect x=(LABEL_WIDTH) y=(y) width=(scale(row.p90).max(1)) height=(BAR_HEIGHT - 6) class="bar p90" {}
                rect x=(LABEL_WIDTH) y=(y) width=(scale(row.median).max(1)) height=(BAR_HEIGHT - 6) class="bar median" {}
                text x=(LABEL_WIDTH + scale(row.p90) + 6) y=(y + 15) class="value" { (spoken(row.median)) " / " (spoken(row.p90)) }
            }
        }
        p.legend { span.key.median {} " median  " span.key.p90 {} " 90th percentile" }
    }
}

fn timing_table(rows: &[Timing], target_of: Option<&dyn Fn(Priority) -> String>) -> Markup {
    html! {
        @if !rows.is_empty() {
            table.figures {
                thead {
                    tr {
                        th scope="col" { "Queue" } th scope="col" { "Priority" } th scope="col" { "Conversations" }
                        th scope="col" { "Median" } th scope="col" { "90th percentile" }
                        @if target_of.is_some() { th scope="col" { "Target" } }
                    }
                }
                tbody {
                    @for row in rows {
                        tr {
                            td { (queue_name(row.department.as_deref())) }
                            td { (row.priority.name()) }
                            td { (row.count) }
                            td { (spoken(row.median)) }
                            td { (spoken(row.p90)) }
                            @if let Some(target_of) = target_of { td { (target_of(row.priority)) } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(spoken(SignedDuration::from_secs(45)), "45 s");
        assert_eq!(spoken(SignedDuration::from_mins(12)), "12 min");
        assert_eq!(spoken(SignedDuration::from_mins(200)), "3 h 20 min");
        assert_eq!(spoken(SignedDuration::from_hours(4)), "4 h");
        assert_eq!(spoken(SignedDuration::from_hours(52)), "2 d 4 h");
        assert_eq!(spoken(SignedDuration::from_secs(-5)), "0 s");
    }
}
