//! # train — training for tapegrad
#![deny(missing_docs)]
