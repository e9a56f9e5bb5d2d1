//! One error type for every query handler, convertible both to a gRPC
//! status and to the ABCI code and log the Cosmos SDK gives the same failure
//! when the query arrives as gRPC-over-ABCI, so that clients which match on
//! either (cosmjs: `rpc error: code = NotFound`, Hermes: status messages)
//! read our answers as they read an SDK chain's.

use tonic::{Code, Status};

use crate::state::StateError;

/// The result of a query handler.
pub type QResult<T> = Result<T, QueryError>;

/// A failed query: a gRPC code and the message the SDK would put with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    code: Code,
    message: String,
    /// The snapshot was overtaken by a newer commit while a key listing
    /// read it: worth retrying at the new latest version.
    stale: bool,
}

/// SDK codes of the errors `gRPCErrorToSDKError` (baseapp/abci.go) wraps
/// gRPC statuses in, with their descriptions.
mod sdk {
    // (code, description) pairs of cosmos-sdk types/errors/errors.go.
    pub const UNAUTHORIZED: (u32, &str) = (4, "unauthorized");
    pub const UNKNOWN_REQUEST: (u32, &str) = (6, "unknown request");
    pub const INVALID_REQUEST: (u32, &str) = (18, "invalid request");
    pub const KEY_NOT_FOUND: (u32, &str) = (38, "key not found");
}

impl QueryError {
    /// Any code, for the few cases the shorthands below do not cover
    /// (`Unknown` for failed simulations, as the SDK).
    pub fn new(code: Code, message: impl Into<String>) -> QueryError {
        QueryError {
            code,
            message: message.into(),
            stale: false,
        }
    }

    /// A request the SDK would refuse as malformed (ABCI code 18).
    pub fn invalid(message: impl Into<String>) -> QueryError {
        QueryError::new(Code::InvalidArgument, message)
    }

    /// Something asked for that does not exist (ABCI code 38), which
    /// clients tell apart from failures: cosmjs reads it as "no account".
    pub fn not_found(message: impl Into<String>) -> QueryError {
        QueryError::new(Code::NotFound, message)
    }

    /// A fault of the node (state unreadable, CometBFT answering nonsense),
    /// not of the request.
    pub fn internal(message: impl Into<String>) -> QueryError {
        QueryError::new(Code::Internal, message)
    }

    /// A method of an SDK service that Chimera has no state for: clients
    /// probing optional methods get the standard gRPC answer.
    pub fn unimplemented(method: &str) -> QueryError {
        QueryError::new(
            Code::Unimplemented,
            format!("{method} is not implemented by chimerad"),
        )
    }

    /// The gRPC code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The message, without the code.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn is_stale(&self) -> bool {
        self.stale
    }

    /// The ABCI code and log of the SDK for this error when the query came
    /// through `abci_query`: `gRPCErrorToSDKError` wraps the status text in
    /// an sdk error chosen by the gRPC code, e.g. code 38 and
    /// `rpc error: code = NotFound desc = account chimera1… not found: key not found`.
    pub fn to_abci(&self) -> (u32, String) {
        let (code, desc) = match self.code {
            Code::NotFound => sdk::KEY_NOT_FOUND,
            Code::InvalidArgument | Code::FailedPrecondition => sdk::INVALID_REQUEST,
            Code::Unauthenticated => sdk::UNAUTHORIZED,
            _ => sdk::UNKNOWN_REQUEST,
        };
        (
            code,
            format!(
                "rpc error: code = {:?} desc = {}: {desc}",
                self.code, self.message
            ),
        )
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for QueryError {}

impl From<QueryError> for Status {
    fn from(e: QueryError) -> Status {
        Status::new(e.code, e.message)
    }
}

impl From<StateError> for QueryError {
    fn from(e: StateError) -> QueryError {
        match e {
            StateError::NotLatest { .. } => QueryError {
                code: Code::FailedPrecondition,
                message: format!("only the latest state can list keys: {e}"),
                stale: true,
            },
            StateError::Pruned { .. } | StateError::NotYetCommitted { .. } => {
                QueryError::invalid(e.to_string())
            }
            StateError::EmptyTree { .. } => QueryError::new(Code::FailedPrecondition, e.to_string()),
            other => QueryError::internal(format!("state: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abci_log_matches_the_sdk_wrapping() {
        let e = QueryError::not_found("account chimera1xyz not found");
        assert_eq!(
            e.to_abci(),
            (
                38,
                "rpc error: code = NotFound desc = account chimera1xyz not found: key not found".to_string()
            )
        );
        assert_eq!(QueryError::invalid("bad").to_abci().0, 18);
        assert_eq!(QueryError::unimplemented("x").to_abci().0, 6);
        let s: Status = QueryError::invalid("bad").into();
        assert_eq!((s.code(), s.message()), (Code::InvalidArgument, "bad"));
    }

    #[test]
    fn stale_snapshots_are_retryable() {
        let e: QueryError = StateError::NotLatest {
            version: Some(1),
            latest: Some(2),
        }
        .into();
        assert!(e.is_stale());
        assert_eq!(e.code(), Code::FailedPrecondition);
    }
}
