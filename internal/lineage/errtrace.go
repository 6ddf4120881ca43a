package lineage

import (
	"errors"
	"fmt"
	"strings"

	"github.com/salesdag/salesdag/internal/dag"
)

// errorTrace renders err for the errorMessage facet's stackTrace. Go errors
// carry no stack, so the useful trace is the chain of wrapped errors with
// their types; a node panic adds the stack the engine captured.
func errorTrace(err error) string {
	var b strings.Builder
	seen := 0
	var walk func(e error, depth int)
	walk = func(e error, depth int) {
		if e == nil || seen >= 32 {
			return
		}
		seen++
		fmt.Fprintf(&b, "%s%T: %s\n", strings.Repeat("  ", depth), e, e.Error())
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				walk(c, depth+1)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap(), depth+1)
		}
	}
	walk(err, 0)
	var pe *dag.PanicError
	if errors.As(err, &pe) && len(pe.Stack) > 0 {
		b.WriteString("\n")
		b.Write(pe.Stack)
	}
	return strings.TrimRight(b.String(), "\n")
}
