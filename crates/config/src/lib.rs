//! Test options: parsing, merging (defaults < file < script < env < CLI), validation, executors' plans and execution segments. No I/O.
