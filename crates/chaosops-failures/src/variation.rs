//! The other wordings of the built-in types' evidence lines, used by variation `standard`
//! (docs/behaviour.md §15): each says the same thing as the reference line, in words a
//! different system (or engineer) would use.

/// (reference line, other wordings) of one failure type.
type Phrasings = &'static [(&'static str, &'static [&'static str])];

const AUTOSCALER_COST_CUT: Phrasings = &[(
    "replica pool shrank 4 -> 1 by autoscaler (cost budget policy)",
    &[
        "autoscaler scaled payments down to 1 replica: monthly cost budget exceeded",
        "cost policy applied by autoscaler: payments replicas 4 => 1",
    ],
)];
const BAD_CONFIG_PUSH: Phrasings = &[(
    "config v17.2 rolled out 48s ago; 68% of requests rejected: unknown key",
    &[
        "rejecting requests since config v17.2 rolled out: unknown key 'auth.tokens.ttl2'",
        "config reload (v17.2, rolled out 1 min ago) failed validation; most requests rejected",
    ],
)];
const CASCADE: Phrasings = &[
    (
        "connection pool near saturation (97/100)",
        &[
            "97 of 100 pooled connections busy; new transactions wait",
            "connection pool almost exhausted: 97/100 in use",
        ],
    ),
    (
        "secondary failure: heap growing after a failed remediation",
        &["heap climbing since the last remediation attempt"],
    ),
];
const DB_DEADLOCK: Phrasings = &[
    (
        "deadlock detected on txn_id=0x8f4a",
        &[
            "ERROR 40P01: deadlock detected; process 4112 waits for ShareLock on transaction 88211",
            "transaction 0x8f4a aborted: lock wait cycle detected",
        ],
    ),
    (
        "upstream DB timeout after 2000ms",
        &[
            "database call timed out (2s) while waiting for a lock",
            "query exceeded 2000ms against db; request failed",
        ],
    ),
];
const DISK_FULL: Phrasings = &[
    (
        "disk 97% full; WAL archiving stalled",
        &[
            "data volume at 97%; write-ahead log archiver cannot keep up",
            "free space 3% on /var/lib/db; WAL archive backlog growing",
        ],
    ),
    (
        "insert failed: no space left on device",
        &["could not extend file: No space left on device"],
    ),
];
const DNS_OUTAGE: Phrasings = &[
    (
        "upstream lookup failed: NXDOMAIN",
        &[
            "name resolution failed for db.internal: NXDOMAIN",
            "getaddrinfo: name or service not known (NXDOMAIN)",
        ],
    ),
    (
        "fallback resolver SERVFAIL; retry storm",
        &["secondary resolver answers SERVFAIL; clients retrying in a tight loop"],
    ),
];
const MEMORY_LEAK: Phrasings = &[(
    "heap at 1200MB, gc pause 880ms",
    &[
        "GC overhead limit approaching: heap 1.2GB, pause 0.9s",
        "resident memory 1200MB and rising; full GC took 880ms",
    ],
)];
const MISROUTED_TRAFFIC: Phrasings = &[(
    "41% of requests routed to shadow cluster payments-shadow",
    &[
        "load balancer sends 41% of payments traffic to payments-shadow",
        "upstream payments-shadow receiving 41% of live requests",
    ],
)];
const ROGUE_DEPLOY_BOT: Phrasings = &[(
    "config v22.1 pushed by deploy_bot 30s ago; 71% of txns rejected",
    &[
        "deploy_bot pushed config v22.1 half a minute ago; 71% of transactions failing",
        "71% of transactions rejected since deploy_bot's push of config v22.1",
    ],
)];

/// The other wordings of `id`'s evidence.
pub(crate) fn phrasings(id: &str) -> Phrasings {
    match id {
        "autoscaler_cost_cut" => AUTOSCALER_COST_CUT,
        "bad_config_push" => BAD_CONFIG_PUSH,
        "cascade" => CASCADE,
        "db_deadlock" => DB_DEADLOCK,
        "disk_full" => DISK_FULL,
        "dns_outage" => DNS_OUTAGE,
        "memory_leak" => MEMORY_LEAK,
        "misrouted_traffic" => MISROUTED_TRAFFIC,
        "rogue_deploy_bot" => ROGUE_DEPLOY_BOT,
        _ => &[],
    }
}
