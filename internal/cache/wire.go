package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/salesdag/salesdag/internal/frame"
)

// Encoder builds the payload of a binary codec: varints, fixed-width
// little-endian numbers and length-prefixed slices. Codecs for table types
// use it (or Frame) so that they all share one well-tested format.
type Encoder struct{ b []byte }

// NewEncoder returns an Encoder with room for about sizeHint bytes.
func NewEncoder(sizeHint int) *Encoder { return &Encoder{b: make([]byte, 0, max(sizeHint, 64))} }

// Bytes returns the encoded payload.
func (e *Encoder) Bytes() []byte { return e.b }

// Uvarint appends an unsigned varint.
func (e *Encoder) Uvarint(u uint64) { e.b = binary.AppendUvarint(e.b, u) }

// Varint appends a signed varint.
func (e *Encoder) Varint(i int64) { e.b = binary.AppendVarint(e.b, i) }

// Float64 appends the IEEE bits of f (NaN payloads and -0 survive).
func (e *Encoder) Float64(f float64) {
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(f))
}

// Bool appends one byte.
func (e *Encoder) Bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// String appends a length-prefixed string.
func (e *Encoder) String(s string) {
	e.Uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// Int64s appends a length-prefixed slice of fixed-width integers.
func (e *Encoder) Int64s(v []int64) {
	e.Uvarint(uint64(len(v)))
	for _, x := range v {
		e.b = binary.LittleEndian.AppendUint64(e.b, uint64(x))
	}
}

// Uint64s appends a length-prefixed slice of fixed-width integers.
func (e *Encoder) Uint64s(v []uint64) {
	e.Uvarint(uint64(len(v)))
	for _, x := range v {
		e.b = binary.LittleEndian.AppendUint64(e.b, x)
	}
}

// Int32s appends a length-prefixed slice of fixed-width integers.
func (e *Encoder) Int32s(v []int32) {
	e.Uvarint(uint64(len(v)))
	for _, x := range v {
		e.b = binary.LittleEndian.AppendUint32(e.b, uint32(x))
	}
}

// Uint32s appends a length-prefixed slice of fixed-width integers.
func (e *Encoder) Uint32s(v []uint32) {
	e.Uvarint(uint64(len(v)))
	for _, x := range v {
		e.b = binary.LittleEndian.AppendUint32(e.b, x)
	}
}

// Float64s appends a length-prefixed slice of floats, bit-exact.
func (e *Encoder) Float64s(v []float64) {
	e.Uvarint(uint64(len(v)))
	for _, x := range v {
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(x))
	}
}

// Bools appends a length-prefixed slice of booleans, one byte each. A nil
// slice and an empty one are told apart (validity masks use nil).
func (e *Encoder) Bools(v []bool) {
	if v == nil {
		e.b = append(e.b, 0)
		return
	}
	e.b = append(e.b, 1)
	e.Uvarint(uint64(len(v)))
	for _, x := range v {
		e.Bool(x)
	}
}

// Strings appends a length-prefixed slice of strings.
func (e *Encoder) Strings(v []string) {
	e.Uvarint(uint64(len(v)))
	total := 0
	for _, s := range v {
		e.Uvarint(uint64(len(s)))
		total += len(s)
	}
	e.Uvarint(uint64(total))
	for _, s := range v {
		e.b = append(e.b, s...)
	}
}

// Dates appends a length-prefixed slice of dates.
func (e *Encoder) Dates(v []frame.Date) {
	e.Uvarint(uint64(len(v)))
	for _, x := range v {
		e.b = binary.LittleEndian.AppendUint32(e.b, uint32(x))
	}
}

// Frame appends a whole table: column names, kinds, validity and values.
func (e *Encoder) Frame(f *frame.Frame) {
	if f == nil {
		e.Bool(false)
		return
	}
	e.Bool(true)
	e.Uvarint(uint64(len(f.Columns)))
	for i := range f.Columns {
		c := &f.Columns[i]
		e.String(c.Name)
		e.Uvarint(uint64(c.Kind))
		e.Bools(c.Valid)
		switch c.Kind {
		case frame.KindInt:
			e.Int64s(c.Ints)
		case frame.KindFloat:
			e.Float64s(c.Floats)
		case frame.KindString:
			e.Strings(c.Strings)
		case frame.KindBool:
			e.Bools(c.Bools)
		case frame.KindDate:
			e.Dates(c.Dates)
		}
	}
}

// Decoder reads what an Encoder wrote. Errors are sticky: after the first
// problem every read returns zero values and Err reports it, so codecs can
// read a whole payload and check once. Lengths are checked against the
// bytes left before anything is allocated, so corrupt input cannot make it
// allocate wildly or panic.
type Decoder struct {
	b   []byte
	off int
	err error
}

// NewDecoder reads from b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

var errShort = errors.New("payload ends early")

// Err returns the first error met.
func (d *Decoder) Err() error { return d.err }

// Finish returns the first error, or an error when bytes are left over.
func (d *Decoder) Finish() error {
	if d.err == nil && d.off != len(d.b) {
		d.err = fmt.Errorf("%d unexpected bytes after the payload", len(d.b)-d.off)
	}
	return d.err
}

// Fail records err (if no error came first): codecs use it for payloads
// that decode but make no sense.
func (d *Decoder) Fail(err error) { d.fail(err) }

func (d *Decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// Uvarint reads an unsigned varint.
func (d *Decoder) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	u, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.off += n
	return u
}

// Varint reads a signed varint.
func (d *Decoder) Varint() int64 {
	if d.err != nil {
		return 0
	}
	i, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.off += n
	return i
}

// take returns the next n bytes.
func (d *Decoder) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail(errShort)
		return nil
	}
	s := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

// count reads a slice length whose elements take at least width bytes.
func (d *Decoder) count(width uint64) int {
	n := d.Uvarint()
	if d.err == nil && n > uint64(len(d.b)-d.off)/width {
		d.fail(fmt.Errorf("length %d does not fit in the payload", n))
		return 0
	}
	return int(n)
}

// Float64 reads a float.
func (d *Decoder) Float64() float64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

// Bool reads a boolean.
func (d *Decoder) Bool() bool {
	b := d.take(1)
	if b == nil {
		return false
	}
	if b[0] > 1 {
		d.fail(fmt.Errorf("invalid boolean byte %d", b[0]))
	}
	return b[0] == 1
}

// String reads a string.
func (d *Decoder) String() string {
	n := d.count(1)
	return string(d.take(uint64(n)))
}

// Int64s reads a slice of integers.
func (d *Decoder) Int64s() []int64 {
	n := d.count(8)
	b := d.take(uint64(n) * 8)
	if b == nil {
		return nil
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[i*8:]))
	}
	return out
}

// Uint64s reads a slice of integers.
func (d *Decoder) Uint64s() []uint64 {
	n := d.count(8)
	b := d.take(uint64(n) * 8)
	if b == nil {
		return nil
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(b[i*8:])
	}
	return out
}

// Int32s reads a slice of integers.
func (d *Decoder) Int32s() []int32 {
	n := d.count(4)
	b := d.take(uint64(n) * 4)
	if b == nil {
		return nil
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[i*4:]))
	}
	return out
}

// Uint32s reads a slice of integers.
func (d *Decoder) Uint32s() []uint32 {
	n := d.count(4)
	b := d.take(uint64(n) * 4)
	if b == nil {
		return nil
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[i*4:])
	}
	return out
}

// Float64s reads a slice of floats.
func (d *Decoder) Float64s() []float64 {
	n := d.count(8)
	b := d.take(uint64(n) * 8)
	if b == nil {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[i*8:]))
	}
	return out
}

// Bools reads a slice of booleans (nil when nil was written).
func (d *Decoder) Bools() []bool {
	if !d.Bool() {
		return nil
	}
	n := d.count(1)
	b := d.take(uint64(n))
	if b == nil {
		return nil
	}
	out := make([]bool, n)
	for i, x := range b {
		if x > 1 {
			d.fail(fmt.Errorf("invalid boolean byte %d", x))
			return nil
		}
		out[i] = x == 1
	}
	return out
}

// Strings reads a slice of strings. They share one backing allocation.
func (d *Decoder) Strings() []string {
	n := d.count(1)
	lens := make([]uint64, n)
	for i := range lens {
		lens[i] = d.Uvarint()
	}
	total := d.Uvarint()
	b := d.take(total)
	if d.err != nil {
		return nil
	}
	all := string(b)
	out := make([]string, n)
	off := uint64(0)
	for i, l := range lens {
		if l > total-off {
			d.fail(errors.New("string lengths exceed their data"))
			return nil
		}
		out[i] = all[off : off+l]
		off += l
	}
	if off != total {
		d.fail(errors.New("string lengths do not add up"))
		return nil
	}
	return out
}

// Dates reads a slice of dates.
func (d *Decoder) Dates() []frame.Date {
	n := d.count(4)
	b := d.take(uint64(n) * 4)
	if b == nil {
		return nil
	}
	out := make([]frame.Date, n)
	for i := range out {
		out[i] = frame.Date(binary.LittleEndian.Uint32(b[i*4:]))
	}
	return out
}

// Frame reads a table written by Encoder.Frame and validates its shape.
func (d *Decoder) Frame() *frame.Frame {
	if !d.Bool() {
		return nil
	}
	n := d.count(3)
	f := &frame.Frame{Columns: make([]frame.Column, n)}
	for i := range f.Columns {
		c := &f.Columns[i]
		c.Name = d.String()
		c.Kind = frame.Kind(d.Uvarint())
		c.Valid = d.Bools()
		switch c.Kind {
		case frame.KindInt:
			c.Ints = d.Int64s()
		case frame.KindFloat:
			c.Floats = d.Float64s()
		case frame.KindString:
			c.Strings = d.Strings()
		case frame.KindBool:
			c.Bools = d.Bools()
		case frame.KindDate:
			c.Dates = d.Dates()
		default:
			d.fail(fmt.Errorf("column %q has unknown kind %d", c.Name, c.Kind))
		}
		if d.err != nil {
			return nil
		}
	}
	if err := f.Validate(); err != nil {
		d.fail(err)
		return nil
	}
	return f
}

// EncodeFrame and DecodeFrame are a codec for *frame.Frame values.
func EncodeFrame(f *frame.Frame) ([]byte, error) {
	e := NewEncoder(frameSizeHint(f))
	e.Frame(f)
	return e.Bytes(), nil
}

// DecodeFrame reads a payload written by EncodeFrame.
func DecodeFrame(b []byte) (*frame.Frame, error) {
	d := NewDecoder(b)
	f := d.Frame()
	if err := d.Finish(); err != nil {
		return nil, err
	}
	return f, nil
}

func frameSizeHint(f *frame.Frame) int {
	if f == nil {
		return 1
	}
	n := 16
	for i := range f.Columns {
		c := &f.Columns[i]
		n += 16 + len(c.Name) + len(c.Valid) + 8*c.Len()
		for _, s := range c.Strings {
			n += len(s) + 1
		}
	}
	return n
}

func init() {
	RegisterCodec("frame/v1", EncodeFrame, DecodeFrame)
}
