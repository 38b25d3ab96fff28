//! The statements of the store, by name. Each backend gives the SQL of every one of
//! them in its own dialect (`sqlite/sql.rs`, `postgres/sql.rs`); the match there is
//! exhaustive, so a statement missing from a backend does not compile, and a test
//! prepares every statement on each backend.

macro_rules! statements {
    ($($name:ident),* $(,)?) => {
        /// A statement of the store.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Q {
            $($name),*
        }

        impl Q {
            /// Every statement (for the test that prepares them all).
            #[cfg_attr(not(test), allow(dead_code))]
            pub(crate) const ALL: &[Q] = &[$(Q::$name),*];
        }
    };
}

/// How an identifier given again merges into the row a person holds, the same on both
/// backends and for one row or many: `last_seen` moves on, and the validity period is
/// taken from the given one unless it ends before the one held.
macro_rules! identifier_merge {
    () => {
        "ON CONFLICT (person_id, kind, value) DO UPDATE SET
           last_seen = excluded.last_seen,
           sealed_value = COALESCE(identifiers.sealed_value, excluded.sealed_value),
           valid_from = CASE WHEN identifiers.valid_to IS NULL OR excluded.valid_to >= identifiers.valid_to
                             THEN COALESCE(excluded.valid_from, identifiers.valid_from) ELSE identifiers.valid_from END,
           valid_to = CASE WHEN identifiers.valid_to IS NULL OR excluded.valid_to >= identifiers.valid_to
                           THEN COALESCE(excluded.valid_to, identifiers.valid_to) ELSE identifiers.valid_to END"
    };
}
pub(crate) use identifier_merge;

statements! {
    AccountsActivatedAt,
    AccountPassword,
    ActivationCodeLive,
    ActivationCodesUsed,
    ActivationCodesWrongTry,
    AdoptionMonthAdd,
    AdoptionTotals,
    AdoptionTrend,
    AdoptionUnitAdd,
    AdoptionUnits,
    AuditAll,
    AuditCheckpointFloor,
    AuditHead,
    AuditHeads,
    AuditHeadsOf,
    AuditNewest,
    AuditOf,
    AuditWindow,
    BreakGlassOf,
    CheckinAtSince,
    CitizenAccountExists,
    CitizenPasscode,
    Counts,
    DataKeys,
    DeleteDataKeys,
    PlainCheckins,
    PlainEpisodes,
    PlainSubmissions,
    SealCheckin,
    SealEpisode,
    SealSubmission,
    SealHeadsCheckinBody,
    SealHeadsEpisodeBody,
    SealHeadsSubmissionFindings,
    SealHeadsSubmissionRaw,
    SealHeadsPersonName,
    SealHeadsPersonBirth,
    SealHeadsPersonId,
    SealHeadsIdentifierValue,
    SealHeadsPopulationName,
    SealHeadsDqDetail,
    SealHeadsGrantReason,
    SealHeadsAuditTarget,
    SealHeadsEpisodeIcd,
    PlainEpisodeIcds,
    SealEpisodeIcd,
    CryptPending,
    CryptPendingDone,
    PersonsAfter,
    SealPerson,
    IdentifiersOfMany,
    BlindIdentifier,
    BlindIdentifierKeys,
    CardPeriodsOfMany,
    BlindCardPeriods,
    CheckinsAfter,
    BlindCheckin,
    PopulationPlain,
    BlindResident,
    DqIssuesAfter,
    SealDqIssue,
    InsertDataKey,
    RewrapDataKey,
    DisableFhirClient,
    DqIssues,
    Episode,
    EpisodeAtSince,
    EpisodeKey,
    EpisodeKeysMany,
    EpisodeKeyMove,
    EpisodeKeyOf,
    EpisodeKeysMovePerson,
    EpisodeKeysOfFacility,
    EpisodeNotCurrent,
    EpisodeVersions,
    EpisodesByKeys,
    EpisodesDeleteOfKey,
    EpisodesDeleteOfPerson,
    EpisodesOf,
    EpisodesOfYear,
    EpisodeStarts,
    EpisodesOfFacilitiesUpTo,
    EpisodesSize,
    EpisodesWithReferral,
    SetReferralNumber,
    ErrorStats,
    Facilities,
    Facility,
    FacilityDailyCheckin,
    FacilityDailyEpisode,
    FacilityError,
    FacilityExists,
    FacilityNames,
    FacilitySignature,
    FacilitySla,
    FacilitySlaCount,
    FacilityCerts,
    FacilityCertsAll,
    InsertFacilityCert,
    RevokeFacilityCert,
    SignatureCounts,
    FacilityPlace,
    FacilityReceipt,
    FacilityStats,
    FhirClientWithSecret,
    FhirClients,
    FhirToken,
    FhirTokensDeleteOf,
    FhirTokensExpire,
    FindReferrals,
    FirstReceipts,
    GrantsOn,
    GrantsOnMerged,
    GuardiansOf,
    IdentifierOwner,
    IdentifierOwners,
    IdentifiersDeactivate,
    IdentityConflicts,
    InsertActivationCode,
    InsertAudit,
    InsertCheckin,
    InsertDqIssue,
    InsertEpisode,
    InsertFhirClient,
    InsertFhirToken,
    InsertGrant,
    InsertLateDossier,
    InsertPerson,
    InsertPersonEvent,
    InsertSession,
    InsertShare,
    InsertStaff,
    InsertStaffSession,
    InsertSubmission,
    InsertToken,
    InsertUnitReport,
    LastReceipts,
    LateDossiers,
    LiveGrant,
    LiveGrantsOf,
    LockKey,
    LockKeys,
    LockCheckpoints,
    MaxId,
    MergeEpisodesCopy,
    MergeEventsOf,
    MergeIdentifiersCopy,
    OpenConflicts,
    Person,
    PersonCardPeriods,
    PersonsCardPeriods,
    PersonsIdentifiers,
    PersonsMany,
    PersonDemographics,
    PersonFillPersonalId,
    PersonIdentifiers,
    PersonKnown,
    PersonsKnown,
    PersonMergedInto,
    PersonSetMergedInto,
    Ping,
    PopulationLinkPerson,
    PopulationMovePerson,
    PopulationSince,
    PractitionerNames,
    RebuildAggregates,
    ReceiptStats,
    ResidenceOf,
    ResidentState,
    ResidentStates,
    ReviewBreakGlass,
    RevokeGrantsOfShare,
    RevokeGuardianship,
    RevokeShare,
    ScanEpisodesByKey,
    SessionDelete,
    SessionPerson,
    SessionsDeleteOfPerson,
    SessionsExpireOfPerson,
    Share,
    ShareKey,
    InsertShareKey,
    UpsertIdentifierKey,
    UpsertIdentifierKeys,
    MergeIdentifierKeysCopy,
    IdentifierKeysDeactivate,
    UpsertWardGuardian,
    RevokeWardGuardian,
    ShareUsedElsewhere,
    SharesOf,
    SlaCount,
    SlaHistogram,
    SplitEpisodesCopy,
    Staff,
    StaffExists,
    StaffList,
    StaffPassword,
    StaffSession,
    StaffSessionDelete,
    StaffSessionsDeleteOf,
    StaffSessionsExpire,
    StaffWithPassword,
    Submission,
    SubmissionsBySha,
    SubmissionsWithFindings,
    Token,
    TokensExpire,
    UnitExists,
    UnitLevelParent,
    UnitReportDelete,
    UnitReports,
    Units,
    UpdateStaff,
    UpsertAccount,
    UpsertAuditCheckpoint,
    UpsertAuditHead,
    UpsertCardPeriod,
    UpsertCitizenAccount,
    UpsertEpisodeKey,
    UpsertFacility,
    UpsertGuardianship,
    UpsertIdentifier,
    UpsertIdentifiers,
    UpsertUnit,
    // the QĐ 831 records and registry deltas (records.rs)
    HealthRecord,
    HealthRecordVersions,
    UpdateHealthRecord,
    HealthRecordsExist,
    HealthRecordCommune,
    SetDqUnit,
    CloseHealthRecord,
    OpenMismatches,
    OpenMismatchCount,
    OpenMismatchesByUnit,
    InsertStationIssue,
    StationIssues,
    StationIssue,
    ResolveStationIssue,
    PopulationDeath,
    PopulationMove,
    PopulationRow,
    PopulationRekey,
    SetPersonalId,
    InsuranceCard,
    CommuneRecords,
    RegistryBatch,
    RecordSummaries,
    SealHeadsRecordBody,
    SealHeadsRecordChanges,
    SealHeadsCardBody,
    Wards,
    // units across the 2025 reform
    UnitInScheme,
    UnitNewest,
    UnitLinksDelete,
    InsertUnitLink,
    UnitLinks,
    // chronic care and growth (issue 18, chronic.rs)
    NcdEnrolmentsOf,
    UpdateNcdEnrolment,
    NcdFollowUpsOf,
    NcdRegister,
    NcdIndicators,
    GrowthOf,
    GrowthChildren,
    GrowthIndicators,
    SealHeadsNcdEnrolmentBody,
    SealHeadsNcdFollowUpBody,
    SealHeadsGrowthBody,
    SealHeadsNcdEnrolmentDisease,
    SealHeadsNcdFollowUpDisease,
    // vaccinations (issue 18, immunizations.rs)
    DosesOf,
    DosesOfPersons,
    VoidDose,
    CommuneSubjects,
    SealHeadsImmunizationBody,
    // notifications (issue 18)
    NotifyInsert,
    NotifyOutboxInsert,
    NotifyList,
    NotifyUnread,
    NotifyMarkRead,
    NotifyMarkAllRead,
    NotifyPrefsOf,
    NotifyPrefUpsert,
    NotifyCancelPending,
    NotifyClaim,
    NotifyClaimedFacts,
    NotifyCancelOne,
    NotifyDone,
    NotifyRetry,
    NotifyDead,
    NotifyOutboxStats,
    NotifyOutboxOf,
    NotifyDueOf,
    NotifyScanPersons,
    SealHeadsNotificationBody,
    SealHeadsNotifyAddress,
}

/// The whole-table statements of a copy between stores (`crate::copy`): the same text in
/// both dialects but for the mark of a numbered parameter (`?` on SQLite, `$` on
/// PostgreSQL). Names come from the database's catalogue and are checked first.
pub(crate) mod whole {
    use crate::Result;
    use crate::db::{Arg, MAX_PARAMS, ident};

    fn columns(columns: &[String]) -> Result<String> {
        Ok(columns
            .iter()
            .map(|c| ident(c).map(|c| format!("\"{c}\"")))
            .collect::<Result<Vec<_>>>()?
            .join(", "))
    }

    /// Every row of a table.
    pub(crate) fn select(table: &str, cols: &[String]) -> Result<String> {
        Ok(format!(
            "SELECT {} FROM \"{}\"",
            columns(cols)?,
            ident(table)?
        ))
    }

    /// The rows of a table.
    pub(crate) fn count(table: &str) -> Result<String> {
        Ok(format!("SELECT COUNT(*) FROM \"{}\"", ident(table)?))
    }

    /// A one-row insert (PostgreSQL reports the types of its parameters: the columns').
    pub(crate) fn insert_one(table: &str, cols: &[String]) -> Result<String> {
        let marks: Vec<String> = (1..=cols.len()).map(|n| format!("${n}")).collect();
        Ok(format!(
            "INSERT INTO \"{}\" ({}) VALUES ({})",
            ident(table)?,
            columns(cols)?,
            marks.join(", ")
        ))
    }

    /// PostgreSQL: an insert of any number of rows from one array per column, each
    /// `types[i]` (a type name as the server gives it) the type of column i.
    pub(crate) fn insert_unnest(
        table: &str,
        cols: &[String],
        types: &[&str],
        on_conflict: &str,
    ) -> Result<String> {
        if types.len() != cols.len() {
            return Err(crate::StoreError::Invalid(format!(
                "{table}: {} types for {} columns",
                types.len(),
                cols.len()
            )));
        }
        let arrays = types
            .iter()
            .enumerate()
            .map(|(i, t)| ident(t).map(|t| format!("${}::{t}[]", i + 1)))
            .collect::<Result<Vec<_>>>()?;
        let mut text = format!(
            "INSERT INTO \"{}\" ({}) SELECT * FROM unnest({})",
            ident(table)?,
            columns(cols)?,
            arrays.join(", ")
        );
        if !on_conflict.is_empty() {
            text.push(' ');
            text.push_str(on_conflict);
        }
        Ok(text)
    }

    /// Statements, each with the rows it binds.
    pub(crate) type Inserts<'r, 'a> = Vec<(String, &'r [Vec<Arg<'a>>])>;

    /// Multi-row inserts of `rows`: each statement with the rows it binds, as many rows
    /// a statement as [`MAX_PARAMS`] allows.
    pub(crate) fn inserts<'r, 'a>(
        table: &str,
        cols: &[String],
        rows: &'r [Vec<Arg<'a>>],
        mark: char,
        on_conflict: &str,
    ) -> Result<Inserts<'r, 'a>> {
        let head = format!(
            "INSERT INTO \"{}\" ({}) VALUES ",
            ident(table)?,
            columns(cols)?
        );
        let per = (MAX_PARAMS / cols.len().max(1)).max(1);
        let mut out = Vec::new();
        for chunk in rows.chunks(per) {
            let mut text = head.clone();
            let mut n = 0;
            for (i, row) in chunk.iter().enumerate() {
                if row.len() != cols.len() {
                    return Err(crate::StoreError::Invalid(format!(
                        "{table}: a row of {} values for {} columns",
                        row.len(),
                        cols.len()
                    )));
                }
                text.push_str(if i == 0 { "(" } else { ", (" });
                for j in 0..row.len() {
                    n += 1;
                    text.push_str(&format!("{}{mark}{n}", if j == 0 { "" } else { ", " }));
                }
                text.push(')');
            }
            if !on_conflict.is_empty() {
                text.push(' ');
                text.push_str(on_conflict);
            }
            out.push((text, chunk));
        }
        Ok(out)
    }
}
