package output

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
	xparquet "github.com/xitongsys/parquet-go/parquet"
	xreader "github.com/xitongsys/parquet-go/reader"
	xsource "github.com/xitongsys/parquet-go/source"

	"github.com/salesdag/salesdag/internal/frame"
)

// memFile is an in-memory source.ParquetFile for the independent reader
// (github.com/xitongsys/parquet-go, which shares no code with the writer's
// library).
type memFile struct{ *bytes.Reader }

func (m memFile) Write([]byte) (int, error)                  { return 0, errors.New("read-only") }
func (m memFile) Close() error                               { return nil }
func (m memFile) Open(string) (xsource.ParquetFile, error)   { return m.clone(), nil }
func (m memFile) Create(string) (xsource.ParquetFile, error) { return nil, errors.New("read-only") }
func (m memFile) clone() memFile {
	b := make([]byte, m.Size())
	_, _ = m.ReadAt(b, 0)
	return memFile{bytes.NewReader(b)}
}

// readBack is what the independent reader sees in one column.
type readBack struct {
	name      string
	physical  xparquet.Type
	logical   string // "", "DATE", "STRING", "INTEGER(64,true)"
	converted string // "", "DATE", "UTF8"
	optional  bool
	values    []any // nil for nulls
}

func readParquet(t *testing.T, data []byte) (int64, []readBack) {
	t.Helper()
	pr, err := xreader.NewParquetColumnReader(memFile{bytes.NewReader(data)}, 1)
	require.NoError(t, err)
	defer pr.ReadStop()
	rows := pr.GetNumRows()
	var out []readBack
	leaves := 0
	for i, el := range pr.Footer.Schema {
		if i == 0 {
			continue // the root group
		}
		// The reader renames columns to Go identifiers in place; ExName
		// is the name stored in the file.
		rb := readBack{name: pr.SchemaHandler.GetExName(i), physical: el.GetType(),
			optional: el.GetRepetitionType() == xparquet.FieldRepetitionType_OPTIONAL}
		if el.IsSetConvertedType() {
			rb.converted = el.GetConvertedType().String()
		}
		if lt := el.GetLogicalType(); lt != nil {
			switch {
			case lt.IsSetDATE():
				rb.logical = "DATE"
			case lt.IsSetSTRING():
				rb.logical = "STRING"
			case lt.IsSetINTEGER():
				rb.logical = fmt.Sprintf("INTEGER(%d,%t)", lt.INTEGER.BitWidth, lt.INTEGER.IsSigned)
			default:
				rb.logical = lt.String()
			}
		}
		vals, _, dls, err := pr.ReadColumnByIndex(int64(leaves), rows)
		require.NoError(t, err)
		require.Len(t, vals, int(rows))
		for i, v := range vals {
			if dls[i] == 0 {
				require.Nil(t, v)
			}
		}
		rb.values = vals
		out = append(out, rb)
		leaves++
	}
	return rows, out
}

func TestWriteParquetReadByIndependentReader(t *testing.T) {
	negZero := math.Copysign(0, -1)
	f := &frame.Frame{Columns: []frame.Column{
		{Name: "date", Kind: frame.KindDate, Dates: []frame.Date{frame.DateOf(2024, 1, 15), 0, frame.DateOf(1969, 12, 31), 5}, Valid: []bool{true, true, true, false}},
		{Name: "total_amount", Kind: frame.KindFloat, Floats: []float64{8600.75, math.NaN(), negZero, 1e300}},
		{Name: "count", Kind: frame.KindInt, Ints: []int64{3, math.MinInt64, 0, math.MaxInt64}},
		{Name: "day_of_week", Kind: frame.KindString, Strings: []string{"Monday", "", "ünï,\"q\"", "x"}, Valid: []bool{true, true, true, false}},
		{Name: "is_weekend", Kind: frame.KindBool, Bools: []bool{false, true, false, true}, Valid: []bool{true, true, false, true}},
		{Name: "a_sorts_first", Kind: frame.KindInt, Ints: []int64{1, 2, 3, 4}},
	}}
	var buf bytes.Buffer
	require.NoError(t, WriteParquet(&buf, f))
	require.Equal(t, "PAR1", buf.String()[:4])

	rows, cols := readParquet(t, buf.Bytes())
	require.EqualValues(t, 4, rows)
	require.Len(t, cols, 6)

	want := []readBack{
		{name: "date", physical: xparquet.Type_INT32, logical: "DATE", converted: "DATE", optional: true,
			values: []any{int32(frame.DateOf(2024, 1, 15)), int32(0), int32(-1), nil}},
		{name: "total_amount", physical: xparquet.Type_DOUBLE, optional: true,
			values: []any{8600.75, nil, negZero, 1e300}},
		{name: "count", physical: xparquet.Type_INT64, logical: "INTEGER(64,true)", optional: true,
			values: []any{int64(3), int64(math.MinInt64), int64(0), int64(math.MaxInt64)}},
		{name: "day_of_week", physical: xparquet.Type_BYTE_ARRAY, logical: "STRING", converted: "UTF8", optional: true,
			values: []any{"Monday", "", "ünï,\"q\"", nil}},
		{name: "is_weekend", physical: xparquet.Type_BOOLEAN, optional: true,
			values: []any{false, true, nil, true}},
		{name: "a_sorts_first", physical: xparquet.Type_INT64, logical: "INTEGER(64,true)", optional: true,
			values: []any{int64(1), int64(2), int64(3), int64(4)}},
	}
	require.Equal(t, want, cols, "column order, names, types and values as written")
	require.True(t, math.Signbit(cols[1].values[2].(float64)), "-0.0 keeps its sign")
}

func TestWriteParquetLargeTable(t *testing.T) {
	// More rows than one batch, and enough to span several pages.
	f := benchFrame(5000)
	var buf bytes.Buffer
	require.NoError(t, WriteParquet(&buf, f))
	rows, cols := readParquet(t, buf.Bytes())
	require.EqualValues(t, 5000, rows)
	require.Len(t, cols, len(f.Columns))
	for ci, c := range f.Columns {
		require.Equal(t, c.Name, cols[ci].name)
		for r := 0; r < 5000; r++ {
			got := cols[ci].values[r]
			if c.IsNull(r) {
				require.Nil(t, got, "%s[%d]", c.Name, r)
				continue
			}
			switch c.Kind {
			case frame.KindDate:
				require.Equal(t, int32(c.Dates[r]), got)
			case frame.KindFloat:
				require.Equal(t, c.Floats[r], got)
			case frame.KindInt:
				require.Equal(t, c.Ints[r], got)
			case frame.KindString:
				require.Equal(t, c.Strings[r], got)
			case frame.KindBool:
				require.Equal(t, c.Bools[r], got)
			}
		}
	}
}

func TestWriteParquetNoRows(t *testing.T) {
	f := &frame.Frame{Columns: []frame.Column{
		{Name: "week", Kind: frame.KindString}, {Name: "d", Kind: frame.KindDate}}}
	var buf bytes.Buffer
	require.NoError(t, WriteParquet(&buf, f))
	rows, cols := readParquet(t, buf.Bytes())
	require.Zero(t, rows)
	require.Len(t, cols, 2)
	require.Equal(t, "DATE", cols[1].logical, "the schema is there even without rows")
}

func TestWriteParquetErrors(t *testing.T) {
	cases := []struct {
		name string
		f    *frame.Frame
		want string
	}{
		{"nil", nil, "frame is nil"},
		{"no columns", &frame.Frame{}, "no columns"},
		{"ragged", &frame.Frame{Columns: []frame.Column{
			{Name: "a", Kind: frame.KindInt, Ints: []int64{1}},
			{Name: "b", Kind: frame.KindInt}}}, `column "b" has 0 rows, want 1`},
		{"duplicate names", &frame.Frame{Columns: []frame.Column{
			{Name: "a", Kind: frame.KindInt}, {Name: "a", Kind: frame.KindInt}}}, `duplicate column name "a"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.ErrorContains(t, WriteParquet(io.Discard, c.f), c.want)
		})
	}
	t.Run("failing writer", func(t *testing.T) {
		err := WriteParquet(&failWriter{after: 1000}, benchFrame(20000))
		require.ErrorIs(t, err, errDiskFull)
	})
}

func TestOrderedGroupNode(t *testing.T) {
	g := parquetGroupOf(weeklySample())
	require.False(t, g.Leaf())
	require.True(t, g.Required())
	require.False(t, g.Optional() || g.Repeated())
	require.Zero(t, g.ID())
	require.Nil(t, g.Encoding())
	require.Nil(t, g.Compression())
	require.Contains(t, g.String(), "7 fields")
	require.Equal(t, "group", g.Type().String())

	// GoType and Value agree: a struct of that type yields each field.
	typ := g.GoType()
	require.Equal(t, 7, typ.NumField())
	require.Equal(t, `parquet:"daily_std"`, string(typ.Field(3).Tag))
	v := reflectNew(typ)
	for i, fl := range g.Fields() {
		require.Equal(t, typ.Field(i).Type, fl.Value(v).Type())
	}
	require.False(t, g.Fields()[0].Value(reflectValueOf(3)).IsValid())
	require.False(t, g.Fields()[0].Value(reflectNilPtr(typ)).IsValid())
}

func reflectNew(t reflect.Type) reflect.Value    { return reflect.New(t) }
func reflectValueOf(v any) reflect.Value         { return reflect.ValueOf(v) }
func reflectNilPtr(t reflect.Type) reflect.Value { return reflect.Zero(reflect.PointerTo(t)) }

func BenchmarkWriteParquet100k(b *testing.B) {
	f := benchFrame(100000)
	var w countWriter
	require.NoError(b, WriteParquet(&w, f))
	b.SetBytes(w.n)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteParquet(&w, f); err != nil {
			b.Fatal(err)
		}
	}
}
