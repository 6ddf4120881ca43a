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
	//lint:ignore U1000 the struct codec must refuse an unexported field
	b int
}

type rcFunc struct{ F func() }
type rcIface struct{ V any }
type rcRecursive struct{ Next *rcRecursive }
type rcChan struct{ C []chan int }
type rcMapKey struct{ M map[string]func() }

// mustStruct returns the struct codec of T.
func mustStruct[T any](t *testing.T, id string) *Codec {
	t.Helper()
	c, err := StructCodec[T](id)
	require.NoError(t, err)
	return &c
}

func TestStructCodecRoundTrip(t *testing.T) {
	seven := int64(7)
	v := rcAll{B: true, I: -3, I64: math.MinInt64, U: math.MaxUint64 >> 1, F: math.NaN(), S: "é",
		Dates: []frame.Date{1, -2}, Fs: []float64{math.Copysign(0, -1), math.Inf(1)}, Is: []int32{-1, math.MaxInt32},
		Empty: []string{}, Arr: [3]int16{1, -2, 3}, P: &seven, M: map[string]rcInner{"a": {F32: 1.5, U8: 255, I8: -128}},
		Inner: rcInner{F32: -2.25}, Nested: [][]bool{{true}, nil, {}}, NullFloat: frame.SomeFloat(8001)}
	for _, c := range []*Codec{mustStruct[rcAll](t, "rcall/v1"), mustStruct[*rcAll](t, "rcall/v1")} {
		in := any(v)
		if c.Type.Kind() == reflect.Pointer {
			in = &v
		}
		b, err := c.encode(in)
		require.NoError(t, err)
		out, err := c.decode(b)
		require.NoError(t, err)
		got := out
		if c.Type.Kind() == reflect.Pointer {
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
	inner := mustStruct[[]rcInner](t, "rcinner/v1")
	b, err := inner.encode([]rcInner(nil))
	require.NoError(t, err)
	out, err := inner.decode(b)
	require.NoError(t, err)
	require.Nil(t, out)
	_, err = mustStruct[rcAll](t, "rcall/v1").encode(3)
	require.ErrorContains(t, err, "not cache.rcAll")
}

func TestStructCodecRejectsUnsupportedTypes(t *testing.T) {
	tests := []struct {
		name string
		reg  func() error
		want string
	}{
		{"unexported field", func() error { _, err := StructCodec[rcUnexported]("x"); return err }, "rcUnexported.b is unexported"},
		{"function", func() error { _, err := StructCodec[rcFunc]("x"); return err }, "kind func"},
		{"interface", func() error { _, err := StructCodec[rcIface]("x"); return err }, "kind interface"},
		{"recursive", func() error { _, err := StructCodec[rcRecursive]("x"); return err }, "recursive"},
		{"channel in slice", func() error { _, err := StructCodec[rcChan]("x"); return err }, "kind chan"},
		{"function in map", func() error { _, err := StructCodec[rcMapKey]("x"); return err }, "kind func"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, tc.reg(), tc.want)
		})
	}
}

type shapeA struct{ X int }

func TestStructCodecShapeIsPartOfTheID(t *testing.T) {
	a := mustStruct[shapeA](t, "shape/v1").ID
	type shapeA struct{ X int64 } // same name, other field type
	b := mustStruct[shapeA](t, "shape/v1").ID
	require.NotEqual(t, a, b)
	require.Contains(t, a, "X int")
}

func TestStructCodecCorruptPayloads(t *testing.T) {
	all := mustStruct[rcAll](t, "rcall/v1")
	seven := int64(7)
	b, err := all.encode(rcAll{S: "abc", Fs: []float64{1, 2}, P: &seven, M: map[string]rcInner{"k": {}}, Nested: [][]bool{{true}}})
	require.NoError(t, err)
	for n := 0; n < len(b); n++ {
		_, err := all.decode(b[:n])
		require.Error(t, err, "truncated to %d", n)
	}
	for i := range b {
		for _, x := range []byte{0x01, 0x7f, 0x80, 0xff} {
			c := append([]byte(nil), b...)
			c[i] ^= x
			_, _ = all.decode(c) // must not panic
		}
	}
	inner, inners := mustStruct[rcInner](t, "rcinner/v1"), mustStruct[[]rcInner](t, "rcinner/v1")
	tests := []struct {
		name  string
		codec *Codec
		in    []byte
		want  string
	}{
		{"int8 overflow", inner, append(append(make([]byte, 8), 1), encoded(func(e *encoder) { e.Varint(300) })...), "overflows int8"},
		{"uint8 overflow", inner, append(make([]byte, 8), encoded(func(e *encoder) { e.Uvarint(300) })...), "overflows uint8"},
		{"float32 overflow", inner, encoded(func(e *encoder) { e.Float64(1e300) }), "overflows float32"},
		{"huge slice", inners, encoded(func(e *encoder) { e.Uvarint(1 << 50) }), "does not fit"},
		{"huge map", all, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in == nil {
				return
			}
			_, err := tc.codec.decode(tc.in)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

type zeroMap struct{ M map[struct{}]struct{} }
type zeroSlice struct{ S []struct{} }

func TestStructCodecZeroSizeAndDepth(t *testing.T) {
	zm, zs := mustStruct[zeroMap](t, "zm"), mustStruct[zeroSlice](t, "zs")
	_, err := zm.decode(encoded(func(e *encoder) { e.Uvarint(1 << 40) }))
	require.ErrorContains(t, err, "does not fit")
	v, err := zs.decode(encoded(func(e *encoder) { e.Uvarint(4) }))
	require.NoError(t, err)
	require.Len(t, v.(zeroSlice).S, 3)
	b, err := zm.encode(zeroMap{M: map[struct{}]struct{}{{}: {}}})
	require.NoError(t, err)
	got, err := zm.decode(b)
	require.NoError(t, err)
	require.Len(t, got.(zeroMap).M, 1)
	// Nesting deeper than the limit is refused.
	d := &decoder{b: []byte{1}}
	var x int
	decodeValue(d, reflect.ValueOf(&x).Elem(), 101)
	require.ErrorContains(t, d.err, "nested too deeply")
}

// encoded runs f on a fresh encoder and returns its bytes.
func encoded(f func(*encoder)) []byte {
	e := &encoder{}
	f(e)
	return e.b
}
