//! Encryption at rest, the same on every backend: values are sealed with AES-256-GCM
//! under a data key before they reach SQL, and opened after they come back.
//!
//! - **Data keys** (random, 256 bits) live in the table `data_keys`, each wrapped
//!   (AES-256-GCM) by the **master key**, which never enters the database: a file
//!   (`<db>.key` beside a SQLite file, `HEALTHBOOK_MASTER_KEY_FILE`) or the environment
//!   (`HEALTHBOOK_MASTER_KEY`); anything that can wrap and unwrap 32 bytes (a KMS, an
//!   HSM) can stand in for it through [`MasterKey`]. The newest data key seals new values;
//!   older ones stay to open what they sealed.
//! - **A sealed value** is `0xE1 | data key id (u32, big-endian) | nonce (12) |
//!   ciphertext | tag (16)`. Its associated data names the table, the column and the
//!   row's id, so a value moved to another row or column no longer opens.
//! - Values written before encryption (zstd frames, JSON or text) do not start with
//!   `0xE1`, and are read as they are until `keys encrypt` seals them.
//! - **Blind index.** A value looked up by equality (a personal ID, a card, a BHXH
//!   number) is stored as `~` and 32 hex digits: HMAC-SHA-256 over its kind and its
//!   normalised text, under an index key derived from the first data key (which is
//!   never removed, so an index stays valid across rotations and copies). Its plaintext,
//!   where it must be shown again, is sealed beside it and bound to the index value.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key};

type Nonce = aes_gcm::aead::Nonce<Aes256Gcm>;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{Result, StoreError};

/// First byte of a sealed value (never the first byte of a zstd frame, JSON or text).
pub(crate) const SEALED: u8 = 0xE1;
const HEADER: usize = 1 + 4 + 12;
const TAG: usize = 16;

/// What wraps and unwraps data keys: the master key file, or a KMS/HSM.
pub trait MasterKey: Send + Sync {
    /// A stable name of the key (stored beside each data key it wraps; never secret).
    fn id(&self) -> String;
    /// Wrap a data key; `context` is bound to the result (the data key's id).
    fn wrap(&self, data_key: &[u8], context: &[u8]) -> Result<Vec<u8>>;
    /// Unwrap what [`MasterKey::wrap`] made with the same context.
    fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>>;
}

/// A master key held in memory: read from a file or the environment.
pub struct LocalMasterKey {
    key: Zeroizing<[u8; 32]>,
}

fn write_key_file(path: &Path, hex: &str) -> Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o
        .open(path)
        .map_err(|e| key_error(format!("{}: {e}", path.display())))?;
    f.write_all(Zeroizing::new(format!("{hex}\n")).as_bytes())?;
    f.sync_all()?;
    Ok(())
}

fn key_error(what: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("khóa chủ / master key: {what}"))
}

impl LocalMasterKey {
    /// A new random key.
    pub fn generate() -> Result<LocalMasterKey> {
        let k = Key::<Aes256Gcm>::try_generate().map_err(|e| key_error(format!("random: {e}")))?;
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&k);
        Ok(LocalMasterKey { key })
    }

    /// From 64 hex digits (the file's content or `HEALTHBOOK_MASTER_KEY`).
    pub fn from_hex(text: &str) -> Result<LocalMasterKey> {
        let bytes = Zeroizing::new(
            hex::decode(text.trim()).map_err(|_| key_error("not 64 hexadecimal digits"))?,
        );
        if bytes.len() != 32 {
            return Err(key_error("not 64 hexadecimal digits"));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&bytes);
        Ok(LocalMasterKey { key })
    }

    /// Read the key file at `path`.
    pub fn read(path: &Path) -> Result<LocalMasterKey> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| key_error(format!("{}: {e}", path.display())))?,
        );
        Self::from_hex(&text).map_err(|e| key_error(format!("{}: {e}", path.display())))
    }

    /// Write the key to a new file at `path`, readable by its owner only (mode 0600);
    /// never over an existing file.
    pub fn write_new(&self, path: &Path) -> Result<()> {
        write_key_file(path, &self.hex())
    }

    fn hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(*self.key))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(*self.key))
    }
}

impl MasterKey for LocalMasterKey {
    fn id(&self) -> String {
        // A fingerprint: names the key without revealing it.
        let mut h = Sha256::new();
        h.update(b"healthbook master key\0");
        h.update(*self.key);
        format!("mk-{}", &hex::encode(h.finalize())[..16])
    }

    fn wrap(&self, data_key: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        let nonce = Nonce::try_generate().map_err(|e| key_error(format!("random: {e}")))?;
        let ct = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: data_key,
                    aad: context,
                },
            )
            .map_err(|_| key_error("wrapping failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if wrapped.len() < 12 + TAG {
            return Err(key_error("a wrapped data key is too short"));
        }
        let (nonce, ct) = wrapped.split_at(12);
        self.cipher()
            .decrypt(
                &Nonce::try_from(nonce)
                    .map_err(|_| key_error("a wrapped data key is too short"))?,
                Payload {
                    msg: ct,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| {
                key_error("this master key does not open the store's data keys (wrong key file?)")
            })
    }
}

/// Where the master key of a store comes from: `HEALTHBOOK_MASTER_KEY` (hex), else the
/// file `HEALTHBOOK_MASTER_KEY_FILE`, else `default_file`.
pub enum KeySource {
    Env,
    File(PathBuf),
}

impl KeySource {
    pub fn from_env(default_file: PathBuf) -> KeySource {
        if std::env::var_os("HEALTHBOOK_MASTER_KEY").is_some() {
            KeySource::Env
        } else {
            KeySource::File(
                std::env::var_os("HEALTHBOOK_MASTER_KEY_FILE")
                    .map(PathBuf::from)
                    .unwrap_or(default_file),
            )
        }
    }

    /// The key, or `None` when its file does not exist yet.
    pub fn load(&self) -> Result<Option<LocalMasterKey>> {
        match self {
            KeySource::Env => {
                let v = Zeroizing::new(std::env::var("HEALTHBOOK_MASTER_KEY").unwrap_or_default());
                LocalMasterKey::from_hex(&v).map(Some)
            }
            KeySource::File(p) if !p.exists() => Ok(None),
            KeySource::File(p) => LocalMasterKey::read(p).map(Some),
        }
    }

    /// Where it is, for messages.
    pub fn describe(&self) -> String {
        match self {
            KeySource::Env => "HEALTHBOOK_MASTER_KEY".into(),
            KeySource::File(p) => p.display().to_string(),
        }
    }
}

/// A data key as stored: id, the master key that wraps it, the wrapped bytes, when made.
#[derive(Clone, Debug)]
pub struct DataKeyRow {
    pub id: i64,
    pub master: String,
    pub wrapped: Vec<u8>,
    pub created_at: i64,
}

/// The context a data key is wrapped with: its id.
pub(crate) fn wrap_context(id: i64) -> Vec<u8> {
    format!("healthbook data key {id}").into_bytes()
}

/// The data keys of a store, open in memory, and the one that seals new values.
pub struct Crypt {
    /// The master key: given, or read (or made, for a new store) from `source` when
    /// the store starts.
    master: std::sync::OnceLock<Box<dyn MasterKey>>,
    source: Option<KeySource>,
    keys: RwLock<(HashMap<u32, Aes256Gcm>, u32)>,
    /// The key of the blind index (from the first data key), once loaded.
    index: RwLock<Option<Zeroizing<[u8; 32]>>>,
    /// The data keys were re-wrapped by another master key since this one was read:
    /// it must not wrap a new data key.
    retired: std::sync::atomic::AtomicBool,
}

impl Crypt {
    /// Over `master` (a KMS, an HSM, or a key already read).
    pub fn new(master: Box<dyn MasterKey>) -> Crypt {
        Crypt {
            master: std::sync::OnceLock::from(master),
            source: None,
            keys: RwLock::new((HashMap::new(), 0)),
            index: RwLock::new(None),
            retired: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Over the master key of `source`, read when the store starts.
    pub fn from_source(source: KeySource) -> Crypt {
        Crypt {
            master: std::sync::OnceLock::new(),
            source: Some(source),
            keys: RwLock::new((HashMap::new(), 0)),
            index: RwLock::new(None),
            retired: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Load the store's data keys, making the first (and the master key file, when
    /// there is none) for a new store. A store that has data keys and no master key
    /// stops here: its data cannot be read without the key that was lost. Run in a
    /// write transaction; the statement that starts it waits for any other server
    /// starting on the same database, so that only one makes the keys.
    pub(crate) fn start(&self, db: &dyn crate::db::Db) -> Result<()> {
        use crate::db::{Q, args};
        use crate::keys::{data_keys, insert_data_key};
        db.exists(Q::LockKeys, args![vec!["data_keys".to_string()]])?;
        let mut rows = data_keys(db)?;
        if self.master.get().is_none() {
            let source = self
                .source
                .as_ref()
                .ok_or_else(|| key_error("no master key"))?;
            let key = match (source.load()?, source) {
                (Some(k), _) => k,
                (None, KeySource::File(path)) if rows.is_empty() => {
                    let k = LocalMasterKey::generate()?;
                    k.write_new(path)?;
                    k
                }
                (None, KeySource::File(path)) => {
                    return Err(key_error(format!(
                        "không thấy tệp khóa chủ {p} — dữ liệu đã mã hóa của kho này không đọc được nếu thiếu khóa / the master key file {p} is missing: this store's encrypted data cannot be read without it",
                        p = path.display()
                    )));
                }
                (None, KeySource::Env) => return Err(key_error("HEALTHBOOK_MASTER_KEY is empty")),
            };
            let _ = self.master.set(Box::new(key));
        }
        if rows.is_empty() {
            insert_data_key(db, &self.new_data_key(1)?)?;
            rows = data_keys(db)?;
        }
        self.load(&rows)
    }

    pub fn master_id(&self) -> String {
        self.master.get().map(|m| m.id()).unwrap_or_default()
    }

    /// Unwrap `rows` and keep them; the newest seals from now on.
    pub(crate) fn load(&self, rows: &[DataKeyRow]) -> Result<()> {
        let mut keys = HashMap::new();
        let mut newest = 0u32;
        let mut index: Option<(i64, Zeroizing<[u8; 32]>)> = None;
        for r in rows {
            let id = u32::try_from(r.id).map_err(|_| key_error("a data key id out of range"))?;
            let raw = self
                .master()?
                .unwrap(&r.wrapped, &wrap_context(r.id))
                .map_err(|e| {
                    key_error(format!(
                        "data key {} is wrapped by {}, this server has {}: {e}",
                        r.id,
                        r.master,
                        self.master_id()
                    ))
                })?;
            if raw.len() != 32 {
                return Err(key_error("a data key is not 256 bits"));
            }
            let cipher = Aes256Gcm::new_from_slice(&raw)
                .map_err(|_| key_error("a data key is not 256 bits"))?;
            keys.insert(id, cipher);
            newest = newest.max(id);
            if index.as_ref().is_none_or(|(first, _)| r.id < *first) {
                index = Some((r.id, index_key(&raw)));
            }
        }
        *self.keys.write().map_err(|_| StoreError::Closed)? = (keys, newest);
        *self.index.write().map_err(|_| StoreError::Closed)? = index.map(|(_, k)| k);
        Ok(())
    }

    /// After the data keys were re-wrapped by another master key.
    pub(crate) fn retire_master(&self) {
        self.retired
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Open a data key this server just made (`new_data_key`) and seal with it from now
    /// on.
    pub(crate) fn add(&self, row: &DataKeyRow) -> Result<()> {
        let id = u32::try_from(row.id).map_err(|_| key_error("a data key id out of range"))?;
        let raw = self.master()?.unwrap(&row.wrapped, &wrap_context(row.id))?;
        let cipher =
            Aes256Gcm::new_from_slice(&raw).map_err(|_| key_error("a data key is not 256 bits"))?;
        let mut keys = self.keys.write().map_err(|_| StoreError::Closed)?;
        keys.0.insert(id, cipher);
        keys.1 = keys.1.max(id);
        Ok(())
    }

    /// A new data key with id `id`, wrapped by the master key (to be stored, then loaded).
    pub(crate) fn new_data_key(&self, id: i64) -> Result<DataKeyRow> {
        if self.retired.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(key_error(
                "the data keys were re-wrapped by a new master key: start again with the new key file to make a data key",
            ));
        }
        let k = Key::<Aes256Gcm>::try_generate().map_err(|e| key_error(format!("random: {e}")))?;
        let raw = Zeroizing::new(k.to_vec());
        let master = self.master()?;
        Ok(DataKeyRow {
            id,
            master: master.id(),
            wrapped: master.wrap(&raw, &wrap_context(id))?,
            created_at: crate::now_ms(),
        })
    }

    /// `row`, a data key wrapped by this store's master key, wrapped by `to` instead.
    pub(crate) fn wrapped_for(&self, row: &DataKeyRow, to: &dyn MasterKey) -> Result<DataKeyRow> {
        let raw = self.master()?.unwrap(&row.wrapped, &wrap_context(row.id))?;
        Ok(DataKeyRow {
            id: row.id,
            master: to.id(),
            wrapped: to.wrap(&raw, &wrap_context(row.id))?,
            created_at: row.created_at,
        })
    }

    pub(crate) fn master(&self) -> Result<&dyn MasterKey> {
        self.master
            .get()
            .map(|m| &**m)
            .ok_or_else(|| key_error("the master key is not loaded"))
    }

    /// Seal `plain` as the value of `column` ("table.column") in the row `row`.
    pub fn seal(&self, column: &str, row: i64, plain: &[u8]) -> Result<Vec<u8>> {
        self.seal_aad(&associated(column, &row.to_be_bytes()), plain)
    }

    /// Seal `plain` as the value of `column` in the row whose key is `bound` (a blind
    /// index value, for rows that have no id of their own and may be copied to another
    /// person by a merge).
    pub fn seal_bound(&self, column: &str, bound: &str, plain: &[u8]) -> Result<Vec<u8>> {
        self.seal_aad(&associated(column, bound.as_bytes()), plain)
    }

    /// `text` sealed for `column` of row `row`, as text (for the short values kept in
    /// text columns: names, birth dates, identifiers): `!` and the sealed bytes in
    /// base64.
    pub fn seal_str(&self, column: &str, row: i64, text: &str) -> Result<String> {
        Ok(sealed_text(&self.seal(column, row, text.as_bytes())?))
    }

    /// [`Crypt::seal_str`] of a value that may be missing.
    pub fn seal_opt(&self, column: &str, row: i64, text: Option<&str>) -> Result<Option<String>> {
        text.map(|t| self.seal_str(column, row, t)).transpose()
    }

    /// [`Crypt::seal_bound`], as text.
    pub fn seal_bound_str(&self, column: &str, bound: &str, text: &str) -> Result<String> {
        Ok(sealed_text(&self.seal_bound(
            column,
            bound,
            text.as_bytes(),
        )?))
    }

    /// Open what [`Crypt::seal_str`] made; text from before encryption as it is.
    pub fn open_str(&self, column: &str, row: i64, stored: &str) -> Result<String> {
        match text_sealed(stored) {
            None => Ok(stored.to_string()),
            Some(bytes) => text_of(column, &self.open(column, row, &bytes?)?),
        }
    }

    /// [`Crypt::open_str`] of a value that may be missing.
    pub fn open_opt(
        &self,
        column: &str,
        row: i64,
        stored: Option<String>,
    ) -> Result<Option<String>> {
        stored.map(|s| self.open_str(column, row, &s)).transpose()
    }

    /// Open what [`Crypt::seal_bound_str`] made.
    pub fn open_bound_str(&self, column: &str, bound: &str, stored: &str) -> Result<String> {
        match text_sealed(stored) {
            None => Ok(stored.to_string()),
            Some(bytes) => text_of(column, &self.open_bound(column, bound, &bytes?)?),
        }
    }

    /// Open what [`Crypt::seal_bound`] made.
    pub fn open_bound<'a>(
        &self,
        column: &str,
        bound: &str,
        stored: &'a [u8],
    ) -> Result<std::borrow::Cow<'a, [u8]>> {
        self.open_aad(column, bound, &associated(column, bound.as_bytes()), stored)
    }

    /// The blind index of `value`, an identifier of kind `kind`: what is stored and
    /// looked up instead of the value. Equal values after normalisation (spaces around,
    /// letter case) give equal indexes; nothing about the value can be learnt from it
    /// without the index key.
    pub fn blind(&self, kind: &str, value: &str) -> Result<String> {
        use hmac::{Hmac, Mac};
        let index = self.index.read().map_err(|_| StoreError::Closed)?;
        let key = index
            .as_ref()
            .ok_or_else(|| key_error("no data key is loaded"))?;
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&key[..]).map_err(|_| key_error("index key"))?;
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(normalise(value).as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut out = String::with_capacity(1 + 32);
        out.push(BLIND);
        out.push_str(&hex::encode(&tag[..16]));
        Ok(out)
    }

    fn seal_aad(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
        let keys = self.keys.read().map_err(|_| StoreError::Closed)?;
        let (map, active) = &*keys;
        let cipher = map
            .get(active)
            .ok_or_else(|| key_error("no data key is loaded"))?;
        let nonce = Nonce::try_generate().map_err(|e| key_error(format!("random: {e}")))?;
        let ct = cipher
            .encrypt(&nonce, Payload { msg: plain, aad })
            .map_err(|_| key_error("encryption failed"))?;
        let mut out = Vec::with_capacity(HEADER + ct.len());
        out.push(SEALED);
        out.extend_from_slice(&active.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Open what [`Crypt::seal`] made for the same column and row; a value stored before
    /// encryption comes back as it is.
    pub fn open<'a>(
        &self,
        column: &str,
        row: i64,
        stored: &'a [u8],
    ) -> Result<std::borrow::Cow<'a, [u8]>> {
        self.open_aad(column, row, &associated(column, &row.to_be_bytes()), stored)
    }

    fn open_aad<'a>(
        &self,
        column: &str,
        row: impl std::fmt::Display,
        aad: &[u8],
        stored: &'a [u8],
    ) -> Result<std::borrow::Cow<'a, [u8]>> {
        if !is_sealed(stored) {
            return Ok(std::borrow::Cow::Borrowed(stored));
        }
        let id = u32::from_be_bytes([stored[1], stored[2], stored[3], stored[4]]);
        let keys = self.keys.read().map_err(|_| StoreError::Closed)?;
        let cipher = keys
            .0
            .get(&id)
            .ok_or_else(|| key_error(format!("{column} of row {row}: data key {id} is unknown")))?;
        cipher
            .decrypt(
                &Nonce::try_from(&stored[5..HEADER]).map_err(|_| key_error("a sealed value is too short"))?,
                Payload { msg: &stored[HEADER..], aad },
            )
            .map(std::borrow::Cow::Owned)
            .map_err(|_| {
                StoreError::Invalid(format!(
                    "{column} of row {row}: the sealed value does not open (altered, or moved from another row)"
                ))
            })
    }
}

/// Whether a stored value is sealed.
pub(crate) fn is_sealed(stored: &[u8]) -> bool {
    stored.len() >= HEADER + TAG && stored[0] == SEALED
}

fn associated(column: &str, row: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(column.len() + 1 + row.len());
    aad.extend_from_slice(column.as_bytes());
    aad.push(0);
    aad.extend_from_slice(row);
    aad
}

/// First character of a value sealed as text.
pub(crate) const SEALED_TEXT: char = '!';

fn sealed_text(sealed: &[u8]) -> String {
    use base64::Engine;
    let mut out = String::with_capacity(1 + sealed.len().div_ceil(3) * 4);
    out.push(SEALED_TEXT);
    base64::engine::general_purpose::STANDARD_NO_PAD.encode_string(sealed, &mut out);
    out
}

/// The sealed bytes of a value sealed as text; `None` for text from before encryption.
fn text_sealed(stored: &str) -> Option<Result<Vec<u8>>> {
    use base64::Engine;
    let b64 = stored.strip_prefix(SEALED_TEXT)?;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64);
    Some(match bytes {
        Ok(b) if is_sealed(&b) => Ok(b),
        _ => return None,
    })
}

/// Whether a text value is sealed.
pub(crate) fn is_sealed_text(stored: &str) -> bool {
    matches!(text_sealed(stored), Some(Ok(_)))
}

fn text_of(column: &str, bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| StoreError::Invalid(format!("{column}: a sealed value is not text")))
}

/// First character of a blind index value (never that of a personal ID, a card or a
/// BHXH number).
pub(crate) const BLIND: char = '~';

/// Whether a stored lookup value is a blind index (not a value from before encryption).
pub(crate) fn is_blind(stored: &str) -> bool {
    stored.len() == 33 && stored.starts_with(BLIND)
}

/// An identifier as it is compared: without surrounding spaces, letters in capitals.
fn normalise(value: &str) -> String {
    value.trim().to_uppercase()
}

/// The blind index key of a data key (an HMAC of a fixed label, so the data key itself
/// is never used for two purposes).
fn index_key(data_key: &[u8]) -> Zeroizing<[u8; 32]> {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(data_key).expect("any key length");
    mac.update(b"healthbook blind index v1");
    Zeroizing::new(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crypt() -> Crypt {
        let c = Crypt::new(Box::new(LocalMasterKey::generate().unwrap()));
        let row = c.new_data_key(1).unwrap();
        c.load(&[row]).unwrap();
        c
    }

    #[test]
    fn sealed_values_open_only_in_their_own_row_and_column() {
        let c = crypt();
        let sealed = c.seal("episodes.body", 7, b"Viem phoi").unwrap();
        assert_eq!(sealed[0], SEALED);
        assert!(!sealed.windows(9).any(|w| w == b"Viem phoi"));
        assert_eq!(&*c.open("episodes.body", 7, &sealed).unwrap(), b"Viem phoi");
        assert!(c.open("episodes.body", 8, &sealed).is_err(), "another row");
        assert!(
            c.open("submissions.raw_zstd", 7, &sealed).is_err(),
            "another column"
        );
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(c.open("episodes.body", 7, &altered).is_err(), "altered");
        // Two seals of one value differ (a fresh nonce each).
        assert_ne!(sealed, c.seal("episodes.body", 7, b"Viem phoi").unwrap());
        // A value from before encryption reads as it is.
        assert_eq!(&*c.open("episodes.body", 7, b"[]").unwrap(), b"[]");
    }

    #[test]
    fn blind_indexes_are_keyed_normalised_and_bound_values_stay_in_their_row() {
        let c = crypt();
        let a = c.blind("personal_id", "001085012345").unwrap();
        assert!(is_blind(&a), "{a}");
        assert!(!a.contains("001085012345"));
        assert_eq!(a, c.blind("personal_id", " 001085012345 ").unwrap());
        assert_ne!(
            a,
            c.blind("bhxh", "001085012345").unwrap(),
            "kind is part of it"
        );
        assert_eq!(
            c.blind("bhyt_card", "dn4797912345678").unwrap(),
            c.blind("bhyt_card", "DN4797912345678").unwrap()
        );
        // Another store (another first data key) gives another index.
        assert_ne!(a, crypt().blind("personal_id", "001085012345").unwrap());
        // A later data key does not change the index.
        let second = c.new_data_key(2).unwrap();
        c.add(&second).unwrap();
        assert_eq!(a, c.blind("personal_id", "001085012345").unwrap());
        let sealed = c
            .seal_bound("identifiers.value", &a, b"001085012345")
            .unwrap();
        assert_eq!(
            &*c.open_bound("identifiers.value", &a, &sealed).unwrap(),
            b"001085012345"
        );
        let b = c.blind("personal_id", "001085099999").unwrap();
        assert!(c.open_bound("identifiers.value", &b, &sealed).is_err());
        // As text.
        let t = c.seal_str("persons.name", 3, "Nguyễn Thị Mai").unwrap();
        assert!(is_sealed_text(&t) && !t.contains("Mai"), "{t}");
        assert_eq!(c.open_str("persons.name", 3, &t).unwrap(), "Nguyễn Thị Mai");
        assert!(c.open_str("persons.name", 4, &t).is_err(), "another row");
        assert_eq!(
            c.open_str("persons.name", 4, "Trần Văn An").unwrap(),
            "Trần Văn An"
        );
        assert_eq!(
            c.open_str("persons.name", 4, "!not sealed").unwrap(),
            "!not sealed"
        );
        let t = c
            .seal_bound_str("identifiers.sealed_value", &a, "001085012345")
            .unwrap();
        assert_eq!(
            c.open_bound_str("identifiers.sealed_value", &a, &t)
                .unwrap(),
            "001085012345"
        );
        assert!(
            c.open_bound_str("identifiers.sealed_value", &b, &t)
                .is_err()
        );
    }

    #[test]
    fn data_keys_open_only_with_their_master_key_and_survive_a_rewrap() {
        let a = LocalMasterKey::generate().unwrap();
        let b = LocalMasterKey::generate().unwrap();
        let c = Crypt::new(Box::new(LocalMasterKey::from_hex(&a.hex()).unwrap()));
        let row = c.new_data_key(1).unwrap();
        c.load(std::slice::from_ref(&row)).unwrap();
        let sealed = c.seal("t.c", 1, b"x").unwrap();
        let other = Crypt::new(Box::new(LocalMasterKey::from_hex(&b.hex()).unwrap()));
        assert!(
            other.load(std::slice::from_ref(&row)).is_err(),
            "wrong master key"
        );
        let raw = a.unwrap(&row.wrapped, &wrap_context(1)).unwrap();
        let moved = DataKeyRow {
            master: b.id(),
            wrapped: b.wrap(&raw, &wrap_context(1)).unwrap(),
            ..row
        };
        other.load(&[moved]).unwrap();
        assert_eq!(&*other.open("t.c", 1, &sealed).unwrap(), b"x");
    }
}
