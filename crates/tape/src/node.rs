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

/// What a node of the list is. The discriminants run 0, 1, 2, … in declaration order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Tag {
    /// Node 0: the target of the unused input slots of leaves and unary ops.
    Sink = 0,
    /// A scalar leaf (an input to differentiate with respect to).
    Leaf = 1,
    /// A scalar constant or detached value.
    Const = 2,
    /// A node recorded by a tensor op; `a` holds its slot in the tensor list.
    Tensor = 3,
    /// A custom scalar function (value and derivative given by the caller).
    Custom = 4,
    Neg,
    Exp,
    Ln,
    Sqrt,
    Sin,
    Cos,
    Tan,
    Tanh,
    Sigmoid,
    Relu,
    Abs,
    Recip,
    PowI,
    PowF,
    AddC,
    MulC,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Max,
    Min,
    Ln1p,
    ExpM1,
}

impl Tag {
    pub(crate) fn from_unary(op: UnaryOp) -> Tag {
        match op {
            UnaryOp::Neg => Tag::Neg,
            UnaryOp::Exp => Tag::Exp,
            UnaryOp::Ln => Tag::Ln,
            UnaryOp::Sqrt => Tag::Sqrt,
            UnaryOp::Sin => Tag::Sin,
            UnaryOp::Cos => Tag::Cos,
            UnaryOp::Tan => Tag::Tan,
            UnaryOp::Tanh => Tag::Tanh,
            UnaryOp::Sigmoid => Tag::Sigmoid,
            UnaryOp::Relu => Tag::Relu,
            UnaryOp::Abs => Tag::Abs,
            UnaryOp::Recip => Tag::Recip,
            UnaryOp::Ln1p => Tag::Ln1p,
            UnaryOp::ExpM1 => Tag::ExpM1,
            UnaryOp::PowI(_) => Tag::PowI,
            UnaryOp::PowF(_) => Tag::PowF,
            UnaryOp::AddC(_) => Tag::AddC,
            UnaryOp::MulC(_) => Tag::MulC,
        }
    }

    pub(crate) fn from_binary(op: BinaryOp) -> Tag {
        match op {
            BinaryOp::Add => Tag::Add,
            BinaryOp::Sub => Tag::Sub,
            BinaryOp::Mul => Tag::Mul,
            BinaryOp::Div => Tag::Div,
            BinaryOp::Pow => Tag::Pow,
            BinaryOp::Max => Tag::Max,
            BinaryOp::Min => Tag::Min,
        }
    }

    fn from_u8(v: u8) -> Tag {
        const ALL: [Tag; 30] = [
            Tag::Sink,
            Tag::Leaf,
            Tag::Const,
            Tag::Tensor,
            Tag::Custom,
            Tag::Neg,
            Tag::Exp,
            Tag::Ln,
            Tag::Sqrt,
            Tag::Sin,
            Tag::Cos,
            Tag::Tan,
            Tag::Tanh,
            Tag::Sigmoid,
            Tag::Relu,
            Tag::Abs,
            Tag::Recip,
            Tag::PowI,
            Tag::PowF,
            Tag::AddC,
            Tag::MulC,
            Tag::Add,
            Tag::Sub,
            Tag::Mul,
            Tag::Div,
            Tag::Pow,
            Tag::Max,
            Tag::Min,
            Tag::Ln1p,
            Tag::ExpM1,
        ];
        // Discriminants are 0..30 in declaration order, so the tag is its own index.
        ALL[v as usize]
    }

    /// The unary op of this tag, given the parameter stored in the node's second partial.
    pub(crate) fn unary(self, param: f64) -> Option<UnaryOp> {
        Some(match self {
            Tag::Neg => UnaryOp::Neg,
            Tag::Exp => UnaryOp::Exp,
            Tag::Ln => UnaryOp::Ln,
            Tag::Sqrt => UnaryOp::Sqrt,
            Tag::Sin => UnaryOp::Sin,
            Tag::Cos => UnaryOp::Cos,
            Tag::Tan => UnaryOp::Tan,
            Tag::Tanh => UnaryOp::Tanh,
            Tag::Sigmoid => UnaryOp::Sigmoid,
            Tag::Relu => UnaryOp::Relu,
            Tag::Abs => UnaryOp::Abs,
            Tag::Recip => UnaryOp::Recip,
            Tag::Ln1p => UnaryOp::Ln1p,
            Tag::ExpM1 => UnaryOp::ExpM1,
            Tag::PowI => UnaryOp::PowI(param as i32),
            Tag::PowF => UnaryOp::PowF(param),
            Tag::AddC => UnaryOp::AddC(param),
            Tag::MulC => UnaryOp::MulC(param),
            _ => return None,
        })
    }

    pub(crate) fn binary(self) -> Option<BinaryOp> {
        Some(match self {
            Tag::Add => BinaryOp::Add,
            Tag::Sub => BinaryOp::Sub,
            Tag::Mul => BinaryOp::Mul,
            Tag::Div => BinaryOp::Div,
            Tag::Pow => BinaryOp::Pow,
            Tag::Max => BinaryOp::Max,
            Tag::Min => BinaryOp::Min,
            _ => return None,
        })
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
        let tag = tag as u32;
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
        Tag::from_u8((lo | (hi << 4)) as u8)
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
    fn every_tag_decodes_to_itself() {
        for v in 0..30u8 {
            assert_eq!(Tag::from_u8(v) as u8, v);
        }
    }

    #[test]
    fn packing_round_trips_largest_indices_and_every_tag() {
        for v in 0..=255u8 {
            let Some(tag) = [
                Tag::Sink,
                Tag::Leaf,
                Tag::Tensor,
                Tag::Min,
                Tag::ExpM1,
                Tag::MulC,
                Tag::Neg,
            ]
            .into_iter()
            .find(|t| *t as u8 == v) else {
                continue;
            };
            let n = ScalarNode::<f64>::new(tag, MAX_NODES as u32, 7, 1.0, 2.0);
            assert_eq!((n.a(), n.b(), n.tag()), (MAX_NODES, 7, tag));
            let n = ScalarNode::<f32>::new(tag, 5, MAX_NODES as u32, 1.0, 2.0);
            assert_eq!((n.a(), n.b(), n.tag()), (5, MAX_NODES, tag));
            assert_eq!(n.partials, [1.0, 2.0]);
        }
    }
}
