//! The open set of failure-type ids.

use std::borrow::{Borrow, Cow};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Identifies a failure type. The set is open: plugins register new ids, so this is
/// a string newtype; the built-in ids are associated constants.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FailureId(Cow<'static, str>);

impl FailureId {
    /// Database transactions deadlock.
    pub const DB_DEADLOCK: FailureId = FailureId::from_static("db_deadlock");
    /// Notifications leaks memory.
    pub const MEMORY_LEAK: FailureId = FailureId::from_static("memory_leak");
    /// A bad configuration reaches auth.
    pub const BAD_CONFIG_PUSH: FailureId = FailureId::from_static("bad_config_push");
    /// The autoscaler cuts payments to save cost (rogue).
    pub const AUTOSCALER_COST_CUT: FailureId = FailureId::from_static("autoscaler_cost_cut");
    /// The load balancer routes payments to a shadow cluster (rogue).
    pub const MISROUTED_TRAFFIC: FailureId = FailureId::from_static("misrouted_traffic");
    /// A database deadlock that spreads to notifications after a wrong fix.
    pub const CASCADE: FailureId = FailureId::from_static("cascade");
    /// Name resolution fails for auth and payments.
    pub const DNS_OUTAGE: FailureId = FailureId::from_static("dns_outage");
    /// The database's disk fills up.
    pub const DISK_FULL: FailureId = FailureId::from_static("disk_full");
    /// The deploy bot pushes a bad config to payments (rogue).
    pub const ROGUE_DEPLOY_BOT: FailureId = FailureId::from_static("rogue_deploy_bot");

    /// An id from a static string, without allocating.
    pub const fn from_static(id: &'static str) -> Self {
        FailureId(Cow::Borrowed(id))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for FailureId {
    fn from(s: String) -> Self {
        FailureId(Cow::Owned(s))
    }
}

impl From<&'static str> for FailureId {
    fn from(s: &'static str) -> Self {
        FailureId::from_static(s)
    }
}

impl Borrow<str> for FailureId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for FailureId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for FailureId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for FailureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for FailureId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for FailureId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(FailureId::from)
    }
}
