//! # nn — neural-network building blocks for tapegrad
#![deny(missing_docs)]
