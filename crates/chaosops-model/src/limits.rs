//! Documented input limits; anything beyond them is refused with a [`ModelError`](crate::ModelError).

/// Largest `max_steps` a scenario may ask for.
pub const MAX_STEPS: u32 = 1_000;
/// Longest `args.message`, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 2_048;
/// Longest name-like field (`target`, `args.to`, `args.agent_name`, `args.failure_type`), in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Largest magnitude of `args.replicas`.
pub const MAX_REPLICAS: i64 = 1_000;
