package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/output"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// UsageError marks a mistake in how salesdag was called (exit code 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Build returns the validated sales DAG.
func Build() (*dag.DAG, error) {
	g := dag.New()
	pipeline.Register(g)
	return g.Build()
}

// Prepare checks the requested outputs against the graph (nil: the
// default outputs) and plans the nodes they need.
func Prepare(d *dag.DAG, outputs []string) (*dag.Plan, error) {
	if len(outputs) == 0 {
		outputs = pipeline.DefaultOutputs
	}
	for _, name := range outputs {
		if n, ok := d.Node(name); ok && n.IsInput {
			return nil, &UsageError{fmt.Errorf("%q is an input of the pipeline, not an output (see 'salesdag nodes')", name)}
		}
	}
	p, err := d.Plan(outputs...)
	if err != nil {
		return nil, &UsageError{err}
	}
	return p, nil
}

// ParseFormats turns the values of --format ("csv", "json,parquet", ...)
// into formats; none gives the defaults.
func ParseFormats(list []string) ([]output.Format, error) {
	f, err := output.ParseFormats(strings.Join(list, ","))
	if err != nil {
		return nil, &UsageError{err}
	}
	return f, nil
}

// OpenSource opens the input file, or the embedded sample for "".
func OpenSource(path string) (pipeline.Source, error) {
	if path == "" {
		return pipeline.SampleSource(), nil
	}
	return pipeline.FileSource(path)
}

// IsInterrupted reports whether err comes from a cancelled run.
func IsInterrupted(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
