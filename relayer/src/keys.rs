//! The relayer's key store: one JSON file per key, like Hermes's `keys`
//! but simpler.
//!
//! Layout: `<dir>/<chain_id>/<name>.json`, each file mode 0600 in a chain
//! directory of mode 0700, holding the key's 24-word BIP-39 mnemonic and
//! what it derives to:
//!
//! ```json
//! {"name": "relayer", "chain_id": "columbus-5", "coin_type": 330,
//!  "account_prefix": "terra", "address": "terra1...", "mnemonic": "..."}
//! ```
//!
//! Why a mnemonic and not a private key: it is what operators already back
//! up (Terra Station, `terrad keys add`), and it recovers the same account in
//! any wallet. Keys derive at `m/44'/<coin_type>'/0'/0/0` with an empty
//! passphrase, as `terrad keys add --recover` does, so an imported key signs
//! as the same address the operator funded. Terra uses coin type 330, not
//! the Cosmos default 118: the same mnemonic gives a different address under
//! each, which is why the coin type is stored with the key.
//!
//! The mnemonic never leaves this module except through [`StoredKey::signing_key`]
//! and the one-time print of a freshly generated phrase by `chimera keys add`:
//! [`StoredKey`]'s `Debug` redacts it, [`KeyError`] never quotes it, and
//! nothing here logs it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use bip32::{DerivationPath, Language, Mnemonic};
use cosmrs::crypto::secp256k1::SigningKey;
use serde::{Deserialize, Serialize};

/// Words in the mnemonics this store generates and accepts (256 bits of
/// entropy; the only length `bip32` 0.5 supports, and what Terra Station
/// and `terrad keys add` produce).
pub const MNEMONIC_WORDS: usize = 24;

/// Why a key could not be stored, found, or used.
///
/// Why one enum: callers (the CLI, the relay loop) print these to operators
/// as they are, so each message says what is wrong and what to do. No
/// variant ever contains a mnemonic.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No such key in the store.
    #[error(
        "no key {name:?} for chain {chain_id} in {}: run `chimera keys add --chain {chain_id} --name {name}` (or `chimera keys import`) first",
        dir.display()
    )]
    NotFound {
        /// The chain id asked for.
        chain_id: String,
        /// The key name asked for.
        name: String,
        /// The key store directory searched.
        dir: PathBuf,
    },
    /// The key exists and replacing it was not asked for.
    #[error(
        "key {name:?} for chain {chain_id} already exists ({}): pass --overwrite to replace it (its mnemonic is lost unless you have it written down)",
        path.display()
    )]
    Exists {
        /// The chain id.
        chain_id: String,
        /// The key name.
        name: String,
        /// The existing key file.
        path: PathBuf,
    },
    /// Not a valid English BIP-39 phrase. The message describes the problem
    /// without quoting the phrase (it may be a real secret with one typo).
    #[error("invalid mnemonic: {0}")]
    Mnemonic(String),
    /// HD derivation or bech32 encoding failed (e.g. a bad account prefix).
    #[error("cannot derive {path}: {message}")]
    Derive {
        /// The HD path, `m/44'/<coin_type>'/0'/0/0`.
        path: String,
        /// What failed.
        message: String,
    },
    /// Reading or writing the store failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A key file exists but cannot be trusted: not the JSON this module
    /// writes, or its address does not derive from its mnemonic.
    #[error("key file {} is corrupt: {message}", path.display())]
    Corrupt {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A chain id or key name that cannot be a file name in the store.
    #[error("invalid {what} {value:?}: use only letters, digits, '.', '_' and '-' (not starting with '.'), at most 128 characters")]
    BadName {
        /// `chain id` or `key name`.
        what: &'static str,
        /// The rejected value.
        value: String,
    },
    /// A key file other users can read or write: refused, as ssh refuses
    /// such private keys.
    #[error("key file {} is accessible by other users (mode {mode:03o}): run `chmod 600 {}`", path.display(), path.display())]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// One key, as read from or written to the store.
///
/// Why the mnemonic is private: the only thing callers need from it is a
/// signing key ([`StoredKey::signing_key`]); keeping the field private keeps
/// it out of logs, `Debug` output and accidental copies.
#[derive(Clone)]
pub struct StoredKey {
    /// The key's name, unique per chain (the config's `key`).
    pub name: String,
    /// The chain the key signs for.
    pub chain_id: String,
    /// BIP-44 coin type it was derived with (330 for Terra Classic).
    pub coin_type: u32,
    /// Bech32 prefix of [`StoredKey::address`].
    pub account_prefix: String,
    /// The account address (`terra1...`): the account that pays fees.
    pub address: String,
    mnemonic: String,
}

impl StoredKey {
    /// The secp256k1 key that signs transactions for [`StoredKey::address`].
    ///
    /// Why derived on demand: the store keeps only the mnemonic, so there is
    /// one secret on disk and it is the one operators back up.
    pub fn signing_key(&self) -> Result<SigningKey, KeyError> {
        derive_signing_key(&parse_mnemonic(&self.mnemonic)?, self.coin_type)
    }
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("name", &self.name)
            .field("chain_id", &self.chain_id)
            .field("coin_type", &self.coin_type)
            .field("account_prefix", &self.account_prefix)
            .field("address", &self.address)
            .field("mnemonic", &"<redacted>")
            .finish()
    }
}

/// The on-disk form of a [`StoredKey`].
#[derive(Serialize, Deserialize)]
struct KeyFile {
    name: String,
    chain_id: String,
    coin_type: u32,
    account_prefix: String,
    address: String,
    mnemonic: String,
}

/// The HD path of account 0, index 0 under `coin_type`.
fn hd_path(coin_type: u32) -> String {
    format!("m/44'/{coin_type}'/0'/0/0")
}

/// Parses a phrase, tolerating extra whitespace and capitals (as typed or
/// pasted), and explains a failure without quoting it.
fn parse_mnemonic(phrase: &str) -> Result<Mnemonic, KeyError> {
    let words: Vec<String> = phrase.split_whitespace().map(str::to_lowercase).collect();
    if words.len() != MNEMONIC_WORDS {
        return Err(KeyError::Mnemonic(format!(
            "it has {} words; expected {MNEMONIC_WORDS} (12- and 18-word phrases are not supported)",
            words.len()
        )));
    }
    Mnemonic::new(words.join(" "), Language::English).map_err(|_| {
        KeyError::Mnemonic(format!(
            "not a valid {MNEMONIC_WORDS}-word English BIP-39 phrase: a word is misspelled or not in the BIP-39 English list, or the words are out of order (the checksum does not match)"
        ))
    })
}

fn derive_signing_key(mnemonic: &Mnemonic, coin_type: u32) -> Result<SigningKey, KeyError> {
    let path_str = hd_path(coin_type);
    let derive = |message: String| KeyError::Derive {
        path: path_str.clone(),
        message,
    };
    let path: DerivationPath = path_str.parse().map_err(|e| derive(format!("{e}")))?;
    SigningKey::derive_from_path(mnemonic.to_seed(""), &path).map_err(|e| derive(e.to_string()))
}

fn address_of(key: &SigningKey, coin_type: u32, prefix: &str) -> Result<String, KeyError> {
    // cosmrs accepts an empty or mixed-case prefix; no chain uses one.
    if prefix.is_empty()
        || !prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return Err(KeyError::Derive {
            path: hd_path(coin_type),
            message: format!(
                "account prefix {prefix:?}: a bech32 prefix is lowercase letters/digits, e.g. \"terra\""
            ),
        });
    }
    key.public_key()
        .account_id(prefix)
        .map(|id| id.to_string())
        .map_err(|e| KeyError::Derive {
            path: hd_path(coin_type),
            message: format!("account prefix {prefix:?}: {e}"),
        })
}

/// The bech32 address (`<prefix>1...`) of `mnemonic` at
/// `m/44'/<coin_type>'/0'/0/0` with an empty passphrase.
///
/// Why public: to show what a mnemonic would import as before storing it,
/// and for tests to check addresses against published vectors.
pub fn derive_address(mnemonic: &str, coin_type: u32, prefix: &str) -> Result<String, KeyError> {
    let key = derive_signing_key(&parse_mnemonic(mnemonic)?, coin_type)?;
    address_of(&key, coin_type, prefix)
}

/// Checks that a chain id or key name is safe as one path component.
fn check_name(what: &'static str, value: &str) -> Result<(), KeyError> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && !value.starts_with('.')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(KeyError::BadName {
            what,
            value: value.to_string(),
        })
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Flushes a directory's entries (a rename or unlink in it) to disk.
fn sync_dir(dir: &Path) -> Result<(), KeyError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

/// The key store: a directory of per-chain key files.
///
/// Why files and not an OS keyring: the relayer runs unattended on servers,
/// where a 0600 file readable only by the relayer's user is the usual
/// (Hermes, `terrad --keyring-backend test`) and simplest auditable choice.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    /// A store rooted at `dir`. Does no I/O: the directory is created by the
    /// first [`KeyStore::add`], and reading a missing store finds no keys.
    pub fn open(dir: &Path) -> KeyStore {
        KeyStore {
            dir: dir.to_path_buf(),
        }
    }

    /// The store's root directory (for messages such as "no keys in ...").
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn chain_dir(&self, chain_id: &str) -> PathBuf {
        self.dir.join(chain_id)
    }

    fn key_path(&self, chain_id: &str, name: &str) -> PathBuf {
        self.chain_dir(chain_id).join(format!("{name}.json"))
    }

    /// Stores key `name` for `chain_id`: recovered from `mnemonic`, or from
    /// a new random 24-word mnemonic when it is `None`, which is then
    /// returned (`Some(phrase)`) so the caller can show it once.
    ///
    /// Fails with [`KeyError::Exists`] if the key exists and `overwrite` is
    /// false. The file is written atomically (temp file, fsync, rename), so
    /// a crash leaves the old key or the new one, never half of either.
    pub fn add(
        &self,
        chain_id: &str,
        name: &str,
        coin_type: u32,
        prefix: &str,
        mnemonic: Option<&str>,
        overwrite: bool,
    ) -> Result<(StoredKey, Option<String>), KeyError> {
        check_name("chain id", chain_id)?;
        check_name("key name", name)?;
        let path = self.key_path(chain_id, name);
        if !overwrite && fs::symlink_metadata(&path).is_ok() {
            return Err(KeyError::Exists {
                chain_id: chain_id.into(),
                name: name.into(),
                path,
            });
        }
        let (phrase, generated) = match mnemonic {
            Some(m) => (parse_mnemonic(m)?, false),
            None => (Mnemonic::random(rand_core::OsRng, Language::English), true),
        };
        let signing = derive_signing_key(&phrase, coin_type)?;
        let address = address_of(&signing, coin_type, prefix)?;
        let key = StoredKey {
            name: name.into(),
            chain_id: chain_id.into(),
            coin_type,
            account_prefix: prefix.into(),
            address,
            mnemonic: phrase.phrase().to_string(),
        };
        self.write(&key, &path, overwrite)?;
        let new = generated.then(|| key.mnemonic.clone());
        Ok((key, new))
    }

    /// Writes `key` to `path` via a 0600 temp file in the same directory.
    fn write(&self, key: &StoredKey, path: &Path, overwrite: bool) -> Result<(), KeyError> {
        let dir = self.chain_dir(&key.chain_id);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(io_err(&dir))?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io_err(&dir))?;

        let file = KeyFile {
            name: key.name.clone(),
            chain_id: key.chain_id.clone(),
            coin_type: key.coin_type,
            account_prefix: key.account_prefix.clone(),
            address: key.address.clone(),
            mnemonic: key.mnemonic.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| KeyError::Corrupt {
            path: path.to_path_buf(),
            message: format!("cannot encode: {e}"),
        })?;
        bytes.push(b'\n');

        static SEQ: AtomicU64 = AtomicU64::new(0);
        let tmp = dir.join(format!(
            ".{}.json.tmp-{}-{}",
            key.name,
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io_err(&tmp))?;
            // The mode above is filtered by the umask, which can only remove
            // bits; set it exactly anyway.
            f.set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(io_err(&tmp))?;
            f.write_all(&bytes).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
            drop(f);
            if overwrite {
                fs::rename(&tmp, path).map_err(io_err(path))
            } else {
                // A hard link fails if `path` appeared since the check in
                // `add`, where a rename would silently replace it.
                match fs::hard_link(&tmp, path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(KeyError::Exists {
                        chain_id: key.chain_id.clone(),
                        name: key.name.clone(),
                        path: path.to_path_buf(),
                    }),
                    Err(e) => Err(io_err(path)(e)),
                }
            }
        })();
        // After a rename the temp name is gone; after a link or a failure it
        // must go. Nothing to report if it is already gone.
        let _ = fs::remove_file(&tmp);
        result?;
        sync_dir(&dir)
    }

    /// Reads key `name` of `chain_id`.
    ///
    /// Refuses a file other users can access ([`KeyError::Permissions`]) and
    /// one whose address does not derive from its mnemonic
    /// ([`KeyError::Corrupt`]): signing with a key that is not the account
    /// the config names would spend someone else's fees or fail every tx.
    pub fn get(&self, chain_id: &str, name: &str) -> Result<StoredKey, KeyError> {
        check_name("chain id", chain_id)?;
        check_name("key name", name)?;
        let path = self.key_path(chain_id, name);
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(KeyError::NotFound {
                    chain_id: chain_id.into(),
                    name: name.into(),
                    dir: self.dir.clone(),
                })
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        let meta = f.metadata().map_err(io_err(&path))?;
        if !meta.is_file() {
            return Err(KeyError::Corrupt {
                path,
                message: "not a regular file".into(),
            });
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions { path, mode });
        }
        let mut text = String::new();
        f.read_to_string(&mut text).map_err(io_err(&path))?;
        let corrupt = |message: String| KeyError::Corrupt {
            path: path.clone(),
            message,
        };
        // serde_json's messages name the field and position, never values.
        let file: KeyFile =
            serde_json::from_str(&text).map_err(|e| corrupt(format!("not a key file: {e}")))?;
        if file.chain_id != chain_id || file.name != name {
            return Err(corrupt(format!(
                "it holds key {:?} of chain {:?}, not {name:?} of {chain_id:?}",
                file.name, file.chain_id
            )));
        }
        let derived = derive_address(&file.mnemonic, file.coin_type, &file.account_prefix)
            .map_err(|e| corrupt(e.to_string()))?;
        if derived != file.address {
            return Err(corrupt(format!(
                "its mnemonic derives {derived} (coin type {}), not the stored address {}",
                file.coin_type, file.address
            )));
        }
        Ok(StoredKey {
            name: file.name,
            chain_id: file.chain_id,
            coin_type: file.coin_type,
            account_prefix: file.account_prefix,
            address: file.address,
            mnemonic: file.mnemonic,
        })
    }

    /// Every key, or every key of `chain_id`, sorted by chain then name.
    ///
    /// A missing store (or chain directory) has no keys. Each key is read
    /// with [`KeyStore::get`], so a bad file fails the listing rather than
    /// being hidden. Temp files and entries that cannot be key names are
    /// skipped.
    pub fn list(&self, chain_id: Option<&str>) -> Result<Vec<StoredKey>, KeyError> {
        let chains = match chain_id {
            Some(c) => {
                check_name("chain id", c)?;
                vec![c.to_string()]
            }
            None => {
                let mut chains = Vec::new();
                for entry in read_dir_or_empty(&self.dir)? {
                    let entry = entry.map_err(io_err(&self.dir))?;
                    let is_dir = entry.file_type().map_err(io_err(&entry.path()))?.is_dir();
                    if let Some(name) = entry.file_name().to_str() {
                        if is_dir && check_name("chain id", name).is_ok() {
                            chains.push(name.to_string());
                        }
                    }
                }
                chains
            }
        };
        let mut keys = Vec::new();
        for chain in chains {
            let dir = self.chain_dir(&chain);
            for entry in read_dir_or_empty(&dir)? {
                let entry = entry.map_err(io_err(&dir))?;
                let file_name = entry.file_name();
                let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                    continue;
                };
                if check_name("key name", name).is_ok() {
                    keys.push(self.get(&chain, name)?);
                }
            }
        }
        keys.sort_by(|a, b| (&a.chain_id, &a.name).cmp(&(&b.chain_id, &b.name)));
        Ok(keys)
    }

    /// Removes key `name` of `chain_id` ([`KeyError::NotFound`] if absent).
    ///
    /// Removes the file without reading it, so a corrupt or wrongly
    /// permissioned key can still be deleted.
    pub fn delete(&self, chain_id: &str, name: &str) -> Result<(), KeyError> {
        check_name("chain id", chain_id)?;
        check_name("key name", name)?;
        let path = self.key_path(chain_id, name);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.chain_dir(chain_id)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(KeyError::NotFound {
                chain_id: chain_id.into(),
                name: name.into(),
                dir: self.dir.clone(),
            }),
            Err(e) => Err(io_err(&path)(e)),
        }
    }
}

/// `read_dir`, with a missing directory read as empty.
fn read_dir_or_empty(dir: &Path) -> Result<Vec<io::Result<fs::DirEntry>>, KeyError> {
    match fs::read_dir(dir) {
        Ok(rd) => Ok(rd.collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_err(dir)(e)),
    }
}

/// `chimera keys ...`: manage the keys the relayer signs with.
#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Generate a new key (24-word mnemonic) for a chain. Prints its address
    /// on stdout and the mnemonic once on stderr: write it down, it is the
    /// only backup.
    Add {
        /// Chain id, as in the config's [[chains]] `id`.
        #[arg(long)]
        chain: String,
        /// Key name (the config's `key`).
        #[arg(long, default_value = "relayer")]
        name: String,
        /// BIP-44 coin type (default: the chain's `coin_type` in the config;
        /// 330 for Terra Classic).
        #[arg(long)]
        coin_type: Option<u32>,
        /// Bech32 account prefix (default: the chain's `account_prefix`).
        #[arg(long)]
        prefix: Option<String>,
        /// Replace an existing key of that name (its mnemonic is lost).
        #[arg(long)]
        overwrite: bool,
    },
    /// Import a key from a 24-word mnemonic read from a file (`-` = stdin),
    /// never from the command line, where shell history and `ps` would see it.
    Import {
        /// Chain id, as in the config's [[chains]] `id`.
        #[arg(long)]
        chain: String,
        /// Key name (the config's `key`).
        #[arg(long, default_value = "relayer")]
        name: String,
        /// File holding the mnemonic; `-` reads standard input.
        #[arg(long)]
        mnemonic_file: PathBuf,
        /// BIP-44 coin type (default: the chain's `coin_type` in the config;
        /// 330 for Terra Classic).
        #[arg(long)]
        coin_type: Option<u32>,
        /// Bech32 account prefix (default: the chain's `account_prefix`).
        #[arg(long)]
        prefix: Option<String>,
        /// Replace an existing key of that name.
        #[arg(long)]
        overwrite: bool,
    },
    /// List keys, one per line: chain id, name, address, coin type.
    List {
        /// Only this chain's keys.
        #[arg(long)]
        chain: Option<String>,
    },
    /// Print one key's address (checks that the key file is readable, private
    /// and consistent, as the relayer will when it starts).
    Show {
        /// Chain id.
        #[arg(long)]
        chain: String,
        /// Key name.
        #[arg(long, default_value = "relayer")]
        name: String,
    },
    /// Delete a key file. Its account and funds stay on chain; only the
    /// mnemonic can recover it afterwards.
    Delete {
        /// Chain id.
        #[arg(long)]
        chain: String,
        /// Key name.
        #[arg(long)]
        name: String,
    },
}

/// The coin type and prefix for `chain`: the flags where given, else the
/// chain's entry in the config.
fn resolve(
    chain: &str,
    coin_type: Option<u32>,
    prefix: Option<String>,
    chains: &[(String, u32, String)],
) -> anyhow::Result<(u32, String)> {
    let configured = chains.iter().find(|(id, _, _)| id == chain);
    if let Some((_, ct, pf)) = configured {
        if coin_type.is_some_and(|c| c != *ct) || prefix.as_ref().is_some_and(|p| p != pf) {
            eprintln!(
                "warning: the config gives chain {chain} coin type {ct} and prefix {pf:?}; this key uses the flags instead, so its address may not be the account the relayer expects"
            );
        }
    }
    match (coin_type, prefix, configured) {
        (Some(c), Some(p), _) => Ok((c, p)),
        (c, p, Some((_, ct, pf))) => Ok((c.unwrap_or(*ct), p.unwrap_or_else(|| pf.clone()))),
        (_, _, None) => anyhow::bail!(
            "chain {chain:?} is not in the config: add a [[chains]] block for it, or pass --coin-type and --prefix"
        ),
    }
}

/// Reads a mnemonic from `path` (`-` = stdin; one line when stdin is a
/// terminal).
fn read_mnemonic(path: &Path) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    let mut text = String::new();
    if path == Path::new("-") {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            eprint!("Enter the {MNEMONIC_WORDS}-word mnemonic, then Enter: ");
            io::BufRead::read_line(&mut stdin.lock(), &mut text)
                .context("cannot read the mnemonic from stdin")?;
        } else {
            stdin
                .lock()
                .read_to_string(&mut text)
                .context("cannot read the mnemonic from stdin")?;
        }
    } else {
        text = fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(text)
}

/// Runs `chimera keys <cmd>` against `store`.
///
/// `chains` is `(chain_id, coin_type, account_prefix)` per configured
/// chain, so `add` and `import` derive keys the way the config says the
/// chain expects unless `--coin-type`/`--prefix` say otherwise. Output:
/// addresses and listings on stdout (for scripts), everything for humans on
/// stderr. A generated mnemonic goes to stderr once and is never logged.
pub fn run(cmd: KeysCommand, store: &KeyStore, chains: &[(String, u32, String)]) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Add {
            chain,
            name,
            coin_type,
            prefix,
            overwrite,
        } => {
            let (coin_type, prefix) = resolve(&chain, coin_type, prefix, chains)?;
            let (key, mnemonic) = store.add(&chain, &name, coin_type, &prefix, None, overwrite)?;
            println!("{}", key.address);
            if let Some(mnemonic) = mnemonic {
                eprintln!(
                    "Added key {:?} for {} (coin type {}): {}\n\
                     \n\
                     WRITE THIS MNEMONIC DOWN and keep it offline. It is the only way to recover\n\
                     this account; it is shown only this once and never logged.\n\
                     \n\
                     {mnemonic}\n",
                    key.name, key.chain_id, key.coin_type, key.address
                );
            }
        }
        KeysCommand::Import {
            chain,
            name,
            mnemonic_file,
            coin_type,
            prefix,
            overwrite,
        } => {
            let (coin_type, prefix) = resolve(&chain, coin_type, prefix, chains)?;
            let phrase = read_mnemonic(&mnemonic_file)?;
            let (key, _) = store.add(&chain, &name, coin_type, &prefix, Some(&phrase), overwrite)?;
            println!("{}", key.address);
            eprintln!(
                "Imported key {:?} for {} (coin type {}): {}",
                key.name, key.chain_id, key.coin_type, key.address
            );
        }
        KeysCommand::List { chain } => {
            let keys = store.list(chain.as_deref())?;
            if keys.is_empty() {
                eprintln!("no keys in {}", store.dir().display());
            }
            for k in keys {
                println!("{}  {}  {}  {}", k.chain_id, k.name, k.address, k.coin_type);
            }
        }
        KeysCommand::Show { chain, name } => {
            println!("{}", store.get(&chain, &name)?.address);
        }
        KeysCommand::Delete { chain, name } => {
            store.delete(&chain, &name)?;
            eprintln!("Deleted key {name:?} of {chain}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TERRA_MNEMONIC: &str = "satisfy adjust timber high purchase tuition stool faith fine install that you unaware feed domain license impose boss human eager hat rent enjoy dawn";
    const TERRA_ADDRESS: &str = "terra1dcegyrekltswvyy0xy69ydgxn9x8x32zdtapd8";

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn derives_the_terra_classic_vector() {
        assert_eq!(
            derive_address(TERRA_MNEMONIC, 330, "terra").unwrap(),
            TERRA_ADDRESS
        );
        // Pasted with odd spacing and capitals: the same key.
        let messy = format!("  {}\n", TERRA_MNEMONIC.to_uppercase().replace(' ', "  \t"));
        assert_eq!(derive_address(&messy, 330, "terra").unwrap(), TERRA_ADDRESS);
    }

    #[test]
    fn coin_type_changes_the_address() {
        let cosmos = derive_address(TERRA_MNEMONIC, 118, "terra").unwrap();
        assert!(cosmos.starts_with("terra1"));
        assert_ne!(cosmos, TERRA_ADDRESS);
    }

    #[test]
    fn add_generates_24_words_in_a_private_file() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::open(&tmp.path().join("keys"));
        let (key, mnemonic) = store
            .add("columbus-5", "relayer", 330, "terra", None, false)
            .unwrap();
        let mnemonic = mnemonic.expect("a generated mnemonic is returned");
        assert_eq!(mnemonic.split(' ').count(), 24);
        assert_eq!(derive_address(&mnemonic, 330, "terra").unwrap(), key.address);
        assert!(key.address.starts_with("terra1"));
        let file = tmp.path().join("keys/columbus-5/relayer.json");
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&tmp.path().join("keys/columbus-5")), 0o700);
        // Exactly the documented fields; no temp files left behind.
        let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
        let mut fields: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "account_prefix",
                "address",
                "chain_id",
                "coin_type",
                "mnemonic",
                "name"
            ]
        );
        assert_eq!(
            fs::read_dir(tmp.path().join("keys/columbus-5")).unwrap().count(),
            1
        );
        // The key signs as its address.
        let signing = store.get("columbus-5", "relayer").unwrap().signing_key().unwrap();
        assert_eq!(
            signing.public_key().account_id("terra").unwrap().to_string(),
            key.address
        );
    }

    #[test]
    fn import_then_get_round_trips() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::open(tmp.path());
        let (added, generated) = store
            .add("columbus-5", "relayer", 330, "terra", Some(TERRA_MNEMONIC), false)
            .unwrap();
        assert!(generated.is_none());
        assert_eq!(added.address, TERRA_ADDRESS);
        let got = store.get("columbus-5", "relayer").unwrap();
        assert_eq!(
            (
                got.name.as_str(),
                got.chain_id.as_str(),
                got.coin_type,
                got.account_prefix.as_str(),
                got.address.as_str()
            ),
            ("relayer", "columbus-5", 330, "terra", TERRA_ADDRESS)
        );
        assert_eq!(got.mnemonic, TERRA_MNEMONIC);

        store
            .add("chimera-1", "relayer", 118, "chimera", None, false)
            .unwrap();
        store
            .add("chimera-1", "alt", 118, "chimera", None, false)
            .unwrap();
        let listed: Vec<_> = store
            .list(None)
            .unwrap()
            .into_iter()
            .map(|k| format!("{}/{}", k.chain_id, k.name))
            .collect();
        assert_eq!(
            listed,
            ["chimera-1/alt", "chimera-1/relayer", "columbus-5/relayer"]
        );
        assert_eq!(store.list(Some("columbus-5")).unwrap().len(), 1);
        assert!(store.list(Some("nope-1")).unwrap().is_empty());

        store.delete("columbus-5", "relayer").unwrap();
        assert!(matches!(
            store.get("columbus-5", "relayer"),
            Err(KeyError::NotFound { .. })
        ));
        assert!(matches!(
            store.delete("columbus-5", "relayer"),
            Err(KeyError::NotFound { .. })
        ));
    }

    #[test]
    fn an_empty_store_lists_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(KeyStore::open(&tmp.path().join("absent"))
            .list(None)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn existing_keys_need_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::open(tmp.path());
        let (first, _) = store
            .add("columbus-5", "relayer", 330, "terra", None, false)
            .unwrap();
        let e = store
            .add("columbus-5", "relayer", 330, "terra", Some(TERRA_MNEMONIC), false)
            .unwrap_err();
        assert!(matches!(e, KeyError::Exists { .. }), "{e:?}");
        assert!(e.to_string().contains("--overwrite"), "{e}");
        assert_eq!(store.get("columbus-5", "relayer").unwrap().address, first.address);
        store
            .add("columbus-5", "relayer", 330, "terra", Some(TERRA_MNEMONIC), true)
            .unwrap();
        assert_eq!(store.get("columbus-5", "relayer").unwrap().address, TERRA_ADDRESS);
        assert_eq!(mode(&tmp.path().join("columbus-5/relayer.json")), 0o600);
    }

    #[test]
    fn not_found_says_how_to_add_one() {
        let tmp = tempfile::tempdir().unwrap();
        let e = KeyStore::open(tmp.path())
            .get("columbus-5", "relayer")
            .unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, KeyError::NotFound { .. }));
        assert!(
            msg.contains("chimera keys add --chain columbus-5 --name relayer"),
            "{msg}"
        );
        assert!(msg.contains(&tmp.path().display().to_string()), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn a_bad_mnemonic_is_not_echoed() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::open(tmp.path());
        let bad_checksum = TERRA_MNEMONIC.replace("dawn", "satisfy");
        let bad_word = TERRA_MNEMONIC.replace("timber", "timbre");
        let short = "satisfy adjust timber high purchase tuition stool faith fine install that you";
        for bad in [bad_checksum.as_str(), bad_word.as_str(), short] {
            let e = store
                .add("columbus-5", "relayer", 330, "terra", Some(bad), false)
                .unwrap_err();
            assert!(matches!(e, KeyError::Mnemonic(_)), "{e:?}");
            let shown = format!("{e} {e:?}");
            for word in ["adjust", "timber", "timbre", "tuition"] {
                assert!(!shown.contains(word), "{shown}");
            }
        }
        assert!(store.list(None).unwrap().is_empty());
    }

    #[test]
    fn debug_redacts_the_mnemonic() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::open(tmp.path());
        let (key, _) = store
            .add("columbus-5", "relayer", 330, "terra", Some(TERRA_MNEMONIC), false)
            .unwrap();
        let shown = format!("{key:?} {key:#?}");
        assert!(
            shown.contains("<redacted>") && shown.contains(TERRA_ADDRESS),
            "{shown}"
        );
        assert!(!shown.contains("satisfy") && !shown.contains("dawn"), "{shown}");
    }

    #[test]
    fn a_group_readable_key_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::open(tmp.path());
        store
            .add("columbus-5", "relayer", 330, "terra", None, false)
            .unwrap();
        let file = tmp.path().join("columbus-5/relayer.json");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let e = store.get("columbus-5", "relayer").unwrap_err();
        assert!(matches!(e, KeyError::Permissions { mode: 0o644, .. }), "{e:?}");
        assert!(
            e.to_string().contains(&format!("chmod 600 {}", file.display())),
            "{e}"
        );
        assert!(store.list(None).is_err());
        // Still deletable.
        store.delete("columbus-5", "relayer").unwrap();
    }

    #[test]
    fn a_tampered_address_is_corrupt() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::open(tmp.path());
        store
            .add("columbus-5", "relayer", 330, "terra", Some(TERRA_MNEMONIC), false)
            .unwrap();
        let file = tmp.path().join("columbus-5/relayer.json");
        let other = derive_address(TERRA_MNEMONIC, 118, "terra").unwrap();
        let text = fs::read_to_string(&file).unwrap().replace(TERRA_ADDRESS, &other);
        fs::write(&file, text).unwrap();
        let e = store.get("columbus-5", "relayer").unwrap_err();
        assert!(matches!(e, KeyError::Corrupt { .. }), "{e:?}");
        assert!(!e.to_string().contains("satisfy"), "{e}");

        fs::write(&file, "{not json").unwrap();
        assert!(matches!(
            store.get("columbus-5", "relayer"),
            Err(KeyError::Corrupt { .. })
        ));
    }

    #[test]
    fn path_traversal_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::open(&tmp.path().join("keys"));
        for (chain, name) in [
            ("columbus-5", "../x"),
            ("..", "x"),
            ("columbus-5", ".."),
            ("a/b", "x"),
            ("columbus-5", ""),
        ] {
            let e = store.add(chain, name, 330, "terra", None, false).unwrap_err();
            assert!(matches!(e, KeyError::BadName { .. }), "{chain:?} {name:?}: {e:?}");
            assert!(matches!(store.get(chain, name), Err(KeyError::BadName { .. })));
            assert!(matches!(store.delete(chain, name), Err(KeyError::BadName { .. })));
        }
        assert!(!tmp.path().join("x.json").exists() && !tmp.path().join("keys").exists());
    }

    #[test]
    fn a_bad_prefix_is_a_derive_error() {
        let tmp = tempfile::tempdir().unwrap();
        let e = KeyStore::open(tmp.path())
            .add("columbus-5", "relayer", 330, "", Some(TERRA_MNEMONIC), false)
            .unwrap_err();
        assert!(matches!(e, KeyError::Derive { .. }), "{e:?}");
    }

    #[test]
    fn cli_takes_coin_type_and_prefix_from_the_config() {
        let chains = vec![("columbus-5".to_string(), 330, "terra".to_string())];
        assert_eq!(
            resolve("columbus-5", None, None, &chains).unwrap(),
            (330, "terra".into())
        );
        assert_eq!(
            resolve("columbus-5", Some(118), None, &chains).unwrap(),
            (118, "terra".into())
        );
        assert_eq!(
            resolve("other-1", Some(118), Some("cosmos".into()), &chains).unwrap(),
            (118, "cosmos".into())
        );
        let e = resolve("other-1", Some(118), None, &chains)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--coin-type and --prefix") && !e.contains('\n'), "{e}");
    }
}
