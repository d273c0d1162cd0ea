//! str0m asserts on some malformed SDP: an offer whose audio m-line claims a
//! video codec's payload type panics with "Pt locked multiple times" (found
//! by `fuzz/sdp`). Offers and answers come from strangers, and a panic would
//! end the worker thread with every room on it. So SDP work on a peer's `Rtc`
//! runs through `contained`: a panic becomes an `InvalidSdp` error, and the
//! caller drops that peer, whose `Rtc` may be half-changed.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::SfuError;

pub(crate) fn contained<T>(work: impl FnOnce() -> T) -> Result<T, SfuError> {
    // AssertUnwindSafe: after a panic the only state touched, the peer's
    // Rtc, is never used again (the peer is removed).
    catch_unwind(AssertUnwindSafe(work))
        .map_err(|_| SfuError::InvalidSdp("the media engine could not apply this SDP".into()))
}
