package checks

import (
	"fmt"
	"math"
	"strings"

	"github.com/salesdag/salesdag/internal/frame"
)

// Result is the outcome of one check on one node's result. Actual holds
// counts, row numbers and numeric aggregates only, never values of string
// columns.
type Result struct {
	Node        string     `json:"node"`
	Name        string     `json:"name"`
	Assertion   Kind       `json:"assertion"`
	Column      string     `json:"column,omitempty"`
	Importance  Importance `json:"importance"`
	Success     bool       `json:"success"`
	Expected    string     `json:"expected"`
	Actual      string     `json:"actual"`
	Description string     `json:"description,omitempty"`
}

// String tells the result in one line, e.g.
// "daily_sales_summary: range_total_amount (total_amount) expected > 0, got 2 of 30 rows outside (min -3.0) [fail]".
func (r Result) String() string {
	var b strings.Builder
	b.WriteString(r.Node + ": " + r.Name)
	if r.Column != "" && !strings.Contains(r.Name, r.Column) {
		b.WriteString(" (" + r.Column + ")")
	}
	if r.Success {
		b.WriteString(" passed")
	} else {
		fmt.Fprintf(&b, " expected %s, got %s", r.Expected, r.Actual)
	}
	fmt.Fprintf(&b, " [%s]", r.Importance)
	return b.String()
}

// evaluate runs the checks of s on a table (or reports why the result
// could not be read, as a failure of every check).
func evaluate(s Spec, v any) (out []Result) {
	results := make([]Result, len(s.Checks))
	for i, c := range s.Checks {
		results[i] = Result{
			Node: s.Node, Name: c.name(), Assertion: c.Kind, Column: c.Column,
			Importance: c.importance(), Expected: c.Expected(), Description: c.Description,
		}
	}
	failAll := func(why string) []Result {
		for i := range results {
			results[i].Success, results[i].Actual = false, why
		}
		return results
	}
	defer func() {
		// A result that breaks its own accessor must not take the run
		// down from inside a hook; every check fails instead.
		if p := recover(); p != nil {
			out = failAll(fmt.Sprintf("cannot read the result: %v", p))
		}
	}()
	f, err := s.table(v)
	if err != nil {
		return failAll("cannot read the result: " + err.Error())
	}
	for i, c := range s.Checks {
		results[i].Success, results[i].Actual = run(c, f)
	}
	return results
}

func findColumn(f *frame.Frame, name string) *frame.Column {
	for i := range f.Columns {
		if f.Columns[i].Name == name {
			return &f.Columns[i]
		}
	}
	return nil
}

func run(c Check, f *frame.Frame) (bool, string) {
	n := f.Rows()
	if c.Kind == RowCountKind {
		v := float64(n)
		return inBounds(v, c.Min, c.Max), fmt.Sprintf("%d rows", n)
	}
	col := findColumn(f, c.Column)
	if col == nil {
		return false, fmt.Sprintf("no column %q in the result", c.Column)
	}
	switch c.Kind {
	case NotNullKind:
		nulls := 0
		for i := range n {
			if col.IsNull(i) {
				nulls++
			}
		}
		return nulls == 0, fmt.Sprintf("%d of %d rows null", nulls, n)
	case UniqueKind:
		dups := duplicates(col, n)
		return dups == 0, fmt.Sprintf("%d duplicate values in %d rows", dups, n)
	case AscendingKind:
		at := orderBreak(col, n)
		if at < 0 {
			return true, fmt.Sprintf("ascending over %d rows", n)
		}
		return false, fmt.Sprintf("order breaks at row %d of %d", at+1, n)
	}
	// RangeKind.
	if col.Kind != frame.KindInt && col.Kind != frame.KindFloat {
		return false, fmt.Sprintf("column %q is %s, not a number", c.Column, col.Kind)
	}
	bad, seen := 0, 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range n {
		if col.IsNull(i) {
			continue
		}
		v := numberAt(col, i)
		seen++
		lo, hi = min(lo, v), max(hi, v)
		if !inBounds(v, c.Min, c.Max) {
			bad++
		}
	}
	switch {
	case seen == 0:
		return true, "no non-null values"
	case n == 1:
		return bad == 0, num(lo)
	case bad == 0:
		return true, fmt.Sprintf("min %s, max %s", num(lo), num(hi))
	}
	return false, fmt.Sprintf("%d of %d rows outside (min %s, max %s)", bad, n, num(lo), num(hi))
}

func numberAt(c *frame.Column, i int) float64 {
	if c.Kind == frame.KindInt {
		return float64(c.Ints[i])
	}
	return c.Floats[i]
}

func inBounds(v float64, lo, hi *Bound) bool {
	if lo != nil && (v < lo.Value || lo.Exclusive && v == lo.Value) {
		return false
	}
	if hi != nil && (v > hi.Value || hi.Exclusive && v == hi.Value) {
		return false
	}
	return true
}

// duplicates counts non-null values equal to an earlier one.
func duplicates(c *frame.Column, n int) int {
	seen := make(map[any]struct{}, n)
	dups := 0
	for i := range n {
		if c.IsNull(i) {
			continue
		}
		k := keyAt(c, i)
		if _, ok := seen[k]; ok {
			dups++
			continue
		}
		seen[k] = struct{}{}
	}
	return dups
}

func keyAt(c *frame.Column, i int) any {
	switch c.Kind {
	case frame.KindInt:
		return c.Ints[i]
	case frame.KindFloat:
		v := c.Floats[i]
		if v == 0 {
			v = 0 // -0 equals 0
		}
		return v
	case frame.KindString:
		return c.Strings[i]
	case frame.KindBool:
		return c.Bools[i]
	}
	return c.Dates[i]
}

// orderBreak returns the first row whose non-null value is below the
// previous non-null value, or -1.
func orderBreak(c *frame.Column, n int) int {
	prev := -1
	for i := range n {
		if c.IsNull(i) {
			continue
		}
		if prev >= 0 && less(c, i, prev) {
			return i
		}
		prev = i
	}
	return -1
}

func less(c *frame.Column, a, b int) bool {
	switch c.Kind {
	case frame.KindInt:
		return c.Ints[a] < c.Ints[b]
	case frame.KindFloat:
		return c.Floats[a] < c.Floats[b]
	case frame.KindString:
		return c.Strings[a] < c.Strings[b]
	case frame.KindBool:
		return !c.Bools[a] && c.Bools[b]
	}
	return c.Dates[a] < c.Dates[b]
}
