//! Writes the generated Cairo AIR evaluation, parameter constants and test vectors (see the
//! library docs).

fn main() -> anyhow::Result<()> {
    use zkthread_air_codegen as gen;
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `--measure-signed PATH [TRANSFERS]` / `--measure-list PATH [TRANSFERS]` /
    // `--measure-orderbook PATH`: the signed (list, order-book) proof vector's scenario proven
    // under the shipped SIGNED_PARAMS, to swap in for the committed light-parameter vector and
    // profile the Cairo verifier at production cost (scripts/profile-verifier.sh does it);
    // TRANSFERS proves that many transfers from one sender instead, a taller trace.
    let measured = match args.as_slice() {
        [flag, path] if flag == "--measure-orderbook" => Some((flag, path, None)),
        [flag, path] if flag == "--measure-list" => Some((flag, path, None)),
        [flag, path, n] if flag == "--measure-list" => Some((flag, path, Some(n))),
        [flag, path] if flag == "--measure-signed" => Some((flag, path, None)),
        [flag, path, n] if flag == "--measure-signed" => Some((flag, path, Some(n))),
        [_, _] => anyhow::bail!(
            "usage: zkthread-air-codegen [--measure-signed PATH [TRANSFERS] | --measure-list PATH [TRANSFERS] | --measure-orderbook PATH]"
        ),
        _ => None,
    };
    if let Some((flag, path, transfers)) = measured {
        let params = measure_params()?;
        let count = |n: &String| -> anyhow::Result<u32> {
            let n: u32 = n.parse().map_err(|e| anyhow::anyhow!("transfer count {n}: {e}"))?;
            anyhow::ensure!(n >= 1, "transfer count must be at least 1");
            Ok(n)
        };
        let module = if flag == "--measure-orderbook" {
            gen::orderbook_proof_vector::render_orderbook_proof_vector_with(&params)
        } else if flag == "--measure-list" {
            let transfers = transfers.map(count).transpose()?;
            let committed = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?;
            gen::list_proof_vector::render_list_proof_vector_measured(&params, transfers, &committed)
        } else {
            let transfers = transfers.map(count).transpose()?.unwrap_or(2);
            gen::signed_proof_vector::render_signed_proof_vector_with(&params, transfers)
        }
        .map_err(anyhow::Error::msg)?;
        std::fs::write(path, module)?;
        println!("{path}");
        return Ok(());
    }
    if let [flag, n, path] = args.as_slice() {
        // `--measure N PATH`: a DEFAULT-params proof of N transfers as a Cairo vector module.
        anyhow::ensure!(
            flag == "--measure",
            "usage: zkthread-air-codegen [--measure N PATH]"
        );
        let n: usize = n
            .parse()
            .map_err(|e| anyhow::anyhow!("transfer count {n}: {e}"))?;
        std::fs::write(path, gen::proof_vector::render_measure_vector(n)?)?;
        println!("{path}");
        return Ok(());
    }
    let signed = [
        (
            gen::signed::signed_air_path(),
            gen::signed::render_signed_air()?,
        ),
        (
            gen::signed::signed_poseidon2_path(),
            gen::signed::render_signed_poseidon2()?,
        ),
        (
            gen::signed::signed_vectors_path(),
            gen::signed_vectors::render_signed_vectors(),
        ),
        (
            gen::signed_statement_vectors::signed_statement_vectors_path(),
            gen::signed_statement_vectors::render_signed_statement_vectors(),
        ),
        (
            gen::orderbook_statement_vectors::orderbook_statement_vectors_path(),
            gen::orderbook_statement_vectors::render_orderbook_statement_vectors(),
        ),
        (
            gen::signed_proof_vector::signed_proof_vector_path(),
            gen::signed_proof_vector::render_signed_proof_vector().map_err(anyhow::Error::msg)?,
        ),
        (
            gen::signed_params::signed_params_path(),
            gen::signed_params::render_signed_params(),
        ),
    ];
    let orderbook = [
        (gen::orderbook::orderbook_air_path(), gen::orderbook::render_orderbook_air()?),
        (gen::orderbook::orderbook_vectors_path(), gen::orderbook_vectors::render_orderbook_vectors()),
        (gen::signed_params::orderbook_params_path(), gen::signed_params::render_orderbook_params()),
        (
            gen::orderbook_proof_vector::orderbook_proof_vector_path(),
            gen::orderbook_proof_vector::render_orderbook_proof_vector().map_err(anyhow::Error::msg)?,
        ),
    ];
    let list = [
        (gen::signed_list::list_air_path(), gen::signed_list::render_list_air()?),
        (gen::signed_list::list_vectors_path(), gen::signed_list::render_list_vectors()),
        (gen::signed_params::list_params_path(), gen::signed_params::render_list_params()),
        (
            gen::list_proof_vector::list_proof_vector_path(),
            gen::list_proof_vector::render_list_proof_vector().map_err(anyhow::Error::msg)?,
        ),
    ];
    if args.as_slice() == ["--list"] {
        // Only the token list program's files (contracts/programs/token/list_air).
        return write_files(list);
    }
    if args.as_slice() == ["--orderbook"] {
        // Only the order book's files (contracts/programs/orderbook/orderbook_air, the verifier's parameters and
        // proof vector in contracts/programs/orderbook/orderbook_verifier).
        return write_files(orderbook);
    }
    if args.as_slice() == ["--signed"] {
        // Only the signed AIR's files (contracts/programs/token/signed_air).
        return write_files(signed);
    }
    anyhow::ensure!(
        args.is_empty(),
        "usage: zkthread-air-codegen [--signed | --list | --orderbook | --measure N PATH | --measure-signed PATH [TRANSFERS] | --measure-list PATH [TRANSFERS] | --measure-orderbook PATH] (ZKTHREAD_MEASURE_PARAMS=b,q,pow for the --measure-* vectors)"
    );
    let files = [
        (gen::air_path(), gen::render_air()?),
        (gen::vectors_path(), gen::vectors::render_vectors()),
        (gen::params_path(), gen::proof_vector::render_params()),
        (
            gen::proof_vector_path(),
            gen::proof_vector::render_proof_vector()?,
        ),
        (
            gen::default_proof_vector_path(),
            gen::proof_vector::render_default_proof_vector()?,
        ),
    ];
    write_files(files)?;
    write_files(signed)?;
    write_files(list)?;
    write_files(orderbook)
}

fn write_files<const N: usize>(files: [(std::path::PathBuf, String); N]) -> anyhow::Result<()> {
    for (path, text) in files {
        std::fs::write(&path, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}

/// `ZKTHREAD_MEASURE_PARAMS=log_blowup,queries,pow_bits`: a measured vector proven under other
/// parameters of at least 96 bits (what a parameter choice costs the verifier; the shipped
/// classes accept only SIGNED_PARAMS, a vector's `test_params` are its own); SIGNED_PARAMS
/// without it.
fn measure_params() -> anyhow::Result<zkthread_prover::StarkParams> {
    let Ok(text) = std::env::var("ZKTHREAD_MEASURE_PARAMS") else {
        return Ok(zkthread_token::SIGNED_PARAMS);
    };
    let values: Vec<u32> = text
        .split(',')
        .map(|x| x.trim().parse().map_err(|e| anyhow::anyhow!("ZKTHREAD_MEASURE_PARAMS {text}: {e}")))
        .collect::<anyhow::Result<_>>()?;
    let [log_blowup, n_queries, pow_bits] = values[..] else {
        anyhow::bail!("ZKTHREAD_MEASURE_PARAMS must be log_blowup,queries,pow_bits, not {text}");
    };
    let params = zkthread_prover::StarkParams { log_blowup, n_queries, pow_bits, ..zkthread_token::SIGNED_PARAMS };
    anyhow::ensure!(params.security_bits() >= 96, "ZKTHREAD_MEASURE_PARAMS {text} is below 96 bits");
    Ok(params)
}
