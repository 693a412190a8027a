//! Seeing the tape: a readable listing (`{:?}`) and Graphviz export ([`Tape::to_dot`]).
//!
//! Both read the list through [`NodeView`], one row per recorded node, so the listing and the
//! graph always agree on names, inputs, shapes and values.

use std::fmt::{self, Write as _};

use smallvec::SmallVec;

use crate::array::{fmt_num, write_summary};
use crate::node::Tag;
use crate::tape::Inner;
use crate::tensor::op::TensorOp;
use crate::{Element, Gradients, Tape};

/// What the listing and the graph show of one node.
struct NodeView {
    idx: usize,
    /// The op's name, with its constant parameter for the ops that have one
    /// (`mul_const(0.999)`).
    op: String,
    inputs: SmallVec<[u32; 2]>,
    /// `[]` for a scalar, the array's shape for a tensor.
    shape: String,
    /// The value: one number for a scalar, a summary of at most ten numbers for a tensor.
    value: String,
    /// A leaf or a constant: a node with no inputs.
    source: bool,
    /// A constant (scalar or tensor): gradients do not flow into it.
    constant: bool,
    /// Where this node's gradient lives: the scalar adjoints, or a tensor slot.
    grad: GradSlot,
}

#[derive(Clone, Copy)]
enum GradSlot {
    Scalar,
    Tensor(usize),
}

impl<T: Element> Inner<T> {
    /// Describes node `idx` (not the sink).
    fn view(&self, idx: usize) -> NodeView {
        let node = self.node(idx);
        let tag = node.tag();
        let mut op = self.op_name(idx);
        let mut value = fmt_num(self.value(idx).as_f64());
        let mut shape = "[]".to_string();
        let mut grad = GradSlot::Scalar;
        let (inputs, source, constant): (SmallVec<[u32; 2]>, bool, bool) = match tag {
            Tag::SINK | Tag::LEAF => (SmallVec::new(), true, false),
            Tag::CONST => (SmallVec::new(), true, true),
            Tag::CUSTOM => (SmallVec::from_slice(&[node.a() as u32]), false, false),
            Tag::TENSOR => {
                let slot = node.a();
                let tn = self.tensor(slot);
                if !tn.scalar_out {
                    shape = format!("{:?}", tn.value.shape());
                    value.clear();
                    // Writing to a `String` cannot fail.
                    let _ = write_summary(&mut value, tn.value.data());
                    grad = GradSlot::Tensor(slot);
                }
                let constant = matches!(tn.op, TensorOp::Constant);
                (
                    SmallVec::from_slice(self.inputs_of(tn)),
                    tn.op.is_source(),
                    constant,
                )
            }
            tag => {
                let param = node.partials[1].as_f64();
                if let Some(u) = tag.unary(param) {
                    if let Some(c) = u.param() {
                        op = format!("{op}({})", fmt_num(c));
                    }
                    (SmallVec::from_slice(&[node.a() as u32]), false, false)
                } else {
                    debug_assert!(tag.binary().is_some(), "internal error: tag {tag:?}");
                    let ab = [node.a() as u32, node.b() as u32];
                    (SmallVec::from_slice(&ab), false, false)
                }
            }
        };
        NodeView {
            idx,
            op,
            inputs,
            shape,
            value,
            source,
            constant,
            grad,
        }
    }
}

/// `(#1, #2)`, or nothing for a node without inputs.
fn inputs_list(inputs: &[u32]) -> String {
    if inputs.is_empty() {
        return String::new();
    }
    let names: Vec<String> = inputs.iter().map(|i| format!("#{i}")).collect();
    format!("({})", names.join(", "))
}

/// A one-line listing of the Wengert list: index, op, inputs, shape and value of every node
/// in recording order.
///
/// Columns are at least as wide as in the example below and grow to fit the longest entry.
/// Scalar values are shown to about five significant digits and tensors by at most ten
/// elements; the exact values are available from the handles.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.var(3.0);
/// let y = tape.var(4.0);
/// let _ = x * y * 0.5;
/// let listing = format!("{tape:?}");
/// assert_eq!(
///     listing,
///     "Tape<f64> with 4 nodes\n  \
///        #1  var                       []        = 3\n  \
///        #2  var                       []        = 4\n  \
///        #3  mul            (#1, #2)   []        = 12\n  \
///        #4  mul_const(0.5) (#3)       []        = 6\n"
/// );
/// ```
impl<T: Element> fmt::Debug for Tape<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.borrow();
        let n = inner.len() - 1;
        writeln!(
            f,
            "Tape<{}> with {n} node{}",
            T::NAME,
            if n == 1 { "" } else { "s" }
        )?;
        let rows: Vec<(NodeView, String)> = (1..=n)
            .map(|i| {
                let v = inner.view(i);
                let inputs = inputs_list(&v.inputs);
                (v, inputs)
            })
            .collect();
        let idx_w = 1 + n.to_string().len();
        let op_w = rows.iter().map(|(v, _)| v.op.len()).fold(10, usize::max);
        let in_w = rows.iter().map(|(_, s)| s.len()).fold(8, usize::max);
        let shape_w = rows.iter().map(|(v, _)| v.shape.len()).fold(8, usize::max);
        for (v, inputs) in &rows {
            let idx = format!("#{}", v.idx);
            writeln!(
                f,
                "  {idx:>idx_w$}  {:<op_w$} {inputs:<in_w$}   {:<shape_w$}  = {}",
                v.op, v.shape, v.value
            )?;
        }
        Ok(())
    }
}

/// Escapes a string for a double-quoted DOT identifier.
fn dot_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

impl<T: Element> Tape<T> {
    /// The recorded graph in Graphviz DOT format: one node `n<i>` per recorded op, labelled
    /// with its index, op name, shape and value, and one edge from each input to the op that
    /// reads it (twice if it reads the input twice, as in `x * x`). Leaves and constants are
    /// boxes (constants dashed), ops are ellipses.
    ///
    /// With `grads`, each node the gradients cover (those recorded up to the output that
    /// backward started from) also shows its gradient. Gradients from another tape, or from
    /// before a [`Tape::clear`], are not shown; the output then says so in a comment.
    ///
    /// Render with e.g. `dot -Tsvg tape.dot -o tape.svg`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(3.0);
    /// let y = tape.var(4.0);
    /// let z = x * y;
    /// let g = z.backward();
    /// let dot = tape.to_dot(Some(&g));
    /// assert!(dot.starts_with("digraph tape {"));
    /// assert!(dot.contains("n1 -> n3;"));
    /// assert!(dot.contains("n2 -> n3;"));
    /// assert!(dot.contains(r##"n1 [shape=box, label="#1 var\n[]\n= 3\ngrad = 4"];"##));
    /// ```
    pub fn to_dot(&self, grads: Option<&Gradients<T>>) -> String {
        let inner = self.inner.borrow();
        let n = inner.len() - 1;
        let mut out = String::new();
        // Writing to a `String` cannot fail: the `fmt::Result`s below are ignored.
        let _ = writeln!(out, "digraph tape {{");
        let _ = writeln!(out, "  // Tape<{}> with {n} nodes", T::NAME);
        let grads = match grads {
            Some(g) if g.computed_on(self) => Some(g),
            Some(_) => {
                let _ = writeln!(
                    out,
                    "  // gradients not shown: they were computed on another tape or before a clear"
                );
                None
            }
            None => None,
        };
        let _ = writeln!(out, "  node [fontname=\"monospace\"];");
        let views: Vec<NodeView> = (1..=n).map(|i| inner.view(i)).collect();
        for v in &views {
            let mut label = format!("#{} {}\n{}\n= {}", v.idx, v.op, v.shape, v.value);
            if let Some(g) = grads.filter(|_| !v.constant) {
                let grad = match v.grad {
                    GradSlot::Scalar => g.scalar_grad(v.idx).map(|d| fmt_num(d.as_f64())),
                    GradSlot::Tensor(slot) => g.tensor_grad(slot).map(|a| {
                        let mut s = String::new();
                        let _ = write_summary(&mut s, a.data());
                        s
                    }),
                };
                if let Some(grad) = grad {
                    let _ = write!(label, "\ngrad = {grad}");
                }
            }
            let shape = match (v.source, v.constant) {
                (true, true) => "box, style=dashed",
                (true, false) => "box",
                _ => "ellipse",
            };
            let _ = writeln!(
                out,
                "  n{} [shape={shape}, label=\"{}\"];",
                v.idx,
                dot_escape(&label)
            );
        }
        for v in &views {
            for i in &v.inputs {
                let _ = writeln!(out, "  n{i} -> n{};", v.idx);
            }
        }
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::{Array, Function, Tape, TapeError};

    /// The listing's rows, keyed by node index, with runs of spaces collapsed to one so the
    /// assertions do not depend on column widths.
    fn rows(listing: &str) -> BTreeMap<usize, String> {
        listing
            .lines()
            .skip(1)
            .map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                let idx = words[0]
                    .strip_prefix('#')
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("row without an index: {line:?}"));
                (idx, words.join(" "))
            })
            .collect()
    }

    /// The node lines (`n3 [...]`) and edges (`n1 -> n3`) of a DOT graph, checking that every
    /// other line is the header, the closing brace, a comment or a graph attribute.
    fn dot_parts(dot: &str) -> (BTreeMap<usize, String>, Vec<(usize, usize)>) {
        let mut nodes = BTreeMap::new();
        let mut edges = Vec::new();
        let mut lines = dot.lines();
        assert_eq!(lines.next(), Some("digraph tape {"), "{dot}");
        assert_eq!(dot.lines().last(), Some("}"), "{dot}");
        for line in lines.map(str::trim) {
            if line == "}" || line.starts_with("//") || line.starts_with("node [") {
                continue;
            }
            let rest = line
                .strip_prefix('n')
                .unwrap_or_else(|| panic!("unexpected DOT line {line:?}"));
            if let Some((from, to)) = rest.split_once(" -> n") {
                let to = to.strip_suffix(';').expect("edge ends with ;");
                edges.push((from.parse().unwrap(), to.parse().unwrap()));
            } else {
                let (idx, attrs) = rest.split_once(' ').expect("node line has attributes");
                assert!(
                    attrs.starts_with('[') && attrs.ends_with("];"),
                    "node attributes: {line:?}"
                );
                let prev = nodes.insert(idx.parse().unwrap(), attrs.to_string());
                assert!(prev.is_none(), "node n{idx} declared twice");
            }
        }
        (nodes, edges)
    }

    #[test]
    fn listing_of_a_scalar_expression_names_ops_inputs_and_values() {
        let tape = Tape::<f64>::new();
        let x = tape.var(3.0);
        let y = tape.var(4.0);
        let p = x * y; // 12
        let c = tape.constant(2.0);
        let q = (p + c).ln(); // ln 14
        let _ = q.exp() - x; // 14 - 3
        let listing = format!("{tape:?}");
        assert!(listing.starts_with("Tape<f64> with 8 nodes\n"), "{listing}");
        let rows = rows(&listing);
        assert_eq!(rows.len(), 8);
        assert_eq!(rows[&1], "#1 var [] = 3");
        assert_eq!(rows[&2], "#2 var [] = 4");
        assert_eq!(rows[&3], "#3 mul (#1, #2) [] = 12");
        assert_eq!(rows[&4], "#4 constant [] = 2");
        assert_eq!(rows[&5], "#5 add (#3, #4) [] = 14");
        assert_eq!(rows[&6], "#6 ln (#5) [] = 2.6391");
        assert_eq!(rows[&7], "#7 exp (#6) [] = 14");
        assert_eq!(rows[&8], "#8 sub (#7, #1) [] = 11");
    }

    #[test]
    fn listing_shows_constant_parameters_and_custom_inputs() {
        let tape = Tape::<f32>::new();
        let x = tape.var(2.0);
        let y = (x * 0.999 + 1.5).powi(3).custom(10.0, 0.5);
        let _ = x * x;
        assert_eq!(y.value(), 10.0);
        let rows = rows(&format!("{tape:?}"));
        assert_eq!(rows[&2], "#2 mul_const(0.999) (#1) [] = 1.998");
        assert_eq!(rows[&3], "#3 add_const(1.5) (#2) [] = 3.498");
        assert_eq!(rows[&4], "#4 powi(3) (#3) [] = 42.8015");
        assert_eq!(rows[&5], "#5 custom (#4) [] = 10");
        assert_eq!(rows[&6], "#6 mul (#1, #1) [] = 4");
    }

    #[test]
    fn listing_shows_tensor_shapes_values_and_mixed_inputs() {
        let tape = Tape::<f64>::new();
        let a = tape
            .tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])
            .unwrap();
        let b = tape.tensor_constant(Array::full(&[3], 0.5));
        let s = (a * b).sum(); // 10.5
        let t = tape.tensor(Array::from_vec((0..12).map(f64::from).collect(), &[12]).unwrap());
        let _ = s * t.sum();
        let rows = rows(&format!("{tape:?}"));
        assert_eq!(rows[&1], "#1 tensor [2, 3] = [1, 2, 3, 4, 5, 6]");
        assert_eq!(rows[&2], "#2 tensor_constant [3] = [0.5, 0.5, 0.5]");
        assert_eq!(
            rows[&3],
            "#3 mul (#1, #2) [2, 3] = [0.5, 1, 1.5, 2, 2.5, 3]"
        );
        assert_eq!(rows[&4], "#4 sum (#3) [] = 10.5");
        assert_eq!(
            rows[&5],
            "#5 tensor [12] = [0, 1, 2, 3, 4, 5, 6, 7, …, 10, 11]"
        );
        assert_eq!(rows[&6], "#6 sum (#5) [] = 66");
        assert_eq!(rows[&7], "#7 mul (#4, #6) [] = 693");
    }

    #[test]
    fn listing_columns_line_up() {
        let tape = Tape::<f64>::new();
        let x = tape.var(1.0);
        let m = tape.ones(&[2, 2]).matmul(tape.ones(&[2, 2]));
        let _ = m.sum() * x;
        let listing = format!("{tape:?}");
        // Every row puts its `=` in the same column.
        let cols: Vec<usize> = listing
            .lines()
            .skip(1)
            .map(|l| l.find(" = ").unwrap())
            .collect();
        assert_eq!(cols.len(), 6);
        assert!(cols.iter().all(|&c| c == cols[0]), "{listing}");
    }

    #[test]
    fn empty_tape_lists_no_nodes() {
        let tape = Tape::<f32>::new();
        assert_eq!(format!("{tape:?}"), "Tape<f32> with 0 nodes\n");
        let dot = tape.to_dot(None);
        let (nodes, edges) = dot_parts(&dot);
        assert!(nodes.is_empty() && edges.is_empty(), "{dot}");
    }

    #[test]
    fn dot_has_one_node_per_op_and_an_edge_per_input() {
        let tape = Tape::<f64>::new();
        let x = tape.var(3.0);
        let y = tape.var(4.0);
        let z = x * y; // #3
        let w = z * x; // #4
        let _ = w.sin() + tape.constant(1.0); // #5, #6 (constant), #7
        let dot = tape.to_dot(None);
        assert!(dot.starts_with("digraph tape {\n"), "{dot}");
        assert!(dot.ends_with("}\n"), "{dot}");
        let (nodes, edges) = dot_parts(&dot);
        assert_eq!(
            nodes.keys().copied().collect::<Vec<_>>(),
            (1..=7).collect::<Vec<_>>()
        );
        assert_eq!(
            edges,
            vec![(1, 3), (2, 3), (3, 4), (1, 4), (4, 5), (5, 7), (6, 7)]
        );
        assert!(nodes[&1].starts_with("[shape=box, label=\"#1 var"));
        assert!(nodes[&6].starts_with("[shape=box, style=dashed, label=\"#6 constant"));
        assert!(nodes[&3].starts_with("[shape=ellipse, label=\"#3 mul\\n[]\\n= 12\""));
        assert!(!dot.contains("grad ="), "no gradients were given: {dot}");
    }

    #[test]
    fn dot_shows_gradients_of_the_nodes_they_cover() {
        let tape = Tape::<f64>::new();
        let x = tape.var(3.0);
        let y = tape.var(4.0);
        let z = x * y;
        let out = z * x; // x²y = 36; ∂/∂x = 2xy = 24, ∂/∂y = x² = 9, ∂/∂z = x = 3
        let _after = out + 1.0; // recorded after the output: not covered by its gradients
        let g = out.backward();
        let (nodes, _) = dot_parts(&tape.to_dot(Some(&g)));
        assert!(nodes[&1].contains("\\ngrad = 24\"]"), "{}", nodes[&1]);
        assert!(nodes[&2].contains("\\ngrad = 9\"]"), "{}", nodes[&2]);
        assert!(nodes[&3].contains("\\ngrad = 3\"]"), "{}", nodes[&3]);
        assert!(nodes[&4].contains("\\ngrad = 1\"]"), "{}", nodes[&4]);
        assert!(!nodes[&5].contains("grad"), "{}", nodes[&5]);
    }

    #[test]
    fn dot_shows_tensor_gradients_and_skips_constants() {
        let tape = Tape::<f64>::new();
        let w = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
        let c = tape.tensor_constant(Array::from_vec(vec![3.0, 5.0], &[2]).unwrap());
        let loss = (w * c).sum();
        let g = loss.backward();
        let (nodes, _) = dot_parts(&tape.to_dot(Some(&g)));
        assert!(
            nodes[&1].contains("\\n[2]\\n= [1, 2]\\ngrad = [3, 5]\""),
            "{}",
            nodes[&1]
        );
        assert!(!nodes[&2].contains("grad"), "{}", nodes[&2]);
        assert!(nodes[&3].contains("\\ngrad = [1, 1]\""), "{}", nodes[&3]);
        assert!(
            nodes[&4].contains("#4 sum\\n[]\\n= 13\\ngrad = 1\""),
            "{}",
            nodes[&4]
        );
    }

    #[test]
    fn dot_ignores_gradients_of_another_tape_or_before_a_clear() {
        let other = Tape::<f64>::new();
        let v = other.var(2.0);
        let foreign = (v * v).backward();

        let mut tape = Tape::<f64>::new();
        let x = tape.var(2.0);
        let stale = (x * x).backward();
        let dot = tape.to_dot(Some(&foreign));
        assert!(!dot.contains("grad ="), "{dot}");
        assert!(dot.contains("// gradients not shown"), "{dot}");
        assert!(tape.to_dot(Some(&stale)).contains("grad = 4"));

        tape.clear();
        let x = tape.var(2.0);
        let _ = x * x;
        let dot = tape.to_dot(Some(&stale));
        assert!(!dot.contains("grad ="), "{dot}");
        assert!(dot.contains("// gradients not shown"), "{dot}");
    }

    #[derive(Clone)]
    struct Quoted;

    impl Function<f64> for Quoted {
        fn name(&self) -> &str {
            r#"say "hi" \o/"#
        }
        fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
            Ok(x[0].clone())
        }
        fn backward(
            &self,
            _x: &[&Array<f64>],
            _out: &Array<f64>,
            g: &Array<f64>,
        ) -> Vec<Array<f64>> {
            vec![g.clone()]
        }
    }

    #[test]
    fn dot_escapes_quotes_and_backslashes_in_labels() {
        let tape = Tape::<f64>::new();
        let x = tape.ones(&[1]);
        let _ = tape.apply(&Quoted, &[x]).unwrap();
        let dot = tape.to_dot(None);
        assert!(
            dot.contains(r##"label="#2 custom:say \"hi\" \\o/\n[1]\n= [1]""##),
            "{dot}"
        );
        // Every label is one well-formed quoted string: quotes outside escapes come in pairs.
        for line in dot.lines().filter(|l| l.contains("label=")) {
            let mut unescaped_quotes = 0;
            let mut chars = line.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => unescaped_quotes += 1,
                    _ => {}
                }
            }
            assert_eq!(unescaped_quotes, 2, "{line}");
        }
    }
}
