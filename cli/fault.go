package cli

import "github.com/salesdag/salesdag/internal/dag"

// faultHooks, set only in a binary built with -tags salesdag_faults (the
// end-to-end tests), returns hooks that inject a panic where
// $SALESDAG_FAULT says, to check that any panic fails a run cleanly.
var faultHooks func(getenv func(string) string) []dag.Hooks
