package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/salesdag/salesdag/internal/dag"
)

// FailedError is returned by Runner.Err when checks of importance Fail
// failed. It lists every one of them; the CLI maps it to exit code 3.
type FailedError struct {
	Failed []Result
}

func (e *FailedError) Error() string {
	parts := make([]string, len(e.Failed))
	for i, r := range e.Failed {
		parts[i] = r.String()
	}
	noun := "checks"
	if len(e.Failed) == 1 {
		noun = "check"
	}
	return fmt.Sprintf("%d data-quality %s failed: %s", len(e.Failed), noun, strings.Join(parts, "; "))
}

// Runner evaluates the checks of one run. Plug it into the engine with
// Hooks; it is safe for concurrent use. Each node's checks are evaluated
// once, by whichever comes first of the AfterNode hook and an explicit
// Evaluate (the lineage enrichment may need them before the hook runs).
type Runner struct {
	specs map[string]Spec
	order []string
	log   *slog.Logger

	mu    sync.Mutex
	state map[string]*nodeState
}

type nodeState struct {
	once    sync.Once
	results []Result
}

// NewRunner validates the specs (known kinds, bounds, unique names per
// node; specs for the same node are merged) and returns a runner that
// logs to log (nil: no logging).
func NewRunner(log *slog.Logger, specs ...Spec) (*Runner, error) {
	log = cmp.Or(log, slog.New(slog.DiscardHandler))
	r := &Runner{specs: map[string]Spec{}, log: log, state: map[string]*nodeState{}}
	var errs []error
	for _, s := range specs {
		if s.Node == "" {
			errs = append(errs, errors.New("checks: a spec has no node name"))
			continue
		}
		cur, ok := r.specs[s.Node]
		if !ok {
			r.order = append(r.order, s.Node)
			cur = Spec{Node: s.Node}
		}
		if s.Table != nil {
			cur.Table = s.Table
		}
		cur.Checks = append(cur.Checks, s.Checks...)
		r.specs[s.Node] = cur
	}
	for _, node := range r.order {
		names := map[string]bool{}
		for _, c := range r.specs[node].Checks {
			if err := c.validate(); err != nil {
				errs = append(errs, fmt.Errorf("checks: node %s: %w", node, err))
			}
			if names[c.name()] {
				errs = append(errs, fmt.Errorf("checks: node %s: two checks are named %q (use Named)", node, c.name()))
			}
			names[c.name()] = true
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// Hooks returns the dag hooks: after each node that succeeded, its checks
// are evaluated on its result. They never fail a node: failures are
// collected for Err.
func (r *Runner) Hooks() dag.Hooks {
	return dag.Hooks{AfterNode: func(_ context.Context, n *dag.Node, res dag.NodeResult) {
		if res.Err == nil {
			r.Evaluate(n.Name, res.Value)
		}
	}}
}

// Evaluate runs node's checks on its result v, once per node and run, and
// returns the results (nil when node has no checks). Later calls return
// the first results.
func (r *Runner) Evaluate(node string, v any) []Result {
	spec, ok := r.specs[node]
	if !ok {
		return nil
	}
	r.mu.Lock()
	st, ok := r.state[node]
	if !ok {
		st = &nodeState{}
		r.state[node] = st
	}
	r.mu.Unlock()
	st.once.Do(func() {
		res := evaluate(spec, v)
		r.logResults(res)
		r.mu.Lock()
		st.results = res
		r.mu.Unlock()
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Result(nil), st.results...)
}

// FailedMessage is the log message of a failed check.
const FailedMessage = "data-quality check failed"

func (r *Runner) logResults(res []Result) {
	ctx := context.Background()
	for _, x := range res {
		attrs := []any{"node", x.Node, "check", x.Name, "column", x.Column, "expected", x.Expected, "actual", x.Actual, "importance", string(x.Importance)}
		switch {
		case x.Success:
			r.log.DebugContext(ctx, "data-quality check passed", attrs...)
		case x.Importance == Fail:
			r.log.ErrorContext(ctx, FailedMessage, attrs...)
		default:
			r.log.WarnContext(ctx, FailedMessage, attrs...)
		}
	}
}

// NodeResults returns the results of node's checks, if they ran.
func (r *Runner) NodeResults(node string) ([]Result, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.state[node]
	if !ok || st.results == nil {
		return nil, false
	}
	return append([]Result(nil), st.results...), true
}

// Results returns every result so far: nodes in spec order, checks in
// declaration order.
func (r *Runner) Results() []Result {
	var out []Result
	for _, node := range r.order {
		if res, ok := r.NodeResults(node); ok {
			out = append(out, res...)
		}
	}
	return out
}

// Err returns a *FailedError listing every failed check of importance
// Fail, or nil.
func (r *Runner) Err() error {
	var failed []Result
	for _, x := range r.Results() {
		if !x.Success && x.Importance == Fail {
			failed = append(failed, x)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &FailedError{Failed: failed}
}

// Spec returns the checks declared for node.
func (r *Runner) Spec(node string) (Spec, bool) {
	s, ok := r.specs[node]
	return s, ok
}
