package cache

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// A codec's mistakes are errors, never a panic or a value of another type.
func TestCodecFailures(t *testing.T) {
	boom := Codec{Type: reflect.TypeFor[int](), ID: "boom",
		Encode: func(any) ([]byte, error) { panic("boom") },
		Decode: func([]byte) (any, error) { panic("empty") }}
	wrong := Codec{Type: reflect.TypeFor[int](), ID: "wrong",
		Encode: func(any) ([]byte, error) { return nil, errors.New("cannot") },
		Decode: func([]byte) (any, error) { return "a string", nil }}
	nilDec := Codec{Type: reflect.TypeFor[*int](), ID: "nil",
		Decode: func([]byte) (any, error) { return nil, nil }}
	failing := Codec{Type: reflect.TypeFor[int](), ID: "failing",
		Decode: func([]byte) (any, error) { return 0, errors.New("want one byte") }}
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"encoder panics", func() error { _, err := boom.encode(1); return err }, "encoder panicked: boom"},
		{"decoder panics", func() error { _, err := boom.decode(nil); return err }, "decoder panicked: empty"},
		{"encoder fails", func() error { _, err := wrong.encode(1); return err }, "cannot"},
		{"value of another type", func() error { _, err := wrong.encode("x"); return err }, "cache: codec wrong: value is string, not int"},
		{"nil value", func() error { _, err := wrong.encode(nil); return err }, "cache: codec wrong: value is <nil>, not int"},
		{"decoded another type", func() error { _, err := wrong.decode(nil); return err }, "decoded a string, want int"},
		{"decoded nil", func() error { _, err := nilDec.decode(nil); return err }, "decoded a <nil>, want *int"},
		{"decoder fails", func() error { _, err := failing.decode(nil); return err }, "want one byte"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.EqualError(t, tc.do(), tc.want)
		})
	}
}

func TestDecoderLimits(t *testing.T) {
	huge := binary.AppendUvarint(nil, 1<<60)
	d := &decoder{b: huge}
	require.Empty(t, d.String())
	require.ErrorContains(t, d.err, "does not fit")
	// Errors are sticky: later reads return zero values.
	require.Zero(t, d.Uvarint())
	require.Zero(t, d.Varint())
	require.Zero(t, d.Float64())
	require.False(t, d.Bool())
	require.Empty(t, d.String())
	d.fail(errors.New("second"))
	require.ErrorContains(t, d.finish(), "does not fit")

	for _, in := range [][]byte{nil, {0x80}} {
		d = &decoder{b: in}
		d.Varint()
		require.Equal(t, errShort, d.err)
		d = &decoder{b: in}
		d.Uvarint()
		require.Equal(t, errShort, d.err)
		d = &decoder{b: in}
		d.Float64()
		require.Equal(t, errShort, d.err)
	}
	d = &decoder{b: []byte{2}}
	d.Bool()
	require.ErrorContains(t, d.err, "invalid boolean")
	d = &decoder{b: []byte{1, 7}}
	d.Bool()
	require.ErrorContains(t, d.finish(), "1 unexpected bytes after the payload")
}

func TestEncoderScalars(t *testing.T) {
	e := &encoder{}
	e.Varint(-5)
	e.Uvarint(math.MaxUint64)
	e.Float64(math.Inf(-1))
	e.Float64(math.Copysign(0, -1))
	e.Bool(true)
	e.Bool(false)
	e.String("héllo")
	d := &decoder{b: e.b}
	require.Equal(t, int64(-5), d.Varint())
	require.Equal(t, uint64(math.MaxUint64), d.Uvarint())
	require.True(t, math.IsInf(d.Float64(), -1))
	require.Equal(t, math.Float64bits(math.Copysign(0, -1)), math.Float64bits(d.Float64()))
	require.True(t, d.Bool())
	require.False(t, d.Bool())
	require.Equal(t, "héllo", d.String())
	require.NoError(t, d.finish())
}
