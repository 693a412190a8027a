//! The scalar reverse sweep on random programs, against a reverse-mode interpreter written
//! here from the textbook rules, and against the sweep that anomaly detection runs (a separate
//! loop that checks every partial).
//!
//! The programs lean on the shapes a sweep most easily gets wrong: an op whose input is the
//! node recorded just before it (the common case of a Wengert list), an op using one node twice
//! (`x·x`, two contributions to one adjoint), and nodes whose adjoint is zero (`x·0`), which
//! the sweep skips.

use proptest::prelude::*;
use proptest::sample::Index;
use tape::{Scalar, Tape};

/// One op of a random program; operands are earlier nodes (leaves first), picked by index.
#[derive(Clone, Copy, Debug)]
enum Op {
    Add(Operand, Operand),
    Sub(Operand, Operand),
    Mul(Operand, Operand),
    /// `x · x`: both inputs the same node.
    Square(Operand),
    /// `x · c`, `c` from a short list that includes 0 (a zero partial).
    MulC(Operand, usize),
    Sin(Operand),
}

/// An operand: the node right before the op, any earlier node, or node `i` itself.
#[derive(Clone, Copy, Debug)]
enum Operand {
    Previous,
    Any(Index),
    At(usize),
}

const CONSTANTS: [f64; 4] = [0.999, -2.0, 0.0, 0.5];

impl Operand {
    fn resolve(self, n: usize) -> usize {
        match self {
            Operand::Previous => n - 1,
            Operand::Any(i) => i.index(n),
            Operand::At(i) => i,
        }
    }
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        2 => Just(Operand::Previous),
        1 => any::<Index>().prop_map(Operand::Any),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (operand(), operand()).prop_map(|(a, b)| Op::Add(a, b)),
        (operand(), operand()).prop_map(|(a, b)| Op::Sub(a, b)),
        (operand(), operand()).prop_map(|(a, b)| Op::Mul(a, b)),
        operand().prop_map(Op::Square),
        (operand(), 0..CONSTANTS.len()).prop_map(|(a, c)| Op::MulC(a, c)),
        operand().prop_map(Op::Sin),
    ]
}

/// Node `i` of a program: its value, and each input with the partial derivative toward it.
struct Node {
    value: f64,
    inputs: Vec<(usize, f64)>,
}

/// Runs `ops` on plain numbers after `leaves`, recording each node's inputs and partials.
fn interpret(leaves: &[f64], ops: &[Op]) -> Vec<Node> {
    let mut nodes: Vec<Node> = leaves
        .iter()
        .map(|&value| Node {
            value,
            inputs: vec![],
        })
        .collect();
    for op in ops {
        let n = nodes.len();
        let v = |i: usize| nodes[i].value;
        let node = match *op {
            Op::Add(a, b) => {
                let (a, b) = (a.resolve(n), b.resolve(n));
                Node {
                    value: v(a) + v(b),
                    inputs: vec![(a, 1.0), (b, 1.0)],
                }
            }
            Op::Sub(a, b) => {
                let (a, b) = (a.resolve(n), b.resolve(n));
                Node {
                    value: v(a) - v(b),
                    inputs: vec![(a, 1.0), (b, -1.0)],
                }
            }
            Op::Mul(a, b) => {
                let (a, b) = (a.resolve(n), b.resolve(n));
                Node {
                    value: v(a) * v(b),
                    inputs: vec![(a, v(b)), (b, v(a))],
                }
            }
            Op::Square(a) => {
                let a = a.resolve(n);
                Node {
                    value: v(a) * v(a),
                    inputs: vec![(a, v(a)), (a, v(a))],
                }
            }
            Op::MulC(a, c) => {
                let (a, c) = (a.resolve(n), CONSTANTS[c]);
                Node {
                    value: v(a) * c,
                    inputs: vec![(a, c)],
                }
            }
            Op::Sin(a) => {
                let a = a.resolve(n);
                Node {
                    value: v(a).sin(),
                    inputs: vec![(a, v(a).cos())],
                }
            }
        };
        nodes.push(node);
    }
    nodes
}

/// The gradient of the last node with respect to each leaf, by the chain rule applied from
/// the last node down.
fn reference_gradient(nodes: &[Node], n_leaves: usize) -> Vec<f64> {
    let mut adj = vec![0.0; nodes.len()];
    *adj.last_mut().unwrap() = 1.0;
    for i in (0..nodes.len()).rev() {
        let g = adj[i];
        for &(j, partial) in &nodes[i].inputs {
            adj[j] += partial * g;
        }
    }
    adj.truncate(n_leaves);
    adj
}

/// The same program recorded on a tape; returns the value of the last node and the gradient
/// with respect to each leaf.
fn tape_gradient(leaves: &[f64], ops: &[Op], anomaly_detection: bool) -> (f64, Vec<f64>) {
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(anomaly_detection);
    let xs: Vec<Scalar<'_, f64>> = leaves.iter().map(|&x| tape.var(x)).collect();
    let mut nodes = xs.clone();
    for op in ops {
        let n = nodes.len();
        let node = |o: Operand| nodes[o.resolve(n)];
        let y = match *op {
            Op::Add(a, b) => node(a) + node(b),
            Op::Sub(a, b) => node(a) - node(b),
            Op::Mul(a, b) => node(a) * node(b),
            Op::Square(a) => node(a) * node(a),
            Op::MulC(a, c) => node(a) * CONSTANTS[c],
            Op::Sin(a) => node(a).sin(),
        };
        nodes.push(y);
    }
    let out = *nodes.last().unwrap();
    let grads = out.backward();
    (out.value(), grads.wrt_all(&xs))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_sweep_agrees_with_the_chain_rule_on_random_programs(
        leaves in prop::collection::vec(-1.5..1.5f64, 1..4),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let nodes = interpret(&leaves, &ops);
        let expected = reference_gradient(&nodes, leaves.len());
        // Repeated squaring can overflow; anomaly detection (rightly) stops such a program, and
        // the anomaly tests cover that. Here only finite programs are compared.
        prop_assume!(nodes.iter().all(|n| n.value.is_finite()));
        prop_assume!(expected.iter().all(|g| g.is_finite()));
        let (value, fast) = tape_gradient(&leaves, &ops, false);
        let (_, checked) = tape_gradient(&leaves, &ops, true);
        prop_assert_eq!(value, nodes.last().unwrap().value);
        // The two sweeps do the same arithmetic in the same order: equal to the bit.
        prop_assert_eq!(&fast, &checked);
        for (i, (&got, &want)) in fast.iter().zip(&expected).enumerate() {
            let scale = want.abs().max(1.0);
            prop_assert!(
                (got - want).abs() <= 1e-12 * scale,
                "leaf {}: sweep {} against chain rule {}", i, got, want
            );
        }
    }
}

/// W1's shape (`acc = acc·0.999 + x[i]·x[j]`), long enough that the sweep runs far past
/// anything a small random program reaches, against the interpreter.
#[test]
fn a_long_accumulation_agrees_with_the_chain_rule() {
    let leaves: Vec<f64> = (0..10).map(|i| 0.1 * i as f64 - 0.3).collect();
    let mut ops = Vec::new();
    // acc starts as leaf 0; each round appends acc·0.999, x·y and their sum.
    let mut acc = 0;
    for k in 0..3000 {
        let base = leaves.len() + ops.len();
        ops.push(Op::MulC(Operand::At(acc), 0));
        ops.push(Op::Mul(Operand::At(k % 10), Operand::At((7 * k) % 10)));
        ops.push(Op::Add(Operand::At(base), Operand::Previous));
        acc = base + 2;
    }
    let nodes = interpret(&leaves, &ops);
    let expected = reference_gradient(&nodes, leaves.len());
    let (_, fast) = tape_gradient(&leaves, &ops, false);
    let (_, checked) = tape_gradient(&leaves, &ops, true);
    assert_eq!(fast, checked);
    for (got, want) in fast.iter().zip(&expected) {
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }
}
