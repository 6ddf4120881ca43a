package output

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/salesdag/salesdag/internal/frame"
)

// parquetBatch is how many rows are handed to the parquet writer at once:
// enough to amortise the call, small enough to keep the row buffer tiny.
const parquetBatch = 1024

// WriteParquet writes f as a Parquet file with one row group.
//
// Schema choices (made to match what pandas/pyarrow write for the same
// DataFrame, so other tools see familiar types):
//   - every column is OPTIONAL, whether or not it holds nulls today, so a
//     node's schema does not change from run to run with the data;
//   - float -> DOUBLE, int -> INT64, bool -> BOOLEAN,
//     string -> BYTE_ARRAY with the STRING logical type (UTF8),
//     date -> INT32 days since the epoch with the DATE logical type
//     (written as int32 directly: parquet-go v0.32.0 mis-writes time.Time
//     under the date tag);
//   - columns keep the frame's order (parquet.Group would sort them);
//   - SNAPPY compression and version-1 data pages, which every reader
//     supports.
func WriteParquet(w io.Writer, f *frame.Frame) (err error) {
	if f == nil {
		return errors.New("output: write Parquet: frame is nil")
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("output: write Parquet: %w", err)
	}
	if len(f.Columns) == 0 {
		return errors.New("output: write Parquet: frame has no columns (Parquet needs at least one)")
	}
	seen := make(map[string]bool, len(f.Columns))
	for _, c := range f.Columns {
		if seen[c.Name] {
			return fmt.Errorf("output: write Parquet: duplicate column name %q", c.Name)
		}
		seen[c.Name] = true
	}
	schema := parquet.NewSchema("schema", parquetGroupOf(f))

	// parquet-go panics on some invalid inputs; a writer must never take
	// the process down, so turn a panic into an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("output: write Parquet: %v", r)
		}
	}()

	bw := bufio.NewWriterSize(w, csvBufSize)
	pw := parquet.NewWriter(bw, schema,
		parquet.Compression(&parquet.Snappy),
		parquet.DataPageVersion(1),
	)
	ncol := len(f.Columns)
	rows := f.Rows()
	// One flat value buffer, sliced into rows: a single allocation per batch size.
	vals := make([]parquet.Value, parquetBatch*ncol)
	batch := make([]parquet.Row, 0, parquetBatch)
	for start := 0; start < rows; start += parquetBatch {
		end := min(start+parquetBatch, rows)
		batch = batch[:0]
		for r := start; r < end; r++ {
			row := vals[(r-start)*ncol : (r-start+1)*ncol : (r-start+1)*ncol]
			for ci := range f.Columns {
				row[ci] = parquetValue(&f.Columns[ci], r, ci)
			}
			batch = append(batch, row)
		}
		if _, err := pw.WriteRows(batch); err != nil {
			return fmt.Errorf("output: write Parquet rows %d-%d: %w", start+1, end, err)
		}
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("output: write Parquet: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("output: write Parquet: %w", err)
	}
	return nil
}

// parquetValue returns row r of column c (column index ci) as a value of an
// OPTIONAL leaf: definition level 1 when present, 0 when null.
func parquetValue(c *frame.Column, r, ci int) parquet.Value {
	if c.IsNull(r) {
		return parquet.NullValue().Level(0, 0, ci)
	}
	var v parquet.Value
	switch c.Kind {
	case frame.KindFloat:
		v = parquet.DoubleValue(c.Floats[r])
	case frame.KindInt:
		v = parquet.Int64Value(c.Ints[r])
	case frame.KindString:
		// No copy: the writer copies the bytes into its page buffer before
		// WriteRows returns, and the string is not modified meanwhile.
		s := c.Strings[r]
		v = parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s)))
	case frame.KindBool:
		v = parquet.BooleanValue(c.Bools[r])
	case frame.KindDate:
		v = parquet.Int32Value(int32(c.Dates[r]))
	}
	return v.Level(0, 1, ci)
}

// parquetLeaf returns the leaf node for a column kind.
func parquetLeaf(k frame.Kind) parquet.Node {
	switch k {
	case frame.KindFloat:
		return parquet.Leaf(parquet.DoubleType)
	case frame.KindInt:
		return parquet.Leaf(parquet.Int64Type)
	case frame.KindString:
		return parquet.String()
	case frame.KindBool:
		return parquet.Leaf(parquet.BooleanType)
	default: // frame.KindDate; Validate rejected anything else
		return parquet.Date()
	}
}

// orderedGroup is a parquet group node whose fields keep the frame's column
// order. parquet.Group is a map and sorts its fields by name, which would
// reorder the table.
type orderedGroup struct {
	fields []parquet.Field
}

func parquetGroupOf(f *frame.Frame) *orderedGroup {
	g := &orderedGroup{fields: make([]parquet.Field, len(f.Columns))}
	for i, c := range f.Columns {
		g.fields[i] = &namedField{Node: parquet.Optional(parquetLeaf(c.Kind)), name: c.Name, index: i}
	}
	return g
}

func (g *orderedGroup) ID() int                     { return 0 }
func (g *orderedGroup) String() string              { return fmt.Sprintf("group(%d fields)", len(g.fields)) }
func (g *orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g *orderedGroup) Optional() bool              { return false }
func (g *orderedGroup) Repeated() bool              { return false }
func (g *orderedGroup) Required() bool              { return true }
func (g *orderedGroup) Leaf() bool                  { return false }
func (g *orderedGroup) Fields() []parquet.Field     { return g.fields }
func (g *orderedGroup) Encoding() encoding.Encoding { return nil }
func (g *orderedGroup) Compression() compress.Codec { return nil }

// GoType describes rows as a struct with one field per column, tagged with
// the column name. Rows are written as parquet.Row values, so this is only
// for parquet-go's own introspection.
func (g *orderedGroup) GoType() reflect.Type {
	sf := make([]reflect.StructField, len(g.fields))
	for i, fl := range g.fields {
		sf[i] = reflect.StructField{
			Name: "F" + strconv.Itoa(i),
			Type: fl.GoType(),
			Tag:  reflect.StructTag(`parquet:` + strconv.Quote(fl.Name())),
		}
	}
	return reflect.StructOf(sf)
}

// namedField is one column of an orderedGroup.
type namedField struct {
	parquet.Node
	name  string
	index int
}

func (f *namedField) Name() string { return f.name }

// Value returns the field's value in a struct of the GoType shape.
func (f *namedField) Value(base reflect.Value) reflect.Value {
	for base.Kind() == reflect.Pointer || base.Kind() == reflect.Interface {
		if base.IsNil() {
			return reflect.Value{}
		}
		base = base.Elem()
	}
	if base.Kind() != reflect.Struct || f.index >= base.NumField() {
		return reflect.Value{}
	}
	return base.Field(f.index)
}
