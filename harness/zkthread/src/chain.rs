//! Reaching a node (`--rpc-url` + an account from flags or environment), finding the
//! repository's contracts, and deploying the registry and a thread-ready token.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use zkthread_cairo_build::{build_contracts_with, BuildOptions, ContractArtifact, Rebuild};
use zkthread_client::registry::Registry;
use zkthread_client::token::{Token, TokenConfig};
use zkthread_client::{ChainClient, ChainReader, Felt, Url};
use zkthread_service::wire::felt_from_text;

/// Cairo packages and contracts the CLI deploys.
pub const REGISTRY: (&str, &str) = ("registry", "ThreadRegistry");
pub const TOKEN: (&str, &str) = ("token", "ThreadToken");

/// A node and the account that signs.
#[derive(Args, Clone, Debug)]
pub struct ChainArgs {
    /// JSON-RPC URL of the node (e.g. the one `zkthread devnet` prints).
    #[arg(long, env = "ZKTHREAD_RPC_URL")]
    pub rpc_url: Option<String>,
    /// Address of the account that signs and pays.
    #[arg(long, env = "ZKTHREAD_ACCOUNT_ADDRESS")]
    pub account_address: Option<String>,
    /// Private key of that account.
    #[arg(long, env = "ZKTHREAD_PRIVATE_KEY", hide_env_values = true)]
    pub private_key: Option<String>,
}

impl ChainArgs {
    fn url(&self) -> Result<Url> {
        let url = self.rpc_url.as_deref().ok_or_else(|| {
            anyhow!(
                "no node: pass --rpc-url or set ZKTHREAD_RPC_URL (`zkthread devnet` starts one)"
            )
        })?;
        Url::parse(url).with_context(|| format!("invalid --rpc-url {url:?}"))
    }

    /// Connects to the node to read only (no account or key needed).
    pub async fn connect_read_only(&self) -> Result<ChainReader> {
        let url = self.url()?;
        ChainReader::connect(url.clone())
            .await
            .with_context(|| format!("cannot reach the node at {url}"))
    }

    /// The account address if one was given (reading needs no key).
    pub fn account_address(&self) -> Result<Option<Felt>> {
        self.account_address
            .as_deref()
            .map(|address| parse_felt("--account-address", address))
            .transpose()
    }

    /// Connects to the node with the account that signs (asks the node for the chain id).
    pub async fn connect(&self) -> Result<ChainClient> {
        let url = self.url()?;
        let address = self.account_address.as_deref().ok_or_else(|| {
            anyhow!("no account: pass --account-address or set ZKTHREAD_ACCOUNT_ADDRESS")
        })?;
        let key = self.private_key.as_deref().ok_or_else(|| {
            anyhow!("no private key: pass --private-key or set ZKTHREAD_PRIVATE_KEY")
        })?;
        let address = parse_felt("--account-address", address)?;
        let key = parse_felt("--private-key", key)?;
        ChainClient::connect(url.clone(), address, key)
            .await
            .with_context(|| format!("cannot reach the node at {url}"))
    }
}

/// A felt from `0x...` hex or a decimal string, refused unless it names a number below the
/// field prime exactly (the service's rule, `felt_from_text`: no silent reduction modulo p).
pub fn parse_felt(what: &str, text: &str) -> Result<Felt> {
    felt_from_text(text).ok_or_else(|| anyhow!("{what}: {:?} is not a felt (0x-hex or decimal, below the field prime)", text.trim()))
}

/// For clap: `--flag 0x...`.
pub fn felt_arg(text: &str) -> Result<Felt, String> {
    parse_felt("value", text).map_err(|error| error.to_string())
}

/// The repository root: `--repo`, else the nearest ancestor of the working directory whose
/// `Scarb.toml` is a workspace with `contracts/`, else the source tree this binary was built from.
pub fn repo_root(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if is_repo(path) {
            return Ok(path.to_owned());
        }
        bail!(
            "{} is not a zkthreads repository (no Scarb.toml and contracts/)",
            path.display()
        );
    }
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(found) = cwd.ancestors().find(|dir| is_repo(dir)) {
            return Ok(found.to_owned());
        }
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if is_repo(&built_from) {
        return Ok(built_from.canonicalize().unwrap_or(built_from));
    }
    bail!("cannot find the zkthreads repository (run inside it or pass --repo)")
}

fn is_repo(dir: &Path) -> bool {
    dir.join("Scarb.toml").is_file() && dir.join("contracts").is_dir()
}

/// Compiles the registry, token and `verifier` packages, and the packages of the classes the
/// verifier library-calls (the Cairo front-end only when a source changed); fails if the
/// verifier's source names another class hash than a library class built here (a stale
/// generated constant: the verifier would call a class nobody declares).
pub fn build_contracts(repo: &Path, verifier: (&str, &str)) -> Result<Vec<ContractArtifact>> {
    build_contracts_with_packages(repo, verifier, &[])
}

/// [`build_contracts`] plus the packages `extra` (e.g. the order book's contract).
pub fn build_contracts_with_packages(
    repo: &Path,
    verifier: (&str, &str),
    extra: &[&str],
) -> Result<Vec<ContractArtifact>> {
    build_verifiers(repo, &[verifier], extra)
}

/// [`build_contracts`] for several verifiers at once, plus the packages `extra`. A token
/// program's verifier must build as the class hash the engine tells its threads by
/// (`TokenProgram::program_hash`): a stale pin would refuse every thread of it.
pub fn build_verifiers(repo: &Path, verifiers: &[(&str, &str)], extra: &[&str]) -> Result<Vec<ContractArtifact>> {
    let mut packages: Vec<String> = [REGISTRY.0, TOKEN.0].map(String::from).to_vec();
    packages.extend(extra.iter().map(|p| p.to_string()));
    for verifier in verifiers {
        let libraries = zkthread_engine::program::libraries_of(*verifier);
        packages.extend(libraries.iter().map(|library| library.class.0.to_string()));
        packages.push(verifier.0.to_string());
    }
    let options = BuildOptions {
        rebuild: Rebuild::IfStale,
        packages,
    };
    let artifacts = build_contracts_with(repo, &options).context("building the Cairo contracts")?;
    for verifier in verifiers {
        for library in zkthread_engine::program::libraries_of(*verifier) {
            check_named_hash(repo, &artifacts, library)?;
        }
        // The class hash the engine tells the program's threads by (`serve`, `Market::open`):
        // a verifier deployed under another one would make threads nothing here proves.
        let pinned = match zkthread_engine::program::TokenProgram::ALL.into_iter().find(|p| p.verifier() == *verifier) {
            Some(program) => Some((program.to_string(), program.program_hash())),
            None if *verifier == zkthread_engine::orderbook::ORDERBOOK_VERIFIER => {
                Some(("order-book".to_owned(), zkthread_engine::orderbook::ORDERBOOK_PROGRAM_HASH))
            }
            None => None,
        };
        if let Some((program, pin)) = pinned {
            let built = find(&artifacts, *verifier)?.class_hash;
            if built != pin {
                bail!(
                    "{} builds as class {built:#x} but the engine pins the {program} program as {pin:#x} \
                     (harness/engine/src/generated_verifier_classes.rs): regenerate it with \
                     `ZKTHREAD_WRITE_VERIFIER_CLASSES=1 cargo test -p zkthread-air-codegen --test signed_verifier_size --test list_classes --test orderbook_air_size`",
                    verifier.1,
                );
            }
        }
    }
    Ok(artifacts)
}

/// The class hash `library.named_in` names as `library.constant` is the built class's.
fn check_named_hash(
    repo: &Path,
    artifacts: &[ContractArtifact],
    library: &zkthread_engine::program::LibraryClass,
) -> Result<()> {
    let built = find(artifacts, library.class)?;
    let path = repo.join(library.named_in);
    let source = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {}", path.display()))?;
    let named = zkthread_engine::program::named_class_hash(&source, library.constant)
        .ok_or_else(|| anyhow!("{} names no class hash {}", path.display(), library.constant))?;
    if named != built.class_hash {
        bail!(
            "{} names class {named:#x} as {} but {} builds as {:#x}: regenerate it with \
             the freshness test of that file in harness/air-codegen (e.g. \
             `ZKTHREAD_WRITE_SIGNED_AIR_CLASS=1 cargo test -p zkthread-air-codegen --test signed_air_class_fresh`)",
            library.named_in,
            library.constant,
            built.id(),
            built.class_hash
        );
    }
    Ok(())
}

pub fn find<'a>(
    artifacts: &'a [ContractArtifact],
    which: (&str, &str),
) -> Result<&'a ContractArtifact> {
    artifacts
        .iter()
        .find(|a| a.package == which.0 && a.contract == which.1)
        .ok_or_else(|| anyhow!("the build produced no {}_{}", which.0, which.1))
}

/// Addresses and hashes of a deployment.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub registry: Registry,
    pub token: Token,
    pub registry_class: Felt,
    pub token_class: Felt,
    /// STRK (FRI) spent on declares and deploys.
    pub fees: u128,
}

/// Declares the registry and token classes (unless declared) and deploys a registry owned by
/// the client's account and a token whose whole `supply` goes to `holder`. The token accepts
/// the thread programs `programs` (declare their verifier classes first), and the client's
/// account is its thread owner (it may accept or revoke programs later).
pub async fn deploy_registry_and_token(
    client: &ChainClient,
    artifacts: &[ContractArtifact],
    holder: Felt,
    supply: u128,
    salt: Felt,
    programs: &[Felt],
) -> Result<Deployment> {
    let registry_artifact = find(artifacts, REGISTRY)?;
    let token_artifact = find(artifacts, TOKEN)?;
    let mut fees = 0u128;
    for artifact in [registry_artifact, token_artifact] {
        let declared = client
            .declare(artifact)
            .await
            .with_context(|| format!("declaring {}", artifact.id()))?;
        fees += declared.outcome.map_or(0, |o| o.actual_fee);
    }
    let (registry, deployed) =
        Registry::deploy(client, registry_artifact.class_hash, client.address(), salt)
            .await
            .context("deploying the registry")?;
    fees += deployed.outcome.actual_fee;
    let config = TokenConfig {
        registry: registry.address,
        owner: client.address(),
        programs: programs.to_vec(),
        name: "Thread Token".into(),
        symbol: "THR".into(),
        initial_holder: holder,
        supply,
    };
    let (token, deployed) = Token::deploy(client, token_artifact.class_hash, &config, salt)
        .await
        .context("deploying the token")?;
    fees += deployed.outcome.actual_fee;
    Ok(Deployment {
        registry,
        token,
        registry_class: registry_artifact.class_hash,
        token_class: token_artifact.class_hash,
        fees,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn felts_parse_from_hex_and_decimal_only() {
        assert_eq!(parse_felt("x", "0x10").unwrap(), Felt::from(16u8));
        assert_eq!(parse_felt("x", "16").unwrap(), Felt::from(16u8));
        assert!(parse_felt("x", "0x").is_err());
        assert!(parse_felt("x", "0xzz").is_err());
        assert!(parse_felt("x", "ten").is_err());
        assert!(parse_felt("x", "").is_err());
        // At or past the prime: refused, never reduced (p + 4 is not address 4).
        let p = "0x800000000000011000000000000000000000000000000000000000000000001";
        assert!(parse_felt("x", p).is_err());
        assert!(parse_felt("x", "3618502788666131213697322783095070105623107215331596699973092056135872020485").is_err());
        assert_eq!(parse_felt("x", "0x800000000000011000000000000000000000000000000000000000000000000").unwrap(), Felt::MAX);
    }
}
