//! Every way a request can fail in the executor, each mapped to a stable
//! acknowledgement code (`docs/protocol.md` §7).

use chimera_packets::ErrorCode;

/// Why a request did not produce an output.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// No manifest has this id.
    #[error("unknown model {0:?}")]
    UnknownModel(String),
    /// The manifest exists but the model is refused (missing file, hash
    /// mismatch, invalid manifest, failed load).
    #[error("model {model:?} is not served: {reason}")]
    ModelUnavailable { model: String, reason: String },
    /// The request's encoding is not the model's.
    #[error("model {model:?} takes {expected} input, not {got}")]
    WrongEncoding {
        model: String,
        expected: String,
        got: String,
    },
    /// Tensor dtype differs.
    #[error("model {model:?} takes dtype {expected}, not {got}")]
    WrongDType {
        model: String,
        expected: String,
        got: String,
    },
    /// Tensor shape differs.
    #[error("model {model:?} takes shape {expected:?}, not {got:?}")]
    WrongShape {
        model: String,
        expected: Vec<u32>,
        got: Vec<u32>,
    },
    /// The payload length does not match its tensor encoding.
    #[error("tensor input is {got} bytes, its shape needs {expected}")]
    WrongLength { expected: u64, got: u64 },
    /// Over the manifest's `max_bytes`.
    #[error("input is {size} bytes, more than the model's limit of {max}")]
    InputTooLarge { size: u64, max: u64 },
    /// Text input is not UTF-8.
    #[error("text input is not valid UTF-8")]
    InvalidUtf8,
    /// The input is well-formed but the model cannot take it (e.g. a
    /// diffusion prompt that is not a class, an empty prompt).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A `params.extra` key the manifest does not list, or a bad value.
    #[error("parameter {key:?}: {reason}")]
    InvalidParam { key: String, reason: String },
    /// The model produced NaN or an infinity.
    #[error("model {model:?} produced a non-finite value")]
    NonFinite { model: String },
    /// libtorch refused (shape errors inside the model, out of memory...).
    #[error("libtorch: {0}")]
    Torch(String),
    /// The queue is full: back-pressure, retry later.
    #[error("executor busy: {queued} jobs queued (capacity {capacity})")]
    Busy { queued: usize, capacity: usize },
    /// The job's deadline passed before it finished.
    #[error("deadline exceeded")]
    DeadlineExceeded,
    /// The job was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// A worker panicked while running the job (the process goes on).
    #[error("worker panicked: {0}")]
    Panicked(String),
    /// The executor is shutting down.
    #[error("executor is shut down")]
    ShutDown,
}

impl ExecError {
    /// The acknowledgement code.
    pub fn code(&self) -> ErrorCode {
        use ExecError::*;
        match self {
            UnknownModel(_) | ModelUnavailable { .. } => ErrorCode::UnknownModel,
            WrongEncoding { .. }
            | WrongDType { .. }
            | WrongShape { .. }
            | WrongLength { .. }
            | InvalidUtf8 => ErrorCode::InvalidEncoding,
            InputTooLarge { .. } => ErrorCode::InputTooLarge,
            Busy { .. } => ErrorCode::QueueFull,
            InvalidInput(_)
            | InvalidParam { .. }
            | NonFinite { .. }
            | Torch(_)
            | DeadlineExceeded
            | Cancelled
            | Panicked(_)
            | ShutDown => ErrorCode::ExecutionFailed,
        }
    }

    /// A detail fit for an error acknowledgement: built only from the request
    /// and the code, identical on every validator (libtorch texts and panic
    /// messages hold addresses and paths, so they are left out).
    pub fn ack_detail(&self) -> String {
        use ExecError::*;
        match self {
            Torch(_) => "the model failed on this input".into(),
            Panicked(_) => "the executor failed on this input".into(),
            ModelUnavailable { model, .. } => format!("model {model:?} is not served"),
            Busy { .. } => "executor queue is full".into(),
            other => other.to_string(),
        }
    }
}

impl From<tch::TchError> for ExecError {
    fn from(e: tch::TchError) -> Self {
        ExecError::Torch(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_deterministic_details() {
        assert_eq!(
            ExecError::UnknownModel("x".into()).code(),
            ErrorCode::UnknownModel
        );
        assert_eq!(ExecError::InvalidUtf8.code(), ErrorCode::InvalidEncoding);
        assert_eq!(
            ExecError::InputTooLarge { size: 3, max: 2 }.code(),
            ErrorCode::InputTooLarge
        );
        assert_eq!(
            ExecError::Busy {
                queued: 1,
                capacity: 1
            }
            .code(),
            ErrorCode::QueueFull
        );
        assert_eq!(
            ExecError::Torch("at 0x7fff".into()).code(),
            ErrorCode::ExecutionFailed
        );
        assert!(!ExecError::Torch("at 0x7fff".into()).ack_detail().contains("0x"));
        assert!(!ExecError::Busy {
            queued: 7,
            capacity: 9
        }
        .ack_detail()
        .contains('7'));
    }
}
