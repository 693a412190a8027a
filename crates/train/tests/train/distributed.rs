//! `Trainer::with_collective`: ranks that share each batch, here threads in one process
//! joined by an in-memory group (the MPI runs are in the root package's tests), against
//! the threads of `TrainConfig::workers` and one process.

use std::rc::Rc;
use std::sync::{Arc, Barrier, Mutex};

use nn::{Activation, Mlp};
use tape::{Array, Element};
use train::TrainError;
use train::data::Dataset;

use crate::parallel::{digits, flat};
use train::distributed::Collective;
use train::optim::{Adam, AdamConfig};
use train::trainer::{Control, TrainConfig, Trainer};

/// What the ranks of one group share: each rank's buffer, and a barrier to meet at.
struct Shared {
    barrier: Barrier,
    slots: Mutex<Vec<Vec<f64>>>,
}

/// One rank of an in-memory group of threads. The sums add the ranks' buffers in rank
/// order, in the buffers' own precision.
pub(crate) struct Member {
    pub(crate) rank: usize,
    size: usize,
    shared: Arc<Shared>,
}

impl Member {
    pub(crate) fn group(size: usize) -> Vec<Member> {
        let shared = Arc::new(Shared {
            barrier: Barrier::new(size),
            slots: Mutex::new(vec![Vec::new(); size]),
        });
        (0..size)
            .map(|rank| Member {
                rank,
                size,
                shared: shared.clone(),
            })
            .collect()
    }

    /// Everyone's buffer (as f64, exact for f32 too), once all have given theirs.
    fn exchange(&self, mine: Vec<f64>) -> Vec<Vec<f64>> {
        self.shared.slots.lock().unwrap()[self.rank] = mine;
        self.shared.barrier.wait();
        let all = self.shared.slots.lock().unwrap().clone();
        // Nobody writes the next round before everyone has read this one.
        self.shared.barrier.wait();
        all
    }

    fn sum<T: Element>(&self, values: &mut [T]) {
        let all = self.exchange(values.iter().map(|v| v.as_f64()).collect());
        for (i, v) in values.iter_mut().enumerate() {
            let mut acc = T::cast_from(all[0][i]);
            for other in &all[1..] {
                acc += T::cast_from(other[i]);
            }
            *v = acc;
        }
    }

    fn broadcast<T: Element>(&self, values: &mut [T]) {
        let all = self.exchange(values.iter().map(|v| v.as_f64()).collect());
        for (v, &root) in values.iter_mut().zip(&all[0]) {
            *v = T::cast_from(root);
        }
    }
}

impl Collective for Member {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn sum_f64(&self, values: &mut [f64]) -> train::Result<()> {
        self.sum(values);
        Ok(())
    }
    fn sum_f32(&self, values: &mut [f32]) -> train::Result<()> {
        self.sum(values);
        Ok(())
    }
    fn broadcast_f64(&self, values: &mut [f64]) -> train::Result<()> {
        self.broadcast(values);
        Ok(())
    }
    fn broadcast_f32(&self, values: &mut [f32]) -> train::Result<()> {
        self.broadcast(values);
        Ok(())
    }
}

/// Trains a 64-12-10 MLP with Adam for two epochs of batches of `batch`, as rank `group`'s
/// member (or alone), with `workers` threads, from initial weights `init_seed`; the
/// parameters at the end, and the last epoch's train loss or the error.
fn run<T: Element>(
    data: &Dataset<T>,
    batch: usize,
    workers: usize,
    init_seed: u64,
    member: Option<Member>,
) -> (Vec<T>, Result<f64, TrainError>) {
    let mut model = Mlp::<T>::new(&[64, 12, 10], Activation::Tanh, init_seed).unwrap();
    let mut adam = Adam::new(AdamConfig {
        lr: 0.01,
        ..AdamConfig::default()
    })
    .unwrap();
    let config = TrainConfig {
        epochs: 2,
        batch_size: batch,
        workers,
        seed: 5,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(config).unwrap();
    if let Some(member) = member {
        trainer = trainer.with_collective(Rc::new(member));
    }
    let history = trainer.fit(&mut model, &mut adam, data, None, |_| Control::Continue);
    (flat(&model), history.map(|h| h.epochs[1].train_loss))
}

/// Every rank of a group of `size` threads trains on `data`; rank r starts from weights of
/// seed `r` (rank 0's are broadcast). Their results, in rank order.
fn ranks<T: Element>(
    data: &Dataset<T>,
    batch: usize,
    size: usize,
) -> Vec<(Vec<T>, Result<f64, TrainError>)> {
    std::thread::scope(|s| {
        let handles: Vec<_> = Member::group(size)
            .into_iter()
            .map(|m| {
                let seed = m.rank as u64;
                s.spawn(move || run(data, batch, 1, seed, Some(m)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn ranks_give_the_bits_of_as_many_worker_threads_and_one_process_to_1e_12() {
    let data = digits::<f64>(300);
    for (size, batch) in [(2, 37), (3, 50), (3, 2)] {
        let results = ranks(&data, batch, size);
        let (first, loss) = (&results[0].0, results[0].1.as_ref().unwrap());
        for (other, other_loss) in &results[1..] {
            assert_eq!(
                (other, other_loss.as_ref().unwrap()),
                (first, loss),
                "ranks disagree"
            );
        }
        let (threads, threads_loss) = run(&data, batch, size, 0, None);
        assert_eq!(
            (first, loss),
            (&threads, threads_loss.as_ref().unwrap()),
            "{size} ranks, batch {batch}"
        );
        let one = run(&data, batch, 1, 0, None).0;
        let worst = first
            .iter()
            .zip(&one)
            .map(|(a, b)| (a - b).abs() / b.abs().max(1e-3))
            .fold(0.0, f64::max);
        assert!(worst < 1e-12, "{size} ranks, batch {batch}: {worst:e}");
    }
}

#[test]
fn f32_ranks_match_the_worker_threads_bit_for_bit() {
    let data = digits::<f32>(200);
    let results = ranks(&data, 33, 2);
    let threads = run(&data, 33, 2, 0, None).0;
    assert!(results[0].1.is_ok());
    assert_eq!(results[0].0, threads);
}

#[test]
fn a_bad_sample_in_one_rank_s_shard_stops_every_rank_with_the_same_parameters() {
    // A NaN feature makes its shard's loss NaN; an infinite one saturates tanh, so the
    // loss stays finite and the gradient is NaN.
    for (bad, what) in [
        (f64::NAN, "the loss is NaN"),
        (f64::INFINITY, "the gradient of"),
    ] {
        bad_sample_stops_every_rank(bad, what);
    }
}

/// Sample 40 holds `bad`: only the shard that holds it meets it, and every rank stops
/// with an error saying `what`.
fn bad_sample_stops_every_rank(bad: f64, what: &str) {
    let (x, labels) = {
        let d = digits::<f64>(100);
        let (x, t) = d.into_parts();
        let mut values = x.data().to_vec();
        values[40 * 64] = bad;
        (Array::from_vec(values, x.shape()).unwrap(), t)
    };
    let data = match labels {
        train::data::Targets::Classes { labels, n_classes } => {
            Dataset::classification(x, labels, n_classes).unwrap()
        }
        _ => unreachable!("digits have labels"),
    };
    let results = ranks(&data, 20, 2);
    let errors: Vec<String> = results
        .iter()
        .map(|(_, r)| r.as_ref().unwrap_err().to_string())
        .collect();
    assert!(errors[0].contains(what), "{}", errors[0]);
    assert_eq!(errors[0], errors[1]);
    // Both put back the parameters of before the last update, and those are finite.
    assert_eq!(results[0].0, results[1].0);
    assert!(results[0].0.iter().all(|v| v.is_finite()));
    // The same step stops one process with the batch whole.
    let (alone, err) = run(&data, 20, 1, 0, None);
    assert_eq!(err.unwrap_err().to_string(), errors[0]);
    let worst = alone
        .iter()
        .zip(&results[0].0)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1e-3))
        .fold(0.0, f64::max);
    assert!(worst < 1e-12, "{worst:e}");
}
