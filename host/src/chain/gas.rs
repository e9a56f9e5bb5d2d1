//! Gas: what a transaction pays for, metered on every state access as the
//! Cosmos SDK does (its default KV gas config), so that `Simulate` gives
//! relayers and wallets a figure they can multiply and trust.

use super::error::TxError;
use crate::state::{Delta, KeyValues};

/// The SDK's `KVGasConfig` and auth params (DefaultTxSizeCostPerByte,
/// DefaultSigVerifyCostSecp256k1).
pub mod cost {
    pub const READ_FLAT: u64 = 1000;
    pub const READ_PER_BYTE: u64 = 3;
    pub const WRITE_FLAT: u64 = 2000;
    pub const WRITE_PER_BYTE: u64 = 30;
    pub const DELETE: u64 = 1000;
    pub const ITER_NEXT_FLAT: u64 = 30;
    pub const TX_SIZE_PER_BYTE: u64 = 10;
    pub const SIG_VERIFY_SECP256K1: u64 = 1000;
}

/// Counts gas against a limit; `u64::MAX` for unmetered work (genesis,
/// block hooks).
#[derive(Debug, Clone)]
pub struct GasMeter {
    limit: u64,
    used: u64,
}

impl GasMeter {
    pub fn new(limit: u64) -> GasMeter {
        GasMeter { limit, used: 0 }
    }

    pub fn infinite() -> GasMeter {
        GasMeter::new(u64::MAX)
    }

    pub fn used(&self) -> u64 {
        self.used
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Adds `amount`; fails once past the limit (the used figure keeps the
    /// overflowing amount, as the SDK reports it).
    pub fn consume(&mut self, amount: u64, what: &str) -> Result<(), TxError> {
        self.used = self.used.saturating_add(amount);
        if self.used > self.limit {
            return Err(TxError::OutOfGas(format!(
                "out of gas in location: {what}; gasWanted: {}, gasUsed: {}",
                self.limit, self.used
            )));
        }
        Ok(())
    }
}

/// One execution context: a state buffer and the gas meter charged for it.
/// Modules take `&mut Ctx` and never touch `Delta` unmetered.
pub struct Ctx<'a> {
    pub state: &'a mut Delta,
    pub gas: &'a mut GasMeter,
    /// The height of the block being executed (or checked against).
    pub height: u64,
}

/// Runs `f` with an unmetered [`Ctx`] over `state` at `height`: for work
/// no tx pays for (genesis, FinalizeBlock's own steps).
pub fn unmetered<T>(state: &mut Delta, height: u64, f: impl FnOnce(&mut Ctx) -> T) -> T {
    let mut gas = GasMeter::infinite();
    f(&mut Ctx {
        state,
        gas: &mut gas,
        height,
    })
}

impl Ctx<'_> {
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        self.gas.consume(cost::READ_FLAT, "ReadFlat")?;
        let v = self.state.get(key)?;
        let n = key.len() + v.as_ref().map_or(0, |v| v.len());
        self.gas.consume(cost::READ_PER_BYTE * n as u64, "ReadPerByte")?;
        Ok(v)
    }

    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), TxError> {
        self.gas.consume(cost::WRITE_FLAT, "WriteFlat")?;
        self.gas.consume(
            cost::WRITE_PER_BYTE * (key.len() + value.len()) as u64,
            "WritePerByte",
        )?;
        self.state.put(key, value);
        Ok(())
    }

    pub fn delete(&mut self, key: Vec<u8>) -> Result<(), TxError> {
        self.gas.consume(cost::DELETE, "Delete")?;
        self.state.delete(key);
        Ok(())
    }

    pub fn prefix(&mut self, prefix: &[u8]) -> Result<KeyValues, TxError> {
        let items = self.state.prefix(prefix)?;
        for (k, v) in &items {
            self.gas.consume(cost::ITER_NEXT_FLAT, "IterNextFlat")?;
            self.gas
                .consume(cost::READ_PER_BYTE * (k.len() + v.len()) as u64, "ReadPerByte")?;
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_stops_at_the_limit() {
        let mut g = GasMeter::new(1500);
        g.consume(1000, "a").unwrap();
        let e = g.consume(600, "b").unwrap_err();
        assert_eq!(e.code(), 11);
        assert!(e.to_string().contains("gasWanted: 1500, gasUsed: 1600"), "{e}");
    }
}
