//! # zkthread-orderbook: the limit-order-book thread program (AIR and statement binding)
//!
//! The second instance of the thread-program framework (`zkthread_prover`, see
//! `docs/thread-programs.md`). This slice is the AIR in Rust with real stwo proofs: the fill
//! role ([`fill::FillRole`]), the signed place and cancel roles ([`signed`]), the program's
//! state entries ([`state`]), the witness ([`witness`]) and [`prover::OrderBookProgram`] for
//! the framework's driver (roles in proof order: fill, place, cancel; the fill's claimed sum
//! is the derived one), and the statement's storage binding ([`statement`]: the book's
//! `zkthread_prover::statement::StorageLayout` and whole-list rules, `ListRules`), through
//! which [`prover::verify`] checks a proof against the framework's `SignedPublicInput`, the
//! `(contract, key, value)` lists a registry checks against storage; and the batcher
//! ([`batcher`]: admission checks, price-time-priority matching at the maker's price, the
//! sub-block's rows, changes and statement, rematch against fresh state). The `OrderBook`
//! contract (`contracts/programs/orderbook/orderbook`) stores exactly what [`statement`] documents (both sides
//! test the same keys), and the proof codec ([`poseidon252`]: the framework's felt layout with the
//! `[owner, id]` witness). In Cairo, the statement (`contracts/programs/orderbook/orderbook_verifier`) and the
//! generated AIR classes (`contracts/programs/orderbook/orderbook_air`, `OrderBookFillAir` and `OrderBookAir`) are checked against this
//! crate, and the verifier class `OrderBookVerifier` (`contracts/programs/orderbook/orderbook_verifier`: the
//! framework's verifier core `program_verifier` over both) verifies this crate's proofs on
//! chain (`tests/e2e/orderbook_settlement.rs` settles rounds on a devnet).
//!
//! ## Model
//! - A book is a contract `B` trading a *base* token for a *quote* token, both thread-ready
//!   token contracts of the token program. Its domain is the token program's
//!   `D_book = transfer_domain(chain, registry, thread, B)`; the tokens' domains are
//!   `D_base`, `D_quote` (the same function), so a fill reads and writes exactly the
//!   `Balance(D_token, A, limbs)` tuples a transfer does for the same `balances[owner]`
//!   slots. There is no escrow: a fill moves the owners' balances directly, and fails (cannot
//!   be proven) if the seller lacks the base or the buyer the quote.
//! - Storage (keys, packings and which variable may live in which contract: [`statement`]):
//!   the tokens' `balances[owner]`; the book's `thread_keys[owner]`, `orders[(owner, id)]`,
//!   `fill_count` and its read-only configuration `base_token`, `quote_token`. A contract is
//!   a book in a statement iff both configuration slots are inputs.
//! - An order is the slot `orders[(owner, id)]` of `B`, the tuple
//!   `Order(2, D_book, A, id, side, num, den, remaining[4])` (17 of the relation's 21 values): `side` is
//!   1 (buy), 2 (sell) or 3 (cancelled), the limit price is the ratio `num / den` quote units
//!   per base unit with `num` and `den` in `1..2^14` ([`state::Price`]), `remaining` a u64 in
//!   four 16-bit limbs. The empty slot (an id never used) is `side = num = den = remaining =
//!   0`; a filled order keeps its side and price with `remaining = 0`, a cancelled one its
//!   price with `side = 3` and `remaining = 0`, so neither can be placed again nor filled.
//! - The book's fill counter is the slot `fill_count` of `B` holding a u64 `n`, the tuple
//!   `Market(3, D_book, D_base, D_quote, n - base)` (14 values), whose `D_base`, `D_quote`
//!   are the domains of the addresses in `B`'s `base_token` and `quote_token` slots (never the
//!   counter's own value), and `base` the sub-block's starting count rounded down to a
//!   multiple of `2^30` ([`state::MARKET_COUNT_MODULUS`]; the statement allows a move of
//!   `0..=2^16`). Every fill moves it `n -> n + 1`. Its job is to bind the book to its two
//!   tokens (below); the count is a by-product (a trade sequence number).
//! - **Anyone may wash-trade on any book, without funds.** A fill whose seller and buyer are
//!   one owner (or two owners trading back and forth) nets its `Balance` tuples to nothing, so
//!   it needs no balance slot in the statement: a thread of the attacker's own over `B` alone
//!   can settle fills between its own orders. It moves no one else's value, but it inflates
//!   the counter and the traded volume; so the counter has no cap (until session 26 it stopped
//!   below `p - 1`, and ~32,768 such sub-blocks could stop a book's fills for good), and
//!   volume read from `fill_count` is not evidence of trade. Nor does the AIR enforce price-time
//!   priority or the maker's price: every fill stays within both signed limits, but which
//!   crossing orders trade is the batcher's choice (treat a limit as the price you may get).
//!
//! ## The fill row ([`fill::fill_cols`], 201 columns, 64 constraints, 134 fractions in 67 pairs)
//! Columns: `enabled`; `D_book, D_base, D_quote, n`; the sell order `(A_s, id_s, ns/ds)` and
//! the buy order `(A_b, id_b, nb/db)`; the quantity `q` (4 limbs) with `inv = 1 / sum(q
//! limbs)`; the quote amount `a` (5 limbs) the buyer pays and the seller receives; the two
//! limits' gap chains (5 limbs and 5 carries each); both orders' remaining quantities
//! before, with the borrows of their subtraction; the four balances (seller base, buyer base,
//! buyer quote, seller quote) before (8 limbs), with borrows/carries, and per limb above the
//! moved amount's (base: 4..8, quote: 5..8) an inverse column (below); one low-byte column
//! per range check. No column holds a value the fill writes: each written limb is the expression
//! `old_l - amt_l - b_{l-1} + 2^16 b_l` (or `old_l + amt_l + c_{l-1} - 2^16 c_l`) of the
//! columns ([`fill::written`]), which the produced tuple and the limb's 16-bit check both
//! read (until AIR version 6 it was a column, tied to its expression by a constraint: 40
//! more columns and constraints, the same statement).
//! The amount is the batcher's choice (at the maker's price, rounded in the maker's favour:
//! [`batcher`]); the AIR asks only that it respects both limits.
//!
//! Fractions (`State`, multiplicity `-enabled` consumed, `+enabled` produced):
//! `Market(D_book, D_base, D_quote, n) -> (.., n + 1)`;
//! `Order(D_book, A_s, id_s, SELL, ns, ds, r_s) -> (.., r_s - q)`;
//! `Order(D_book, A_b, id_b, BUY, nb, db, r_b) -> (.., r_b - q)`;
//! `Balance(D_base, A_s, s) -> s - q`, `Balance(D_base, A_b, b) -> b + q`,
//! `Balance(D_quote, A_b, b') -> b' - a`, `Balance(D_quote, A_s, s') -> s' + a`.
//! The sides are constants of the fractions, not columns: a row consumes one sell and one
//! buy order or nothing balances.
//!
//! Constraints (degree <= 3): `enabled`, every borrow and carry of the subtractions/additions
//! boolean; `enabled (sum(q) inv - 1) = 0`; the seller's limit as the gap chain
//! `a_l ds - q_l ns + c_{l-1} = g_l + 2^16 c_l` and the buyer's as
//! `q_l nb - a_l db + c'_{l-1} = g'_l + 2^16 c'_l` (`l < 5`, `q_4 = 0`, `c_{-1} = 0`). The six
//! limb-wise subtractions/additions, with no borrow or carry out of the top limb, are the
//! written limbs' definitions (above), not constraints. Range checks (multiplicity
//! `enabled`, look-ups of the framework's 8-bit table, each with a low-byte column): 16-bit
//! (two look-ups, `zkthread_prover::range::split16`) of `q` (4), `a` (5), both gaps' limbs
//! (10), both new remainings (8) and the new balances' limbs the amount reaches (4 + 4 +
//! 5 + 5); narrower (three look-ups,
//! `zkthread_prover::range::split_below`) of each middle carry as `c + 2^14 < 2^15` (8:
//! `-2^14 <= c < 2^14`) and each top carry as `c_4 < 2^14` (2). Until AIR version 6 a carry
//! was checked as two 16-bit values (`c + 2^14` and `c + 2^14 + 2^15`; `c_4` and
//! `c_4 + 2^16 - 2^14`): the same bounds, with one more look-up and low-byte column each.
//! A balance's limbs above the moved amount are not range-checked: a borrow (carry) only
//! passes through them, which `fill::upper_limbs` constrains with each limb's inverse
//! column (`x_l = old_l`, or `old_l - (2^16 - 1)` for a carry; `z_l = 1 - x_l inv_l`):
//! `x_l z_l = 0`, `b_l = b_{l-1} z_l`, and `b_6 z_7 = 0` at the top; the borrows and carries
//! up to the amount's top limb are boolean constraints. Until AIR version 6 these 14 limbs
//! had 16-bit checks (two look-ups each) and their borrows boolean constraints. Padding rows
//! hold `1 / -(2^16 - 1)` in the receiving legs' inverse columns (`x_l z_l = 0` at `old_l =
//! 0`), zero elsewhere.
//!
//! ## Soundness: what a fill row cannot do
//! Invariants of every tuple in the `State` relation, by induction over producers: price parts
//! are in `1..2^14`, quantity limbs `< 2^16`, the counter `< p - 1`; balance limbs `< 2^16` on
//! every tuple that reaches the statement or a canonical tuple (below). The boundary's
//! tuples satisfy them (the layout's parsing, [`statement::unpack_order`] and the counter's
//! bound, part of binding the statement) and every
//! produced tuple either copies a consumed field or is range-checked, except a balance's
//! limbs above the moved amount, which are the consumed limb, one less or one more, or the
//! pass-through `0 <-> 2^16 - 1` (`fill::upper_limbs`, below): below `2^16` whenever the
//! consumed limb is. (Before AIR version 6 every written limb was range-checked.)
//!
//! So a non-canonical balance tuple (a limb `>= 2^16`) changes nothing the statement sees.
//! Call a limb canonical when it is below `2^16`.
//! 1. A leg that consumes a canonical tuple produces one: low limbs are range-checked, upper
//!    ones follow the cases below. (Balance tuples carry no base/quote tag, so a tuple a base
//!    leg wrote may be read by a quote leg, where its limb 4 is a low one: the step holds for
//!    either.)
//! 2. So the legs that produce a non-canonical tuple are among those that consume one. LogUp
//!    balances every tuple value (multiplicities below `p`: at most `2^16` rows), and the
//!    boundary's tuples are canonical, so both sets have as many legs: they are the same
//!    legs. No non-canonical tuple reaches an output or is read by a leg that writes a
//!    canonical one.
//! 3. Those legs form closed cycles of one `(token, account)` (a leg copies both). A limb
//!    wraps mod `p` only from non-canonical to canonical (a carry into an upper limb `p - 1`,
//!    or a low limb `>= 2^16` brought back into range), and no leg makes a canonical limb
//!    non-canonical: along a cycle the set of non-canonical limbs only shrinks, and a cycle
//!    ends where it began, so no wrap happens in it. Each leg then moves the tuple's integer
//!    value by exactly its amount, and each cycle nets zero: its account neither gains nor
//!    loses by it (as if the rows had been ordered receipt first). The statement's balances
//!    are those of canonical tuples, where the arithmetic below holds.
//!
//! Every equation below holds over the integers once it holds mod `p` (`p = 2^31 - 1`),
//! because its two sides differ by less than `p` in absolute value:
//! - limits, limb `l` of a gap chain `x_l P - y_l Q + c_{l-1} - g_l - 2^16 c_l = 0` with
//!   `x_l, y_l, g_l < 2^16`, `1 <= P, Q < 2^14` and `-2^14 <= c < 2^14` (the top carry
//!   `0 <= c_4 < 2^14`): the positive part `x_l P + c_{l-1}` is in `[-2^14, 2^30 - 2^16]`, the
//!   negative part `y_l Q + g_l + 2^16 c_l` in `[-2^30, 2^31 - 2^16 - 2^14]`, so the
//!   expression is at most `2^31 - 2^16 < p` in absolute value: 0 is its only multiple of `p`. Summing the limbs with weights `2^{16 l}` telescopes the carries:
//!   `a ds - q ns = sum g_l 2^{16 l} + c_4 2^80 >= 0` and likewise `q nb - a db >= 0`, i.e.
//!   `a / q >= ns / ds` and `a / q <= nb / db`: **the seller receives at least, and the buyer
//!   pays at most, its own limit price per unit, exactly (no rounding)**. An honest chain's
//!   carries meet the bounds: by induction `|c_l| <= (2^30 - 2^16 + 2^14) / 2^16 < 2^14`, and
//!   `c_4 = floor(gap / 2^80)` with `gap < 2^80 * 2^14`. A middle carry of `2^14` or more is
//!   refused (its shifted value is at least `2^15`), so is a negative top carry (`p - k`
//!   is not below `2^14`): a limit crossed by any amount, even one quote unit, leaves a negative
//!   gap, whose top carry is negative however the limbs are chosen (the telescoped sum is the
//!   integer identity above). With `ns, q >= 1` the seller's limit also gives `a >= 1`.
//! - subtraction `new_l = old_l - amt_l - b_{l-1} + 2^16 b_l`: with boolean borrows and
//!   `old_l, amt_l < 2^16` the expression's integer value lies in `[-2^16, 2^17)`, so its
//!   16-bit check passes only if that integer is in `0..2^16` (a negative one is `p - k`); summed with weights `2^{16 l}`,
//!   `old - amt = new` with `new >= 0` (no borrow out of the top limb). Addition likewise
//!   (`new_l = old_l + amt_l + c_{l-1} - 2^16 c_l` in `[-2^16, 2^17)`), `new < 2^128`.
//!   Above the amount's limbs: `x_l z_l = 0` makes `z_l` exactly "`x_l = 0`" (a nonzero
//!   `x_l` forces `inv_l = 1 / x_l`, so `z_l = 0`; `x_l = 0` gives `z_l = 1`), so each
//!   `b_l = b_{l-1} z_l` is boolean, and by cases on `(b_{l-1}, b_l)` the written limb
//!   `old_l - b_{l-1} + 2^16 b_l` is `old_l` (0, 0), `old_l - 1` with `old_l >= 1` (1, 0) or
//!   `2^16 - 1` with `old_l = 0` (1, 1); (0, 1) is excluded. Likewise for a carry with
//!   `2^16 - 1` for 0. With `old_l < 2^16` (the invariant) each is below `2^16` without a
//!   check, and `b_6 z_7 = 0` leaves no borrow (carry) out of the top limb: an overdraft
//!   or overflow has no row (`balances_borrow_and_carry_through_their_upper_limbs_exactly`).
//!   So **no over-fill** (`q <= r_s`, `q <= r_b`), no overdraft and no overflow.
//! - `q != 0`: `sum(q limbs) < 2^18` is nonzero as an integer iff `q` is; a row with `q = 0`
//!   has no inverse. So **a fill of a cancelled or filled order (remaining 0) is refused**
//!   (`0 - q` borrows out of the top limb), and an enabled row always makes progress.
//! - **value conserved by construction**: the same `q` columns leave the seller and reach
//!   the buyer, the same `a` columns leave the buyer and reach the seller, and both orders
//!   shrink by that `q`. Owners, ids, sides, prices and domains are the same columns in the
//!   consumed and produced tuples: nothing else changes.
//! - `Order` tuples of one slot form one path from the boundary's input to its output: a
//!   fill moves a tuple to one with `remaining` strictly smaller, a cancel from side buy,
//!   sell or cancelled on L2 to side cancelled (which nothing consumes), a place from the
//!   empty tuple, which no row produces. `remaining` never grows, so no cycle can invent an order: the output is the
//!   input (or the placed quantity) minus the sum of its fills, or cancelled. **Every row
//!   changes the tuple it consumes**, so no row's two fractions cancel each other: before AIR
//!   version 4 a cancel kept the side, and a cancel row naming any order at 0 (side and price
//!   are the prover's columns; the owner signs only the id) was such a no-op, which let a
//!   batcher settle an owner's signed cancel while her order stayed live (test
//!   `a_cancel_that_cancels_nothing_does_not_verify`).
//!
//! ## Place and cancel ([`signed`]: signed by the owner)
//! - [`signed::PlaceRole`] (43 columns): consumes the empty slot
//!   `Order(D_book, A, id, 0, 0, 0, 0)` and produces `Order(D_book, A, id, side, num, den,
//!   qty)`; constraints `enabled (side - 1) (side - 2) = 0`, `enabled (sum(qty) inv - 1) = 0`;
//!   16-bit checks of the four `qty` limbs and of `v`, `v + 2^16 - (2^14 - 1)` for `v = num - 1`
//!   and `v = den - 1` (so both are in `1..2^14`). The new tuple meets the invariants; the
//!   empty slot is consumed, so an id is placed once: a cancelled or filled order keeps its
//!   price and is never the empty tuple again.
//! - [`signed::CancelRole`] (34 columns): consumes `Order(D_book, A, id, side, num, den, r)`
//!   with `side` buy, sell or 4 (cancelled on L2) and produces
//!   `Order(D_book, A, id, 3, num, den, 0)`: a live or filled order is cancelled, a cancelled
//!   one cannot be (the batcher refuses that message). Constraint
//!   `(side - 1)(side - 2)(side - 4) = 0` on every row (padding rows carry side 1: with the
//!   `enabled` factor it would have degree 4). Side 4 is written only by the book's own L2
//!   `cancel` (which refuses a cancelled order), read only from the statement's inputs (no row
//!   produces it, and the statement accepts it only with a valid price and nothing
//!   remaining), and consumed only here: an owner who cancels on L2 while her signed cancel
//!   waits in a batcher's queue does not lose that message (AIR version 5; before it the
//!   L2 cancel wrote side 3 and the queued message was refused, its one-time key spent).
//! - Both: `key_step` on `Key(D_book, A, nonce, K)` (the owner's `thread_keys[owner]` of the book
//!   contract) and `signed_message` with the row's own fields as the four message blocks
//!   ([`signed`] gives the layout). The last message element is a type tag (3 place, 2 cancel)
//!   where a transfer message has a constant 0: a signature on one kind never verifies as
//!   another. The owner signs the order's `(id, side, num, den, qty)`, or only `id` for a cancel
//!   (whatever remains is dropped). An owner must never sign two messages with one one-time
//!   key index, across contracts too (a wallet's rule, as for transfers).
//!
//! ## Why a fill moves the book's own tokens
//! A row's `D_base`, `D_quote` are columns. Without the `Market` tuple a prover could fill a
//! victim's sell order of book `B` (paid in `B`'s quote token) by moving a worthless token
//! of its own choosing instead: the `Order` tuples only carry `D_book`. The `Market` tuple
//! carries all three domains, and its only source is the boundary, which the verifier
//! computes from the book's own storage (its configured base and quote tokens, trusted
//! input slots): each row consumes `Market(D_book, D_base, D_quote, n)` and produces `n + 1`,
//! so the rows of one book form one path from the input counter (a cycle needs `p` rows)
//! and every fill of `B` uses `B`'s true tokens. The counter's value is only `n`: the
//! statement cannot name another market for `B`, and an output writing `B`'s configuration
//! is refused ([`statement::BookRefusal::ConfigWritten`]). (A hash of the three domains in the row would need a Poseidon2
//! look-up per fill and a 124-bit output shared by attacker-chosen inputs: a birthday bound
//! of `2^62` for a book deployed at a ground address; the counter costs one written slot.)
//!
//! ## Tests
//! `tests/fills.rs` and `tests/signed_orders.rs` prove with stwo (Blake2s channel, test
//! parameters) through [`prover::prove`], the raw entry point, under the statement
//! [`statement::statement_of`] builds from the sub-block's changes, and verify through
//! [`prover::verify`] (the statement and its binding witness): honest sub-blocks verify;
//! forged rows (built or edited as a modified prover would) are refused, each beside an honest
//! counterpart that verifies through the same path, against the statement's boundary and
//! against the rows' own `State` sum (so that a refusal is the constraints' or the range
//! checks', not a mismatch with the lists). `timing_fills` (ignored) measures the settlement
//! channel at the token's `SIGNED_PARAMS`. `tests/binding.rs` proves one honest signed
//! sub-block and refuses every binding rule with its own reason (an order slot bound to
//! another owner or id, a book without its configuration, an order, counter or key slot in a
//! token, a balance in a book, a configuration output, non-canonical values), and a quote
//! token swapped in the configuration does not verify.
//!
//! `tests/codec.rs` proves one small sub-block on the settlement channel ([`poseidon252`],
//! TEST parameters): its felts round-trip and verify; an edited witness felt (an order id, an
//! owner), swapped or missing witnesses, a truncated or padded stream and an edited STARK
//! felt are each refused with a typed error. `tests/rounds.rs` (`timing_rounds`, ignored)
//! measures whole rounds: clients sign, the batcher matches, [`poseidon252`] proves at
//! `SIGNED_PARAMS` (its docs hold the table).
//!
//! ## Limits (this slice)
//! - Limit prices are ratios `num / den` with both parts in `1..2^14` (so from `1/16383` to
//!   `16383` quote units per base unit, in the tokens' own units) and quantities below `2^64`
//!   base units. A fill's amount is a whole number of quote units: at the maker's price it is
//!   rounded in the maker's favour, and two orders whose limits leave less than one quote
//!   unit between them over a fill trade only whole lots (`d / gcd(n, d)` base units) or not
//!   at all ([`batcher`], "Matching"). A per-book lot or tick size is not here.
//! - The ratio costs the verifier: the fill row went from 214 columns (integer ticks, one
//!   product) to 251 (two gap chains; 201 since AIR version 6) and 66 to 86 fraction pairs
//!   (67 since version 6); the production proof of
//!   the codec's scenario verifies in ~2.95M Cairo steps instead of ~2.69M (README).
//! - A self-trade (same owner on both sides) is not refused by the AIR: it conserves value
//!   (the owner's tuples move in a closed loop); whether to allow it is the batcher's rule.
//! - On chain, `OrderBookVerifier` reads the proof's felts ([`poseidon252`]: the binding
//!   witness first) and a registry settles them (the CLI's `zkthread order|book`, the demo and
//!   `zkthread serve` drive it through `zkthread_engine::orderbook`); a round above ~60 orders
//!   exceeds the 5,000-felt calldata goal (issue 11's compact settle ABI).
//! - Upgrading a book's thread from AIR version 1 (integer ticks) in place: version-1 order
//!   slots (`side` at bit 80) are refused by this layout (cancel them on L2 first), and a
//!   version-1 place signature never verifies as a version-2 place (its tag is 1, a
//!   version-2 place's 3: [`signed::TAG_PLACE`]).
//! - One sub-block holds at most ~524 signed messages (125 Poseidon2 rows each, the driver's
//!   2^16 rows): the batcher cuts there and defers the rest ([`batcher`], "Size"). Fill rows
//!   are not capped by the batcher (the prover refuses more than 2^16 before any work).
//! - A book is recognised by its configuration slots in the statement, so the
//!   configuration's variable names are reserved: a thread-ready contract storing nonzero
//!   `base_token` and `quote_token` is a book to this program ([`statement`], the attacker
//!   argument). A book whose configuration names another book as a token is the deployer's
//!   error, not refused.
//! - Order ids below `2^31 - 1`; `fill_count` below `2^64` (2^48 full sub-blocks).
//! - [`statement::statement_of`] builds statements for one book per sub-block.

pub mod batcher;
pub mod fill;
pub mod poseidon252;
pub mod prover;
pub mod signed;
pub mod state;
pub mod statement;
pub mod witness;

pub use batcher::{
    build, build_within, match_order, rematch, Account, Stopped, Batch, BatchError, BookState, Refused, Rejection, SignedOrder, SubBlock, Trade,
    slot_budget_below, FELTS_PER_SLOT, MAX_COMPONENT_ROWS, MIN_SLOT_BUDGET,
};
pub use fill::{fill_cols, FillRole};
pub use signed::{CancelRole, OrderMessage, PlaceRole, SignedOrderRow};
pub use prover::{prove, prove_statement, verify, OrderBookProgram, OrderBookVerifyError, ORDERBOOK_AIR_VERSION};
pub use state::{Change, Entry, OrderState, Price, PriceError};
pub use statement::{
    bound_slots, boundary, statement_of, storage_value, BookRefusal, BuildError, Directory, OrderBookStatementError,
    OrderLayout, SignedPublicInput,
};
pub use witness::{Fill, FillEffect, OrderBookWitness};
