//! Your own training loop across processes: linear regression on the diabetes data by full-batch
//! gradient descent, each rank computing the gradient of its share of the rows on its own tape
//! and one all-reduce summing them — the loop `Trainer::with_collective` runs, written out.
//!
//! ```text
//! cargo build --release --features mpi --example mpi_regression
//! mpirun -np 2 target/release/examples/mpi_regression     # two ranks
//! target/release/examples/mpi_regression                  # one process, the same numbers
//! ```
//!
//! Rank 0 prints the loss every 100 steps and the coefficients at the end, with 17
//! significant digits, so that runs can be compared: any number of ranks gives the result of
//! one process up to the rounding of the sum over ranks.

use std::rc::Rc;

use tapegrad::prelude::*;
use tapegrad::train::data;
use tapegrad::train::distributed::{
    Collective, MpiCommunicator, SingleProcess, all_reduce_sum, broadcast,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let group: Rc<dyn Collective> = if MpiCommunicator::launched() {
        Rc::new(MpiCommunicator::init()?)
    } else {
        Rc::new(SingleProcess)
    };
    let (rank, size) = (group.rank(), group.size());

    // Every rank reads the data and keeps its contiguous share of the rows.
    let mut all = data::diabetes::<f64>()?;
    Standardizer::fit(all.features())?.apply(&mut all)?;
    let n = all.len();
    let (start, end) = (rank * n / size, (rank + 1) * n / size);
    let mine = all.subset(&(start..end).collect::<Vec<_>>())?;
    let (x, targets) = mine.into_parts();
    let data::Targets::Values(y) = targets else {
        unreachable!("the diabetes data has real-valued targets")
    };
    let d = x.shape()[1];

    // Parameters: coefficients then intercept, in one flat vector, the same on every rank.
    let mut params = vec![0.0f64; d + 1];
    broadcast(&*group, &mut params)?;
    let (lr, steps) = (0.1, 1000);
    let mut tape = Tape::new();
    for step in 0..steps {
        let mut g = {
            let w = tape.tensor(Array::from_slice(&params[..d], &[d, 1])?);
            let b = tape.tensor(Array::from_slice(&params[d..], &[1])?);
            let fit = tape.tensor_constant(x.clone()).matmul(w) + b;
            let err = fit - tape.tensor_constant(y.clone());
            // This rank's part of the mean squared error over all n rows.
            let loss = err.powi(2).sum() / n as f64;
            let grads = loss.backward();
            let mut g: Vec<f64> = grads.wrt(w).data().to_vec();
            g.extend_from_slice(grads.wrt(b).data());
            g.push(loss.value());
            g
        };
        tape.clear();
        // One all-reduce: the gradient of the whole mean, and the whole loss.
        all_reduce_sum(&*group, &mut g)?;
        if rank == 0 && step % 100 == 0 {
            println!("step {step:4}: loss {:.17e}", g[d + 1]);
        }
        for (p, gi) in params.iter_mut().zip(&g[..=d]) {
            *p -= lr * gi;
        }
    }
    if rank == 0 {
        let shown: Vec<String> = params.iter().map(|p| format!("{p:.17e}")).collect();
        println!(
            "ranks {size}; coefficients and intercept: {}",
            shown.join(" ")
        );
    }
    Ok(())
}
