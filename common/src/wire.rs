//! The wire contract's rules beside the messages themselves (`proto`): how big a message may
//! be, how a token travels and is checked, and how a coordinator hands its local workers
//! theirs. Workers, clients and the coordinator all take these from here, so the two ends of a
//! stream cannot drift apart.

use crate::Secret;
use subtle::ConstantTimeEq;
use tonic::metadata::{Ascii, MetadataMap, MetadataValue};
use tonic::service::Interceptor;

/// Largest message either end accepts. Outputs travel in 256 KiB chunks, and an assignment of
/// 10,000 hosts is about 1 MiB: the limit only stops a peer that has gone wrong.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The cap on one command's output for a job that names none (`max_output_bytes == 0`): the
/// default of the coordinator's `--max-output`, so a job means one limit wherever it runs. The
/// coordinator always sends its limit; 0 only comes from callers of the worker's library.
pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = 256 * 1024 * 1024;

/// The most of one host's session transcript (`--session-log`) a worker keeps and sends; past it
/// the worker ends the transcript with one line saying it was cut.
pub const MAX_TRANSCRIPT_BYTES: usize = 64 * 1024 * 1024;

/// Environment variable through which a coordinator hands its local children their token, so
/// the token never appears in a process listing.
pub const TOKEN_ENV: &str = "FANOUT_WORKER_TOKEN";

/// The metadata key every call's token travels in, as `Bearer <token>`.
const AUTHORIZATION: &str = "authorization";

/// Adds the token (from [`crate::channel::authorization`]) to every call of a client; without
/// one, calls go out bare (a coordinator behind mTLS only).
#[derive(Clone, Debug, Default)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    pub fn new(value: Option<MetadataValue<Ascii>>) -> Self {
        Self(value)
    }
}

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert(AUTHORIZATION, value.clone());
        }
        Ok(request)
    }
}

/// Checks a call's `Bearer` token against the expected one in constant time; `None` expects
/// none (a coordinator behind mTLS only) and accepts every call.
pub fn check_token(expected: Option<&Secret>, metadata: &MetadataMap) -> Result<(), tonic::Status> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let presented = metadata
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(presented.as_bytes().ct_eq(expected.expose().as_bytes())) {
        Ok(())
    } else {
        Err(tonic::Status::unauthenticated("missing or wrong token"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::{Remote, authorization};

    /// What a client's interceptor sends is what the server's check accepts, and nothing else.
    #[test]
    fn the_token_a_client_sends_is_the_one_the_server_checks() {
        let token = "0123456789abcdef0123456789abcdef";
        let remote = Remote {
            url: "http://127.0.0.1:7443".into(),
            token: Some(Secret::new(token.to_string())),
            ..Default::default()
        };
        let mut bearer = Bearer::new(authorization(&remote).unwrap());
        let sent = bearer.call(tonic::Request::new(())).unwrap();
        let expected = Secret::new(token.to_string());
        assert!(check_token(Some(&expected), sent.metadata()).is_ok());

        let other = Secret::new("fedcba9876543210fedcba9876543210".to_string());
        let refused = check_token(Some(&other), sent.metadata()).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
        let bare = Bearer::default().call(tonic::Request::new(())).unwrap();
        assert!(check_token(Some(&expected), bare.metadata()).is_err());
        assert!(
            check_token(None, bare.metadata()).is_ok(),
            "no token expected"
        );
    }
}
