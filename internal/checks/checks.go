// Package checks runs declarative data-quality checks on node results, in
// the spirit of Hamilton's check_output: each node lists checks (non-null,
// unique, ascending, value range, row count) with an importance, and a
// Runner evaluates them on the node's result through the dag's hooks,
// without any change to the engine or to the nodes.
//
// A failed check of importance Warn is logged and the run goes on; failed
// checks of importance Fail are all collected and Runner.Err returns them
// as one *FailedError once the graph has run, so the message lists every
// failed check, not just the first.
//
// Results never contain values of string columns (they may be personal
// data): only counts, row numbers and numeric aggregates.
package checks

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/salesdag/salesdag/internal/frame"
)

// Importance says what a failed check does.
type Importance string

const (
	// Warn logs the failure; the run goes on (Hamilton's default).
	Warn Importance = "warn"
	// Fail fails the run once the graph has run.
	Fail Importance = "fail"
)

// Kind classifies a check; it is the OpenLineage assertion name.
type Kind string

// The kinds of check.
const (
	NotNullKind   Kind = "not_null"
	UniqueKind    Kind = "unique"
	AscendingKind Kind = "ascending"
	RangeKind     Kind = "range"
	RowCountKind  Kind = "row_count"
)

// Bound is one end of a range.
type Bound struct {
	Value     float64
	Exclusive bool
}

// Check is one declarative check on a node's result. Build it with the
// constructors (NotNull, Unique, Ascending, AtLeast, Above, AtMost, Below,
// Between, Rows) and adjust it with Fail, Warn, Named and Describe.
type Check struct {
	Name        string // unique within the node; default "<kind>_<column>"
	Kind        Kind
	Column      string // "" for checks on the whole result (row count)
	Min, Max    *Bound // range and row-count bounds; nil is open
	Importance  Importance
	Description string
}

// NotNull checks that column has no null.
func NotNull(column string) Check { return Check{Kind: NotNullKind, Column: column} }

// NotNulls returns a NotNull check for each column.
func NotNulls(columns ...string) []Check {
	out := make([]Check, len(columns))
	for i, c := range columns {
		out[i] = NotNull(c)
	}
	return out
}

// Unique checks that the non-null values of column are distinct.
func Unique(column string) Check { return Check{Kind: UniqueKind, Column: column} }

// Ascending checks that the non-null values of column never decrease
// (with Unique: strictly ascending).
func Ascending(column string) Check { return Check{Kind: AscendingKind, Column: column} }

// AtLeast checks column >= v on every non-null value.
func AtLeast(column string, v float64) Check {
	return Check{Kind: RangeKind, Column: column, Min: &Bound{Value: v}}
}

// Above checks column > v on every non-null value.
func Above(column string, v float64) Check {
	return Check{Kind: RangeKind, Column: column, Min: &Bound{Value: v, Exclusive: true}}
}

// AtMost checks column <= v on every non-null value.
func AtMost(column string, v float64) Check {
	return Check{Kind: RangeKind, Column: column, Max: &Bound{Value: v}}
}

// Between checks lo <= column <= hi on every non-null value.
func Between(column string, lo, hi float64) Check {
	return Check{Kind: RangeKind, Column: column, Min: &Bound{Value: lo}, Max: &Bound{Value: hi}}
}

// Rows checks that the result has between lo and hi rows; hi < 0 means no
// upper bound.
func Rows(lo, hi int64) Check {
	c := Check{Kind: RowCountKind, Min: &Bound{Value: float64(lo)}}
	if hi >= 0 {
		c.Max = &Bound{Value: float64(hi)}
	}
	return c
}

// Fail returns c with importance Fail.
func (c Check) Fail() Check { c.Importance = Fail; return c }

// Named returns c with a name.
func (c Check) Named(name string) Check { c.Name = name; return c }

// Describe returns c with a description.
func (c Check) Describe(d string) Check { c.Description = d; return c }

// name is the check's name, or its default.
func (c Check) name() string {
	if c.Column == "" {
		return cmp.Or(c.Name, string(c.Kind))
	}
	return cmp.Or(c.Name, string(c.Kind)+"_"+c.Column)
}

func (c Check) importance() Importance { return cmp.Or(c.Importance, Warn) }

// Expected says in words what the check wants, e.g. "> 0 and <= 100".
func (c Check) Expected() string {
	switch c.Kind {
	case NotNullKind:
		return "no nulls"
	case UniqueKind:
		return "unique values"
	case AscendingKind:
		return "ascending order"
	case RowCountKind:
		return boundsText(c.Min, c.Max) + " rows"
	}
	return boundsText(c.Min, c.Max)
}

func boundsText(lo, hi *Bound) string {
	var parts []string
	for _, b := range []struct {
		bound *Bound
		op    string
	}{{lo, ">"}, {hi, "<"}} {
		if b.bound != nil {
			op := b.op
			if !b.bound.Exclusive {
				op += "="
			}
			parts = append(parts, op+" "+num(b.bound.Value))
		}
	}
	if len(parts) == 0 {
		return "any"
	}
	return strings.Join(parts, " and ")
}

// num writes a number briefly: integers without a fraction.
func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%d", int64(v))
	}
	return frame.FormatFloat(v)
}

func (c Check) validate() error {
	var errs []error
	switch c.Kind {
	case NotNullKind, UniqueKind, AscendingKind:
		if c.Column == "" {
			errs = append(errs, fmt.Errorf("check %s needs a column", c.Kind))
		}
	case RangeKind:
		if c.Column == "" {
			errs = append(errs, errors.New("check range needs a column"))
		}
		if c.Min == nil && c.Max == nil {
			errs = append(errs, fmt.Errorf("check %s needs a lower or an upper bound", c.name()))
		}
	case RowCountKind:
		if c.Min == nil && c.Max == nil {
			errs = append(errs, fmt.Errorf("check %s needs a lower or an upper bound", c.name()))
		}
	default:
		errs = append(errs, fmt.Errorf("check %q has unknown kind %q", c.Name, c.Kind))
	}
	for _, b := range []*Bound{c.Min, c.Max} {
		if b != nil && math.IsNaN(b.Value) {
			errs = append(errs, fmt.Errorf("check %s has a NaN bound", c.name()))
		}
	}
	if c.Min != nil && c.Max != nil && c.Min.Value > c.Max.Value {
		errs = append(errs, fmt.Errorf("check %s: lower bound %s is above upper bound %s", c.name(), num(c.Min.Value), num(c.Max.Value)))
	}
	switch c.Importance {
	case "", Warn, Fail:
	default:
		errs = append(errs, fmt.Errorf("check %s: unknown importance %q (use warn or fail)", c.name(), c.Importance))
	}
	return errors.Join(errs...)
}

// Spec is the list of checks of one node, and how to read its result as
// columns.
type Spec struct {
	Node   string
	Checks []Check
	// Table reads the node's result as a table. nil: the result must
	// implement frame.Tabler. Results that are JSON objects or lists give
	// a specific accessor (see Typed).
	Table func(v any) (*frame.Frame, error)
}

// On returns the spec of node's checks.
func On(node string, checks ...Check) Spec { return Spec{Node: node, Checks: checks} }

// Add returns s with more checks.
func (s Spec) Add(checks ...Check) Spec {
	s.Checks = append(append([]Check(nil), s.Checks...), checks...)
	return s
}

// Using returns s with an accessor for results that are not tables.
func (s Spec) Using(table func(v any) (*frame.Frame, error)) Spec {
	s.Table = table
	return s
}

// Typed adapts a function of the node's result type to Spec.Table.
func Typed[T any](fn func(T) *frame.Frame) func(any) (*frame.Frame, error) {
	return func(v any) (*frame.Frame, error) {
		t, ok := v.(T)
		if !ok {
			var zero T
			return nil, fmt.Errorf("result is %T, the checks expect %T", v, zero)
		}
		return fn(t), nil
	}
}

func (s Spec) table(v any) (*frame.Frame, error) {
	var f *frame.Frame
	switch {
	case s.Table != nil:
		var err error
		if f, err = s.Table(v); err != nil {
			return nil, err
		}
	default:
		t, ok := v.(frame.Tabler)
		if !ok {
			return nil, fmt.Errorf("result is %T, not a table: give the checks an accessor (Spec.Using)", v)
		}
		f = t.Table()
	}
	if f == nil {
		return nil, errors.New("result has no table")
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}
