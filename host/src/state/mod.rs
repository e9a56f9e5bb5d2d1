//! Versioned, verifiable chain state (being written).
