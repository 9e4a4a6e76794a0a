//! `test`: compiles a package's `#[test]` functions with the test and starknet plugins (so tests
//! can deploy the package's contracts through `TEST_CLASS_HASH`) and runs them.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use cairo_lang_compiler::diagnostics::DiagnosticsReporter;
use cairo_lang_runner::casm_run::format_next_item;
use cairo_lang_runner::{ProfilingInfoCollectionConfig, RunResultValue, SierraCasmRunner};
use cairo_lang_sierra_to_casm::metadata::MetadataComputationConfig;
use cairo_lang_test_plugin::test_config::{PanicExpectation, TestExpectation};
use cairo_lang_test_plugin::{TestConfig, TestsCompilationConfig, compile_test_prepared_db};
use starknet_types_core::felt::Felt;

use crate::manifest::Workspace;
use crate::profile::{
    inclusive_weights, libfunc_weights, render, render_resources, uses_range_checks, ProfileOptions,
};
use crate::unit::{Unit, UnitKind};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub ignored: usize,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
    }
}

enum Outcome {
    Passed,
    Failed(String),
    Ignored,
}

/// Formats panic data the way cairo-test does: short strings quoted, felts in hex.
fn describe_panic(values: &[Felt]) -> String {
    let mut felts = values.to_vec().into_iter();
    let mut items = Vec::new();
    while let Some(item) = format_next_item(&mut felts) {
        items.push(item.quote_if_string());
    }
    match &items[..] {
        [one] => one.clone(),
        _ => format!("({})", items.join(", ")),
    }
}

fn judge(expectation: &TestExpectation, value: &RunResultValue) -> Outcome {
    match (value, expectation) {
        (RunResultValue::Success(_), TestExpectation::Success) => Outcome::Passed,
        (RunResultValue::Success(_), TestExpectation::Panics(_)) => {
            Outcome::Failed("expected a panic but the test finished successfully".into())
        }
        (RunResultValue::Panic(data), TestExpectation::Success) => {
            Outcome::Failed(format!("panicked with {}", describe_panic(data)))
        }
        (RunResultValue::Panic(data), TestExpectation::Panics(PanicExpectation::Exact(want)))
            if data != want =>
        {
            Outcome::Failed(format!(
                "panicked with {} but expected {}",
                describe_panic(data),
                describe_panic(want)
            ))
        }
        (RunResultValue::Panic(_), TestExpectation::Panics(_)) => Outcome::Passed,
    }
}

/// Runs the tests of every workspace member (or only `only`) whose name contains `filter`.
pub fn test_workspace(
    workspace: &Workspace,
    corelib_src: &Path,
    only: Option<&str>,
    filter: &str,
    profile: Option<ProfileOptions>,
) -> Result<Tally> {
    if let Some(only) = only {
        anyhow::ensure!(
            workspace.members.iter().any(|m| m == only),
            "no package named `{only}` in this workspace"
        );
    }
    let mut total = Tally::default();
    for name in &workspace.members {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        // A package whose tests do not compile counts as one failure; the others still run.
        match test_package(workspace, name, corelib_src, filter, profile) {
            Ok(tally) => total.add(tally),
            Err(err) => {
                println!("error: {err:#}");
                total.failed += 1;
            }
        }
    }
    Ok(total)
}

fn test_package(
    workspace: &Workspace,
    name: &str,
    corelib_src: &Path,
    filter: &str,
    profile: Option<ProfileOptions>,
) -> Result<Tally> {
    let started = std::time::Instant::now();
    let unit = Unit::new(workspace, name, UnitKind::Test, corelib_src)?;
    let config = TestsCompilationConfig {
        starknet: true,
        contract_declarations: None,
        // Tests may deploy contracts of their own package and of its dependencies.
        contract_crate_ids: Some(unit.crates.clone()),
        executable_crate_ids: None,
        add_statements_functions: false,
        add_statements_code_locations: false,
    };
    let reporter = DiagnosticsReporter::stderr().with_crates(&unit.crates).allow_warnings();
    let compiled = compile_test_prepared_db(&unit.db, config, vec![unit.main_crate], reporter)
        .map_err(|err| anyhow::anyhow!("could not compile the tests of `{name}`: {err}"))?;
    let compile_secs = started.elapsed().as_secs_f64();

    let tests: Vec<(String, TestConfig)> = compiled
        .metadata
        .named_tests
        .into_iter()
        .filter(|(test_name, _)| test_name.contains(filter))
        .collect();
    println!("running {} test(s) of package {name} (compiled in {compile_secs:.1}s)", tests.len());
    if tests.is_empty() {
        return Ok(Tally::default());
    }
    let program = compiled.sierra_program.program;
    let runner = SierraCasmRunner::new(
        program.clone(),
        Some(MetadataComputationConfig {
            function_set_costs: compiled.metadata.function_set_costs,
            linear_gas_solver: true,
            linear_ap_change_solver: true,
            skip_non_linear_solver_comparisons: false,
            compute_runtime_costs: false,
        }),
        compiled.metadata.contracts_info,
        // Deep enough that every phase of a verifier is its own path; deeper frames fold in.
        profile.map(|_| {
            let mut config = ProfilingInfoCollectionConfig::default();
            config.set_max_stack_trace_depth(64);
            config
        }),
    )
    .with_context(|| format!("could not set up the runner for `{name}`"))?;
    if let Some(opts) = profile.filter(|o| o.top_functions > 0) {
        // Where the bytecode goes: every function of the test program, largest first.
        let sizes = crate::profile::casm_sizes(&program, runner.get_casm_program());
        let total: usize = sizes.iter().map(|(_, n)| n).sum();
        println!("CASM felts of the test program: {total}; largest functions:");
        for (function, felts) in sizes.iter().take(opts.top_functions) {
            println!("{felts:>8}  {function}");
        }
    }

    // Tests are independent: run them on every core, printing each result as it lands.
    let next = AtomicUsize::new(0);
    let tally = Mutex::new(Tally::default());
    let failures = Mutex::new(Vec::<(String, String)>::new());
    let workers = std::thread::available_parallelism().map_or(1, usize::from).min(tests.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((test_name, test)) = tests.get(index) else { break };
                    let outcome = if test.ignored {
                        Outcome::Ignored
                    } else {
                        match runner.find_function(test_name).map_err(anyhow::Error::from).and_then(
                            |func| {
                                runner
                                    .run_function_with_starknet_context(
                                        func,
                                        &[],
                                        test.available_gas,
                                        Default::default(),
                                    )
                                    .map_err(anyhow::Error::from)
                            },
                        ) {
                            Ok(result) => {
                                if let (Some(opts), Some(info)) = (profile, &result.profiling_info) {
                                    let steps = result.used_resources.basic_resources.n_steps;
                                    let weights = inclusive_weights(&program, info);
                                    let basic = &result.used_resources.basic_resources;
                                    let builtins: Vec<(&'static str, usize)> = basic
                                        .builtin_instance_counter
                                        .iter()
                                        .map(|(name, count)| (name.to_str(), *count))
                                        .collect();
                                    let mut text = render(test_name, steps, &weights, opts);
                                    text.push_str(&render_resources(steps, basic.n_memory_holes, &builtins));
                                    if opts.top_libfuncs > 0 {
                                        text.push_str("\nheaviest (function, libfunc) pairs by steps (rc: consumes range checks):");
                                        for (function, libfunc, w) in libfunc_weights(&program, info).iter().take(opts.top_libfuncs) {
                                            let rc = if uses_range_checks(libfunc) { "rc" } else { "  " };
                                            text.push_str(&format!("\n{w:>10} {rc} {libfunc:<28} {function}"));
                                        }
                                        let holes = crate::profile::branch_align_holes(&program, runner.get_casm_program(), info);
                                        let total: usize = holes.iter().map(|(_, n)| n).sum();
                                        text.push_str(&format!("\nmemory holes from branch padding: {total} of {}; by function:", basic.n_memory_holes));
                                        for (function, n) in holes.iter().take(opts.top_libfuncs) {
                                            text.push_str(&format!("\n{n:>10}    {function}"));
                                        }
                                    }
                                    println!("{text}");
                                }
                                judge(&test.expectation, &result.value)
                            }
                            Err(err) => Outcome::Failed(format!("could not run: {err:#}")),
                        }
                    };
                    let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
                    match outcome {
                        Outcome::Passed => {
                            tally.passed += 1;
                            println!("test {test_name} ... ok");
                        }
                        Outcome::Ignored => {
                            tally.ignored += 1;
                            println!("test {test_name} ... ignored");
                        }
                        Outcome::Failed(why) => {
                            tally.failed += 1;
                            println!("test {test_name} ... FAILED ({why})");
                            failures
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push((test_name.clone(), why));
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    if !failures.is_empty() {
        println!("failures in {name}:");
        for (test_name, why) in failures {
            println!("    {test_name}: {why}");
        }
    }
    Ok(tally.into_inner().unwrap_or_else(|e| e.into_inner()))
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    fn short_string(s: &str) -> Felt {
        Felt::from_bytes_be_slice(s.as_bytes())
    }

    #[test]
    fn exact_panic_expectation_must_match() {
        let want = TestExpectation::Panics(PanicExpectation::Exact(vec![short_string("NOT_OWNER")]));
        let same = RunResultValue::Panic(vec![short_string("NOT_OWNER")]);
        let other = RunResultValue::Panic(vec![short_string("STALE_INPUT")]);
        assert!(matches!(judge(&want, &same), Outcome::Passed));
        match judge(&want, &other) {
            Outcome::Failed(why) => assert!(why.contains("STALE_INPUT") && why.contains("NOT_OWNER"), "{why}"),
            _ => panic!("a different panic must fail the test"),
        }
        assert!(matches!(judge(&want, &RunResultValue::Success(vec![])), Outcome::Failed(_)));
    }

    #[test]
    fn success_expectation_fails_on_panic() {
        let outcome = judge(&TestExpectation::Success, &RunResultValue::Panic(vec![short_string("boom")]));
        assert!(matches!(outcome, Outcome::Failed(ref why) if why.contains("boom")));
    }
}
