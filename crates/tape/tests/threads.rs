//! Threads, seen from outside the crate: tapes moving between threads.

use tape::{Array, Function, Tape, TapeError};

/// `x ↦ 2x`, a custom function: the tape keeps it, so it moves with the tape.
#[derive(Clone)]
struct Double;

impl Function<f64> for Double {
    fn name(&self) -> &str {
        "double"
    }
    fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
        Ok(x[0].map(|v| 2.0 * v))
    }
    fn backward(&self, _x: &[&Array<f64>], _out: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
        vec![g.map(|v| 2.0 * v)]
    }
}

#[test]
fn a_tape_moves_to_another_thread_and_its_gradients_come_back() {
    // `Tape` is `Send` (not `Sync`: recording goes through a `RefCell`), and so are
    // `Gradients`: a worker may keep a tape across tasks, as a host's rayon tasks do, and hand
    // gradients back. A tape holding a custom function (a `Function` is `Send + Sync`) moves
    // to another thread, is differentiated there, cleared, reused, and comes back.
    fn send<T: Send>(value: T) -> T {
        value
    }
    let mut tape = Tape::<f64>::with_capacity(64);
    let x = tape
        .tensor_from_vec(vec![1.0, 2.0], &[2])
        .expect("two elements");
    tape.apply(&Double, &[x]).expect("a custom function");
    let recorded_here = tape.len();
    let (tape, grads) = std::thread::spawn(move || {
        // The handles stayed behind; the nodes came along.
        assert_eq!(tape.len(), recorded_here);
        tape.clear();
        let grads = {
            let x = tape.var(3.0);
            let y = tape
                .tensor_from_vec(vec![0.5, 2.0], &[2])
                .expect("two elements");
            let doubled = tape.apply(&Double, &[y]).expect("a custom function");
            let loss = x * x + doubled.sqrt().sum();
            let grads = send(loss.backward());
            (grads.wrt(x), grads.wrt(y).data().to_vec())
        };
        (tape, grads)
    })
    .join()
    .expect("the other thread");
    // d(x² + Σ√(2y))/dx = 2x; d/dyᵢ = 1/√(2yᵢ).
    assert_eq!(grads.0, 6.0);
    assert_eq!(grads.1, vec![1.0, 0.5]);
    assert!(!tape.is_empty());
}
