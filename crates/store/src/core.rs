//! The rules of ingest and of the book, over the transaction interface ([`Db`]):
//! linking (decided by `book`), versions of an episode, persons, accounts and codes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use book::identity::{Candidates, Known, Target};
use book::{Conflict, IdKind, decide};
use dossier::model::BirthDate;

use std::collections::HashMap;

use crate::db::{Arg, Db, Q, Row, Val, args};
use crate::engine::{Backend, Engine, IdGen};
use crate::*;

/// The column whose sealed value is an identifier's plaintext (bound to its blind index).
pub(crate) const SEALED_IDENTIFIER: &str = "identifiers.value";

/// Who holds each identifier (`kinds[i]`, by its blind index `blind[i]`): `f(kind,
/// value, person)` for every active holder, newest first per identifier, the value
/// found through `back` (from each index to its value).
fn owners_by_index(
    db: &dyn Db,
    kinds: &[String],
    blind: &[String],
    back: &HashMap<String, String>,
    f: &mut dyn FnMut(String, String, Option<i64>),
) -> Result<()> {
    db.query(Q::IdentifierOwners, args![kinds, blind], &mut |r| {
        let b: String = r.get(1)?;
        let value = back.get(&b).cloned().unwrap_or(b);
        f(r.get(0)?, value, r.get(2)?);
        Ok(true)
    })
}

/// A person's name, birth date and personal ID as stored (sealed to the person's row).
pub(crate) fn seal_person<'a>(
    crypt: &crate::crypt::Crypt,
    id: i64,
    name: Option<&'a str>,
    birth: Option<&'a str>,
    personal_id: Option<&'a str>,
) -> Result<[Option<String>; 3]> {
    Ok([
        crypt.seal_opt("persons.name", id, name)?,
        crypt.seal_opt("persons.birth", id, birth)?,
        crypt.seal_opt("persons.personal_id", id, personal_id)?,
    ])
}

/// A person's known name, birth date, personal ID (opened) and merge, from the columns
/// `name, birth, personal_id, merged_into` starting at `at`.
fn person_known_row(db: &dyn Db, id: i64, r: &Row<'_>, at: usize) -> Result<PersonRow> {
    let c = db.crypt();
    Ok((
        c.open_opt("persons.name", id, r.get(at)?)?,
        c.open_opt("persons.birth", id, r.get(at + 1)?)?,
        c.open_opt("persons.personal_id", id, r.get(at + 2)?)?,
        r.get(at + 3)?,
    ))
}

/// A submission's findings as stored: sealed zstd-compressed JSON, or JSON text (empty
/// lists, and rows written before version 8). `id` is the submission's.
pub(crate) fn findings_text(crypt: &crate::crypt::Crypt, id: i64, v: Val<'_>) -> String {
    match v {
        Val::Text(t) => t.to_string(),
        Val::Bytes(b) => {
            let Ok(b) = crypt.open("submissions.findings", id, b) else {
                return "[]".into();
            };
            decompress_zstd(&b)
                .map(|j| String::from_utf8_lossy(&j).into_owned())
                .or_else(|| std::str::from_utf8(&b).ok().map(str::to_string))
                .unwrap_or_else(|| "[]".into())
        }
        _ => "[]".into(),
    }
}

/// Version 3 indexes referral letters by number; fill it in for the episodes stored before.
pub(crate) fn backfill_referral_numbers(db: &dyn Db) -> Result<()> {
    // Only the keys and numbers are held: a national store has millions of referrals.
    let rows: Vec<(i64, i64, Option<String>)> = db.all(Q::EpisodesWithReferral, args![], |r| {
        let number = unpack_body(db.crypt(), r.get(1)?, r.val(2)?).and_then(|v| v.referral?.number);
        Ok((r.get(0)?, r.get(1)?, number))
    })?;
    for (person, id, number) in rows {
        if let Some(n) = number {
            db.exec(Q::SetReferralNumber, args![person, id, n])?;
        }
    }
    Ok(())
}

/// The last step of the lineage: the moment of the commit that shows the episodes
/// (`now`, taken just before it; the episodes are written with it at the batch's end,
/// [`BatchState::finish`]). Counted for the service-level report, per sending facility.
pub(crate) fn mark_visible<'r>(
    state: &mut BatchState<'_>,
    receipts: impl IntoIterator<Item = (&'r Prepared, &'r Receipt)>,
    now: i64,
) {
    for (p, r) in receipts
        .into_iter()
        .filter(|(_, r)| r.episodes.iter().any(|l| !l.unchanged))
    {
        crate::reports::on_visible(
            &mut state.sums,
            &p.meta.facility,
            r.received_at,
            now - r.received_at,
        );
    }
}

fn birth_text(b: &Option<BirthDate>) -> Option<String> {
    b.map(|b| b.to_string())
}

type PersonRow = (Option<String>, Option<String>, Option<String>, Option<i64>);
type KeyRow = (i64, i64, u32, String);

/// What the writer keeps while it stores one batch (one transaction).
///
/// - What the episodes look up, on PostgreSQL read before the first of them with one
///   statement for each kind of lookup instead of one per episode: who holds each
///   identifier, those persons, the current version of each episode key, and each
///   resident's adoption state. An entry the batch itself writes is forgotten, so that
///   the next episode that needs it reads the database, which then holds this
///   transaction's write. What is not here is read when needed.
/// - The report counters the batch adds to, summed by key and written once per key
///   at its end ([`BatchState::finish`]), in the same transaction as the rows they count.
/// - The new submission and episode rows, which nothing in the batch reads, written at
///   its end: episodes with the moment they become visible (one insert each, where an
///   insert and an update of every index used to be); on PostgreSQL in multi-row
///   statements.
#[derive(Default)]
pub(crate) struct BatchState<'a> {
    pub(crate) sums: crate::reports::Sums,
    submissions: Vec<NewSubmission<'a>>,
    episodes: Vec<NewEpisode<'a>>,
    /// Whether the rows written at the end go in multi-row statements (where each
    /// statement is a round trip to a server) or one prepared statement each.
    pub(crate) multi_row: bool,
    /// Rows written at the batch's end on PostgreSQL (multi-row statements; nothing
    /// in the batch reads them from the database): late dossiers; card periods, with
    /// the newest sighting; episode keys, the last of the batch for each key (the
    /// batch reads them from `keys`, kept current instead).
    pub(crate) late: Vec<LateRow>,
    card_periods: std::collections::BTreeMap<(i64, String, String, String), i64>,
    episode_keys: std::collections::BTreeMap<(String, String), KeyRow>,
    /// PostgreSQL: identifiers and their lookup keys given by the batch, written in
    /// one multi-row upsert each at its end, or earlier when an episode must look one
    /// of them up again or gives the same one again (see [`BatchState::write_identifiers`]).
    identifiers: std::collections::BTreeMap<(i64, String, String), IdentifierRow>,
    identifier_keys: std::collections::BTreeMap<(String, String, i64), i64>,
    /// PostgreSQL: the persons the batch creates and their "created" events, written
    /// at its end in one multi-row insert each; the batch reads them from `persons`.
    new_persons: std::collections::BTreeMap<i64, NewPerson>,
    person_events: Vec<(i64, i64, String, i64)>,
    owners: HashMap<(String, String), Option<i64>>,
    /// The blind index and sealed value of each identifier the batch names (made when
    /// its submission was queued, [`preseal`]), by (kind, value).
    blinds: HashMap<(String, String), (String, String)>,
    persons: HashMap<i64, Option<PersonRow>>,
    keys: HashMap<(String, String), Option<KeyRow>>,
    pub(crate) residents: HashMap<String, Option<crate::reports::ResidentState>>,
}

/// A person created by the batch: name, birth, sex, personal ID, created at, and the
/// name, birth and personal ID sealed when the submission was queued (a personal ID
/// learnt later in the batch is sealed at its end).
type NewPerson = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    [Option<String>; 3],
);

/// An identifier given by an episode: valid from, valid to (days, when sent), seen at,
/// submission.
type IdentifierRow = (Option<String>, Option<String>, i64, i64);

/// A late dossier: facility, MA_LK, person, episode, NGAY_RA, received at, hours late.
pub(crate) type LateRow = (String, String, i64, i64, String, i64, i64);

/// A submission row waiting for the end of its batch (nothing in the batch reads it).
struct NewSubmission<'a> {
    p: &'a Prepared,
    /// Its id, code and sealed findings and raw envelope (compressed).
    s: &'a Presealed,
    kind: &'static str,
}

const SUBMISSION_COLUMNS: &[&str] = &[
    "id",
    "transaction_code",
    "received_at",
    "validated_at",
    "facility",
    "account",
    "source",
    "kind",
    "spec",
    "accepted",
    "findings",
    "sha256",
    "raw_len",
    "raw_zstd",
    "signature",
    "signer",
];

impl NewSubmission<'_> {
    /// The values of [`SUBMISSION_COLUMNS`] (and of `Q::InsertSubmission`).
    fn values(&self) -> Vec<Arg<'_>> {
        let (p, s) = (self.p, self.s);
        let findings = match &s.findings {
            Some(b) => Arg::Bytes(b),
            None => Arg::Text("[]"),
        };
        let mut v = args![
            s.id,
            s.code,
            p.meta.received_at,
            p.validated_at,
            p.meta.facility,
            p.meta.account,
        ]
        .to_vec();
        v.extend([
            Arg::Text(p.meta.source.code()),
            Arg::Text(self.kind),
            Arg::Text(p.meta.spec.code()),
            Arg::Bool(p.accepted),
            findings,
        ]);
        v.extend_from_slice(args![p.sha256, p.raw_len, s.raw]);
        match &p.signature {
            Some(n) => {
                v.push(Arg::Text(&n.status));
                v.push(n.signer.as_deref().map_or(Arg::Null, Arg::Text));
            }
            None => v.extend([Arg::Null, Arg::Null]),
        }
        v
    }
}

/// An episode row waiting for the end of its batch, where it is written with whether
/// it is still the current version then and the moment it becomes visible.
struct NewEpisode<'a> {
    e: &'a ReadyEpisode,
    person: i64,
    id: i64,
    version: u32,
    current: bool,
    submission: i64,
    confidence: &'static str,
    received_at: i64,
    validated_at: i64,
    linked_at: i64,
    /// The body (compressed) and the main ICD-10 code (it names the diagnosis), sealed
    /// to the episode.
    body: &'a [u8],
    main_icd10: Option<&'a str>,
}

const EPISODE_COLUMNS: &[&str] = &[
    "person_id",
    "id",
    "facility",
    "ma_lk",
    "version",
    "is_current",
    "submission_id",
    "hoso",
    "start_at",
    "end_at",
    "care_type",
    "main_icd10",
    "confidence",
    "received_at",
    "validated_at",
    "linked_at",
    "visible_at",
    "content_hash",
    "body",
    "appointment_at",
    "referral_to",
    "referral_number",
    "insured",
    "dq_flags",
];

impl NewEpisode<'_> {
    /// The values of [`EPISODE_COLUMNS`] (and of `Q::InsertEpisode`).
    fn values(&self, visible_at: i64) -> Vec<Arg<'_>> {
        let e = self.e;
        let mut v = args![
            self.person,
            self.id,
            e.facility,
            e.ma_lk,
            self.version,
            self.current,
            self.submission,
            e.hoso,
            e.start_at,
            e.end_at,
            e.care_type,
            self.main_icd10,
            self.confidence,
            self.received_at,
            self.validated_at,
            self.linked_at,
            self.linked_at, // visible_at: set below
            e.content_hash,
            self.body,
            e.appointment_at,
            e.referral_to,
            e.referral_number,
            e.insured,
            e.dq_flags,
        ]
        .to_vec();
        v[16] = Arg::Int(visible_at);
        v
    }
}

impl BatchState<'_> {
    /// Read what `batch` will look up. Call it after [`lock_keys`]: the locks keep
    /// other servers from changing the identifiers and episode keys read here.
    pub(crate) fn load<'a>(
        db: &dyn Db,
        batch: impl Iterator<Item = (&'a Prepared, &'a Presealed)>,
    ) -> Result<Self> {
        let mut state = BatchState {
            multi_row: true,
            ..BatchState::default()
        };
        let (mut kinds, mut values) = (Vec::new(), Vec::new());
        let (mut facilities, mut ma_lks) = (Vec::new(), Vec::new());
        let mut personal_ids = Vec::new();
        for (p, s) in batch {
            let Payload::Dossier(eps) = &p.payload else {
                continue;
            };
            for (e, pe) in eps.iter().zip(&s.episodes) {
                state.remember(e, pe);
                if state
                    .keys
                    .insert((e.facility.clone(), e.ma_lk.clone()), None)
                    .is_none()
                {
                    facilities.push(e.facility.clone());
                    ma_lks.push(e.ma_lk.clone());
                }
                for i in &e.claims.identifiers {
                    let key = (i.kind.code().to_string(), i.value.clone());
                    if state.owners.insert(key, None).is_none() {
                        kinds.push(i.kind.code().to_string());
                        values.push(i.value.clone());
                    }
                    if i.kind == IdKind::PersonalId
                        && state.residents.insert(i.value.clone(), None).is_none()
                    {
                        personal_ids.push(i.value.clone());
                    }
                }
            }
        }
        if !kinds.is_empty() {
            let (blind, back) = state.blinded(db.crypt(), &kinds, &values)?;
            owners_by_index(db, &kinds, &blind, &back, &mut |k, v, p| {
                state.owners.insert((k, v), p);
            })?;
        }
        let mut ids: Vec<i64> = state.owners.values().flatten().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        for id in &ids {
            state.persons.insert(*id, None);
        }
        if !ids.is_empty() {
            db.query(Q::PersonsKnown, args![ids], &mut |r| {
                let id: i64 = r.get(0)?;
                state
                    .persons
                    .insert(id, Some(person_known_row(db, id, r, 1)?));
                Ok(true)
            })?;
        }
        if !facilities.is_empty() {
            db.query(Q::EpisodeKeysMany, args![facilities, ma_lks], &mut |r| {
                let row: KeyRow = (r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
                state.keys.insert((r.get(0)?, r.get(1)?), Some(row));
                Ok(true)
            })?;
        }
        if !personal_ids.is_empty() {
            let kinds = vec![IdKind::PersonalId.code().to_string(); personal_ids.len()];
            let (blind, back) = state.blinded(db.crypt(), &kinds, &personal_ids)?;
            db.query(Q::ResidentStates, args![blind], &mut |r| {
                let resident = (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
                let b: String = r.get(0)?;
                state
                    .residents
                    .insert(back.get(&b).cloned().unwrap_or(b), Some(resident));
                Ok(true)
            })?;
        }
        Ok(state)
    }

    /// Keep the blind indexes and sealed values an episode's submission came with.
    fn remember(&mut self, e: &ReadyEpisode, pe: &PresealedEpisode) {
        for (i, (b, sealed)) in e.claims.identifiers.iter().zip(&pe.identifiers) {
            let key = (i.kind.code().to_string(), i.value.clone());
            self.blinds
                .entry(key)
                .or_insert_with(|| (b.clone(), sealed.clone()));
        }
    }

    /// The blind index of an identifier: as it came with its submission, or made now.
    fn blind(&self, crypt: &crate::crypt::Crypt, kind: &str, value: &str) -> Result<String> {
        match self.blinds.get(&(kind.to_string(), value.to_string())) {
            Some((b, _)) => Ok(b.clone()),
            None => crypt.blind(kind, value),
        }
    }

    /// An identifier's blind index and its value sealed to it ([`SEALED_IDENTIFIER`]).
    fn blind_sealed(
        &self,
        crypt: &crate::crypt::Crypt,
        kind: &str,
        value: &str,
    ) -> Result<(String, String)> {
        match self.blinds.get(&(kind.to_string(), value.to_string())) {
            Some(pair) => Ok(pair.clone()),
            None => {
                let b = crypt.blind(kind, value)?;
                let sealed = crypt.seal_bound_str(SEALED_IDENTIFIER, &b, value)?;
                Ok((b, sealed))
            }
        }
    }

    /// [`blinded`], from what the submissions came with where it can.
    fn blinded(
        &self,
        crypt: &crate::crypt::Crypt,
        kinds: &[String],
        values: &[String],
    ) -> Result<(Vec<String>, HashMap<String, String>)> {
        let mut out = Vec::with_capacity(values.len());
        let mut back = HashMap::with_capacity(values.len());
        for (k, v) in kinds.iter().zip(values) {
            let b = self.blind(crypt, k, v)?;
            back.insert(b.clone(), v.clone());
            out.push(b);
        }
        Ok((out, back))
    }

    /// The batch's last writes: its submissions, its episodes visible from `now`, and
    /// the summed counters.
    pub(crate) fn finish(&mut self, db: &dyn Db, now: i64) -> Result<()> {
        self.write_identifiers(db)?;
        let persons = std::mem::take(&mut self.new_persons);
        let sealed = persons
            .iter()
            .map(
                |(id, (_, _, _, personal_id, _, [name, birth, sealed_pid]))| {
                    // A personal ID learnt after the person was made in this batch.
                    let pid = match (sealed_pid, personal_id) {
                        (Some(s), _) => Some(s.clone()),
                        (None, Some(p)) => {
                            Some(db.crypt().seal_str("persons.personal_id", *id, p)?)
                        }
                        (None, None) => None,
                    };
                    Ok([name.clone(), birth.clone(), pid])
                },
            )
            .collect::<Result<Vec<_>>>()?;
        let rows: Vec<Vec<Arg<'_>>> = persons
            .iter()
            .zip(&sealed)
            .map(
                |((id, (_, _, sex, _, at, _)), [name, birth, personal_id])| {
                    vec![
                        Arg::Int(*id),
                        opt_text(name),
                        opt_text(birth),
                        opt_text(sex),
                        opt_text(personal_id),
                        Arg::Int(*at),
                    ]
                },
            )
            .collect();
        if !rows.is_empty() {
            db.insert_rows(
                "persons",
                &cols(&["id", "name", "birth", "sex", "personal_id", "created_at"]),
                &rows,
            )?;
        }
        let events = std::mem::take(&mut self.person_events);
        let rows: Vec<Vec<Arg<'_>>> = events
            .iter()
            .map(|(person, id, detail, at)| {
                vec![
                    Arg::Int(*person),
                    Arg::Int(*id),
                    Arg::Text("created"),
                    Arg::Text(detail),
                    Arg::Int(*at),
                ]
            })
            .collect();
        if !rows.is_empty() {
            db.insert_rows(
                "person_events",
                &cols(&["person_id", "id", "kind", "detail", "at"]),
                &rows,
            )?;
        }
        let submissions = std::mem::take(&mut self.submissions);
        let episodes = std::mem::take(&mut self.episodes);
        let sub_rows: Vec<Vec<Arg<'_>>> = submissions.iter().map(NewSubmission::values).collect();
        let ep_rows: Vec<Vec<Arg<'_>>> = episodes.iter().map(|e| e.values(now)).collect();
        for (q, table, columns, rows) in [
            (
                Q::InsertSubmission,
                "submissions",
                SUBMISSION_COLUMNS,
                &sub_rows,
            ),
            (Q::InsertEpisode, "episodes", EPISODE_COLUMNS, &ep_rows),
        ] {
            if rows.is_empty() {
                continue;
            }
            if self.multi_row {
                db.insert_rows(table, &cols(columns), rows)?;
            } else {
                for row in rows {
                    db.exec_later(q, row)?;
                }
            }
        }
        if self.multi_row {
            let late = std::mem::take(&mut self.late);
            let rows: Vec<Vec<Arg<'_>>> = late
                .iter()
                .map(|(f, m, p, e, end, at, h)| {
                    vec![
                        Arg::Text(f),
                        Arg::Text(m),
                        Arg::Int(*p),
                        Arg::Int(*e),
                        Arg::Text(end),
                        Arg::Int(*at),
                        Arg::Int(*h),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                db.upsert_rows(
                    "late_dossiers",
                    &cols(&[
                        "facility",
                        "ma_lk",
                        "person_id",
                        "episode_id",
                        "ended_at",
                        "received_at",
                        "hours",
                    ]),
                    &rows,
                    "ON CONFLICT DO NOTHING",
                )?;
            }
            let periods = std::mem::take(&mut self.card_periods);
            let mut periods = periods
                .into_iter()
                .map(|((p, card, from, to), seen)| {
                    Ok((
                        (
                            p,
                            self.blind(db.crypt(), IdKind::BhytCard.code(), &card)?,
                            from,
                            to,
                        ),
                        seen,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            periods.sort_unstable();
            let rows: Vec<Vec<Arg<'_>>> = periods
                .iter()
                .map(|((p, card, from, to), seen)| {
                    vec![
                        Arg::Int(*p),
                        Arg::Text(card),
                        Arg::Text(from),
                        Arg::Text(to),
                        Arg::Int(*seen),
                        Arg::Int(*seen),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                db.upsert_rows(
                    "card_periods",
                    &cols(&[
                        "person_id",
                        "card",
                        "valid_from",
                        "valid_to",
                        "first_seen",
                        "last_seen",
                    ]),
                    &rows,
                    "ON CONFLICT (person_id, card, valid_from, valid_to) DO UPDATE SET last_seen = excluded.last_seen",
                )?;
            }
            let keys = std::mem::take(&mut self.episode_keys);
            let rows: Vec<Vec<Arg<'_>>> = keys
                .iter()
                .map(|((f, m), (p, e, v, h))| {
                    vec![
                        Arg::Text(f),
                        Arg::Text(m),
                        Arg::Int(*p),
                        Arg::Int(*e),
                        Arg::Int(i64::from(*v)),
                        Arg::Text(h),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                db.upsert_rows(
                    "episode_keys",
                    &cols(&[
                        "facility",
                        "ma_lk",
                        "person_id",
                        "episode_id",
                        "version",
                        "content_hash",
                    ]),
                    &rows,
                    "ON CONFLICT (facility, ma_lk) DO UPDATE SET person_id = excluded.person_id, episode_id = excluded.episode_id, version = excluded.version, content_hash = excluded.content_hash",
                )?;
            }
        }
        std::mem::take(&mut self.sums).write(db, self.multi_row)
    }

    /// Write the identifiers and lookup keys the batch has given so far: one multi-row
    /// upsert each, in key order. The statements are those of one episode
    /// ([`Q::UpsertIdentifiers`], [`Q::UpsertIdentifierKeys`]); a row is never pending
    /// twice (a second sighting writes the first), so the outcome is the same as one
    /// upsert per episode in the batch's order.
    pub(crate) fn write_identifiers(&mut self, db: &dyn Db) -> Result<()> {
        let crypt = db.crypt();
        let identifiers = std::mem::take(&mut self.identifiers);
        // In the order of the stored keys (the blind indexes).
        let mut identifiers = identifiers
            .into_iter()
            .map(|((person, kind, value), row)| {
                let (blind, sealed) = self.blind_sealed(crypt, &kind, &value)?;
                Ok(((person, kind, blind), sealed, row))
            })
            .collect::<Result<Vec<_>>>()?;
        identifiers.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let rows: Vec<Vec<Arg<'_>>> = identifiers
            .iter()
            .map(|((person, kind, value), sealed, (from, to, seen, sub))| {
                vec![
                    Arg::Int(*person),
                    Arg::Text(kind),
                    Arg::Text(value),
                    opt_text(from),
                    opt_text(to),
                    Arg::Int(*seen),
                    Arg::Int(*seen),
                    Arg::Int(*sub),
                    Arg::Text(sealed),
                ]
            })
            .collect();
        if !rows.is_empty() {
            db.upsert_rows(
                "identifiers",
                &cols(&[
                    "person_id",
                    "kind",
                    "value",
                    "valid_from",
                    "valid_to",
                    "first_seen",
                    "last_seen",
                    "submission_id",
                    "sealed_value",
                ]),
                &rows,
                crate::sql::identifier_merge!(),
            )?;
        }
        let keys = std::mem::take(&mut self.identifier_keys);
        let mut keys = keys
            .into_iter()
            .map(|((kind, value, person), seen)| {
                let blind = self.blind(crypt, &kind, &value)?;
                Ok(((kind, blind, person), seen))
            })
            .collect::<Result<Vec<_>>>()?;
        keys.sort_unstable();
        let rows: Vec<Vec<Arg<'_>>> = keys
            .iter()
            .map(|((kind, value, person), seen)| {
                vec![
                    Arg::Text(kind),
                    Arg::Text(value),
                    Arg::Int(*person),
                    Arg::Int(*seen),
                ]
            })
            .collect();
        if !rows.is_empty() {
            db.upsert_rows(
                "identifier_keys",
                &cols(&["kind", "value", "person_id", "last_seen"]),
                &rows,
                "ON CONFLICT (kind, value, person_id) DO UPDATE SET last_seen = excluded.last_seen",
            )?;
        }
        Ok(())
    }

    fn person(&mut self, db: &dyn Db, id: i64) -> Result<Option<PersonRow>> {
        if let Some(row) = self.persons.get(&id) {
            return Ok(row.clone());
        }
        let row: Option<PersonRow> = db.one(Q::PersonKnown, args![id], |r| {
            person_known_row(db, id, r, 0)
        })?;
        self.persons.insert(id, row.clone());
        Ok(row)
    }
}

fn known(db: &dyn Db, state: &mut BatchState<'_>, person: i64) -> Result<Option<Known>> {
    // Follow merges to the surviving person.
    let mut id = person;
    for _ in 0..16 {
        let Some((name, birth, personal_id, merged)) = state.person(db, id)? else {
            return Ok(None);
        };
        if let Some(m) = merged {
            id = m;
            continue;
        }
        return Ok(Some(Known {
            person: id,
            name,
            birth: birth.as_deref().and_then(BirthDate::parse),
            personal_id,
        }));
    }
    Ok(None)
}

/// Lock, in one order, every key that the submissions decide about: their identifiers
/// (who a person is) and their episode keys (which version is current). Another server
/// deciding about one of them waits for this commit and then sees its outcome; on
/// SQLite the writer's transaction already excludes every other writer.
pub(crate) fn lock_keys<'a>(db: &dyn Db, batch: impl Iterator<Item = &'a Prepared>) -> Result<()> {
    let mut keys: Vec<String> = Vec::new();
    for p in batch {
        if let Payload::Dossier(eps) = &p.payload {
            for e in eps {
                keys.push(format!("episode\u{1f}{}\u{1f}{}", e.facility, e.ma_lk));
                for i in &e.claims.identifiers {
                    keys.push(format!("id\u{1f}{}\u{1f}{}", i.kind.code(), i.value));
                }
            }
        }
    }
    keys.sort_unstable();
    keys.dedup();
    // One statement for the whole batch; the locks are taken in the list's order.
    if !keys.is_empty() {
        db.exists(Q::LockKeys, args![keys])?;
    }
    Ok(())
}

/// A person and everyone merged into them, directly or through others, as long as the
/// survivor has not been split since that merge: a split may undo a wrong merge, and
/// then the merged-away person's records are nobody else's to see. Read from each
/// person's own events (a merge is recorded in both persons' events), so that every
/// step reads one person's rows.
pub(crate) fn merged_family(db: &dyn Db, person: i64) -> Result<Vec<i64>> {
    let mut family = vec![person];
    let mut i = 0;
    while i < family.len() {
        let f = family[i];
        i += 1;
        let events: Vec<(String, String, i64)> = db.all(Q::MergeEventsOf, args![f], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        let last_split = events
            .iter()
            .filter(|(kind, _, _)| kind == "split")
            .map(|(_, _, at)| *at)
            .max();
        for (kind, detail, at) in &events {
            if kind != "merged" || last_split.is_some_and(|s| s >= *at) {
                continue;
            }
            let d: serde_json::Value = serde_json::from_str(detail).unwrap_or_default();
            if d["into"].as_i64() == Some(f)
                && let Some(from) = d["from"].as_i64()
                && !family.contains(&from)
            {
                family.push(from);
            }
        }
    }
    Ok(family)
}

/// What the writer stores of a submission that needs nothing of the database, made on
/// the thread that submits it ([`preseal`]) so that the one writer does not: its ids,
/// the seals (bound to those ids), the blind indexes, the compressed body.
pub(crate) struct Presealed {
    /// The submission's id and transaction code.
    pub(crate) id: i64,
    pub(crate) code: String,
    /// The findings (compressed; none when there are none) and the raw envelope
    /// (as compressed by [`Prepared`]), sealed to the submission.
    pub(crate) findings: Option<Vec<u8>>,
    pub(crate) raw: Vec<u8>,
    /// One per [`ReadyEpisode`] of the payload, in its order.
    pub(crate) episodes: Vec<PresealedEpisode>,
}

/// An episode's share of [`Presealed`].
pub(crate) struct PresealedEpisode {
    /// The id the episode is stored under (unused when it is unchanged).
    pub(crate) id: i64,
    /// The body, compressed, and the main ICD-10 code, sealed to `id`.
    pub(crate) body: Vec<u8>,
    pub(crate) main_icd10: Option<String>,
    /// The id of the person the episode makes when nobody matches, and their name,
    /// birth date and personal ID sealed to it.
    pub(crate) person: i64,
    pub(crate) person_sealed: [Option<String>; 3],
    /// Per identifier of the claims (in their order): its blind index and its value
    /// sealed to that index ([`SEALED_IDENTIFIER`]).
    pub(crate) identifiers: Vec<(String, String)>,
}

/// Make the [`Presealed`] of `p`, taking from it what only the sealed copies are stored
/// as (the compressed envelope, the bodies' JSON), so that the queue holds each once.
/// Ids come from `ids` now, a little before the commit: they are unique, and ordered
/// by the time their submission was queued.
pub(crate) fn preseal(
    crypt: &crate::crypt::Crypt,
    ids: &IdGen,
    p: &mut Prepared,
) -> Result<Presealed> {
    let id = ids.next();
    let findings = match p.findings.is_empty() {
        true => None,
        false => Some(crypt.seal(
            "submissions.findings",
            id,
            &compress(p.findings_json.as_bytes()),
        )?),
    };
    let raw = crypt.seal("submissions.raw_zstd", id, &std::mem::take(&mut p.raw_zstd))?;
    let mut episodes = Vec::new();
    if let Payload::Dossier(eps) = &mut p.payload {
        for e in eps {
            let id = ids.next();
            let person = ids.next();
            let body = crypt.seal(
                "episodes.body",
                id,
                &pack_body(&std::mem::take(&mut e.body)),
            )?;
            let identifiers = e
                .claims
                .identifiers
                .iter()
                .map(|i| {
                    let b = crypt.blind(i.kind.code(), &i.value)?;
                    let sealed = crypt.seal_bound_str(SEALED_IDENTIFIER, &b, &i.value)?;
                    Ok((b, sealed))
                })
                .collect::<Result<Vec<_>>>()?;
            let birth = birth_text(&e.claims.birth);
            let personal_id = e.claims.get(IdKind::PersonalId).next();
            episodes.push(PresealedEpisode {
                id,
                main_icd10: crypt.seal_opt("episodes.main_icd10", id, e.main_icd10.as_deref())?,
                body,
                person,
                person_sealed: seal_person(
                    crypt,
                    person,
                    e.claims.name.as_deref(),
                    birth.as_deref(),
                    personal_id.map(|i| i.value.as_str()),
                )?,
                identifiers,
            });
        }
    }
    Ok(Presealed {
        id,
        code: uuid::Uuid::now_v7().to_string(),
        findings,
        raw,
        episodes,
    })
}

pub(crate) fn ingest_one<'a>(
    db: &dyn Db,
    p: &'a Prepared,
    s: &'a Presealed,
    ids: &IdGen,
    state: &mut BatchState<'a>,
) -> Result<Receipt> {
    let sub_id = s.id;
    let code = s.code.clone();
    let kind = match p.payload {
        Payload::Dossier(_) => "dossier",
        Payload::CheckIn(_) => "checkin",
    };
    state.submissions.push(NewSubmission { p, s, kind });
    crate::reports::on_receipt(
        &mut state.sums,
        &p.meta.facility,
        p.meta.received_at,
        p.accepted,
        &p.findings_json,
        p.signature.as_ref().map(|n| n.status.as_str()),
    );
    let mut receipt = Receipt {
        submission_id: sub_id,
        transaction_code: code,
        received_at: p.meta.received_at,
        accepted: p.accepted,
        episodes: Vec::new(),
        checkins: 0,
    };
    match &p.payload {
        Payload::Dossier(eps) => {
            if eps.len() != s.episodes.len() {
                return Err(StoreError::Invalid(
                    "a submission changed after it was queued".into(),
                ));
            }
            for (e, pe) in eps.iter().zip(&s.episodes) {
                receipt
                    .episodes
                    .push(link_and_store(db, p, e, pe, sub_id, ids, state)?);
            }
        }
        Payload::CheckIn(c) if p.accepted => {
            for row in &c.rows {
                let ma_lk = row.ma_lk.clone().unwrap_or_default();
                let facility = row
                    .ma_cskcb
                    .clone()
                    .unwrap_or_else(|| p.meta.facility.clone());
                let started = row.ngay_vao.map(|d| d.format("%Y%m%d%H%M").to_string());
                let id = ids.next();
                let body = serde_json::to_string(row).unwrap_or_default();
                let body = db.crypt().seal("checkins.body", id, body.as_bytes())?;
                // Found by personal ID or card: their blind indexes (the row is in the body).
                let blind = |kind: IdKind, v: &Option<String>| {
                    v.as_deref()
                        .map(|v| db.crypt().blind(kind.code(), v))
                        .transpose()
                };
                let personal_id = blind(IdKind::PersonalId, &row.so_cccd)?;
                let card = blind(IdKind::BhytCard, &row.ma_the_bhyt)?;
                db.exec_later(
                    Q::InsertCheckin,
                    args![
                        facility,
                        ma_lk,
                        id,
                        sub_id,
                        p.meta.received_at,
                        started,
                        row.ma_loai_kcb,
                        row.ma_doituong_kcb,
                        row.ma_the_bhyt.is_some(),
                        body,
                        personal_id,
                        card,
                    ],
                )?;
                crate::reports::on_checkin(
                    &mut state.sums,
                    &facility,
                    started.as_deref(),
                    row.ma_loai_kcb.as_deref(),
                    row.ma_the_bhyt.is_some(),
                    p.meta.received_at,
                );
                receipt.checkins += 1;
            }
        }
        Payload::CheckIn(_) => {}
    }
    Ok(receipt)
}

fn link_and_store<'a>(
    db: &dyn Db,
    p: &'a Prepared,
    e: &'a ReadyEpisode,
    pe: &'a PresealedEpisode,
    sub_id: i64,
    ids: &IdGen,
    state: &mut BatchState<'a>,
) -> Result<Linked> {
    let now = now_ms();
    state.remember(e, pe);
    // Who the claims point at: every identifier of the episode in one lookup, each
    // person read once.
    let mut cands = Candidates::default();
    let key = |i: &book::Identifier| (i.kind.code().to_string(), i.value.clone());
    let (kinds, values): (Vec<String>, Vec<String>) = e
        .claims
        .identifiers
        .iter()
        .filter(|i| !state.owners.contains_key(&key(i)))
        .map(key)
        .unzip();
    if !kinds.is_empty() {
        // Forgotten because the batch gave it: what the batch has given is written
        // first, so that the lookup sees it.
        state.write_identifiers(db)?;
        for (k, v) in kinds.iter().zip(&values) {
            state.owners.insert((k.clone(), v.clone()), None);
        }
        let (blind, back) = state.blinded(db.crypt(), &kinds, &values)?;
        owners_by_index(db, &kinds, &blind, &back, &mut |k, v, p| {
            state.owners.insert((k, v), p);
        })?;
    }
    let mut persons: HashMap<i64, Option<Known>> = HashMap::new();
    for i in &e.claims.identifiers {
        let Some(&Some(person)) = state.owners.get(&key(i)) else {
            continue;
        };
        let k = match persons.entry(person) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(known(db, state, person)?),
        };
        if let Some(k) = k {
            cands.found.push((i.clone(), k.clone()));
        }
    }
    let decision = decide(&e.claims, &cands);
    let person = match decision.target {
        Target::Existing(id) => {
            // A personal ID learned late fills the person's record (not written when
            // the record already has one: the statement would change nothing).
            let has_one = cands
                .found
                .iter()
                .any(|(_, k)| k.person == id && k.personal_id.is_some());
            if let Some(pid) = e.claims.get(IdKind::PersonalId).next()
                && !has_one
            {
                if let Some(n) = state.new_persons.get_mut(&id) {
                    // Created by this batch, not yet written: filled where it waits.
                    n.3.get_or_insert_with(|| pid.value.clone());
                    if let Some(Some(row)) = state.persons.get_mut(&id) {
                        row.2.get_or_insert_with(|| pid.value.clone());
                    }
                } else {
                    let sealed = db.crypt().seal_str("persons.personal_id", id, &pid.value)?;
                    db.exec_later(Q::PersonFillPersonalId, args![id, sealed])?;
                    state.persons.remove(&id);
                }
            }
            id
        }
        Target::New => {
            let id = pe.person;
            let birth = birth_text(&e.claims.birth);
            let personal_id = e
                .claims
                .get(IdKind::PersonalId)
                .next()
                .map(|i| i.value.clone());
            let detail =
                serde_json::json!({"submission": sub_id, "confidence": decision.confidence})
                    .to_string();
            let event = ids.next();
            if state.multi_row {
                state.persons.insert(
                    id,
                    Some((
                        e.claims.name.clone(),
                        birth.clone(),
                        personal_id.clone(),
                        None,
                    )),
                );
                state.new_persons.insert(
                    id,
                    (
                        e.claims.name.clone(),
                        birth,
                        e.claims.sex.clone(),
                        personal_id,
                        now,
                        pe.person_sealed.clone(),
                    ),
                );
                state.person_events.push((id, event, detail, now));
            } else {
                let [name, birth, personal_id] = &pe.person_sealed;
                db.exec_later(
                    Q::InsertPerson,
                    args![id, name, birth, e.claims.sex, personal_id, now],
                )?;
                db.exec_later(
                    Q::InsertPersonEvent,
                    args![id, event, "created", detail, now],
                )?;
            }
            id
        }
    };
    let created = matches!(decision.target, Target::New);
    // An identifier that already belongs to someone else is not given to this person
    // as well (the conflict is recorded below): a dossier must not move a card, a BHXH
    // number or a passport into another book.
    let given: Vec<&book::Identifier> = e
        .claims
        .identifiers
        .iter()
        .filter(|i| {
            !cands
                .found
                .iter()
                .any(|(c, k)| c.kind == i.kind && c.value == i.value && k.person != person)
        })
        .collect();
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y%m%d").to_string());
    let mut distinct: Vec<(&str, &str)> = given
        .iter()
        .map(|i| (i.kind.code(), i.value.as_str()))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    if state.multi_row {
        // Written at the batch's end (or before a lookup that needs them).
        for i in &given {
            let row = (person, i.kind.code().to_string(), i.value.clone());
            if state.identifiers.contains_key(&row) {
                // Given again (a later episode, or a second period of one card): what
                // is pending goes first, as the upserts would have run one by one.
                state.write_identifiers(db)?;
            }
            state
                .identifiers
                .insert(row, (day(i.valid_from), day(i.valid_to), now, sub_id));
            state
                .identifier_keys
                .insert((i.kind.code().to_string(), i.value.clone(), person), now);
        }
    } else if distinct.len() == given.len() {
        // One statement for the identifiers and one for their lookup keys (a dossier
        // names three or four). A number named twice (two periods of one card) is
        // written one period after the other, below.
        let kinds: Vec<String> = given.iter().map(|i| i.kind.code().to_string()).collect();
        let (values, sealed): (Vec<String>, Vec<String>) = given
            .iter()
            .map(|i| state.blind_sealed(db.crypt(), i.kind.code(), &i.value))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .unzip();
        // No period is sent as "" (the statements read it as none).
        let from: Vec<String> = given
            .iter()
            .map(|i| day(i.valid_from).unwrap_or_default())
            .collect();
        let to: Vec<String> = given
            .iter()
            .map(|i| day(i.valid_to).unwrap_or_default())
            .collect();
        if !given.is_empty() {
            db.exec_later(
                Q::UpsertIdentifiers,
                args![person, kinds, values, from, to, now, sub_id, sealed],
            )?;
            db.exec_later(Q::UpsertIdentifierKeys, args![kinds, values, person, now])?;
        }
    } else {
        for i in &given {
            let (blind, sealed) = state.blind_sealed(db.crypt(), i.kind.code(), &i.value)?;
            db.exec_later(
                Q::UpsertIdentifier,
                args![
                    person,
                    i.kind.code(),
                    blind,
                    day(i.valid_from),
                    day(i.valid_to),
                    now,
                    sub_id,
                    sealed,
                ],
            )?;
            db.exec_later(
                Q::UpsertIdentifierKey,
                args![i.kind.code(), blind, person, now],
            )?;
        }
    }
    for i in &given {
        // An identifier this person already held stays theirs (its key is the newest
        // now); any other outcome is read again when needed.
        match state.owners.get(&key(i)) {
            Some(Some(p)) if *p == person => {}
            // Nobody held it (read under this batch's locks), and a new person's key
            // row is active: the lookup would now answer this person.
            Some(None) if created => {
                state.owners.insert(key(i), Some(person));
            }
            _ => {
                state.owners.remove(&key(i));
            }
        }
        // Each card period as sent (a renewal is a new period of the same number).
        if i.kind == IdKind::BhytCard && (i.valid_from.is_some() || i.valid_to.is_some()) {
            let from = day(i.valid_from).unwrap_or_default();
            let to = day(i.valid_to).unwrap_or_default();
            if state.multi_row {
                let seen = state
                    .card_periods
                    .entry((person, i.value.clone(), from, to))
                    .or_default();
                *seen = (*seen).max(now);
            } else {
                let card = state.blind(db.crypt(), i.kind.code(), &i.value)?;
                db.exec_later(Q::UpsertCardPeriod, args![person, card, from, to, now])?;
            }
        }
    }
    for c in &decision.conflicts {
        let kind = match c {
            Conflict::IdentifierOfOtherPerson { .. } => "identifier_of_other_person",
            Conflict::CardWithTwoPersonalIds { .. } => "card_with_two_personal_ids",
            Conflict::Demographics { .. } => "demographics",
            Conflict::LowConfidenceLink => "low_confidence_link",
        };
        let id = ids.next();
        let detail = db.crypt().seal_str(
            "dq_issues.detail",
            id,
            &serde_json::to_string(c).unwrap_or_default(),
        )?;
        db.exec_later(
            Q::InsertDqIssue,
            args![
                id,
                person,
                kind,
                detail,
                sub_id,
                p.meta.facility,
                e.ma_lk,
                now
            ],
        )?;
        // A dossier that disagrees with the person's name or birth date is also the
        // business of the station keeping their record (QĐ 831): it resolves it.
        if matches!(c, Conflict::Demographics { .. })
            && let Some(Some(commune)) = db.one(Q::HealthRecordCommune, args![person], |r| {
                r.get::<Option<String>>(0)
            })?
        {
            db.exec_later(Q::SetDqUnit, args![id, commune])?;
        }
    }
    let linked_at = now_ms();
    // Corrections: same facility + MA_LK replaces what the book shows.
    let facility = e.facility.clone();
    let previous: Option<KeyRow> = match state.keys.get(&(facility.clone(), e.ma_lk.clone())) {
        Some(row) => row.clone(),
        None => db.one(Q::EpisodeKey, args![facility, e.ma_lk], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?,
    };
    if let Some((prev_person, prev_id, prev_version, hash)) = &previous
        && *hash == e.content_hash
        && *prev_person == person
    {
        return Ok(Linked {
            hoso: e.hoso,
            ma_lk: e.ma_lk.clone(),
            person_id: person,
            episode_id: *prev_id,
            version: *prev_version,
            confidence: decision.confidence,
            unchanged: true,
            conflicts: decision.conflicts.len(),
        });
    }
    let version = previous.as_ref().map_or(1, |p| p.2 + 1);
    if let Some((prev_person, prev_id, _, _)) = &previous {
        // The previous version may be a row of this batch, not yet written.
        match state
            .episodes
            .iter_mut()
            .find(|n| n.person == *prev_person && n.id == *prev_id)
        {
            Some(n) => n.current = false,
            None => db.exec_later(Q::EpisodeNotCurrent, args![prev_person, prev_id])?,
        }
    }
    let episode_id = pe.id;
    state.episodes.push(NewEpisode {
        e,
        person,
        id: episode_id,
        version,
        current: true,
        submission: sub_id,
        confidence: decision.confidence.code(),
        received_at: p.meta.received_at,
        validated_at: p.validated_at,
        linked_at,
        body: &pe.body,
        main_icd10: pe.main_icd10.as_deref(),
    });
    if version == 1 {
        crate::reports::on_new_episode(db, state, e, person, episode_id, p.meta.received_at)?;
    }
    if state.multi_row {
        // Written at the batch's end; the batch's later submissions read it here.
        let key = (facility, e.ma_lk.clone());
        let row: KeyRow = (person, episode_id, version, e.content_hash.clone());
        state.episode_keys.insert(key.clone(), row.clone());
        state.keys.insert(key, Some(row));
    } else {
        db.exec_later(
            Q::UpsertEpisodeKey,
            args![
                facility,
                e.ma_lk,
                person,
                episode_id,
                version,
                e.content_hash
            ],
        )?;
        state.keys.remove(&(facility, e.ma_lk.clone()));
    }
    Ok(Linked {
        hoso: e.hoso,
        ma_lk: e.ma_lk.clone(),
        person_id: person,
        episode_id,
        version,
        confidence: decision.confidence,
        unchanged: false,
        conflicts: decision.conflicts.len(),
    })
}

/// Episode bodies are stored as zstd-compressed JSON (about a fifth of the text).
/// Rows written before compression hold the JSON text itself; both read back.
pub(crate) fn pack_body(json: &str) -> Vec<u8> {
    compress(json.as_bytes())
}

/// Decompress a body: one decompression context per thread (making one per row was 8 %
/// of a `$everything`), sized by the frame's own content size.
pub(crate) fn decompress(b: &[u8]) -> Option<Vec<u8>> {
    thread_local! {
        static ZSTD: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            std::cell::RefCell::new(zstd::bulk::Decompressor::new().ok());
    }
    let size = zstd::zstd_safe::get_frame_content_size(b)
        .ok()
        .flatten()
        .filter(|n| *n <= 256 << 20);
    if let Some(n) = size {
        let out = ZSTD.with(|d| {
            d.borrow_mut()
                .as_mut()
                .and_then(|d| d.decompress(b, n as usize).ok())
        });
        if out.is_some() {
            return out;
        }
    }
    zstd::stream::decode_all(b).ok()
}

/// An episode's body as stored (sealed for the episode `id`, or from before encryption).
/// [`decompress`] of a zstd frame; `None` for anything else (text from before
/// compression).
fn decompress_zstd(b: &[u8]) -> Option<Vec<u8>> {
    if b.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        decompress(b)
    } else {
        None
    }
}

/// An episode's view from its JSON text, checked as UTF-8 once (not string by string, as
/// `from_slice` does).
fn view_of_json(json: &[u8]) -> Option<book::EpisodeView> {
    serde_json::from_str(std::str::from_utf8(json).ok()?).ok()
}

pub(crate) fn unpack_body(
    crypt: &crate::crypt::Crypt,
    id: i64,
    v: Val<'_>,
) -> Option<book::EpisodeView> {
    match v {
        Val::Text(t) => serde_json::from_str(t).ok(),
        Val::Bytes(b) => {
            let b = crypt.open("episodes.body", id, b).ok()?;
            match decompress_zstd(&b) {
                Some(json) => view_of_json(&json),
                // JSON text from before compression, sealed in place.
                None => view_of_json(&b),
            }
        }
        _ => None,
    }
}

/// An episode from the columns every episode query selects first (in this order): id,
/// person_id, facility, ma_lk, version, is_current, submission_id, confidence,
/// received_at, validated_at, linked_at, visible_at, body.
pub(crate) fn episode_row(db: &dyn Db, r: &Row<'_>) -> Result<EpisodeRecord> {
    let mut e = episode_head(r)?;
    e.view = unpack_body(db.crypt(), e.id, r.val(12)?).unwrap_or_default();
    Ok(e)
}

/// The columns of [`episode_row`] but the body, whose view is left empty.
fn episode_head(r: &Row<'_>) -> Result<EpisodeRecord> {
    Ok(EpisodeRecord {
        id: r.get(0)?,
        person_id: r.get(1)?,
        facility: r.get(2)?,
        ma_lk: r.get(3)?,
        version: r.get(4)?,
        is_current: r.get(5)?,
        submission_id: r.get(6)?,
        confidence: r.get(7)?,
        received_at: r.get(8)?,
        validated_at: r.get(9)?,
        linked_at: r.get(10)?,
        visible_at: r.get(11)?,
        view: Default::default(),
    })
}

/// A stored body as read, not yet opened (decrypted, decompressed, decoded).
enum RawBody {
    Text(String),
    Bytes(Vec<u8>),
    None,
}

/// The episodes a statement selects ([`episode_row`]'s columns), their bodies opened on
/// every core once the rows are read: opening is most of the cost of reading a book
/// (≈ 27 µs an episode, against ≈ 3 µs for the row), and the statement's transaction
/// ends sooner.
pub(crate) fn episode_rows(db: &dyn Db, q: Q, a: &[Arg<'_>]) -> Result<Vec<EpisodeRecord>> {
    use rayon::prelude::*;
    let mut raw: Vec<(EpisodeRecord, RawBody)> = db.all(q, a, |r| {
        let body = match r.val(12)? {
            Val::Text(t) => RawBody::Text(t.to_owned()),
            Val::Bytes(b) => RawBody::Bytes(b.to_vec()),
            _ => RawBody::None,
        };
        Ok((episode_head(r)?, body))
    })?;
    let crypt = db.crypt();
    let open = |(e, body): &mut (EpisodeRecord, RawBody)| {
        let v = match body {
            RawBody::Text(t) => Val::Text(t),
            RawBody::Bytes(b) => Val::Bytes(b),
            RawBody::None => Val::Null,
        };
        e.view = unpack_body(crypt, e.id, v).unwrap_or_default();
    };
    // A few rows open faster here than handed to other threads.
    if raw.len() < 8 {
        raw.iter_mut().for_each(open);
    } else {
        raw.par_iter_mut().with_min_len(4).for_each(open);
    }
    Ok(raw.into_iter().map(|(e, _)| e).collect())
}

pub(crate) fn person_record(db: &dyn Db, id: i64) -> Result<Option<PersonRecord>> {
    let Some(mut p) = db.one(Q::Person, args![id], |r| person_row(db, r))? else {
        return Ok(None);
    };
    p.identifiers = db.all(Q::PersonIdentifiers, args![id], |r| {
        identifier_row(db, r, 0)
    })?;
    let periods: Vec<(String, String, String)> = db.all(Q::PersonCardPeriods, args![id], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    apply_card_periods(db.crypt(), &mut p, &periods, &vn_today())?;
    Ok(Some(p))
}

/// The persons among `ids`, each as [`person_record`] reads one, in three statements
/// whatever their number.
pub(crate) fn person_records(
    db: &dyn Db,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, PersonRecord>> {
    let mut out = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let ids: Vec<i64> = ids.to_vec();
    db.query(Q::PersonsMany, args![ids], &mut |r| {
        let p = person_row(db, r)?;
        out.insert(p.id, p);
        Ok(true)
    })?;
    db.query(Q::PersonsIdentifiers, args![ids], &mut |r| {
        let person: i64 = r.get(0)?;
        if let Some(p) = out.get_mut(&person) {
            p.identifiers.push(identifier_row(db, r, 1)?);
        }
        Ok(true)
    })?;
    let mut periods: std::collections::HashMap<i64, Vec<(String, String, String)>> =
        std::collections::HashMap::new();
    db.query(Q::PersonsCardPeriods, args![ids], &mut |r| {
        periods
            .entry(r.get(0)?)
            .or_default()
            .push((r.get(1)?, r.get(2)?, r.get(3)?));
        Ok(true)
    })?;
    let today = vn_today();
    for (person, periods) in periods {
        if let Some(p) = out.get_mut(&person) {
            apply_card_periods(db.crypt(), p, &periods, &today)?;
        }
    }
    Ok(out)
}

/// A person from `id, name, birth, sex, personal_id, merged_into` (no identifiers yet).
fn person_row(db: &dyn Db, r: &Row<'_>) -> Result<PersonRecord> {
    let id: i64 = r.get(0)?;
    let c = db.crypt();
    Ok(PersonRecord {
        id,
        name: c.open_opt("persons.name", id, r.get(1)?)?,
        birth: c.open_opt("persons.birth", id, r.get(2)?)?,
        sex: r.get(3)?,
        personal_id: c.open_opt("persons.personal_id", id, r.get(4)?)?,
        merged_into: r.get(5)?,
        identifiers: Vec::new(),
    })
}

/// An identifier from `kind, value, valid_from, valid_to, first_seen, last_seen`,
/// starting at column `at`.
/// An identifier from `kind, value, valid_from, valid_to, first_seen, last_seen,
/// sealed_value` starting at `at`: its value opened (the stored value is its blind index).
fn identifier_row(db: &dyn Db, r: &Row<'_>, at: usize) -> Result<IdentifierRecord> {
    let kind: String = r.get(at)?;
    let stored: String = r.get(at + 1)?;
    let value = match r.get::<Option<String>>(at + 6)? {
        Some(sealed) => db
            .crypt()
            .open_bound_str(SEALED_IDENTIFIER, &stored, &sealed)?,
        None => stored,
    };
    Ok(IdentifierRecord {
        kind: IdKind::from_code(&kind).unwrap_or(IdKind::FacilityPatient),
        value,
        valid_from: r.get(at + 2)?,
        valid_to: r.get(at + 3)?,
        first_seen: r.get(at + 4)?,
        last_seen: r.get(at + 5)?,
        periods: Vec::new(),
    })
}

/// A card's periods (`card, valid_from, valid_to`) onto the person's BHYT identifiers:
/// each card lists its periods and shows the one covering `today`, else the latest.
/// The periods name a card by its blind index (or, stored before encryption, as it is).
fn apply_card_periods(
    crypt: &crate::crypt::Crypt,
    p: &mut PersonRecord,
    periods: &[(String, String, String)],
    today: &str,
) -> Result<()> {
    if periods.is_empty() {
        return Ok(());
    }
    for i in p
        .identifiers
        .iter_mut()
        .filter(|i| i.kind == IdKind::BhytCard)
    {
        let blind = crypt.blind(IdKind::BhytCard.code(), &i.value)?;
        i.periods = periods
            .iter()
            .filter(|(card, _, _)| *card == blind || *card == i.value)
            .map(|(_, f, t)| (f.clone(), t.clone()))
            .collect();
        let covering = i.periods.iter().find(|(f, t)| {
            (f.is_empty() || f.as_str() <= today) && (t.is_empty() || t.as_str() >= today)
        });
        let latest = i.periods.iter().max_by(|a, b| a.1.cmp(&b.1));
        if let Some((f, t)) = covering.or(latest) {
            i.valid_from = Some(f.clone()).filter(|x| !x.is_empty());
            i.valid_to = Some(t.clone()).filter(|x| !x.is_empty());
        }
    }
    Ok(())
}

/// Today in Việt Nam (`yyyyMMdd`), for the card period that covers it.
fn vn_today() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(7))
        .format("%Y%m%d")
        .to_string()
}

/// A facility from the columns code, name, province, kind, bhyt_contract, unit.
pub(crate) fn facility_row(r: &Row<'_>) -> Result<Facility> {
    Ok(Facility {
        code: r.get(0)?,
        name: r.get(1)?,
        province: r.get(2)?,
        kind: r.get(3)?,
        bhyt_contract: r.get(4)?,
        unit: r.get(5)?,
    })
}

/// Whether `secret` matches the stored argon2 `hash` (the one check of gateway accounts,
/// citizen passcodes and staff passwords).
pub(crate) fn password_ok(hash: &str, secret: &str) -> Result<bool> {
    let parsed = PasswordHash::new(hash).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(Argon2::default()
        .verify_password(secret.as_bytes(), &parsed)
        .is_ok())
}

pub(crate) fn hash_password(password_md5: &str) -> Result<String> {
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    Argon2::default()
        .hash_password(password_md5.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(e.to_string()))
}

impl<B: Backend> Store for Engine<B> {
    fn submit(&self, p: Prepared) -> Result<Pending> {
        self.queue(p)
    }

    fn received_digests(&self, sha256s: &[String]) -> Result<std::collections::HashSet<String>> {
        if sha256s.is_empty() {
            return Ok(Default::default());
        }
        self.read(|db| {
            let mut seen = std::collections::HashSet::new();
            db.query(Q::SubmissionsBySha, args![sha256s], &mut |r| {
                seen.insert(r.get(0)?);
                Ok(true)
            })?;
            Ok(seen)
        })
    }

    fn submission(&self, transaction_code: &str) -> Result<Option<SubmissionRecord>> {
        self.read(|db| {
            let row = db.one(Q::Submission, args![transaction_code], |r| {
                let findings = findings_text(db.crypt(), r.get(0)?, r.val(9)?);
                let raw: Vec<u8> = r.get(11)?;
                Ok(SubmissionRecord {
                    id: r.get(0)?,
                    transaction_code: r.get(1)?,
                    received_at: r.get(2)?,
                    facility: r.get(3)?,
                    account: r.get(4)?,
                    source: r.get(5)?,
                    kind: r.get(6)?,
                    spec: r.get(7)?,
                    accepted: r.get(8)?,
                    findings: serde_json::from_str(&findings).unwrap_or_default(),
                    sha256: r.get(10)?,
                    signature: r.get(12)?,
                    signer: r.get(13)?,
                    raw,
                })
            })?;
            Ok(match row {
                Some(mut s) => {
                    let raw = db.crypt().open("submissions.raw_zstd", s.id, &s.raw)?;
                    s.raw = crate::evidence::decompress(&raw)?;
                    Some(s)
                }
                None => None,
            })
        })
    }

    fn person_by_identifier(&self, kind: IdKind, value: &str) -> Result<Option<PersonRecord>> {
        self.read(|db| {
            let person: Option<i64> = db.one(
                Q::IdentifierOwner,
                args![kind.code(), db.crypt().blind(kind.code(), value)?],
                |r| r.get(0),
            )?;
            match person {
                Some(id) => {
                    let mut p = person_record(db, id)?;
                    // Follow a merge to the survivor.
                    while let Some(m) = p.as_ref().and_then(|x| x.merged_into) {
                        p = person_record(db, m)?;
                    }
                    Ok(p)
                }
                None => Ok(None),
            }
        })
    }

    fn person(&self, id: i64) -> Result<Option<PersonRecord>> {
        self.read(|db| person_record(db, id))
    }

    fn persons(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, PersonRecord>> {
        self.read(|db| person_records(db, ids))
    }

    fn episodes_of(&self, person: i64) -> Result<Vec<EpisodeRecord>> {
        self.read(|db| self.tx(db).episodes_of(person))
    }

    fn episodes_in_year(&self, person: i64, year: i32) -> Result<Vec<EpisodeRecord>> {
        self.read(|db| self.tx(db).episodes_in_year(person, year))
    }

    fn episode_years(&self, person: i64) -> Result<Vec<(i32, usize)>> {
        self.read(|db| self.tx(db).episode_years(person))
    }

    fn episode(&self, person: i64, id: i64) -> Result<Option<EpisodeRecord>> {
        self.read(|db| self.tx(db).episode(person, id))
    }

    fn document_digest(&self, parts: &[&str]) -> String {
        let mut all = vec!["document"];
        all.extend_from_slice(parts);
        self.keyed(&all)
    }

    fn transaction(
        &self,
        write: bool,
        f: &mut dyn FnMut(&dyn crate::tx::BookTx) -> Result<()>,
    ) -> Result<()> {
        let run = |db: &dyn Db| f(&self.tx(db));
        if write {
            self.write(run)
        } else {
            self.read(run)
        }
    }

    fn scan_episodes(
        &self,
        facilities: &[String],
        since_ms: i64,
        f: &mut dyn FnMut(EpisodeRecord) -> Result<bool>,
    ) -> Result<u64> {
        if self.is_small_unit(facilities)? {
            self.scan_episodes_by_person(facilities, since_ms, f)
        } else {
            self.scan_episodes_by_key(facilities, since_ms, f)
        }
    }

    fn episode_versions(&self, facility: &str, ma_lk: &str) -> Result<Vec<EpisodeRecord>> {
        // Every version, whichever person each was linked to: a read across persons
        // (across shards on Citus), for the rare look at an episode's history.
        self.read(|db| {
            db.all(Q::EpisodeVersions, args![facility, ma_lk], |r| {
                episode_row(db, r)
            })
        })
    }

    fn dq_issues(&self, limit: usize) -> Result<Vec<DqIssue>> {
        self.read(|db| {
            db.all(Q::DqIssues, args![limit], |r| {
                let id: i64 = r.get(0)?;
                let detail = db
                    .crypt()
                    .open_str("dq_issues.detail", id, &r.get::<String>(3)?)?;
                Ok(DqIssue {
                    id,
                    person_id: r.get(1)?,
                    kind: r.get(2)?,
                    detail: serde_json::from_str(&detail).unwrap_or_default(),
                    facility: r.get(4)?,
                    ma_lk: r.get(5)?,
                    created_at: r.get(6)?,
                    status: r.get(7)?,
                })
            })
        })
    }

    fn merge_persons(&self, from: i64, into: i64, reason: &str) -> Result<()> {
        if from == into {
            return Err(StoreError::Invalid(
                "cannot merge a person into itself".into(),
            ));
        }
        let ids = self.ids.clone();
        self.write(|db| {
            for id in [from, into] {
                let merged: Option<Option<i64>> =
                    db.one(Q::PersonMergedInto, args![id], |r| r.get(0))?;
                match merged {
                    None => return Err(StoreError::NotFound(format!("person {id}"))),
                    Some(Some(_)) => {
                        return Err(StoreError::Invalid(format!(
                            "person {id} is already merged"
                        )));
                    }
                    Some(None) => {}
                }
            }
            // Distribution-key moves are delete + insert (Citus cannot update it).
            db.exec(Q::MergeIdentifiersCopy, args![from, into])?;
            db.exec(Q::MergeIdentifierKeysCopy, args![from, into])?;
            db.exec(Q::IdentifierKeysDeactivate, args![from])?;
            db.exec(Q::IdentifiersDeactivate, args![from])?;
            db.exec(Q::MergeEpisodesCopy, args![from, into])?;
            db.exec(Q::EpisodesDeleteOfPerson, args![from])?;
            db.exec(Q::EpisodeKeysMovePerson, args![from, into])?;
            db.exec(Q::PersonSetMergedInto, args![from, into])?;
            // The registry follows the person.
            db.exec(Q::PopulationMovePerson, args![from, into])?;
            let now = now_ms();
            let detail =
                serde_json::json!({"from": from, "into": into, "reason": reason}).to_string();
            for p in [from, into] {
                db.exec(
                    Q::InsertPersonEvent,
                    args![p, ids.next(), "merged", detail, now],
                )?;
            }
            Ok(())
        })
    }

    fn split_person(&self, person: i64, episode_ids: &[i64], reason: &str) -> Result<i64> {
        let ids = self.ids.clone();
        self.write(|db| {
            type Demo = (Option<String>, Option<String>, Option<String>);
            let src: Option<Demo> = db.one(Q::PersonDemographics, args![person], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            let (name, birth, sex) =
                src.ok_or_else(|| StoreError::NotFound(format!("person {person}")))?;
            let new_id = ids.next();
            let now = now_ms();
            // Sealed again for the new person's row.
            let c = db.crypt();
            let name = c.open_opt("persons.name", person, name)?;
            let birth = c.open_opt("persons.birth", person, birth)?;
            let [name, birth, _] =
                seal_person(c, new_id, name.as_deref(), birth.as_deref(), None)?;
            db.exec(
                Q::InsertPerson,
                args![new_id, name, birth, sex, None::<String>, now],
            )?;
            for eid in episode_ids {
                let key: Option<(String, String)> =
                    db.one(Q::EpisodeKeyOf, args![person, eid], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?;
                let (facility, ma_lk) = key.ok_or_else(|| {
                    StoreError::NotFound(format!("episode {eid} of person {person}"))
                })?;
                db.exec(
                    Q::SplitEpisodesCopy,
                    args![person, facility, new_id, ma_lk],
                )?;
                db.exec(Q::EpisodesDeleteOfKey, args![person, facility, ma_lk])?;
                db.exec(Q::EpisodeKeyMove, args![facility, ma_lk, new_id])?;
            }
            let detail = serde_json::json!({"from": person, "to": new_id, "episodes": episode_ids, "reason": reason}).to_string();
            for p in [person, new_id] {
                db.exec(
                    Q::InsertPersonEvent,
                    args![p, ids.next(), "split", detail, now],
                )?;
            }
            Ok(new_id)
        })
    }

    fn add_facility_cert(&self, c: &FacilityCert) -> Result<bool> {
        if self.facility(&c.facility)?.is_none() {
            return Err(StoreError::NotFound(format!("facility {}", c.facility)));
        }
        self.write(|db| {
            let n = db.exec(
                Q::InsertFacilityCert,
                args![
                    c.facility,
                    c.fingerprint,
                    c.subject,
                    c.issuer,
                    c.serial,
                    c.not_before,
                    c.not_after,
                    c.der,
                    c.added_at,
                    c.added_by
                ],
            )?;
            Ok(n > 0)
        })
    }

    fn facility_certs(&self, facility: Option<&str>) -> Result<Vec<FacilityCert>> {
        let row = |r: &Row<'_>| {
            Ok(FacilityCert {
                facility: r.get(0)?,
                fingerprint: r.get(1)?,
                subject: r.get(2)?,
                issuer: r.get(3)?,
                serial: r.get(4)?,
                not_before: r.get(5)?,
                not_after: r.get(6)?,
                der: r.get(7)?,
                added_at: r.get(8)?,
                added_by: r.get(9)?,
                revoked_at: r.get(10)?,
                revoked_by: r.get(11)?,
            })
        };
        self.read(|db| match facility {
            Some(f) => db.all(Q::FacilityCerts, args![f], row),
            None => db.all(Q::FacilityCertsAll, args![], row),
        })
    }

    fn revoke_facility_cert(&self, facility: &str, fingerprint: &str, by: &str) -> Result<bool> {
        self.write(|db| {
            let n = db.exec(
                Q::RevokeFacilityCert,
                args![facility, fingerprint.to_ascii_lowercase(), now_ms(), by],
            )?;
            Ok(n > 0)
        })
    }

    fn signature_counts(&self, from_day: &str, to_day: &str) -> Result<Vec<SignatureCount>> {
        self.read(|db| {
            db.all(Q::SignatureCounts, args![from_day, to_day], |r| {
                Ok(SignatureCount {
                    facility: r.get(0)?,
                    status: r.get(1)?,
                    count: r.get(2)?,
                })
            })
        })
    }

    fn upsert_facility(&self, f: &Facility) -> Result<()> {
        self.import_facilities(std::slice::from_ref(f)).map(|_| ())
    }

    fn facility(&self, code: &str) -> Result<Option<Facility>> {
        self.read(|db| db.one(Q::Facility, args![code], facility_row))
    }

    fn facility_names(&self, codes: &[&str]) -> Result<std::collections::HashMap<String, String>> {
        let mut out = std::collections::HashMap::new();
        if codes.is_empty() {
            return Ok(out);
        }
        let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        self.read(|db| {
            db.query(Q::FacilityNames, args![codes], &mut |r| {
                out.insert(r.get(0)?, r.get(1)?);
                Ok(true)
            })
        })?;
        Ok(out)
    }

    fn upsert_account(&self, username: &str, facility: &str, password_md5: &str) -> Result<()> {
        if username.trim().is_empty() {
            return Err(StoreError::Invalid("username is empty".into()));
        }
        if self.facility(facility)?.is_none() {
            return Err(StoreError::NotFound(format!("facility {facility}")));
        }
        let hash = hash_password(&password_md5.to_ascii_uppercase())?;
        self.write(|db| {
            db.exec(Q::UpsertAccount, args![username, facility, hash, now_ms()])?;
            Ok(())
        })
    }

    fn verify_account(&self, username: &str, password_md5: &str) -> Result<Option<Account>> {
        let row: Option<(String, String)> = self.read(|db| {
            db.one(Q::AccountPassword, args![username], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })?;
        let Some((facility, hash)) = row else {
            // Spend the same time whether or not the account exists.
            let _ = hash_password(password_md5);
            return Ok(None);
        };
        Ok(
            password_ok(&hash, &password_md5.to_ascii_uppercase())?.then(|| Account {
                username: username.to_string(),
                facility,
            }),
        )
    }

    fn save_token(&self, t: &Token, password_md5: &str) -> Result<()> {
        let now = now_ms();
        self.write(|db| {
            db.exec(Q::TokensExpire, args![now])?;
            db.exec(
                Q::InsertToken,
                args![
                    hash_hex(&[&t.access_token]),
                    t.id_token,
                    t.username,
                    hash_hex(&[&t.access_token, &password_md5.to_ascii_uppercase()]),
                    t.expires_at
                ],
            )?;
            Ok(())
        })
    }

    fn check_token(
        &self,
        access_token: &str,
        id_token: &str,
        password_md5: &str,
        now: i64,
    ) -> Result<Option<Account>> {
        self.read(|db| {
            type TokenRow = (String, String, String, String, i64);
            let row: Option<TokenRow> =
                db.one(Q::Token, args![hash_hex(&[access_token])], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?;
            let Some((id, check, username, facility, expires)) = row else {
                return Ok(None);
            };
            let ok = id == id_token
                && expires > now
                && check == hash_hex(&[access_token, &password_md5.to_ascii_uppercase()]);
            Ok(ok.then_some(Account { username, facility }))
        })
    }

    fn ping(&self) -> Result<()> {
        self.read(|db| db.value::<i64>(Q::Ping, args![]).map(|_| ()))
    }

    fn counts(&self) -> Result<Counts> {
        self.read(|db| {
            db.one(Q::Counts, args![], |r| {
                let n = |i| -> Result<i64> { Ok(r.get::<Option<i64>>(i)?.unwrap_or(0)) };
                Ok(Counts {
                    submissions: n(0)?,
                    accepted: n(1)?,
                    persons: n(2)?,
                    episodes_current: n(3)?,
                    episode_versions: n(4)?,
                    checkins: n(5)?,
                    dq_open: n(6)?,
                    raw_bytes: n(7)?,
                    stored_bytes: n(8)?,
                    findings_bytes: n(9)?,
                })
            })
            .map(Option::unwrap_or_default)
        })
    }

    fn issue_activation_code(&self, person: i64, issued_by: &str, ttl_ms: i64) -> Result<String> {
        self.issue_code(person, issued_by, ttl_ms, CodePurpose::Either)
    }

    fn issue_code(
        &self,
        person: i64,
        issued_by: &str,
        ttl_ms: i64,
        want: CodePurpose,
    ) -> Result<String> {
        if self.person(person)?.is_none() {
            return Err(StoreError::NotFound(format!("person {person}")));
        }
        // 8 digits from a random UUID: ~27 bits, single use, short-lived, at most
        // MAX_CODE_ATTEMPTS wrong tries, stored as a keyed hash (the server secret).
        let n = u128::from_le_bytes(*uuid::Uuid::new_v4().as_bytes()) % 100_000_000;
        let code = format!("{n:08}");
        let now = now_ms();
        let hash = self.keyed(&["activation", &person.to_string(), &code]);
        self.write(|db| {
            // A code for an account that is already active can only reset its passcode.
            let active = db.exists(Q::CitizenAccountExists, args![person])?;
            let purpose = if active { "reset" } else { "activation" };
            match (want, active) {
                (CodePurpose::Activation, true) => {
                    return Err(StoreError::Invalid(
                        "tài khoản đã được kích hoạt / the account is already active".into(),
                    ));
                }
                (CodePurpose::Reset, false) => {
                    return Err(StoreError::Invalid(
                        "chưa có tài khoản để đặt lại / no account to reset".into(),
                    ));
                }
                _ => {}
            }
            db.exec(
                Q::InsertActivationCode,
                args![person, hash, issued_by, now, now + ttl_ms, purpose],
            )?;
            Ok(())
        })?;
        Ok(code)
    }

    fn activate_citizen(&self, personal_id: &str, code: &str, passcode: &str) -> Result<i64> {
        if passcode.len() != 6 || !passcode.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StoreError::Invalid(
                "mã khóa phải gồm 6 chữ số / the passcode must be 6 digits".into(),
            ));
        }
        // The passcode is hashed first and an unknown person gets the same answer as a
        // wrong code: activation does not tell who exists.
        let hash = hash_password(passcode)?;
        let wrong = || {
            StoreError::Invalid(
                "mã kích hoạt không đúng hoặc đã hết hạn / wrong or expired activation code".into(),
            )
        };
        let person = self
            .person_by_identifier(IdKind::PersonalId, personal_id)?
            .ok_or_else(wrong)?
            .id;
        let now = now_ms();
        let code_hash = self.keyed(&["activation", &person.to_string(), code.trim()]);
        let key = self.audit_key().map(<[u8]>::to_vec);
        let outcome = self.write(|db| {
            let found: Option<String> = db.one(
                Q::ActivationCodeLive,
                args![person, code_hash, now, MAX_CODE_ATTEMPTS],
                |r| r.get(0),
            )?;
            let Some(purpose) = found else {
                // A wrong code counts against every live code of the person: after
                // MAX_CODE_ATTEMPTS wrong tries none of them opens anything any more.
                db.exec(Q::ActivationCodesWrongTry, args![person, now])?;
                return Ok(None);
            };
            let active = db.exists(Q::CitizenAccountExists, args![person])?;
            if active && purpose != "reset" {
                // A code made before the account was activated cannot replace its passcode.
                return Ok(Some(Err(StoreError::Invalid(
                    "tài khoản đã được kích hoạt; cần mã đặt lại mã khóa do cơ sở cấp / the account is already active: a reset code is needed".into(),
                ))));
            }
            // Used: this code, and every other live code of the person with it.
            db.exec(Q::ActivationCodesUsed, args![person, now])?;
            db.exec(Q::UpsertCitizenAccount, args![person, hash, now])?;
            if active {
                // Whoever was signed in before the reset is signed out.
                db.exec(Q::SessionsDeleteOfPerson, args![person])?;
                // The person sees in their log that their passcode was reset.
                crate::access::append_audit_tx(
                    db,
                    key.as_deref(),
                    &AuditEntry {
                        person_id: person,
                        actor: "citizen".into(),
                        actor_name: None,
                        actor_cert: None,
                        role: book::access::Role::Citizen,
                        facility: None,
                        action: "reset_passcode".into(),
                        target: None,
                        basis: book::access::Basis::Enrolment,
                        grant_id: None,
                    },
                    now,
                )?;
            } else {
                crate::reports::on_activation(db, personal_id, now)?;
            }
            Ok(Some(Ok(person)))
        })?;
        match outcome {
            Some(r) => r,
            None => Err(wrong()),
        }
    }

    fn citizen_login(&self, personal_id: &str, passcode: &str, now: i64) -> Result<Login> {
        let Some(person) = self.person_by_identifier(IdKind::PersonalId, personal_id)? else {
            let _ = hash_password(passcode);
            return Ok(Login::NoAccount);
        };
        let row: Option<String> =
            self.read(|db| db.one(Q::CitizenPasscode, args![person.id], |r| r.get(0)))?;
        let Some(hash) = row else {
            let _ = hash_password(passcode);
            return Ok(Login::NoAccount);
        };
        // Repeated failures are slowed down by the caller (per client address and
        // account, growing delays): the store keeps no lock that anyone could trigger.
        let _ = now;
        Ok(if password_ok(&hash, passcode)? {
            Login::Ok(person.id)
        } else {
            Login::Wrong
        })
    }

    fn create_session(&self, person: i64, ttl_ms: i64) -> Result<String> {
        let token = new_token();
        let now = now_ms();
        self.write(|db| {
            db.exec(Q::SessionsExpireOfPerson, args![person, now])?;
            db.exec(
                Q::InsertSession,
                args![person, hash_hex(&[&token]), now, now + ttl_ms],
            )?;
            Ok(())
        })?;
        Ok(token)
    }

    fn session_person(&self, token: &str, now: i64) -> Result<Option<i64>> {
        self.read(|db| {
            db.one(Q::SessionPerson, args![hash_hex(&[token]), now], |r| {
                r.get(0)
            })
        })
    }

    fn end_session(&self, token: &str) -> Result<()> {
        self.write(|db| {
            db.exec(Q::SessionDelete, args![hash_hex(&[token])])?;
            Ok(())
        })
    }

    fn grant_guardian(&self, guardian: i64, ward: i64, granted_by: &str) -> Result<()> {
        if guardian == ward {
            return Err(StoreError::Invalid(
                "a person is not their own guardian".into(),
            ));
        }
        for p in [guardian, ward] {
            if self.person(p)?.is_none() {
                return Err(StoreError::NotFound(format!("person {p}")));
            }
        }
        self.write(|db| {
            let now = now_ms();
            db.exec(
                Q::UpsertGuardianship,
                args![guardian, ward, granted_by, now],
            )?;
            db.exec(
                Q::UpsertWardGuardian,
                args![ward, guardian, granted_by, now],
            )?;
            Ok(())
        })
    }

    fn revoke_guardian(&self, guardian: i64, ward: i64) -> Result<()> {
        self.write(|db| {
            let now = now_ms();
            db.exec(Q::RevokeGuardianship, args![guardian, ward, now])?;
            db.exec(Q::RevokeWardGuardian, args![ward, guardian, now])?;
            Ok(())
        })
    }

    fn wards(&self, guardian: i64) -> Result<Vec<Ward>> {
        let rows: Vec<(i64, String, i64)> = self.read(|db| {
            db.all(Q::Wards, args![guardian], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
        })?;
        let mut out = Vec::new();
        for (ward, granted_by, granted_at) in rows {
            if let Some(person) = self.person(ward)? {
                out.push(Ward {
                    person,
                    granted_by,
                    granted_at,
                });
            }
        }
        Ok(out)
    }

    fn set_audit_key(&self, key: Vec<u8>) -> bool {
        self.set_key(key)
    }

    fn bulk_load(&self, persons: Vec<BulkPerson>) -> Result<(u64, u64)> {
        const PER_COMMIT: usize = 20_000;
        let (mut n_persons, mut n_episodes) = (0u64, 0u64);
        self.bulk(|backend, conn| {
            for chunk in persons.chunks(PER_COMMIT) {
                // Ids first (each body is sealed for its episode's id); then compress,
                // seal and hash the bodies on every core; the database inserts on one.
                let ids: Vec<Vec<i64>> = chunk
                    .iter()
                    .map(|p| p.episodes.iter().map(|_| self.ids.next()).collect())
                    .collect();
                let packed = pack_parallel(backend.crypt(), chunk, &ids)?;
                // Each table's rows of the chunk in multi-row statements (thousands of
                // rows per round trip on PostgreSQL; one prepared statement on SQLite).
                let now = now_ms();
                let mut persons_rows: Vec<Vec<Arg<'_>>> = Vec::with_capacity(chunk.len());
                let mut ident_rows: Vec<Vec<Arg<'_>>> = Vec::new();
                let mut key_rows: Vec<Vec<Arg<'_>>> = Vec::new();
                let mut episode_rows: Vec<Vec<Arg<'_>>> = Vec::new();
                let mut episode_key_rows: Vec<Vec<Arg<'_>>> = Vec::new();
                // Each person's id, sealed name, birth and personal ID, and the blind
                // index and sealed value of each identifier.
                let crypt = backend.crypt();
                type Sealed = (i64, [Option<String>; 3], Vec<(String, String)>);
                let sealed = chunk
                    .iter()
                    .map(|p| {
                        let id = self.ids.next();
                        let person = seal_person(
                            crypt,
                            id,
                            p.name.as_deref(),
                            p.birth.as_deref(),
                            p.personal_id.as_deref(),
                        )?;
                        let idents = p
                            .identifiers
                            .iter()
                            .map(|(kind, value)| {
                                let blind = crypt.blind(kind.code(), value)?;
                                let sealed =
                                    crypt.seal_bound_str(SEALED_IDENTIFIER, &blind, value)?;
                                Ok((blind, sealed))
                            })
                            .collect::<Result<Vec<_>>>()?;
                        Ok((id, person, idents))
                    })
                    .collect::<Result<Vec<Sealed>>>()?;
                for ((p, packed), (id, [name, birth, personal_id], idents)) in
                    chunk.iter().zip(&packed).zip(&sealed)
                {
                    let id = *id;
                    let text = opt_text;
                    persons_rows.push(vec![
                        Arg::Int(id),
                        text(name),
                        text(birth),
                        text(&p.sex),
                        text(personal_id),
                        Arg::Int(now),
                    ]);
                    for ((kind, _), (blind, sealed)) in p.identifiers.iter().zip(idents) {
                        ident_rows.push(vec![
                            Arg::Int(id),
                            Arg::Text(kind.code()),
                            Arg::Text(blind),
                            Arg::Int(now),
                            Arg::Int(now),
                            Arg::Text(sealed),
                        ]);
                        key_rows.push(vec![
                            Arg::Text(kind.code()),
                            Arg::Text(blind),
                            Arg::Int(id),
                            Arg::Int(now),
                        ]);
                    }
                    for (e, (eid, body, hash, icd)) in p.episodes.iter().zip(packed) {
                        let eid = *eid;
                        episode_rows.push(vec![
                            Arg::Int(id),
                            Arg::Int(eid),
                            Arg::Text(&e.facility),
                            Arg::Text(&e.ma_lk),
                            Arg::Int(1),
                            Arg::Bool(true),
                            Arg::Int(0),
                            Arg::Int(1),
                            text(&e.start_at),
                            text(&e.end_at),
                            text(&e.care_type),
                            text(icd),
                            Arg::Text("high"),
                            Arg::Int(now),
                            Arg::Int(now),
                            Arg::Int(now),
                            Arg::Int(now),
                            Arg::Text(hash),
                            Arg::Bytes(body),
                            text(&e.appointment_at),
                            text(&e.referral_to),
                            Arg::Bool(e.insured),
                            Arg::Int(e.dq_flags),
                        ]);
                        episode_key_rows.push(vec![
                            Arg::Text(&e.facility),
                            Arg::Text(&e.ma_lk),
                            Arg::Int(id),
                            Arg::Int(eid),
                            Arg::Int(1),
                            Arg::Text(hash),
                        ]);
                        n_episodes += 1;
                    }
                    n_persons += 1;
                }
                backend.run(conn, true, |db| {
                    db.insert_rows(
                        "persons",
                        &cols(&["id", "name", "birth", "sex", "personal_id", "created_at"]),
                        &persons_rows,
                    )?;
                    db.insert_rows(
                        "identifiers",
                        &cols(&[
                            "person_id",
                            "kind",
                            "value",
                            "first_seen",
                            "last_seen",
                            "sealed_value",
                        ]),
                        &ident_rows,
                    )?;
                    db.insert_rows(
                        "identifier_keys",
                        &cols(&["kind", "value", "person_id", "last_seen"]),
                        &key_rows,
                    )?;
                    db.insert_rows(
                        "episodes",
                        &cols(&[
                            "person_id",
                            "id",
                            "facility",
                            "ma_lk",
                            "version",
                            "is_current",
                            "submission_id",
                            "hoso",
                            "start_at",
                            "end_at",
                            "care_type",
                            "main_icd10",
                            "confidence",
                            "received_at",
                            "validated_at",
                            "linked_at",
                            "visible_at",
                            "content_hash",
                            "body",
                            "appointment_at",
                            "referral_to",
                            "insured",
                            "dq_flags",
                        ]),
                        &episode_rows,
                    )?;
                    db.insert_rows(
                        "episode_keys",
                        &cols(&[
                            "facility",
                            "ma_lk",
                            "person_id",
                            "episode_id",
                            "version",
                            "content_hash",
                        ]),
                        &episode_key_rows,
                    )?;
                    Ok(())
                })?;
            }
            Ok(())
        })?;
        Ok((n_persons, n_episodes))
    }

    fn tables(&self) -> Result<Vec<crate::Table>> {
        self.tables_impl()
    }

    fn export_rows(
        &self,
        table: &crate::Table,
        f: &mut dyn FnMut(Vec<crate::Value>) -> Result<()>,
    ) -> Result<()> {
        self.export_rows_impl(table, f)
    }

    fn copy_from(
        &self,
        src: &dyn Store,
        progress: &mut dyn FnMut(&str, u64),
    ) -> Result<Vec<crate::Table>> {
        self.copy_from_impl(src, progress)
    }

    fn key_status(&self) -> Result<crate::KeyStatus> {
        self.key_status_impl()
    }

    fn rewrap_data_keys(&self, new: &dyn crate::crypt::MasterKey) -> Result<usize> {
        self.rewrap_data_keys_impl(new)
    }

    fn add_data_key(&self) -> Result<i64> {
        self.add_data_key_impl()
    }

    fn seal_existing(&self, progress: &mut dyn FnMut(u64)) -> Result<u64> {
        self.seal_existing_impl(progress)
    }

    fn data_keys_for(
        &self,
        to: &dyn crate::crypt::MasterKey,
    ) -> Result<Vec<crate::crypt::DataKeyRow>> {
        self.data_keys_for_impl(to)
    }

    fn close(&self) {
        self.shut();
    }

    fn location(&self) -> String {
        self.backend.describe()
    }
}

/// Column names as the multi-row writers take them.
pub(crate) fn cols(names: &[&str]) -> Vec<String> {
    names.iter().map(|c| c.to_string()).collect()
}

/// An optional text as an argument (NULL when absent).
pub(crate) fn opt_text(v: &Option<String>) -> Arg<'_> {
    v.as_deref().map_or(Arg::Null, Arg::Text)
}

/// An episode of a bulk load as it is stored: id, sealed body, content hash, sealed
/// main ICD-10 code.
type Packed = (i64, Vec<u8>, String, Option<String>);

/// The id, stored (sealed) body and content hash of every episode of `persons`, in
/// order; `ids` are the episodes' ids, person by person.
fn pack_parallel(
    crypt: &crate::crypt::Crypt,
    persons: &[BulkPerson],
    ids: &[Vec<i64>],
) -> Result<Vec<Vec<Packed>>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = persons.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = persons
            .chunks(per)
            .zip(ids.chunks(per))
            .map(|(part, part_ids)| {
                s.spawn(move || {
                    part.iter()
                        .zip(part_ids)
                        .map(|(p, ids)| {
                            p.episodes
                                .iter()
                                .zip(ids)
                                .map(|(e, id)| {
                                    let body =
                                        crypt.seal("episodes.body", *id, &pack_body(&e.body))?;
                                    let icd = crypt.seal_opt(
                                        "episodes.main_icd10",
                                        *id,
                                        e.main_icd10.as_deref(),
                                    )?;
                                    Ok((*id, body, sha256_hex(e.body.as_bytes()), icd))
                                })
                                .collect::<Result<Vec<_>>>()
                        })
                        .collect::<Result<Vec<Vec<_>>>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(persons.len());
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(out)
    })
}

/// [`Store::scan_episodes`] reads a unit's rows alone (found through the facility index)
/// when its facilities sent less than one row in this many, and at most
/// [`SMALL_MAX_ROWS`]; else it reads the whole table in key order.
const SMALL_SHARE: i64 = 8;
/// The most rows whose keys the small-unit plan holds (16 bytes each: 64 MB, about
/// 100 MB while the list grows).
const SMALL_MAX_ROWS: i64 = 4_000_000;

impl<B: Backend> Engine<B> {
    /// Whether [`Store::scan_episodes`] reads these facilities' rows alone: their share of
    /// the table, counted in the facility index (no row is read; counting stops past the
    /// bound), against the size of the table (one seek or the planner's estimate).
    pub fn is_small_unit(&self, facilities: &[String]) -> Result<bool> {
        self.read(|db| {
            let all: i64 = db.value(Q::EpisodesSize, args![])?;
            let bound = (all / SMALL_SHARE).min(SMALL_MAX_ROWS);
            let theirs: i64 =
                db.value(Q::EpisodesOfFacilitiesUpTo, args![facilities, bound + 1])?;
            Ok(theirs <= bound)
        })
    }

    /// [`Store::scan_episodes`] by the whole table in key order, pages of 1,000 rows: the
    /// plan for a large share of the table.
    pub fn scan_episodes_by_key(
        &self,
        facilities: &[String],
        since_ms: i64,
        f: &mut dyn FnMut(EpisodeRecord) -> Result<bool>,
    ) -> Result<u64> {
        const PAGE: i64 = 1_000;
        // Pages by key, each its own read: no snapshot is held for the whole scan and at
        // most a page is in memory.
        let mut after = (i64::MIN, i64::MIN);
        let mut n = 0;
        loop {
            let page: Vec<EpisodeRecord> = self.read(|db| {
                episode_rows(
                    db,
                    Q::ScanEpisodesByKey,
                    args![facilities, since_ms, after.0, after.1, PAGE],
                )
            })?;
            let full = page.len() as i64 == PAGE;
            for e in page {
                after = (e.person_id, e.id);
                n += 1;
                if !f(e)? {
                    return Ok(n);
                }
            }
            if !full {
                return Ok(n);
            }
        }
    }

    /// [`Store::scan_episodes`] for a small share of the table: the keys `(person_id, id)`
    /// of the facilities' current rows first, through the facility index, 10,000 a read
    /// (memory holds 16 bytes a row; past [`SMALL_MAX_ROWS`] it falls back to the key
    /// order), sorted into person order; then the rows by key, 1,000 a read. Only the
    /// unit's rows are read, where the key-order scan reads the whole table. A row is the
    /// version that was current when its key was taken (a correction made meanwhile comes
    /// with the next export `since`, its `visible_at` being new).
    pub fn scan_episodes_by_person(
        &self,
        facilities: &[String],
        since_ms: i64,
        f: &mut dyn FnMut(EpisodeRecord) -> Result<bool>,
    ) -> Result<u64> {
        const KEYS: i64 = 10_000;
        const PAGE: usize = 1_000;
        let mut keys: Vec<(i64, i64)> = Vec::new();
        for facility in facilities {
            let mut after = (String::new(), i64::MIN);
            loop {
                let page: Vec<(String, i64, i64, i64)> = self.read(|db| {
                    db.all(
                        Q::EpisodeKeysOfFacility,
                        args![facility, after.0, after.1, since_ms, KEYS],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )
                })?;
                let full = page.len() as i64 == KEYS;
                if let Some(last) = page.last() {
                    after = (last.0.clone(), last.1);
                }
                keys.extend(page.into_iter().map(|(_, _, p, i)| (p, i)));
                if keys.len() as i64 > SMALL_MAX_ROWS {
                    return self.scan_episodes_by_key(facilities, since_ms, f);
                }
                if !full {
                    break;
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let mut n = 0;
        for chunk in keys.chunks(PAGE) {
            let persons: Vec<i64> = chunk.iter().map(|k| k.0).collect();
            let ids: Vec<i64> = chunk.iter().map(|k| k.1).collect();
            let page: Vec<EpisodeRecord> =
                self.read(|db| episode_rows(db, Q::EpisodesByKeys, args![persons, ids]))?;
            for e in page {
                n += 1;
                if !f(e)? {
                    return Ok(n);
                }
            }
        }
        Ok(n)
    }
}
