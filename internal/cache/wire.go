package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// encoder builds the payload of the struct codec: varints, fixed-width
// little-endian floats and length-prefixed strings.
type encoder struct{ b []byte }

func (e *encoder) Uvarint(u uint64) { e.b = binary.AppendUvarint(e.b, u) }
func (e *encoder) Varint(i int64)   { e.b = binary.AppendVarint(e.b, i) }

// Float64 appends the IEEE bits of f (NaN payloads and -0 survive).
func (e *encoder) Float64(f float64) {
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(f))
}

func (e *encoder) Bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) String(s string) {
	e.Uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// decoder reads what an encoder wrote. Errors are sticky: after the first
// problem every read returns zero values, so a payload can be read whole
// and checked once. Lengths are checked against the bytes left before
// anything is allocated, so corrupt input cannot make it allocate wildly
// or panic.
type decoder struct {
	b   []byte
	off int
	err error
}

var errShort = errors.New("payload ends early")

// finish returns the first error, or an error when bytes are left over.
func (d *decoder) finish() error {
	if d.err == nil && d.off != len(d.b) {
		d.err = fmt.Errorf("%d unexpected bytes after the payload", len(d.b)-d.off)
	}
	return d.err
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) Uvarint() uint64 {
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

// Varint undoes the zig-zag encoding of binary.AppendVarint.
func (d *decoder) Varint() int64 {
	u := d.Uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// take returns the next n bytes.
func (d *decoder) take(n uint64) []byte {
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

func (d *decoder) Float64() float64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

func (d *decoder) Bool() bool {
	b := d.take(1)
	if b == nil {
		return false
	}
	if b[0] > 1 {
		d.fail(fmt.Errorf("invalid boolean byte %d", b[0]))
	}
	return b[0] == 1
}

func (d *decoder) String() string {
	n := d.Uvarint()
	if d.err == nil && n > uint64(len(d.b)-d.off) {
		d.fail(fmt.Errorf("length %d does not fit in the payload", n))
		return ""
	}
	return string(d.take(n))
}
