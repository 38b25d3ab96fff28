//! Reminders and notices of a person's book (issue 18): what happened or is due, a
//! stable key per event (so that a scan run again makes no second notice), and the
//! texts. Two texts, on purpose: the one shown inside the signed-in book (the
//! appointment's day and place, the vaccine, the number of results out of range) and
//! the one an outside channel carries (e-mail, SMS, webhook), which says only that
//! there is something new in the book — never a diagnosis, a vaccine or a place.
//!
//! Pure: the service makes the events from the book ([`book_events`]), from the
//! vaccination forecast and from the chronic-care registers, and the store keeps them.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::EpisodeView;

/// A re-exam appointment is announced this many days ahead (and on the day).
pub const APPOINTMENT_DAYS: i64 = 3;
/// A visit is "new" when it reached the book this recently (older visits are not
/// announced when a person's first scan runs over a long book).
pub const NEW_VISIT_DAYS: i64 = 14;

/// The text every outside channel carries: nothing of the person's health.
pub const OUTSIDE_TEXT: &str =
    "Bạn có thông báo mới trong Sổ sức khỏe điện tử. Vui lòng đăng nhập để xem.";
/// The subject of an e-mail.
pub const OUTSIDE_SUBJECT: &str = "Sổ sức khỏe điện tử: thông báo mới";

/// The kinds of event, with stable codes (stored, and in the opt-out choices).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Appointment,
    Vaccination,
    FollowUp,
    NewVisit,
    Result,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Appointment,
        Kind::Vaccination,
        Kind::FollowUp,
        Kind::NewVisit,
        Kind::Result,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Kind::Appointment => "appointment",
            Kind::Vaccination => "vaccination",
            Kind::FollowUp => "follow_up",
            Kind::NewVisit => "new_visit",
            Kind::Result => "result",
        }
    }

    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The Vietnamese label (a notice's heading, a worklist's column).
    pub fn label(self) -> &'static str {
        match self {
            Kind::Appointment => "Lịch tái khám",
            Kind::Vaccination => "Tiêm chủng",
            Kind::FollowUp => "Khám theo dõi bệnh mạn tính",
            Kind::NewVisit => "Lượt khám mới",
            Kind::Result => "Kết quả ngoài giới hạn bình thường",
        }
    }

    /// Whether staff act on it (the station's worklists): what is due, not what
    /// happened.
    pub fn is_due(self) -> bool {
        matches!(self, Kind::Appointment | Kind::Vaccination | Kind::FollowUp)
    }
}

/// One event of a person's book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A re-exam appointment (XML14) within [`APPOINTMENT_DAYS`].
    Appointment {
        episode_id: i64,
        at: NaiveDateTime,
        /// Where (facility code), when the letter says.
        facility: Option<String>,
    },
    /// A dose due or overdue (the vaccination forecast).
    Vaccination {
        /// The vaccine's or antigen's stable code and its Vietnamese name.
        code: String,
        name: String,
        dose: u32,
        due_from: NaiveDate,
        overdue: bool,
    },
    /// A chronic-care follow-up due (the station's register).
    FollowUp {
        /// The register (`hypertension`, `diabetes`, …) and its Vietnamese name.
        program: String,
        name: String,
        due: NaiveDate,
        overdue: bool,
    },
    /// A visit added to the book.
    NewVisit {
        episode_id: i64,
        facility: String,
        day: Option<NaiveDate>,
    },
    /// Results out of the normal in one visit (`summary::is_out_of_normal`).
    Result {
        episode_id: i64,
        count: usize,
        day: Option<NaiveDate>,
    },
}

impl Event {
    pub fn kind(&self) -> Kind {
        match self {
            Event::Appointment { .. } => Kind::Appointment,
            Event::Vaccination { .. } => Kind::Vaccination,
            Event::FollowUp { .. } => Kind::FollowUp,
            Event::NewVisit { .. } => Kind::NewVisit,
            Event::Result { .. } => Kind::Result,
        }
    }

    /// The key that makes one notice per event: the same event found again has the
    /// same key. A moved appointment, a dose becoming overdue, a new follow-up date are
    /// new events.
    pub fn dedupe_key(&self) -> String {
        match self {
            Event::Appointment { episode_id, at, .. } => {
                format!("appointment:{episode_id}:{}", at.format("%Y%m%d%H%M"))
            }
            Event::Vaccination {
                code,
                dose,
                overdue,
                ..
            } => format!(
                "vaccination:{code}:{dose}:{}",
                if *overdue { "overdue" } else { "due" }
            ),
            Event::FollowUp {
                program,
                due,
                overdue,
                ..
            } => format!(
                "follow_up:{program}:{}:{}",
                due.format("%Y%m%d"),
                if *overdue { "overdue" } else { "due" }
            ),
            Event::NewVisit { episode_id, .. } => format!("new_visit:{episode_id}"),
            Event::Result { episode_id, .. } => format!("result:{episode_id}"),
        }
    }

    /// The day it is due or happened (worklists sort by it).
    pub fn day(&self) -> Option<NaiveDate> {
        match self {
            Event::Appointment { at, .. } => Some(at.date()),
            Event::Vaccination { due_from, .. } => Some(*due_from),
            Event::FollowUp { due, .. } => Some(*due),
            Event::NewVisit { day, .. } | Event::Result { day, .. } => *day,
        }
    }

    /// The visit it is about, if any (the notice links to it).
    pub fn episode_id(&self) -> Option<i64> {
        match self {
            Event::Appointment { episode_id, .. }
            | Event::NewVisit { episode_id, .. }
            | Event::Result { episode_id, .. } => Some(*episode_id),
            _ => None,
        }
    }

    /// Whether it is overdue (shown as such).
    pub fn overdue(&self) -> bool {
        matches!(
            self,
            Event::Vaccination { overdue: true, .. } | Event::FollowUp { overdue: true, .. }
        )
    }

    /// The heading inside the book.
    pub fn title(&self) -> String {
        match self {
            Event::Appointment { .. } => "Sắp đến lịch tái khám".into(),
            Event::Vaccination { overdue: false, .. } => "Đến lịch tiêm chủng".into(),
            Event::Vaccination { overdue: true, .. } => "Quá hạn tiêm chủng".into(),
            Event::FollowUp { overdue: false, .. } => "Đến lịch khám theo dõi".into(),
            Event::FollowUp { overdue: true, .. } => "Quá hạn khám theo dõi".into(),
            Event::NewVisit { .. } => "Lượt khám mới trong sổ".into(),
            Event::Result { .. } => "Kết quả ngoài giới hạn bình thường".into(),
        }
    }

    /// The sentence inside the signed-in book; `facility` names a facility code.
    pub fn text(&self, facility: &dyn Fn(&str) -> String) -> String {
        let day = |d: &NaiveDate| d.format("%d/%m/%Y").to_string();
        match self {
            Event::Appointment {
                at, facility: f, ..
            } => {
                let place = f
                    .as_deref()
                    .map(|c| format!(" tại {}", facility(c)))
                    .unwrap_or_default();
                format!(
                    "Bạn có lịch tái khám lúc {}{place}. Mang theo giấy hẹn và thẻ BHYT.",
                    at.format("%H:%M ngày %d/%m/%Y")
                )
            }
            Event::Vaccination {
                name,
                dose,
                due_from,
                overdue,
                ..
            } => {
                if *overdue {
                    format!(
                        "Mũi {dose} {name} đã quá hạn (đến lịch từ {}). Hãy đến trạm y tế để tiêm bù.",
                        day(due_from)
                    )
                } else {
                    format!(
                        "Mũi {dose} {name} đến lịch từ {}. Hãy đến buổi tiêm chủng của trạm y tế.",
                        day(due_from)
                    )
                }
            }
            Event::FollowUp {
                name, due, overdue, ..
            } => {
                if *overdue {
                    format!(
                        "Lịch khám theo dõi {name} ngày {} đã qua. Hãy đến trạm y tế để được khám và cấp thuốc.",
                        day(due)
                    )
                } else {
                    format!(
                        "Đến lịch khám theo dõi {name} ngày {}. Hãy đến trạm y tế để được khám và cấp thuốc.",
                        day(due)
                    )
                }
            }
            Event::NewVisit {
                facility: f,
                day: d,
                ..
            } => match d {
                Some(d) => format!("Lượt khám ngày {} tại {} đã vào sổ.", day(d), facility(f)),
                None => format!("Một lượt khám tại {} đã vào sổ.", facility(f)),
            },
            Event::Result { count, day: d, .. } => {
                let when = d.map(|d| format!(" ngày {}", day(&d))).unwrap_or_default();
                format!(
                    "{count} kết quả của lượt khám{when} nằm ngoài giới hạn bình thường. \
                     Xem chi tiết và hỏi bác sĩ của bạn."
                )
            }
        }
    }
}

/// A visit of the book as the scan sees it: its id, projection, and whether it reached
/// the book within [`NEW_VISIT_DAYS`].
pub struct Visit<'a> {
    pub id: i64,
    pub view: &'a EpisodeView,
    pub recent: bool,
}

/// The events of a book at `now` (Vietnam wall clock): appointments in the next
/// [`APPOINTMENT_DAYS`], and for recent visits the visit itself and its results out of
/// the normal.
pub fn book_events(visits: &[Visit<'_>], now: NaiveDateTime) -> Vec<Event> {
    let mut out = Vec::new();
    let horizon = now + Duration::days(APPOINTMENT_DAYS);
    for v in visits {
        if let Some(a) = &v.view.appointment
            && let Some(at) = a.at
            && at >= now
            && at <= horizon
        {
            out.push(Event::Appointment {
                episode_id: v.id,
                at,
                facility: a.facility.clone().or_else(|| Some(v.view.facility.clone())),
            });
        }
        if !v.recent {
            continue;
        }
        let day = v.view.discharged.or(v.view.admitted).map(|d| d.date());
        out.push(Event::NewVisit {
            episode_id: v.id,
            facility: v.view.facility.clone(),
            day,
        });
        let count = v
            .view
            .results
            .iter()
            .filter(|r| crate::summary::is_out_of_normal(r))
            .count();
        if count > 0 {
            out.push(Event::Result {
                episode_id: v.id,
                count,
                day,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::episode::{Appointment, ResultKind, TestResult};

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn visit(day: &str, appointment: Option<&str>, conclusions: &[&str]) -> EpisodeView {
        EpisodeView {
            facility: "01001".into(),
            admitted: Some(at(day)),
            discharged: Some(at(day)),
            appointment: appointment.map(|a| Appointment {
                at: Some(at(a)),
                facility: Some("01002".into()),
                ..Appointment::default()
            }),
            results: conclusions
                .iter()
                .map(|c| TestResult {
                    kind: ResultKind::Lab,
                    conclusion: Some(c.to_string()),
                    ..TestResult::default()
                })
                .collect(),
            ..EpisodeView::default()
        }
    }

    #[test]
    fn appointments_in_the_next_days_and_recent_visits_with_their_results() {
        let now = at("2026-12-07 08:00");
        let soon = visit(
            "2026-12-01 09:00",
            Some("2026-12-09 07:30"),
            &["Cao", "Bình thường", "Thấp"],
        );
        let later = visit("2026-11-20 09:00", Some("2026-12-20 07:30"), &[]);
        let past = visit("2026-10-01 09:00", Some("2026-10-15 07:30"), &["Cao"]);
        let visits = [
            Visit {
                id: 1,
                view: &soon,
                recent: true,
            },
            Visit {
                id: 2,
                view: &later,
                recent: false,
            },
            Visit {
                id: 3,
                view: &past,
                recent: false,
            },
        ];
        let ev = book_events(&visits, now);
        let keys: Vec<String> = ev.iter().map(Event::dedupe_key).collect();
        assert_eq!(
            keys,
            ["appointment:1:202612090730", "new_visit:1", "result:1"],
            "only the appointment within 3 days; only the recent visit; 2 results out of range"
        );
        assert_eq!(
            ev[2],
            Event::Result {
                episode_id: 1,
                count: 2,
                day: Some(at("2026-12-01 09:00").date())
            }
        );
        // Found again, the same keys: one notice per event.
        let again: Vec<String> = book_events(&visits, now)
            .iter()
            .map(Event::dedupe_key)
            .collect();
        assert_eq!(keys, again);
    }

    #[test]
    fn texts_inside_the_book_and_outside_it() {
        let names = |c: &str| {
            if c == "01002" {
                "Bệnh viện A".to_string()
            } else {
                c.to_string()
            }
        };
        let e = Event::Appointment {
            episode_id: 1,
            at: at("2026-12-09 07:30"),
            facility: Some("01002".into()),
        };
        assert_eq!(
            e.text(&names),
            "Bạn có lịch tái khám lúc 07:30 ngày 09/12/2026 tại Bệnh viện A. Mang theo giấy hẹn và thẻ BHYT."
        );
        let v = Event::Vaccination {
            code: "DTP".into(),
            name: "DPT-VGB-Hib".into(),
            dose: 2,
            due_from: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            overdue: true,
        };
        assert_eq!(v.title(), "Quá hạn tiêm chủng");
        assert_eq!(v.dedupe_key(), "vaccination:DTP:2:overdue");
        // What leaves the system names nothing of the person's health.
        for word in ["tái khám", "tiêm", "kết quả", "khám theo dõi"] {
            assert!(!OUTSIDE_TEXT.contains(word), "{word}");
        }
        for k in Kind::ALL {
            assert_eq!(Kind::from_code(k.code()), Some(k));
        }
    }
}
