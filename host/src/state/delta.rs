//! `Delta`: buffered writes over a snapshot.
//!
//! A block's execution writes into one `Delta` over the latest snapshot and
//! commits `into_changes()`; each transaction runs in a `fork()` that is
//! `absorb`ed on success and dropped on failure. Layers are shared by `Arc`
//! and copied on write, so forking is O(depth) and a parent that is not
//! written while its fork lives (the usual case) is never copied.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use super::{Changes, KeyValues, Snapshot, StateError};

/// A write buffer over a snapshot: reads see its own writes first, then its
/// ancestors' (as they were when it was forked), then the snapshot.
#[derive(Clone)]
pub struct Delta {
    base: Snapshot,
    /// Ancestors' writes, oldest first, frozen at fork time.
    parents: Vec<Arc<Changes>>,
    writes: Arc<Changes>,
}

impl Delta {
    /// An empty buffer over `base`.
    pub fn new(base: Snapshot) -> Delta {
        Delta {
            base,
            parents: Vec::new(),
            writes: Arc::new(Changes::new()),
        }
    }

    /// The snapshot this buffer (and every fork of it) reads through.
    pub fn base(&self) -> &Snapshot {
        &self.base
    }

    /// The value of `key` as this buffer sees it.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        for layer in std::iter::once(&self.writes).chain(self.parents.iter().rev()) {
            if let Some(v) = layer.get(key) {
                return Ok(v.clone());
            }
        }
        self.base.get(key)
    }

    /// Buffers `key` = `value`. Empty keys and values are refused at commit
    /// (ICS-23 cannot prove them): delete instead of writing an empty value.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        Arc::make_mut(&mut self.writes).insert(key, Some(value));
    }

    /// Buffers the deletion of `key`.
    pub fn delete(&mut self, key: Vec<u8>) {
        Arc::make_mut(&mut self.writes).insert(key, None);
    }

    /// Key-ordered `(key, value)` pairs under `prefix` as this buffer sees
    /// them (buffered deletions hide the snapshot's keys). The snapshot part
    /// needs the latest version ([`Snapshot::prefix`]).
    pub fn prefix(&self, prefix: &[u8]) -> Result<KeyValues, StateError> {
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = self
            .base
            .prefix(prefix)?
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        for layer in self.parents.iter().chain(std::iter::once(&self.writes)) {
            let range = layer
                .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
                .take_while(|(k, _)| k.starts_with(prefix));
            for (k, v) in range {
                merged.insert(k.clone(), v.clone());
            }
        }
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect())
    }

    /// A child buffer reading through this one. Writes to `self` after the
    /// fork are not seen by the child (it reads this buffer as of the fork).
    pub fn fork(&self) -> Delta {
        let mut parents = self.parents.clone();
        parents.push(self.writes.clone());
        Delta {
            base: self.base.clone(),
            parents,
            writes: Arc::new(Changes::new()),
        }
    }

    /// Applies the writes `child` made itself (not those it read through)
    /// onto this buffer; meant for a fork of `self`.
    pub fn absorb(&mut self, child: Delta) {
        let Delta { parents, writes, .. } = child;
        // Drop the child's reference to our layer first, so that make_mut
        // below does not copy it.
        drop(parents);
        let writes = Arc::try_unwrap(writes).unwrap_or_else(|shared| (*shared).clone());
        if writes.is_empty() {
            return;
        }
        let own = Arc::make_mut(&mut self.writes);
        if own.is_empty() {
            *own = writes;
        } else {
            own.extend(writes);
        }
    }

    /// Everything this buffer would change relative to its snapshot (its
    /// ancestors' writes as of the fork, then its own), ready for
    /// [`super::Storage::commit`].
    pub fn into_changes(self) -> Changes {
        let Delta { parents, writes, .. } = self;
        let mut out = Changes::new();
        for layer in parents.into_iter().chain(std::iter::once(writes)) {
            match Arc::try_unwrap(layer) {
                Ok(map) if out.is_empty() => out = map,
                Ok(map) => out.extend(map),
                Err(shared) => out.extend(shared.iter().map(|(k, v)| (k.clone(), v.clone()))),
            }
        }
        out
    }

    /// Whether nothing is buffered here or in the ancestors.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.parents.iter().all(|p| p.is_empty())
    }
}

impl std::fmt::Debug for Delta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delta")
            .field("base", &self.base)
            .field("depth", &self.parents.len())
            .field("writes", &self.writes.len())
            .finish()
    }
}
