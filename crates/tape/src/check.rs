//! Gradient checking against central finite differences.
