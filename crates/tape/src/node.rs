//! The compact scalar node: two partials and two words holding the two input indices and the
//! op tag. With `f64` a node is 24 bytes, plus 8 for its value in a parallel vector: 32 bytes
//! per recorded scalar op.

use crate::Element;
use crate::rules::{BinaryOp, UnaryOp};

/// Bits per input index: a tape holds at most 2²⁸ − 1 nodes (268 million; 8.6 GB of `f64`
/// nodes), which leaves 4 bits of each index word, 8 in all, for the op tag.
pub(crate) const INDEX_BITS: u32 = 28;
pub(crate) const MAX_NODES: usize = (1 << INDEX_BITS) - 1;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;

/// What a node of the list is: one of the five kinds below, or an op of the table in
/// [`crate::rules`] — unary ops numbered from [`Tag::FIRST_UNARY`] in table order, binary ops
/// after them. The numbering comes from the table, so there is no list to keep in step.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tag(u8);

impl Tag {
    /// Node 0: the target of the unused input slots of leaves and unary ops.
    pub(crate) const SINK: Tag = Tag(0);
    /// A scalar leaf (an input to differentiate with respect to).
    pub(crate) const LEAF: Tag = Tag(1);
    /// A scalar constant or detached value.
    pub(crate) const CONST: Tag = Tag(2);
    /// A node recorded by a tensor op; `a` holds its slot in the tensor list.
    pub(crate) const TENSOR: Tag = Tag(3);
    /// A custom scalar function (value and derivative given by the caller).
    pub(crate) const CUSTOM: Tag = Tag(4);
    const FIRST_UNARY: u8 = 5;
    const FIRST_BINARY: u8 = Self::FIRST_UNARY + UnaryOp::COUNT as u8;

    #[inline(always)]
    pub(crate) fn from_unary(op: UnaryOp) -> Tag {
        Tag(Self::FIRST_UNARY + op.code())
    }

    #[inline(always)]
    pub(crate) fn from_binary(op: BinaryOp) -> Tag {
        Tag(Self::FIRST_BINARY + op.code())
    }

    /// The unary op of this tag, given the parameter stored in the node's second partial.
    pub(crate) fn unary(self, param: f64) -> Option<UnaryOp> {
        let code = self.0.checked_sub(Self::FIRST_UNARY)?;
        UnaryOp::from_code(code, param)
    }

    /// The binary op of this tag.
    pub(crate) fn binary(self) -> Option<BinaryOp> {
        BinaryOp::from_code(self.0.checked_sub(Self::FIRST_BINARY)?)
    }
}

// Every tag fits the 8 bits a node has for it.
const _: () = assert!(Tag::FIRST_BINARY as usize + BinaryOp::ALL.len() <= 256);

impl std::fmt::Debug for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Tag::SINK => write!(f, "Sink"),
            Tag::LEAF => write!(f, "Leaf"),
            Tag::CONST => write!(f, "Const"),
            Tag::TENSOR => write!(f, "Tensor"),
            Tag::CUSTOM => write!(f, "Custom"),
            tag => match (tag.unary(0.0), tag.binary()) {
                (Some(u), _) => write!(f, "Unary({})", u.name()),
                (_, Some(b)) => write!(f, "Binary({})", b.name()),
                _ => write!(f, "Tag({})", tag.0),
            },
        }
    }
}

/// One entry of the Wengert list.
///
/// Backward over scalars is `adj[a] += partials[0] * adj[i]; adj[b] += partials[1] * adj[i]`
/// with no branch: leaves and unary ops point their unused inputs at the sink (node 0), whose
/// adjoint is never read. Unary ops with a constant parameter keep it in `partials[1]`, where it
/// only ever adds to the sink.
///
/// The two index words are `u32`s rather than one `u64` so that the node is aligned as `T`:
/// 24 bytes with `f64`, 16 with `f32`. Each word holds one 28-bit input index in its low bits
/// and half of the 8-bit tag in its high four, so reading an index is one mask.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScalarNode<T> {
    pub(crate) partials: [T; 2],
    words: [u32; 2],
}

impl<T: Element> ScalarNode<T> {
    #[inline(always)]
    pub(crate) fn new(tag: Tag, a: u32, b: u32, pa: T, pb: T) -> Self {
        debug_assert!(a as usize <= MAX_NODES && b as usize <= MAX_NODES);
        let tag = tag.0 as u32;
        ScalarNode {
            partials: [pa, pb],
            words: [
                a | ((tag & 0xf) << INDEX_BITS),
                b | ((tag >> 4) << INDEX_BITS),
            ],
        }
    }

    /// Both index words as one number, for passing a node by its fields.
    #[inline(always)]
    pub(crate) fn words(&self) -> u64 {
        self.words[0] as u64 | ((self.words[1] as u64) << 32)
    }

    /// The node with these partials and [`ScalarNode::words`].
    #[inline(always)]
    pub(crate) fn from_words(pa: T, pb: T, words: u64) -> Self {
        ScalarNode {
            partials: [pa, pb],
            words: [words as u32, (words >> 32) as u32],
        }
    }

    #[inline(always)]
    pub(crate) fn a(&self) -> usize {
        (self.words[0] & INDEX_MASK) as usize
    }

    #[inline(always)]
    pub(crate) fn b(&self) -> usize {
        (self.words[1] & INDEX_MASK) as usize
    }

    pub(crate) fn tag(&self) -> Tag {
        let lo = self.words[0] >> INDEX_BITS;
        let hi = self.words[1] >> INDEX_BITS;
        Tag((lo | (hi << 4)) as u8)
    }

    /// A node that no backward sweep moves anything through.
    pub(crate) fn inert(tag: Tag) -> Self {
        Self::new(tag, 0, 0, T::zero(), T::zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_is_24_bytes_for_f64_and_16_for_f32() {
        assert_eq!(std::mem::size_of::<ScalarNode<f64>>(), 24);
        assert_eq!(std::mem::size_of::<ScalarNode<f32>>(), 16);
    }

    #[test]
    fn every_op_of_the_table_has_a_tag_that_decodes_to_it() {
        for &op in UnaryOp::ALL {
            let param = op.param().unwrap_or(0.0);
            assert_eq!(Tag::from_unary(op).unary(param), Some(op), "{op:?}");
            assert_eq!(Tag::from_unary(op).binary(), None, "{op:?}");
        }
        for &op in BinaryOp::ALL {
            assert_eq!(Tag::from_binary(op).binary(), Some(op), "{op:?}");
            assert_eq!(Tag::from_binary(op).unary(0.0), None, "{op:?}");
        }
        for kind in [Tag::SINK, Tag::LEAF, Tag::CONST, Tag::TENSOR, Tag::CUSTOM] {
            assert_eq!((kind.unary(0.0), kind.binary()), (None, None), "{kind:?}");
        }
    }

    #[test]
    fn packing_round_trips_largest_indices_and_every_tag() {
        let kinds = [Tag::SINK, Tag::LEAF, Tag::CONST, Tag::TENSOR, Tag::CUSTOM];
        let ops = UnaryOp::ALL.iter().map(|&op| Tag::from_unary(op));
        let tags = kinds
            .into_iter()
            .chain(ops)
            .chain(BinaryOp::ALL.iter().map(|&op| Tag::from_binary(op)));
        for tag in tags {
            let n = ScalarNode::<f64>::new(tag, MAX_NODES as u32, 7, 1.0, 2.0);
            assert_eq!((n.a(), n.b(), n.tag()), (MAX_NODES, 7, tag));
            let n = ScalarNode::<f32>::new(tag, 5, MAX_NODES as u32, 1.0, 2.0);
            assert_eq!((n.a(), n.b(), n.tag()), (5, MAX_NODES, tag));
            assert_eq!(n.partials, [1.0, 2.0]);
        }
    }
}
