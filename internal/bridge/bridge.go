// Package bridge lets the packages of this module that build on the
// public API (the cli package) reach the engine behind its types, which
// keep it in unexported fields so that no internal type is part of the
// public API. The salesdag package sets the functions in its init.
package bridge

import "github.com/salesdag/salesdag/internal/dag"

// DAG returns the engine graph of a *salesdag.Driver.
var DAG func(driver any) *dag.DAG
