//! The one error type of the catalog. Each variant has a stable code; every face renders
//! it in its own envelope. `Internal` carries detail for the log only, never for a body.

/// Catalog result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A parameter has the wrong type, an unknown word, or is out of range.
    #[error("{0}")]
    InvalidArgument(String),
    /// A required parameter is missing.
    #[error("{0}")]
    MissingArgument(String),
    /// The request body is not parseable (bad JSON, bad UTF-8).
    #[error("{0}")]
    MalformedBody(String),
    /// The body is larger than the server accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body's media type is not one the route accepts.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A sort key the list does not support.
    #[error("{0}")]
    UnsupportedSortKey(String),
    /// A record with the same unique key exists (e.g. namespace/name:tag in a project).
    #[error("{0}")]
    Duplicate(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// What the request worked on went away while it ran (an image deleted during its upload).
    #[error("{0}")]
    Gone(String),
    /// The part of the data asked for is not in it (a byte range past its end).
    #[error("{0}")]
    RangeNotSatisfiable(String),
    /// No credentials were presented.
    #[error("no credentials were supplied")]
    Unauthenticated,
    /// Credentials were presented but are not valid.
    #[error("{0}")]
    InvalidCredential(String),
    /// The credentials were valid once and have expired.
    #[error("{0}")]
    CredentialExpired(String),
    /// A request signature (access key) does not verify.
    #[error("{0}")]
    SignatureInvalid(String),
    /// The project named in the request is not the caller's.
    #[error("{0}")]
    ProjectMismatch(String),
    /// The caller may see the object but not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// Unknown, or not visible to the caller (the two are indistinguishable on purpose).
    #[error("{0}")]
    NotFound(String),
    /// A dependency (the database) is overloaded or down; try again.
    #[error("the service is temporarily unavailable, retry later")]
    Unavailable(String),
    /// A bug or an unexpected failure. The text is for the log.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    /// Stable machine-readable code (what the `code→status` tables key on).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "invalid_argument",
            Error::MissingArgument(_) => "missing_argument",
            Error::MalformedBody(_) => "malformed_body",
            Error::PayloadTooLarge(_) => "payload_too_large",
            Error::UnsupportedMediaType(_) => "unsupported_media_type",
            Error::UnsupportedSortKey(_) => "unsupported_sort_key",
            Error::Duplicate(_) => "duplicate",
            Error::Conflict(_) => "conflict",
            Error::Gone(_) => "gone",
            Error::RangeNotSatisfiable(_) => "range_not_satisfiable",
            Error::Unauthenticated => "unauthenticated",
            Error::InvalidCredential(_) => "invalid_credential",
            Error::CredentialExpired(_) => "credential_expired",
            Error::SignatureInvalid(_) => "signature_invalid",
            Error::ProjectMismatch(_) => "project_mismatch",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// Whether this is a server-side failure (logged as an error, never explained to the client).
    pub fn is_server_error(&self) -> bool {
        matches!(self, Error::Unavailable(_) | Error::Internal(_))
    }

    /// Text for the log: includes the internal detail of server-side errors.
    pub fn log_detail(&self) -> String {
        match self {
            Error::Unavailable(d) | Error::Internal(d) => format!("{}: {d}", self.code()),
            other => format!("{}: {other}", other.code()),
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    pub fn missing(name: &str) -> Self {
        Error::MissingArgument(format!("{name} is required"))
    }

    pub fn not_found_image(id: impl std::fmt::Display) -> Self {
        Error::NotFound(format!("No image found with ID {id}"))
    }
}
