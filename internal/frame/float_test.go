package frame

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFormatFloatMatchesPythonRepr(t *testing.T) {
	// Expected strings are what CPython's repr() prints for each value.
	cases := []struct {
		in   float64
		want string
	}{
		{850, "850.0"},
		{1350.12, "1350.12"},
		{math.Copysign(0, -1), "-0.0"},
		{0, "0.0"},
		{0.1, "0.1"},
		{1e16, "1e+16"},
		{9999999999999998, "9999999999999998.0"},
		{1.2345678901234568e17, "1.2345678901234568e+17"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{1.5e-7, "1.5e-07"},
		{-2700.25, "-2700.25"},
		{123456789.125, "123456789.125"},
		{1e100, "1e+100"},
		{4.444444444444445, "4.444444444444445"},
		{math.NaN(), "nan"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, FormatFloat(c.in), "FormatFloat(%v)", c.in)
	}
}

func TestFloatJSON(t *testing.T) {
	b, err := json.Marshal(struct {
		A Float     `json:"a"`
		B NullFloat `json:"b"`
		C NullFloat `json:"c"`
		D Float     `json:"d"`
	}{A: 8001, B: NullFloat{}, C: SomeFloat(0.5), D: Float(math.NaN())})
	require.NoError(t, err)
	require.JSONEq(t, `{"a":8001.0,"b":null,"c":0.5,"d":null}`, string(b))
	require.Contains(t, string(b), `"a":8001.0`)

	var n NullFloat
	require.NoError(t, json.Unmarshal([]byte("null"), &n))
	require.False(t, n.Valid)
	require.NoError(t, json.Unmarshal([]byte("2.5"), &n))
	require.Equal(t, SomeFloat(2.5), n)
	require.Error(t, json.Unmarshal([]byte(`"x"`), &n))
}

func TestDate(t *testing.T) {
	d := DateOf(2024, 1, 15)
	require.Equal(t, "2024-01-15", d.String())
	require.Equal(t, "Monday", d.Weekday().String())
	require.Equal(t, "Wednesday", Date(-1).Weekday().String())
	b, err := json.Marshal(d)
	require.NoError(t, err)
	require.Equal(t, `"2024-01-15"`, string(b))
	var back Date
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, d, back)
	require.Error(t, json.Unmarshal([]byte(`20240115`), &back))
	require.Error(t, json.Unmarshal([]byte(`"2024-13-01"`), &back))
}

func TestFrameValidateAndSchema(t *testing.T) {
	f := &Frame{Columns: []Column{
		{Name: "d", Kind: KindDate, Dates: []Date{1, 2}},
		{Name: "x", Kind: KindFloat, Floats: []float64{1, math.NaN()}},
		{Name: "n", Kind: KindInt, Ints: []int64{1, 2}, Valid: []bool{true, false}},
		{Name: "s", Kind: KindString, Strings: []string{"a", "b"}},
		{Name: "b", Kind: KindBool, Bools: []bool{true, false}},
	}}
	require.NoError(t, f.Validate())
	require.Equal(t, 2, f.Rows())
	require.True(t, f.Columns[1].IsNull(1))
	require.False(t, f.Columns[1].IsNull(0))
	require.True(t, f.Columns[2].IsNull(1))
	require.Equal(t, []Field{{"d", "date"}, {"x", "float64"}, {"n", "int64"}, {"s", "string"}, {"b", "bool"}}, f.Schema())

	f.Columns[3].Strings = []string{"a"}
	require.ErrorContains(t, f.Validate(), `column "s" has 1 rows, want 2`)
	require.Equal(t, 0, (&Frame{}).Rows())
	require.ErrorContains(t, (&Frame{Columns: []Column{{Name: "z"}}}).Validate(), "unknown kind")
}
