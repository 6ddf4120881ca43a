package cache

import (
	"fmt"
	"reflect"
)

// Codec stores the results of one Go type. The cache is given its codecs
// (Options.Codecs); a node whose result type has none is not cached.
type Codec struct {
	Type reflect.Type // the exact type of the values
	// ID names the encoding (e.g. "daily/v1") and is part of every entry
	// key that uses it; the codec's code is covered by the build's key,
	// like all code.
	ID     string
	Encode func(v any) ([]byte, error) // v has type Type
	Decode func(b []byte) (any, error)
}

// encode encodes v; a panicking encoder is an error.
func (c *Codec) encode(v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("encoder panicked: %v", r)
		}
	}()
	if v == nil || reflect.TypeOf(v) != c.Type {
		return nil, fmt.Errorf("cache: codec %s: value is %T, not %s", c.ID, v, c.Type)
	}
	return c.Encode(v)
}

// decode decodes b and checks that the result has exactly the codec's
// type, so a node never receives anything else. A panicking decoder is a
// corrupt entry, not a crash.
func (c *Codec) decode(b []byte) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("decoder panicked: %v", r)
		}
	}()
	if v, err = c.Decode(b); err != nil {
		return nil, err
	}
	if v == nil || reflect.TypeOf(v) != c.Type {
		return nil, fmt.Errorf("decoded a %T, want %s", v, c.Type)
	}
	return v, nil
}
