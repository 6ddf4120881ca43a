package cache

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/frame"
)

func sampleFrame() *frame.Frame {
	return &frame.Frame{Columns: []frame.Column{
		{Name: "date", Kind: frame.KindDate, Dates: []frame.Date{19723, 19724, -3}},
		{Name: "total", Kind: frame.KindFloat, Floats: []float64{1.5, math.NaN(), math.Copysign(0, -1)}},
		{Name: "n", Kind: frame.KindInt, Ints: []int64{1, math.MinInt64, math.MaxInt64}, Valid: []bool{true, false, true}},
		{Name: "day", Kind: frame.KindString, Strings: []string{"Monday", "", "Ünïcode"}},
		{Name: "weekend", Kind: frame.KindBool, Bools: []bool{false, true, false}},
	}}
}

func TestFrameCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		f    *frame.Frame
	}{
		{"nil", nil},
		{"no columns", &frame.Frame{}},
		{"empty columns", &frame.Frame{Columns: []frame.Column{{Name: "a", Kind: frame.KindInt, Ints: []int64{}}}}},
		{"all kinds", sampleFrame()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodeFrame(tc.f)
			require.NoError(t, err)
			got, err := DecodeFrame(b)
			require.NoError(t, err)
			if tc.f == nil {
				require.Nil(t, got)
				return
			}
			require.Equal(t, len(tc.f.Columns), len(got.Columns))
			for i := range tc.f.Columns {
				w, g := tc.f.Columns[i], got.Columns[i]
				require.Equal(t, w.Name, g.Name)
				require.Equal(t, w.Kind, g.Kind)
				require.Equal(t, w.Valid, g.Valid)
				require.Equal(t, w.Ints, g.Ints)
				require.Equal(t, w.Strings, g.Strings)
				require.Equal(t, w.Bools, g.Bools)
				require.Equal(t, w.Dates, g.Dates)
				require.Equal(t, len(w.Floats), len(g.Floats))
				for j := range w.Floats { // bit-exact: NaN and -0 included
					require.Equal(t, math.Float64bits(w.Floats[j]), math.Float64bits(g.Floats[j]))
				}
			}
		})
	}
}

// Every truncation and every single-byte change of a payload must give an
// error or a valid frame, never a panic or a huge allocation.
func TestFrameDecoderIsRobust(t *testing.T) {
	b, err := EncodeFrame(sampleFrame())
	require.NoError(t, err)
	for n := 0; n < len(b); n++ {
		_, err := DecodeFrame(b[:n])
		require.Error(t, err, "truncated to %d bytes", n)
	}
	for i := range b {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			c := append([]byte(nil), b...)
			c[i] ^= x
			f, err := DecodeFrame(c)
			if err == nil && f != nil {
				require.NoError(t, f.Validate())
			}
		}
	}
	_, err = DecodeFrame(append(b, 0))
	require.ErrorContains(t, err, "unexpected bytes")
}

func TestDecoderLimits(t *testing.T) {
	huge := binary.AppendUvarint(nil, 1<<60)
	tests := []struct {
		name string
		read func(d *Decoder)
	}{
		{"int64s", func(d *Decoder) { d.Int64s() }},
		{"int32s", func(d *Decoder) { d.Int32s() }},
		{"uint32s", func(d *Decoder) { d.Uint32s() }},
		{"float64s", func(d *Decoder) { d.Float64s() }},
		{"strings", func(d *Decoder) { d.Strings() }},
		{"string", func(d *Decoder) { _ = d.String() }},
		{"dates", func(d *Decoder) { d.Dates() }},
		{"bools", func(d *Decoder) { d.Bools() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := huge
			if tc.name == "bools" {
				in = append([]byte{1}, huge...)
			}
			d := NewDecoder(in)
			tc.read(d)
			require.Error(t, d.Err())
			// Errors are sticky: later reads return zero values.
			require.Zero(t, d.Uvarint())
			require.Zero(t, d.Varint())
			require.Zero(t, d.Float64())
			require.False(t, d.Bool())
			require.Nil(t, d.Int64s())
		})
	}
	d := NewDecoder([]byte{2})
	d.Bool()
	require.ErrorContains(t, d.Err(), "invalid boolean")
	d = NewDecoder([]byte{1, 1, 7})
	d.Bools()
	require.ErrorContains(t, d.Err(), "invalid boolean")
	// String lengths that do not add up.
	e := NewEncoder(0)
	e.Uvarint(2)
	e.Uvarint(3)
	e.Uvarint(3)
	e.Uvarint(4)
	e.b = append(e.b, "abcd"...)
	d = NewDecoder(e.Bytes())
	require.Nil(t, d.Strings())
	require.Error(t, d.Err())
	e = NewEncoder(0)
	e.Uvarint(1)
	e.Uvarint(1)
	e.Uvarint(2)
	e.b = append(e.b, "ab"...)
	d = NewDecoder(e.Bytes())
	require.Nil(t, d.Strings())
	require.ErrorContains(t, d.Err(), "do not add up")
	// Unknown column kind.
	e = NewEncoder(0)
	e.Bool(true)
	e.Uvarint(1)
	e.String("x")
	e.Uvarint(99)
	e.Bools(nil)
	_, err := DecodeFrame(e.Bytes())
	require.ErrorContains(t, err, "unknown kind")
	// Columns of different lengths.
	bad, err := EncodeFrame(&frame.Frame{Columns: []frame.Column{
		{Name: "a", Kind: frame.KindInt, Ints: []int64{1}}, {Name: "b", Kind: frame.KindInt, Ints: []int64{1, 2}}}})
	require.NoError(t, err)
	_, err = DecodeFrame(bad)
	require.ErrorContains(t, err, "rows")
}

func TestEncoderScalars(t *testing.T) {
	e := NewEncoder(0)
	e.Varint(-5)
	e.Float64(math.Inf(-1))
	e.Bool(true)
	e.String("héllo")
	e.Int32s([]int32{-1, 2})
	e.Uint32s([]uint32{math.MaxUint32})
	e.Bools([]bool{})
	d := NewDecoder(e.Bytes())
	require.Equal(t, int64(-5), d.Varint())
	require.True(t, math.IsInf(d.Float64(), -1))
	require.True(t, d.Bool())
	require.Equal(t, "héllo", d.String())
	require.Equal(t, []int32{-1, 2}, d.Int32s())
	require.Equal(t, []uint32{math.MaxUint32}, d.Uint32s())
	require.Equal(t, []bool{}, d.Bools())
	require.NoError(t, d.Finish())
}

type plainBinary struct{ V uint8 }

func (p plainBinary) MarshalBinary() ([]byte, error) { return []byte{p.V}, nil }
func (p *plainBinary) UnmarshalBinary(b []byte) error {
	if len(b) != 1 {
		return errors.New("want one byte")
	}
	p.V = b[0]
	return nil
}

type ptrOnlyBinary struct{ V uint8 }

func (p *ptrOnlyBinary) MarshalBinary() ([]byte, error) {
	if p.V == 255 {
		panic("boom")
	}
	return []byte{p.V}, nil
}
func (p *ptrOnlyBinary) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		panic("empty")
	}
	p.V = b[0]
	return nil
}

type onlyMarshal struct{}

func (onlyMarshal) MarshalBinary() ([]byte, error) { return nil, nil }

func TestCodecFor(t *testing.T) {
	tests := []struct {
		name string
		t    reflect.Type
		v    any
		id   string
	}{
		{"value type, value marshaler", reflect.TypeFor[plainBinary](), plainBinary{7}, "binary:github.com/salesdag/salesdag/internal/cache.plainBinary"},
		{"pointer type", reflect.TypeFor[*plainBinary](), &plainBinary{8}, "binary:github.com/salesdag/salesdag/internal/cache.plainBinary"},
		{"value type, pointer marshaler", reflect.TypeFor[ptrOnlyBinary](), ptrOnlyBinary{9}, "binary:github.com/salesdag/salesdag/internal/cache.ptrOnlyBinary"},
		{"registered", reflect.TypeFor[toySum](), toySum{Total: 1}, "toysum/v1"},
		{"frame", reflect.TypeFor[*frame.Frame](), sampleFrame(), "frame/v1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := codecFor(tc.t)
			require.NotNil(t, c)
			require.Equal(t, tc.id, c.id)
			b, err := encodeSafe(c, tc.v)
			require.NoError(t, err)
			v, err := decodeAs(c, tc.t, b)
			require.NoError(t, err)
			require.Equal(t, reflect.TypeOf(tc.v), reflect.TypeOf(v))
			if tc.name != "frame" {
				require.Equal(t, tc.v, v)
			}
		})
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[int](), reflect.TypeFor[onlyMarshal](), reflect.TypeFor[[]plainBinary](), reflect.TypeFor[map[string]int]()} {
		require.Nil(t, codecFor(typ), typ.String())
	}
}

func TestCodecFailures(t *testing.T) {
	c := codecFor(reflect.TypeFor[*ptrOnlyBinary]())
	_, err := encodeSafe(c, &ptrOnlyBinary{V: 255})
	require.ErrorContains(t, err, "encoder panicked")
	_, err = encodeSafe(c, (*ptrOnlyBinary)(nil))
	require.ErrorContains(t, err, "nil")
	_, err = encodeSafe(c, plainBinary{})
	require.ErrorContains(t, err, "not *cache.ptrOnlyBinary")
	_, err = decodeAs(c, reflect.TypeFor[*ptrOnlyBinary](), nil)
	require.ErrorContains(t, err, "decoder panicked")

	pc := codecFor(reflect.TypeFor[plainBinary]())
	_, err = decodeAs(pc, reflect.TypeFor[plainBinary](), []byte{1, 2})
	require.ErrorContains(t, err, "want one byte")

	// A decoder that yields another type than the node's is rejected.
	wrong := &codec{id: "wrong", dec: func([]byte) (any, error) { return "a string", nil }}
	_, err = decodeAs(wrong, reflect.TypeFor[int](), nil)
	require.ErrorContains(t, err, "decoded a string, want int")
	nilDec := &codec{id: "nil", dec: func([]byte) (any, error) { return nil, nil }}
	_, err = decodeAs(nilDec, reflect.TypeFor[int](), nil)
	require.Error(t, err)
	// For an interface result type, any implementation will do.
	v, err := decodeAs(wrong, reflect.TypeFor[any](), nil)
	require.NoError(t, err)
	require.Equal(t, "a string", v)

	reg := codecFor(reflect.TypeFor[toySum]())
	_, err = encodeSafe(reg, 3)
	require.ErrorContains(t, err, "value is int")
}
