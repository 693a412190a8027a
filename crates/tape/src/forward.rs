//! Forward mode on a recorded list: tangents carried from the inputs to the outputs.
//!
//! Every scalar node stores its local partials at record time, so a directional derivative is
//! one pass up the list — `t[i] = pa·t[a] + pb·t[b]` — over what was already recorded, at a
//! cost like that of the backward sweep and independent of the number of inputs. Tensor nodes
//! store no forward rule (their rules are vector-Jacobian products); a list that holds one is
//! left to the reverse-mode construction in [`crate::func`].

use crate::node::Tag;
use crate::{Element, Tape};

/// The tangent of every node up to `out`, given the tangents `seeds` of some nodes (the
/// inputs); `None` if a tensor node lies between.
///
/// A node whose input's tangent is zero takes nothing from it, as backward skips nodes whose
/// adjoint is zero: a branch that does not depend on the direction cannot turn an infinite
/// partial into NaN.
pub(crate) fn tangents<T: Element>(
    tape: &Tape<T>,
    seeds: &[(u32, T)],
    out: usize,
) -> Option<Vec<T>> {
    let inner = tape.inner.borrow();
    let mut t = vec![T::zero(); out + 1];
    for &(i, v) in seeds {
        if (i as usize) <= out {
            t[i as usize] += v;
        }
    }
    for i in 1..=out {
        let node = inner.node(i);
        let tag = node.tag();
        let (a, b) = (node.a(), node.b());
        let [pa, pb] = node.partials;
        let from = |p: T, ti: T| if ti == T::zero() { T::zero() } else { p * ti };
        t[i] = match tag {
            Tag::SINK | Tag::LEAF | Tag::CONST => continue,
            Tag::TENSOR => return None,
            // Unary ops keep their parameter, not a partial, in the second slot.
            _ if tag.binary().is_some() => from(pa, t[a]) + from(pb, t[b]),
            _ => from(pa, t[a]),
        };
    }
    Some(t)
}
