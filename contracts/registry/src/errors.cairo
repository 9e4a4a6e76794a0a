//! Revert reasons of the thread registry (short strings, at most 31 characters each).

// Access control.
pub const CALLER_NOT_OWNER: felt252 = 'registry: caller not owner';
pub const CALLER_NOT_ADMIN: felt252 = 'registry: caller not admin';
pub const ZERO_OWNER: felt252 = 'registry: zero owner';

// OS versions and programs.
pub const OS_VERSION_REGISTERED: felt252 = 'registry: os version registered';
pub const UNKNOWN_OS_VERSION: felt252 = 'registry: unknown os version';
pub const PROGRAM_REGISTERED: felt252 = 'registry: program registered';
pub const UNKNOWN_PROGRAM: felt252 = 'registry: unknown program';
pub const OS_VERSION_NOT_NEWER: felt252 = 'registry: os version not newer';

// Thread creation.
pub const EMPTY_CONTRACT_SET: felt252 = 'registry: empty contract set';
pub const ZERO_CONTRACT: felt252 = 'registry: zero contract';
pub const CONTRACTS_UNSORTED: felt252 = 'registry: contracts unsorted';
pub const ZERO_ADMIN: felt252 = 'registry: zero admin';
pub const PROGRAM_NOT_ACCEPTED: felt252 = 'registry: program not accepted';
/// A member accepts the program only beside listed peers, and another member is not one
/// (creation and upgrade alike).
pub const PEER_NOT_ACCEPTED: felt252 = 'registry: peer not accepted';

// Thread upgrade.
pub const UPGRADE_NOT_ACCEPTED: felt252 = 'registry: upgrade not accepted';

/// Any state-changing call (registration, thread creation or administration) made while a
/// settlement runs, i.e. by a contract the registry called in `settle`.
pub const SETTLE_IN_PROGRESS: felt252 = 'registry: settle in progress';

// Settlement, in the order the checks run.
pub const REENTRANT_SETTLE: felt252 = 'registry: reentrant settle';
pub const UNKNOWN_THREAD: felt252 = 'registry: unknown thread';
pub const THREAD_INACTIVE: felt252 = 'registry: thread inactive';
pub const PROVER_NOT_ALLOWED: felt252 = 'registry: prover not allowed';
pub const WRONG_SEQUENCE: felt252 = 'registry: wrong sequence';
pub const UNSORTED_SLOTS: felt252 = 'registry: unsorted slots';
pub const CONTRACT_NOT_IN_SET: felt252 = 'registry: contract not in set';
pub const BAD_SLOT_REPLY: felt252 = 'registry: bad slot reply';
pub const INVALID_PROOF: felt252 = 'registry: invalid proof';
/// Checked contract by contract right before its outputs are written, after the proof.
pub const STALE_INPUT: felt252 = 'registry: stale input';
