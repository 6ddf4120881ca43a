package cache

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
)

// codec turns values of one type into bytes and back.
type codec struct {
	id  string // names the encoding; part of every key that uses it
	enc func(any) ([]byte, error)
	dec func([]byte) (any, error)
}

var registry = struct {
	sync.RWMutex
	m map[reflect.Type]*codec
}{m: map[reflect.Type]*codec{}}

// RegisterCodec makes values of type T cacheable. id names the encoding
// (e.g. "daily/v1") and is part of every entry key; the codec's code is
// covered by the build's key, like all code.
// Decoding gives exactly a T, so a node whose result type is T never
// receives anything else. Registering T again replaces the codec.
func RegisterCodec[T any](id string, enc func(T) ([]byte, error), dec func([]byte) (T, error)) {
	c := &codec{
		id: id,
		enc: func(v any) ([]byte, error) {
			t, ok := v.(T)
			if !ok {
				return nil, fmt.Errorf("cache: codec %s: value is %T, not %s", id, v, reflect.TypeFor[T]())
			}
			return enc(t)
		},
		dec: func(b []byte) (any, error) { return dec(b) },
	}
	registry.Lock()
	registry.m[reflect.TypeFor[T]()] = c
	registry.Unlock()
}

// RegisterJSON makes T cacheable through encoding/json. Use it only for
// types whose JSON form round-trips exactly (no NaN, no unexported state).
func RegisterJSON[T any](id string) {
	RegisterCodec(id, jsonEncode[T], jsonDecode[T])
}

func jsonEncode[T any](v T) ([]byte, error) { return json.Marshal(v) }

func jsonDecode[T any](b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

var (
	marshalerType   = reflect.TypeFor[encoding.BinaryMarshaler]()
	unmarshalerType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
)

// codecFor finds the codec of t: a registered one, else the type's own
// MarshalBinary/UnmarshalBinary (on T or *T). nil means not cacheable.
func codecFor(t reflect.Type) *codec {
	registry.RLock()
	c := registry.m[t]
	registry.RUnlock()
	if c != nil {
		return c
	}
	base := t // the type whose pointer gets UnmarshalBinary
	if t.Kind() == reflect.Pointer {
		base = t.Elem()
	}
	if !reflect.PointerTo(base).Implements(unmarshalerType) ||
		!(t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType)) {
		return nil
	}
	name := base.PkgPath() + "." + base.Name()
	if base.Name() == "" {
		return nil // unnamed types have no methods of their own
	}
	return &codec{
		id: "binary:" + name,
		enc: func(v any) ([]byte, error) {
			rv := reflect.ValueOf(v)
			if !rv.IsValid() || rv.Type() != t {
				return nil, fmt.Errorf("cache: value is %T, not %s", v, t)
			}
			if m, ok := v.(encoding.BinaryMarshaler); ok {
				if t.Kind() == reflect.Pointer && rv.IsNil() {
					return nil, fmt.Errorf("cache: nil %s is not cached", t)
				}
				return m.MarshalBinary()
			}
			p := reflect.New(t)
			p.Elem().Set(rv)
			return p.Interface().(encoding.BinaryMarshaler).MarshalBinary()
		},
		dec: func(b []byte) (any, error) {
			p := reflect.New(base)
			if err := p.Interface().(encoding.BinaryUnmarshaler).UnmarshalBinary(b); err != nil {
				return nil, err
			}
			if t.Kind() == reflect.Pointer {
				return p.Interface(), nil
			}
			return p.Elem().Interface(), nil
		},
	}
}

// decodeAs decodes b with c and checks that the result has exactly type
// t. A panicking decoder is a corrupt entry, not a crash.
func decodeAs(c *codec, t reflect.Type, b []byte) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("decoder panicked: %v", r)
		}
	}()
	v, err = c.dec(b)
	if err != nil {
		return nil, err
	}
	if v == nil || reflect.TypeOf(v) != t {
		if t.Kind() == reflect.Interface && v != nil && reflect.TypeOf(v).Implements(t) {
			return v, nil
		}
		return nil, fmt.Errorf("decoded a %T, want %s", v, t)
	}
	return v, nil
}

// encodeSafe encodes v with c; a panicking encoder is an error.
func encodeSafe(c *codec, v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("encoder panicked: %v", r)
		}
	}()
	return c.enc(v)
}

// Marshal encodes v, a value of type t, with t's cache codec. It is what
// the cache does when storing a result; codec tests and benchmarks use it.
func Marshal(t reflect.Type, v any) ([]byte, error) {
	c := codecFor(t)
	if c == nil {
		return nil, fmt.Errorf("cache: no codec for %s", t)
	}
	return encodeSafe(c, v)
}

// Unmarshal decodes b into a value of exactly type t, as loading a result
// does.
func Unmarshal(t reflect.Type, b []byte) (any, error) {
	c := codecFor(t)
	if c == nil {
		return nil, fmt.Errorf("cache: no codec for %s", t)
	}
	return decodeAs(c, t, b)
}
