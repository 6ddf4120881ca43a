package salesdag

import (
	"fmt"
	"time"

	"github.com/salesdag/salesdag/internal/frame"
)

// Date is a calendar date, stored as days since 1970-01-01. It orders like
// the calendar and needs no time zone.
type Date int32

// DateOf returns the Date of a year, month and day.
func DateOf(year int, month time.Month, day int) Date {
	return Date(frame.DateOf(year, month, day))
}

// Time returns midnight UTC of the date.
func (d Date) Time() time.Time { return frame.Date(d).Time() }

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return frame.Date(d).String() }

// MarshalText writes the date as YYYY-MM-DD (so JSON gets "2024-01-31").
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a YYYY-MM-DD date.
func (d *Date) UnmarshalText(b []byte) error {
	t, err := time.Parse(time.DateOnly, string(b))
	if err != nil {
		return fmt.Errorf("salesdag: date %q is not YYYY-MM-DD", b)
	}
	*d = DateOf(t.Date())
	return nil
}

// Kind is the type of a table column.
type Kind uint8

// The column kinds. A column of kind K keeps its values in the slice of
// that name (KindInt: Column.Ints, ...).
const (
	KindInt    Kind = Kind(frame.KindInt)    // int64 values in Ints
	KindFloat  Kind = Kind(frame.KindFloat)  // float64 values in Floats
	KindString Kind = Kind(frame.KindString) // string values in Strings
	KindBool   Kind = Kind(frame.KindBool)   // bool values in Bools
	KindDate   Kind = Kind(frame.KindDate)   // Date values in Dates
)

// String returns "int64", "float64", "string", "bool" or "date".
func (k Kind) String() string { return frame.Kind(k).String() }

// Column is one named, typed column of a Table. Only the value slice that
// matches Kind is used. Valid marks the rows that are not null; nil means
// no row is null. A NaN in Floats is null as well (as in pandas).
type Column struct {
	Name    string    // the column's header in the written files
	Kind    Kind      // which of the slices below holds the values
	Ints    []int64   // KindInt
	Floats  []float64 // KindFloat
	Strings []string  // KindString
	Bools   []bool    // KindBool
	Dates   []Date    // KindDate
	Valid   []bool    // false marks a null row; nil: none is null
}

// Len returns the number of rows of the column.
func (c *Column) Len() int {
	switch c.Kind {
	case KindInt:
		return len(c.Ints)
	case KindFloat:
		return len(c.Floats)
	case KindString:
		return len(c.Strings)
	case KindBool:
		return len(c.Bools)
	case KindDate:
		return len(c.Dates)
	}
	return 0
}

// IsNull reports whether row i is null.
func (c *Column) IsNull(i int) bool {
	if c.Valid != nil && !c.Valid[i] {
		return true
	}
	return c.Kind == KindFloat && c.Floats[i] != c.Floats[i]
}

// Table is a table result: columns of equal length, in order. The
// pipeline's tables (daily_sales_summary, ...) arrive in user nodes and
// in results as Tables; a user node that returns a *Table is written like
// them (CSV, JSON or Parquet) and cached.
//
// A Table handed to a node or read from a Result may share memory with
// the pipeline's own values: read it, do not modify it.
type Table struct {
	Columns []Column // in the order they are written
}

// Rows returns the number of rows (0 for a table without columns).
func (t *Table) Rows() int {
	if t == nil || len(t.Columns) == 0 {
		return 0
	}
	return t.Columns[0].Len()
}

// Column returns the column called name.
func (t *Table) Column(name string) (*Column, bool) {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i], true
		}
	}
	return nil, false
}

// Validate checks that every column has a known kind, the same number
// of rows as the others and, if it has one, a validity slice as long.
func (t *Table) Validate() error {
	if err := t.internal().Validate(); err != nil {
		return fmt.Errorf("salesdag: table: %w", err)
	}
	return nil
}

// frame returns c as an internal column; Dates are copied (a different
// element type), every other slice is shared.
func (c *Column) frame() frame.Column {
	fc := frame.Column{Name: c.Name, Kind: frame.Kind(c.Kind), Ints: c.Ints, Floats: c.Floats,
		Strings: c.Strings, Bools: c.Bools, Valid: c.Valid}
	if c.Dates != nil {
		fc.Dates = make([]frame.Date, len(c.Dates))
		for i, d := range c.Dates {
			fc.Dates[i] = frame.Date(d)
		}
	}
	return fc
}

// internal returns t as the frame the writers and the cache know.
func (t *Table) internal() *frame.Frame {
	if t == nil {
		return nil
	}
	f := &frame.Frame{Columns: make([]frame.Column, len(t.Columns))}
	for i := range t.Columns {
		f.Columns[i] = t.Columns[i].frame()
	}
	return f
}

// tableOf returns the public view of an internal frame.
func tableOf(f *frame.Frame) *Table {
	if f == nil {
		return nil
	}
	t := &Table{Columns: make([]Column, len(f.Columns))}
	for i, fc := range f.Columns {
		c := Column{Name: fc.Name, Kind: Kind(fc.Kind), Ints: fc.Ints, Floats: fc.Floats,
			Strings: fc.Strings, Bools: fc.Bools, Valid: fc.Valid}
		if fc.Dates != nil {
			c.Dates = make([]Date, len(fc.Dates))
			for j, d := range fc.Dates {
				c.Dates[j] = Date(d)
			}
		}
		t.Columns[i] = c
	}
	return t
}
