//! Seeing the tape: a readable listing and Graphviz export.
