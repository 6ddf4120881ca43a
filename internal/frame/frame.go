// Package frame holds the small typed column tables that flow from the
// pipeline to the writers and the lineage facets. It knows nothing about
// sales: it only gives tables a shape that writers can walk.
package frame

import "fmt"

// Kind is the logical type of a column.
type Kind uint8

const (
	KindInt Kind = iota + 1
	KindFloat
	KindString
	KindBool
	KindDate
)

func (k Kind) String() string {
	switch k {
	case KindInt:
		return "int64"
	case KindFloat:
		return "float64"
	case KindString:
		return "string"
	case KindBool:
		return "bool"
	case KindDate:
		return "date"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Column is one typed column. Exactly one of the value slices matching Kind
// is used. Valid marks non-null rows; a nil Valid means no nulls. NaN in a
// Float column is also treated as null, as pandas does.
type Column struct {
	Name    string
	Kind    Kind
	Ints    []int64
	Floats  []float64
	Strings []string
	Bools   []bool
	Dates   []Date
	Valid   []bool
}

// Len returns the number of rows in the column.
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

// Frame is an ordered set of equally long columns.
type Frame struct {
	Columns []Column
}

// Rows returns the number of rows (0 for a frame without columns).
func (f *Frame) Rows() int {
	if len(f.Columns) == 0 {
		return 0
	}
	return f.Columns[0].Len()
}

// Validate checks that all columns have the same length and a known kind.
func (f *Frame) Validate() error {
	n := f.Rows()
	for i := range f.Columns {
		c := &f.Columns[i]
		if c.Kind < KindInt || c.Kind > KindDate {
			return fmt.Errorf("frame: column %q has unknown kind %d", c.Name, c.Kind)
		}
		if c.Len() != n {
			return fmt.Errorf("frame: column %q has %d rows, want %d", c.Name, c.Len(), n)
		}
		if c.Valid != nil && len(c.Valid) != n {
			return fmt.Errorf("frame: column %q validity has %d rows, want %d", c.Name, len(c.Valid), n)
		}
	}
	return nil
}

// Field names a column and its type; it describes a table's schema.
type Field struct {
	Name string
	Type string
}

// Schema returns the frame's fields in column order.
func (f *Frame) Schema() []Field {
	out := make([]Field, len(f.Columns))
	for i, c := range f.Columns {
		out[i] = Field{Name: c.Name, Type: c.Kind.String()}
	}
	return out
}

// Tabler is implemented by node results that are tables (written as CSV
// and Parquet); anything else is written as JSON.
type Tabler interface {
	Table() *Frame
}
