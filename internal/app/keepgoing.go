package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/dag"
)

// checksGate makes a node whose checks of importance fail failed fail
// the node itself (--keep-going), so that the engine skips its dependants
// and lineage records it as FAIL.
func checksGate(r *checks.Runner) dag.Hooks {
	return dag.Hooks{Around: func(ctx context.Context, n *dag.Node, _ []any, next dag.Compute) (any, error) {
		v, err := next(ctx)
		if err != nil {
			return v, err
		}
		var failed []checks.Result
		for _, x := range r.Evaluate(n.Name, v) {
			if !x.Success && x.Importance == checks.Fail {
				failed = append(failed, x)
			}
		}
		if len(failed) > 0 {
			return nil, &checks.FailedError{Failed: failed}
		}
		return v, nil
	}}
}

// keepGoing sorts out a --keep-going run after the engine: it records the
// skipped nodes, drops the failed and skipped ones from the outputs to
// write, and returns the error the run ends with once the rest is written
// (nil if nothing failed). err is the engine's error; any error other than
// a *dag.PartialError is returned as runErr and stops the run as before.
func keepGoing(res *RunResult, want []string, err error, r *checks.Runner) (write []string, failure, runErr error) {
	var pe *dag.PartialError
	if err != nil && !errors.As(err, &pe) {
		return want, nil, err
	}
	bad := map[string]bool{}
	var failedChecks []checks.Result
	var others []error
	if pe != nil {
		res.Skipped = map[string]string{}
		for _, s := range pe.Skipped {
			res.Skipped[s.Node] = s.Reason()
			bad[s.Node] = true
		}
		for _, f := range pe.Failed {
			bad[f.Node] = true
			var fe *checks.FailedError
			if errors.As(f.Err, &fe) {
				failedChecks = append(failedChecks, fe.Failed...)
			} else {
				others = append(others, f)
			}
		}
	}
	// A node served from the cache is not gated: its checks still count.
	if r != nil {
		var fe *checks.FailedError
		if errors.As(r.Err(), &fe) {
			for _, x := range fe.Failed {
				if !bad[x.Node] {
					bad[x.Node] = true
					failedChecks = append(failedChecks, x)
				}
			}
		}
	}
	write = slices.DeleteFunc(slices.Clone(want), func(n string) bool { return bad[n] })
	var skipped string
	if pe != nil && len(pe.Skipped) > 0 {
		names := make([]string, len(pe.Skipped))
		for i, s := range pe.Skipped {
			names[i] = s.Node
		}
		skipped = fmt.Sprintf("; skipped: %s (--keep-going)", strings.Join(names, ", "))
	}
	switch {
	case len(others) > 0:
		// Exit 1: a node failed for another reason than its checks.
		return write, &KeepGoingError{Partial: pe, Checks: failedChecks, nodes: others}, nil
	case len(failedChecks) > 0:
		return write, fmt.Errorf("%w%s", &checks.FailedError{Failed: failedChecks}, skipped), nil
	}
	return write, nil, nil
}

// KeepGoingError ends a --keep-going run in which a node failed for a
// reason other than its checks (exit 1). It unwraps to the errors of
// those nodes, deliberately not to the checks' error, which means exit 3.
type KeepGoingError struct {
	Partial *dag.PartialError
	Checks  []checks.Result // failed checks of importance fail, if any
	nodes   []error
}

// Unwrap returns the *dag.NodeError of each node that failed by itself.
func (e *KeepGoingError) Unwrap() []error { return e.nodes }

func (e *KeepGoingError) Error() string {
	msg := e.Partial.Error()
	if len(e.Checks) > 0 {
		msg += "; " + (&checks.FailedError{Failed: e.Checks}).Error()
	}
	return msg
}
