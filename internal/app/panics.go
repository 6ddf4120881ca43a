package app

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/lineage"
)

// BugReport is what a message about a panic (a bug in salesdag, never a
// problem with the input) adds, on the same line.
const BugReport = "this is a bug in salesdag: please report it with this message; --log-level debug shows the stack trace"

// IsBug reports whether err comes from a recovered panic.
func IsBug(err error) bool {
	var pe *dag.PanicError
	return errors.As(err, &pe)
}

// PanicStack returns the stack of the panic err comes from ("" for none).
func PanicStack(err error) string {
	var pe *dag.PanicError
	if errors.As(err, &pe) {
		return string(pe.Stack)
	}
	return ""
}

// Recovered turns a recovered panic value into an error.
func Recovered(v any) *dag.PanicError {
	if pe, ok := v.(*dag.PanicError); ok {
		return pe
	}
	return &dag.PanicError{Value: v, Stack: debug.Stack()}
}

// sideBug logs a bug in a side computation (statistics, facets), which
// costs only what it would have added: the run goes on unchanged.
func sideBug(log *slog.Logger, what string, err error) {
	log.Warn(fmt.Sprintf("%s skipped: %v; %s", what, err, BugReport))
	if st := PanicStack(err); st != "" {
		log.Debug("stack trace", "of", what, "stack", st)
	}
}

// guardSide runs fn, turning a panic into a sideBug warning.
func guardSide(log *slog.Logger, what string, fn func()) {
	defer func() {
		if v := recover(); v != nil {
			sideBug(log, what, Recovered(v))
		}
	}()
	fn()
}

// guardedSink passes events on and turns a panic of the sink (the
// history, an emitter) into an error, remembered so that it fails the run.
type guardedSink struct {
	inner lineage.Sink
	mu    sync.Mutex
	err   error
}

func (g *guardedSink) Emit(ev *lineage.RunEvent) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("recording lineage: %w", Recovered(v))
			g.mu.Lock()
			if g.err == nil {
				g.err = err
			}
			g.mu.Unlock()
		}
	}()
	return g.inner.Emit(ev)
}

// panicked returns the first panic of the sink, if any.
func (g *guardedSink) panicked() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// guardProgress wraps a progress callback (a side path): one that panics
// is not called again, with a warning, and the run goes on.
func guardProgress(log *slog.Logger, f func(n, rows int64)) func(n, rows int64) {
	var broken atomic.Bool
	return func(n, rows int64) {
		if broken.Load() {
			return
		}
		defer func() {
			if v := recover(); v != nil {
				broken.Store(true)
				sideBug(log, "progress display", Recovered(v))
			}
		}()
		f(n, rows)
	}
}
