package cache

import (
	"math"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/frame"
)

type rcInner struct {
	F32 float32
	U8  uint8
	I8  int8
}

type rcAll struct {
	B      bool
	I      int
	I64    int64
	U      uint
	F      float64
	S      string
	Dates  []frame.Date
	Fs     []float64
	Is     []int32
	Nil    []string
	Empty  []string
	Arr    [3]int16
	P      *int64
	NilP   *int64
	M      map[string]rcInner
	NilM   map[int]bool
	Inner  rcInner
	Nested [][]bool
	frame.NullFloat
}

type rcUnexported struct {
	A int
	b int
}

type rcFunc struct{ F func() }
type rcIface struct{ V any }
type rcRecursive struct{ Next *rcRecursive }
type rcChan struct{ C []chan int }
type rcMapKey struct{ M map[string]func() }

func TestStructCodecRoundTrip(t *testing.T) {
	require.NoError(t, RegisterStruct[rcAll]("rcall/v1"))
	require.NoError(t, RegisterStruct[*rcAll]("rcall/v1"))
	require.NoError(t, RegisterStruct[[]rcInner]("rcinner/v1"))
	seven := int64(7)
	v := rcAll{B: true, I: -3, I64: math.MinInt64, U: math.MaxUint64 >> 1, F: math.NaN(), S: "é",
		Dates: []frame.Date{1, -2}, Fs: []float64{math.Copysign(0, -1), math.Inf(1)}, Is: []int32{-1, math.MaxInt32},
		Empty: []string{}, Arr: [3]int16{1, -2, 3}, P: &seven, M: map[string]rcInner{"a": {F32: 1.5, U8: 255, I8: -128}},
		Inner: rcInner{F32: -2.25}, Nested: [][]bool{{true}, nil, {}}, NullFloat: frame.SomeFloat(8001)}
	for _, typ := range []reflect.Type{reflect.TypeFor[rcAll](), reflect.TypeFor[*rcAll]()} {
		in := any(v)
		if typ.Kind() == reflect.Pointer {
			in = &v
		}
		b, err := Marshal(typ, in)
		require.NoError(t, err)
		out, err := Unmarshal(typ, b)
		require.NoError(t, err)
		got := out
		if typ.Kind() == reflect.Pointer {
			got = *out.(*rcAll)
		}
		g := got.(rcAll)
		require.True(t, math.IsNaN(g.F))
		g.F = 0
		w := v
		w.F = 0
		require.Equal(t, math.Float64bits(w.Fs[0]), math.Float64bits(g.Fs[0]))
		require.Equal(t, w, g)
		require.Nil(t, g.Nil)
		require.NotNil(t, g.Empty)
		require.Nil(t, g.NilM)
		require.Nil(t, g.NilP)
	}
	b, err := Marshal(reflect.TypeFor[[]rcInner](), []rcInner(nil))
	require.NoError(t, err)
	out, err := Unmarshal(reflect.TypeFor[[]rcInner](), b)
	require.NoError(t, err)
	require.Nil(t, out)
	_, err = Marshal(reflect.TypeFor[rcAll](), 3)
	require.ErrorContains(t, err, "not cache.rcAll")
}

func TestStructCodecRejectsUnsupportedTypes(t *testing.T) {
	tests := []struct {
		name string
		reg  func() error
		want string
	}{
		{"unexported field", func() error { return RegisterStruct[rcUnexported]("x") }, "rcUnexported.b is unexported"},
		{"function", func() error { return RegisterStruct[rcFunc]("x") }, "kind func"},
		{"interface", func() error { return RegisterStruct[rcIface]("x") }, "kind interface"},
		{"recursive", func() error { return RegisterStruct[rcRecursive]("x") }, "recursive"},
		{"channel in slice", func() error { return RegisterStruct[rcChan]("x") }, "kind chan"},
		{"function in map", func() error { return RegisterStruct[rcMapKey]("x") }, "kind func"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, tc.reg(), tc.want)
		})
	}
	require.Nil(t, codecFor(reflect.TypeFor[rcUnexported]()))
}

type shapeA struct{ X int }

func TestStructCodecShapeIsPartOfTheID(t *testing.T) {
	require.NoError(t, RegisterStruct[shapeA]("shape/v1"))
	a := codecFor(reflect.TypeFor[shapeA]()).id
	type shapeA struct{ X int64 } // same name, other field type
	require.NoError(t, RegisterStruct[shapeA]("shape/v1"))
	b := codecFor(reflect.TypeFor[shapeA]()).id
	require.NotEqual(t, a, b)
	require.Contains(t, a, "X int")
}

func TestStructCodecCorruptPayloads(t *testing.T) {
	require.NoError(t, RegisterStruct[rcAll]("rcall/v1"))
	require.NoError(t, RegisterStruct[rcInner]("rcinner/v1"))
	require.NoError(t, RegisterStruct[[]rcInner]("rcinner/v1"))
	typ := reflect.TypeFor[rcAll]()
	seven := int64(7)
	b, err := Marshal(typ, rcAll{S: "abc", Fs: []float64{1, 2}, P: &seven, M: map[string]rcInner{"k": {}}, Nested: [][]bool{{true}}})
	require.NoError(t, err)
	for n := 0; n < len(b); n++ {
		_, err := Unmarshal(typ, b[:n])
		require.Error(t, err, "truncated to %d", n)
	}
	for i := range b {
		for _, x := range []byte{0x01, 0x7f, 0x80, 0xff} {
			c := append([]byte(nil), b...)
			c[i] ^= x
			_, _ = Unmarshal(typ, c) // must not panic
		}
	}
	tests := []struct {
		name string
		typ  reflect.Type
		in   []byte
		want string
	}{
		{"int8 overflow", reflect.TypeFor[rcInner](), append(append(make([]byte, 8), 1), NewEncoderBytes(func(e *Encoder) { e.Varint(300) })...), "overflows int8"},
		{"uint8 overflow", reflect.TypeFor[rcInner](), append(make([]byte, 8), NewEncoderBytes(func(e *Encoder) { e.Uvarint(300) })...), "overflows uint8"},
		{"float32 overflow", reflect.TypeFor[rcInner](), NewEncoderBytes(func(e *Encoder) { e.Float64(1e300) }), "overflows float32"},
		{"huge slice", reflect.TypeFor[[]rcInner](), NewEncoderBytes(func(e *Encoder) { e.Uvarint(1 << 50) }), "does not fit"},
		{"huge map", reflect.TypeFor[rcAll](), nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in == nil {
				return
			}
			_, err := Unmarshal(tc.typ, tc.in)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

type zeroMap struct{ M map[struct{}]struct{} }
type zeroSlice struct{ S []struct{} }
type deep struct {
	A [][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][]int
}

func TestStructCodecZeroSizeAndDepth(t *testing.T) {
	require.NoError(t, RegisterStruct[zeroMap]("zm"))
	require.NoError(t, RegisterStruct[zeroSlice]("zs"))
	_, err := Unmarshal(reflect.TypeFor[zeroMap](), NewEncoderBytes(func(e *Encoder) { e.Uvarint(1 << 40) }))
	require.ErrorContains(t, err, "does not fit")
	v, err := Unmarshal(reflect.TypeFor[zeroSlice](), NewEncoderBytes(func(e *Encoder) { e.Uvarint(4) }))
	require.NoError(t, err)
	require.Len(t, v.(zeroSlice).S, 3)
	b, err := Marshal(reflect.TypeFor[zeroMap](), zeroMap{M: map[struct{}]struct{}{{}: {}}})
	require.NoError(t, err)
	got, err := Unmarshal(reflect.TypeFor[zeroMap](), b)
	require.NoError(t, err)
	require.Len(t, got.(zeroMap).M, 1)
	// Nesting deeper than the limit is refused.
	d := NewDecoder([]byte{1})
	var x int
	decodeValue(d, reflect.ValueOf(&x).Elem(), 101)
	require.ErrorContains(t, d.Err(), "nested too deeply")
}

// NewEncoderBytes runs f on a fresh Encoder and returns its bytes.
func NewEncoderBytes(f func(*Encoder)) []byte {
	e := NewEncoder(0)
	f(e)
	return e.Bytes()
}
